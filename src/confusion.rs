//! Confusion counting: for a block of 64 classes over a chunk of rows, how
//! many cells are predicted positive and labelled positive (true
//! positives), predicted positive and labelled negative (false positives),
//! labelled positive, and labelled negative. False negatives and true
//! negatives follow by subtraction, and ignored cells count nowhere.
//!
//! The counts are byte lanes, one per class, read down the rows of a chunk
//! (at most [`MAX_ROWS`] of them): each count costs one byte-wide add per
//! register of 32 cells (64 with AVX-512) whatever the predictions are, and
//! reaches the caller's `u64` counts once per chunk. The predictions
//! (`logit > threshold`) are narrowed from `f32` lanes to bytes by saturating packs:
//! for threshold 0 the packs do the comparison themselves (as an `i32`, a
//! positive `f32` is positive, `+0` is 0 and everything else negative, and
//! saturation keeps the sign), otherwise the lanes are compared first.
//! When a chunk has only labels 0 and 1 (no [`IGNORE`](crate::IGNORE)) the
//! labels are added as they are (to the positives, and where predicted to
//! the true positives) and the negatives follow from the row count;
//! otherwise each label is compared with 0 and 1.
//!
//! Three implementations of the byte work: `wide`'s `u8x32` (SSE2, and
//! plain code where `wide` has no SIMD), AVX2 (`safe_arch`: 256-bit packs
//! and a lane permutation, which `wide` does not expose) and AVX-512 (mask
//! registers and masked adds, through `core::arch`).
//!
//! Rows must already be validated (labels 0, 1 or `IGNORE`): the loss pass
//! does that first.

#[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
use avx512 as lanes;
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512bw")))]
use pairs as lanes;

/// Classes per block: two 32-byte registers of labels.
pub(crate) const BLOCK: usize = 64;

/// Rows per chunk at most (the byte lanes count up to 255).
pub(crate) const MAX_ROWS: usize = 255;

/// The counts of one block over a chunk of rows: per class, true positives,
/// false positives, false negatives and true negatives, a byte each.
pub(crate) type BlockCounts = [[u8; 4]; BLOCK];

/// Which labels a chunk holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kinds {
    /// Only 0 and 1.
    Hard,
    /// [`IGNORE`](crate::IGNORE) too.
    WithIgnored,
}

impl Kinds {
    /// The kinds of (validated) labels.
    pub(crate) fn of(labels: &[u8]) -> Kinds {
        // An OR over all bytes, 128 lanes wide; a label above 1 is `IGNORE`.
        let (blocks, rest) = labels.as_chunks::<128>();
        let mut lanes = [0u8; 128];
        for b in blocks {
            lanes.iter_mut().zip(b).for_each(|(l, y)| *l |= y);
        }
        let any = lanes.iter().chain(rest).fold(0, |a, y| a | y);
        if any > 1 { Kinds::WithIgnored } else { Kinds::Hard }
    }
}

/// Counts classes `base .. base + BLOCK` of each row of `logits` and
/// `labels` (`classes` per row, at most [`MAX_ROWS`] rows, labels of the
/// given `kinds`), and sets `wrong[r]` to 1 where row `r` has a wrongly
/// predicted cell in the block. A block must lie within the row unless the
/// row is shorter than a block: then the lanes past the row's end count as
/// negatives predicted negative (the caller drops them).
pub(crate) fn count_block(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    base: usize,
    threshold: f32,
    kinds: Kinds,
    wrong: &mut [u8],
) -> BlockCounts {
    lanes::count_block(Rows { logits, labels, classes, base }, threshold, kinds, wrong)
}

/// Cells per register.
const HALF: usize = BLOCK / 2;

/// The rows of a chunk and the block of classes being counted.
#[derive(Clone, Copy)]
struct Rows<'a> {
    logits: &'a [f32],
    labels: &'a [u8],
    classes: usize,
    base: usize,
}

impl Rows<'_> {
    /// Calls `row` on each row's block (as two registers' worth) and flags
    /// in `wrong` the rows where it returns wrong-cell bits. Returns the rows
    /// counted.
    #[inline(always)]
    fn each(self, wrong: &mut [u8], mut row: impl FnMut(&[[f32; HALF]; 2], &[[u8; HALF]; 2]) -> u64) -> u8 {
        let Rows { logits, labels, classes, base } = self;
        if classes == 0 {
            return 0;
        }
        // The rows of the block's own length: `x.len() == classes` for each,
        // so the block's bounds are checked once. (Not a zip of
        // `chunks_exact`: a zip asks for their length, a division the
        // compiler cannot prove safe at `opt-level = "z"`.)
        let rows = (logits.len() / classes).min(labels.len() / classes).min(MAX_ROWS);
        let mut n = 0;
        if base + BLOCK <= classes {
            let mut ys = labels.chunks_exact(classes);
            for (x, w) in logits.chunks_exact(classes).take(rows).zip(wrong.iter_mut()) {
                let Some(y) = ys.next() else { break };
                let x = x.get(base..).and_then(|x| x.first_chunk::<BLOCK>());
                let y = y.get(base..).and_then(|y| y.first_chunk::<BLOCK>());
                if let (Some(x), Some(y)) = (x, y) {
                    *w |= u8::from(row(wide::bytemuck::cast_ref(x), wide::bytemuck::cast_ref(y)) != 0);
                    n += 1;
                }
            }
        } else {
            // A row shorter than a block: its cells are copied into a block
            // whose other lanes are negatives that no threshold predicts
            // positive (logit -inf, label 0).
            let (mut xp, mut yp) = ([f32::NEG_INFINITY; BLOCK], [0; BLOCK]);
            for (r, w) in wrong.iter_mut().take(rows).enumerate() {
                let cells = r * classes + base..(r + 1) * classes;
                xp.iter_mut().zip(logits.get(cells.clone()).unwrap_or(&[])).for_each(|(to, from)| *to = *from);
                yp.iter_mut().zip(labels.get(cells).unwrap_or(&[])).for_each(|(to, from)| *to = *from);
                *w |= u8::from(row(wide::bytemuck::cast_ref(&xp), wide::bytemuck::cast_ref(&yp)) != 0);
                n += 1;
            }
        }
        n
    }
}

/// Two 32-byte registers per row of a block, with the byte operations of
/// the `avx2` or `portable` module.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512bw")))]
mod pairs {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    use super::avx2::{Bytes, Threshold};
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    use super::portable::{Bytes, Threshold};
    use super::{BlockCounts, HALF, Kinds, Rows};

    /// Whether the threshold-0 shortcut is built: where `wide` has SIMD
    /// (elsewhere its packs are plain loops, and a second copy of the
    /// counting would cost flash for little).
    const ZERO_SHORTCUT: bool = cfg!(any(target_feature = "sse2", target_feature = "neon", target_feature = "simd128"));

    pub(super) fn count_block(rows: Rows, threshold: f32, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
        if ZERO_SHORTCUT && threshold == 0.0 {
            // The usual threshold: the packs compare with 0 themselves.
            count(rows, Bytes::positive, kinds, wrong)
        } else {
            let thr = Threshold::new(threshold);
            count(rows, |x| thr.above(x), kinds, wrong)
        }
    }

    /// A block's four running counts over 32 classes.
    #[derive(Clone, Copy)]
    struct Acc {
        true_pos: Bytes,
        a: Bytes,
        b: Bytes,
        c: Bytes,
    }

    #[inline(always)]
    fn count(rows: Rows, predict: impl Fn(&[f32; HALF]) -> Bytes, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
        let zero = Bytes::splat(0);
        let mut acc = [Acc { true_pos: zero, a: zero, b: zero, c: zero }; 2];
        let per_class = |acc: [Acc; 2], counts: &dyn Fn(Acc) -> [Bytes; 4]| -> BlockCounts {
            wide::bytemuck::cast(acc.map(|acc| Bytes::per_class(counts(acc))))
        };
        match kinds {
            Kinds::Hard => {
                // `a`: predicted positive, `b`: positives.
                let n = rows.each(wrong, |x, y| {
                    let mut wrong = zero;
                    for ((x, y), acc) in x.iter().zip(y).zip(&mut acc) {
                        let (pred, y) = (predict(x), Bytes::load(y));
                        acc.true_pos = acc.true_pos.add(pred.and(y));
                        // A prediction is all ones, i.e. -1: subtracting it
                        // counts one.
                        acc.a = acc.a.sub(pred);
                        acc.b = acc.b.add(y);
                        // `-label` is 0 or all ones, like the prediction.
                        wrong = wrong.or(pred.xor(zero.sub(y)));
                    }
                    u64::from(wrong.bitmask())
                });
                // Every counted lane is a positive or a negative.
                let rows = Bytes::splat(n);
                per_class(acc, &|Acc { true_pos, a, b, .. }| {
                    let (false_pos, neg) = (a.sub(true_pos), rows.sub(b));
                    [true_pos, false_pos, b.sub(true_pos), neg.sub(false_pos)]
                })
            }
            Kinds::WithIgnored => {
                // A set lane is all ones, i.e. -1: subtracting it counts one.
                // `a`: false positives, `b`: positives, `c`: negatives.
                let one = Bytes::splat(1);
                rows.each(wrong, |x, y| {
                    let mut wrong = zero;
                    for ((x, y), acc) in x.iter().zip(y).zip(&mut acc) {
                        let (pred, y) = (predict(x), Bytes::load(y));
                        let (p, n) = (y.eq(one), y.eq(zero));
                        let (false_pos, false_neg) = (pred.and(n), pred.and_not(p));
                        acc.true_pos = acc.true_pos.sub(pred.and(p));
                        acc.a = acc.a.sub(false_pos);
                        acc.b = acc.b.sub(p);
                        acc.c = acc.c.sub(n);
                        wrong = wrong.or(false_pos.or(false_neg));
                    }
                    u64::from(wrong.bitmask())
                });
                per_class(acc, &|Acc { true_pos, a, b, c }| [true_pos, a, b.sub(true_pos), c.sub(a)])
            }
        }
    }
}

/// `wide` lanes: SSE2 packs on x86, plain code where `wide` has no SIMD.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
mod portable {
    use wide::{f32x8, i8x16, i16x8, i32x8, u8x32};

    /// 32 bytes.
    #[derive(Clone, Copy)]
    pub(super) struct Bytes(u8x32);

    impl Bytes {
        #[inline(always)]
        pub(super) fn splat(b: u8) -> Self {
            Bytes(u8x32::splat(b))
        }
        #[inline(always)]
        pub(super) fn load(y: &[u8; 32]) -> Self {
            Bytes(u8x32::new(*y))
        }
        #[inline(always)]
        pub(super) fn add(self, o: Self) -> Self {
            Bytes(self.0 + o.0)
        }
        #[inline(always)]
        pub(super) fn sub(self, o: Self) -> Self {
            Bytes(self.0 - o.0)
        }
        #[inline(always)]
        pub(super) fn and(self, o: Self) -> Self {
            Bytes(self.0 & o.0)
        }
        /// `!self & o`.
        #[inline(always)]
        pub(super) fn and_not(self, o: Self) -> Self {
            Bytes(!self.0 & o.0)
        }
        #[inline(always)]
        pub(super) fn or(self, o: Self) -> Self {
            Bytes(self.0 | o.0)
        }
        #[inline(always)]
        pub(super) fn xor(self, o: Self) -> Self {
            Bytes(self.0 ^ o.0)
        }
        /// All ones where equal.
        #[inline(always)]
        pub(super) fn eq(self, o: Self) -> Self {
            Bytes(self.0.simd_eq(o.0))
        }
        /// The top bit of each byte.
        #[inline(always)]
        pub(super) fn bitmask(self) -> u32 {
            self.0.to_bitmask()
        }
        /// Four counts of 32 classes, regrouped per class.
        pub(super) fn per_class(counts: [Self; 4]) -> [[u8; 4]; 32] {
            let [a, b, c, d] = counts.map(|v| v.0.to_array());
            core::array::from_fn(|i| [a[i], b[i], c[i], d[i]])
        }
    }

    /// The decision threshold, splatted.
    pub(super) struct Threshold(f32x8);

    impl Threshold {
        pub(super) fn new(t: f32) -> Self {
            Threshold(f32x8::splat(t))
        }
        /// `logit > threshold` as bytes of all ones, else 0.
        #[inline(always)]
        pub(super) fn above(&self, x: &[f32; 32]) -> Bytes {
            let x: &[[f32; 8]; 4] = wide::bytemuck::cast_ref(x);
            let gt = |v: [f32; 8]| wide::bytemuck::cast::<f32x8, i32x8>(f32x8::new(v).simd_gt(self.0));
            Bytes(wide::bytemuck::cast(narrow(x.map(gt))))
        }
    }

    /// 32 `i32` lanes narrowed to bytes with signed saturation (the sign
    /// and zeroness of each lane survive).
    #[inline(always)]
    fn narrow(v: [i32x8; 4]) -> [i8x16; 2] {
        let h = v.map(i16x8::from_i32x8_saturate);
        [[h[0], h[1]], [h[2], h[3]]].map(|h| i8x16::from_i16x16_saturate(wide::bytemuck::cast(h)))
    }

    impl Bytes {
        /// `logit > 0` as bytes of all ones, else 0: as an `i32`, a
        /// positive `f32` is positive, +0 is 0 and the rest negative, and
        /// the saturating narrowing keeps that.
        #[inline(always)]
        pub(super) fn positive(x: &[f32; 32]) -> Bytes {
            let x: &[[f32; 8]; 4] = wide::bytemuck::cast_ref(x);
            let b = narrow(x.map(wide::bytemuck::cast::<[f32; 8], i32x8>));
            Bytes(wide::bytemuck::cast(b.map(|b| b.simd_gt(i8x16::ZERO))))
        }
    }
}

/// AVX2: four compares (or none, for threshold 0), two 256-bit packs and one
/// lane permutation narrow 32 predictions to bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", not(target_feature = "avx512bw")))]
mod avx2 {
    use core::arch::x86_64::_CMP_GT_OQ;
    use safe_arch::*;

    /// 32 bytes.
    #[derive(Clone, Copy)]
    pub(super) struct Bytes(m256i);

    impl Bytes {
        #[inline(always)]
        pub(super) fn splat(b: u8) -> Self {
            Bytes(set_splat_i8_m256i(b as i8))
        }
        #[inline(always)]
        pub(super) fn load(y: &[u8; 32]) -> Self {
            Bytes(wide::bytemuck::cast(*y))
        }
        #[inline(always)]
        pub(super) fn add(self, o: Self) -> Self {
            Bytes(add_i8_m256i(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn sub(self, o: Self) -> Self {
            Bytes(sub_i8_m256i(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn and(self, o: Self) -> Self {
            Bytes(bitand_m256i(self.0, o.0))
        }
        /// `!self & o`.
        #[inline(always)]
        pub(super) fn and_not(self, o: Self) -> Self {
            Bytes(bitandnot_m256i(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn or(self, o: Self) -> Self {
            Bytes(bitor_m256i(self.0, o.0))
        }
        #[inline(always)]
        pub(super) fn xor(self, o: Self) -> Self {
            Bytes(bitxor_m256i(self.0, o.0))
        }
        /// All ones where equal.
        #[inline(always)]
        pub(super) fn eq(self, o: Self) -> Self {
            Bytes(cmp_eq_mask_i8_m256i(self.0, o.0))
        }
        /// The top bit of each byte.
        #[inline(always)]
        pub(super) fn bitmask(self) -> u32 {
            move_mask_i8_m256i(self.0) as u32
        }
        /// Four counts of 32 classes, regrouped per class: interleaved
        /// as bytes, then as pairs (within 128-bit halves), then the halves
        /// put in order.
        pub(super) fn per_class(counts: [Self; 4]) -> [[u8; 4]; 32] {
            let [a, b, c, d] = counts.map(|v| v.0);
            let (ab_lo, ab_hi) = (unpack_low_i8_m256i(a, b), unpack_high_i8_m256i(a, b));
            let (cd_lo, cd_hi) = (unpack_low_i8_m256i(c, d), unpack_high_i8_m256i(c, d));
            // Classes 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31.
            let q0 = unpack_low_i16_m256i(ab_lo, cd_lo);
            let q1 = unpack_high_i16_m256i(ab_lo, cd_lo);
            let q2 = unpack_low_i16_m256i(ab_hi, cd_hi);
            let q3 = unpack_high_i16_m256i(ab_hi, cd_hi);
            // 0x20: the low halves of both, 0x31: the high halves.
            wide::bytemuck::cast([
                shuffle_abi_i128z_all_m256i::<0x20>(q0, q1),
                shuffle_abi_i128z_all_m256i::<0x20>(q2, q3),
                shuffle_abi_i128z_all_m256i::<0x31>(q0, q1),
                shuffle_abi_i128z_all_m256i::<0x31>(q2, q3),
            ])
        }
    }

    /// The decision threshold, splatted.
    pub(super) struct Threshold(m256);

    impl Threshold {
        pub(super) fn new(t: f32) -> Self {
            Threshold(set_splat_m256(t))
        }
        /// `logit > threshold` as bytes of all ones, else 0.
        #[inline(always)]
        pub(super) fn above(&self, x: &[f32; 32]) -> Bytes {
            let x: &[[f32; 8]; 4] = wide::bytemuck::cast_ref(x);
            let gt =
                |v: &[f32; 8]| cast_to_m256i_from_m256(cmp_op_mask_m256::<_CMP_GT_OQ>(load_unaligned_m256(v), self.0));
            Bytes(narrow([gt(&x[0]), gt(&x[1]), gt(&x[2]), gt(&x[3])]))
        }
    }

    /// 32 `i32` lanes narrowed to bytes with signed saturation (the sign
    /// and zeroness of each lane survive), in order.
    #[inline(always)]
    fn narrow(v: [m256i; 4]) -> m256i {
        let packed = pack_i16_to_i8_m256i(pack_i32_to_i16_m256i(v[0], v[1]), pack_i32_to_i16_m256i(v[2], v[3]));
        // The packs work within 128-bit halves: their output holds the
        // 4-byte groups in the order 0 2 4 6 1 3 5 7.
        shuffle_av_i32_all_m256i(packed, m256i::from([0, 4, 1, 5, 2, 6, 3, 7]))
    }

    impl Bytes {
        /// `logit > 0` as bytes of all ones, else 0: as an `i32`, a
        /// positive `f32` is positive, +0 is 0 and the rest negative, and
        /// the saturating narrowing keeps that.
        #[inline(always)]
        pub(super) fn positive(x: &[f32; 32]) -> Bytes {
            let x: &[[f32; 8]; 4] = wide::bytemuck::cast_ref(x);
            let bits = |v: &[f32; 8]| -> m256i { wide::bytemuck::cast(*v) };
            Bytes(cmp_gt_mask_i8_m256i(narrow([bits(&x[0]), bits(&x[1]), bits(&x[2]), bits(&x[3])]), zeroed_m256i()))
        }
    }
}

/// AVX-512 (with byte instructions): one 64-byte register per row of a
/// block, predictions and label classes as 64-bit masks, and each count one
/// masked byte add. For threshold 0 two packs, one permutation and one test
/// narrow 64 predictions (no compares); otherwise four compares into masks.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
mod avx512 {
    use super::{BLOCK, BlockCounts, Kinds, Rows};
    use core::arch::x86_64::*;

    pub(super) fn count_block(rows: Rows, threshold: f32, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
        // SAFETY (both calls): this module is only compiled when the build
        // enables AVX-512F and AVX-512BW for the whole crate (the `cfg`
        // above), so the CPU it runs on has them.
        if threshold == 0.0 {
            unsafe { count::<true>(rows, threshold, kinds, wrong) }
        } else {
            unsafe { count::<false>(rows, threshold, kinds, wrong) }
        }
    }

    /// 64 labels as a register.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn load_labels(y: &[[u8; 32]; 2]) -> __m512i {
        // SAFETY: `y` is 64 readable bytes; the load has no alignment need.
        unsafe { _mm512_loadu_si512(y.as_ptr().cast()) }
    }

    /// 16 logits as a register, as `f32` and as their bits.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn load_logits(x: &[f32; 16]) -> __m512 {
        // SAFETY: `x` is 16 readable `f32`; the load has no alignment need.
        unsafe { _mm512_loadu_ps(x.as_ptr()) }
    }

    /// Counts with the predictions `logit > threshold`; `ZERO`: the
    /// threshold is 0.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn count<const ZERO: bool>(rows: Rows, threshold: f32, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
        let zero = _mm512_setzero_si512();
        let one = _mm512_set1_epi8(1);
        let thr = _mm512_set1_ps(threshold);
        // The packs work within 128-bit lanes: 4-byte group `j` of their
        // output holds classes `4 * (4 * (j % 4) + j / 4)` onwards.
        let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        // `logit > threshold` for 64 logits, as bytes: non-zero where true.
        let predict = |x: &[[f32; 32]; 2]| -> __m512i {
            let x: &[[f32; 16]; 4] = wide::bytemuck::cast_ref(x);
            if ZERO {
                // As an `i32`, a positive `f32` is positive, +0 is 0 and the
                // rest negative; the signed then unsigned saturating packs
                // keep "positive" as a non-zero byte.
                let [a, b, c, d] = [0, 1, 2, 3].map(|i| _mm512_castps_si512(load_logits(&x[i])));
                let packed = _mm512_packus_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
                _mm512_permutexvar_epi32(order, packed)
            } else {
                let [a, b, c, d] =
                    [0, 1, 2, 3].map(|i| u64::from(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(load_logits(&x[i]), thr)));
                _mm512_maskz_mov_epi8(a | b << 16 | c << 32 | d << 48, one)
            }
        };
        let (mut tp, mut a, mut b, mut c) = (zero, zero, zero, zero);
        let counts = match kinds {
            Kinds::Hard => {
                // Labels are bytes 0 or 1, so `min(prediction, label)` is 1
                // for a true positive and `min(prediction, 1 - label)` for a
                // false positive. `a`: false positives, `b`: positives.
                let n = rows.each(wrong, |x, y| {
                    let (pred, y) = (predict(x), load_labels(y));
                    let true_pos = _mm512_min_epu8(pred, y);
                    let false_pos = _mm512_min_epu8(pred, _mm512_sub_epi8(one, y));
                    tp = _mm512_add_epi8(tp, true_pos);
                    a = _mm512_add_epi8(a, false_pos);
                    b = _mm512_add_epi8(b, y);
                    // False positives, and false negatives: label 1, no true positive.
                    let miss = _mm512_or_si512(false_pos, _mm512_xor_si512(y, true_pos));
                    _mm512_test_epi8_mask(miss, miss)
                });
                let neg = _mm512_sub_epi8(_mm512_set1_epi8(n as i8), b);
                [tp, a, _mm512_sub_epi8(b, tp), _mm512_sub_epi8(neg, a)]
            }
            Kinds::WithIgnored => {
                // `a`: false positives, `b`: positives, `c`: negatives.
                rows.each(wrong, |x, y| {
                    let (pred, y) = (predict(x), load_labels(y));
                    let pred = _mm512_test_epi8_mask(pred, pred);
                    let (p, n) = (_mm512_cmpeq_epi8_mask(y, one), _mm512_cmpeq_epi8_mask(y, zero));
                    tp = _mm512_mask_add_epi8(tp, pred & p, tp, one);
                    a = _mm512_mask_add_epi8(a, pred & n, a, one);
                    b = _mm512_mask_add_epi8(b, p, b, one);
                    c = _mm512_mask_add_epi8(c, n, c, one);
                    (pred & n) | (p & !pred)
                });
                [tp, a, _mm512_sub_epi8(b, tp), _mm512_sub_epi8(c, a)]
            }
        };
        per_class(counts)
    }

    /// Four counts of 64 classes, regrouped per class: interleaved as bytes,
    /// then as pairs, within 128-bit lanes; the lanes' 16-byte groups are
    /// put in order last.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn per_class([a, b, c, d]: [__m512i; 4]) -> BlockCounts {
        let (ab_lo, ab_hi) = (_mm512_unpacklo_epi8(a, b), _mm512_unpackhi_epi8(a, b));
        let (cd_lo, cd_hi) = (_mm512_unpacklo_epi8(c, d), _mm512_unpackhi_epi8(c, d));
        // Group `j` of lane `l` holds classes `16 l + 4 j ..`.
        let groups = [
            _mm512_unpacklo_epi16(ab_lo, cd_lo),
            _mm512_unpackhi_epi16(ab_lo, cd_lo),
            _mm512_unpacklo_epi16(ab_hi, cd_hi),
            _mm512_unpackhi_epi16(ab_hi, cd_hi),
        ];
        let g: [[[[u8; 4]; 4]; 4]; 4] = wide::bytemuck::cast(groups.map(safe_arch::m512i));
        let mut out = [[0; 4]; BLOCK];
        for (k, to) in out.as_chunks_mut::<4>().0.iter_mut().enumerate() {
            let (lane, j) = (k / 4, k % 4);
            if let Some(from) = g.get(j).and_then(|g| g.get(lane)) {
                *to = *from;
            }
        }
        out
    }
}
