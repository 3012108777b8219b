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
//! plain code where `wide` has no SIMD), AVX2 (`core::arch`: 256-bit packs
//! and a lane permutation, which `wide` does not expose; run by the
//! dispatcher's AVX2 and AVX-512 levels, or by a build with AVX2) and
//! AVX-512BW (mask registers and masked adds; a build with AVX-512BW only).
//! The first two implement [`Lanes`], which the dispatched evaluation
//! picks through its instruction set (`Isa::Bytes`).
//!
//! Rows must already be validated (labels 0, 1 or `IGNORE`): the loss pass
//! does that first.

/// The byte lanes of the baseline instruction set (what the build enables).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
pub(crate) type BaseBytes = avx2::Bytes;
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
pub(crate) type BaseBytes = portable::Bytes;
/// The byte lanes of the dispatcher's AVX2 and AVX-512 levels.
#[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
pub(crate) type Avx2Bytes = avx2::Bytes;

/// 32 byte lanes and the operations the counting needs. Every method is
/// `#[inline(always)]` in every implementation (see `pairs.rs`).
pub(crate) trait Lanes: Copy {
    /// `logit > threshold` for a threshold other than 0.
    type Threshold: pairs::Predict<Self>;
    fn threshold(t: f32) -> Self::Threshold;
    /// `logit > 0` as bytes of all ones, else 0.
    fn positive(x: &[f32; HALF]) -> Self;
    fn splat(b: u8) -> Self;
    fn load(y: &[u8; HALF]) -> Self;
    /// `lo` then `hi`.
    fn load_halves(lo: &[u8; HALF / 2], hi: &[u8; HALF / 2]) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    /// `!self & o`.
    fn and_not(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    /// All ones where equal.
    fn eq(self, o: Self) -> Self;
    /// The smaller byte, unsigned.
    fn min(self, o: Self) -> Self;
    /// The larger byte, unsigned.
    fn max(self, o: Self) -> Self;
    /// The top bit of each byte.
    fn bitmask(self) -> u32;
    /// Four counts of 32 classes, regrouped per class.
    fn per_class(counts: [Self; 4]) -> [[u8; 4]; HALF];
}

/// A closure as a [`RowFn`] (for `avx512.rs`, compiled with its features:
/// no dispatch there).
#[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
struct FnRow<F>(F);

#[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
impl<F: FnMut(&[[f32; HALF]; 2], &[[u8; HALF]; 2]) -> u64> RowFn for FnRow<F> {
    #[inline(always)]
    fn row(&mut self, x: &[[f32; HALF]; 2], y: &[[u8; HALF]; 2]) -> u64 {
        (self.0)(x, y)
    }
}

/// What the counting does with one row's block (see [`Rows::each`]).
pub(crate) trait RowFn {
    /// Counts the row's block; returns its wrongly predicted cells as bits
    /// (0: none).
    fn row(&mut self, x: &[[f32; HALF]; 2], y: &[[u8; HALF]; 2]) -> u64;
}

/// Classes per block: two 32-byte registers of labels.
pub(crate) const BLOCK: usize = 64;

/// Rows per chunk at most (the byte lanes count up to 255).
pub(crate) const MAX_ROWS: usize = 255;

/// The counts of one block over a chunk of rows: per class, true positives,
/// false positives, false negatives and true negatives, a byte each.
pub(crate) type BlockCounts = [[u8; 4]; BLOCK];

/// Which labels a chunk holds.
// (Unused where the evaluation counts in the loss pass: MCUs.)
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kinds {
    /// Only 0 and 1.
    Hard,
    /// [`IGNORE`](crate::IGNORE) too.
    WithIgnored,
}

// (Unused where the evaluation counts in the loss pass: MCUs.)
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
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
///
/// `B`: the byte lanes to count with (a build with AVX-512BW uses its own).
// (Unused where the evaluation counts in the loss pass: MCUs.)
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
#[inline(always)]
pub(crate) fn count_block<B: Lanes>(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    base: usize,
    threshold: f32,
    kinds: Kinds,
    wrong: &mut [u8],
) -> BlockCounts {
    let rows = Rows { logits, labels, classes, base };
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
    return avx512::count_block(rows, threshold, kinds, wrong);
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512bw")))]
    pairs::count_block::<B>(rows, threshold, kinds, wrong)
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
    /// Calls `f` on each row's block (as two registers' worth) and flags
    /// in `wrong` the rows where it returns wrong-cell bits. Returns the rows
    /// counted.
    #[inline(always)]
    fn each(self, wrong: &mut [u8], f: &mut impl RowFn) -> u8 {
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
                    *w |= u8::from(f.row(wide::bytemuck::cast_ref(x), wide::bytemuck::cast_ref(y)) != 0);
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
                *w |= u8::from(f.row(wide::bytemuck::cast_ref(&xp), wide::bytemuck::cast_ref(&yp)) != 0);
                n += 1;
            }
        }
        n
    }
}

// (A build with AVX-512BW counts with `avx512.rs` alone, MCUs in the loss
// pass, `kernel::tally`.)
#[cfg_attr(
    any(
        all(target_arch = "x86_64", target_feature = "avx512bw"),
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))
    ),
    allow(dead_code)
)]
mod pairs;

mod scalar;
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) use scalar::StepCounts;
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) use scalar::count_cells;

#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(all(target_arch = "x86_64", target_feature = "avx512bw"))]
mod avx512;
