//! AVX-512 (with byte instructions): one 64-byte register per row of a
//! block, predictions and label classes as 64-bit masks, and each count one
//! masked byte add. For threshold 0 two packs, one permutation and one test
//! narrow 64 predictions (no compares); otherwise four compares into masks.

use super::{BLOCK, BlockCounts, FnRow, Kinds, Rows};
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
            let n = rows.each(
                wrong,
                &mut FnRow(|x: &[[f32; 32]; 2], y: &[[u8; 32]; 2]| {
                    let (pred, y) = (predict(x), load_labels(y));
                    let true_pos = _mm512_min_epu8(pred, y);
                    let false_pos = _mm512_min_epu8(pred, _mm512_sub_epi8(one, y));
                    tp = _mm512_add_epi8(tp, true_pos);
                    a = _mm512_add_epi8(a, false_pos);
                    b = _mm512_add_epi8(b, y);
                    // False positives, and false negatives: label 1, no true positive.
                    let miss = _mm512_or_si512(false_pos, _mm512_xor_si512(y, true_pos));
                    _mm512_test_epi8_mask(miss, miss)
                }),
            );
            let neg = _mm512_sub_epi8(_mm512_set1_epi8(n as i8), b);
            [tp, a, _mm512_sub_epi8(b, tp), _mm512_sub_epi8(neg, a)]
        }
        Kinds::WithIgnored => {
            // `a`: false positives, `b`: positives, `c`: negatives.
            rows.each(
                wrong,
                &mut FnRow(|x: &[[f32; 32]; 2], y: &[[u8; 32]; 2]| {
                    let (pred, y) = (predict(x), load_labels(y));
                    let pred = _mm512_test_epi8_mask(pred, pred);
                    let (p, n) = (_mm512_cmpeq_epi8_mask(y, one), _mm512_cmpeq_epi8_mask(y, zero));
                    tp = _mm512_mask_add_epi8(tp, pred & p, tp, one);
                    a = _mm512_mask_add_epi8(a, pred & n, a, one);
                    b = _mm512_mask_add_epi8(b, p, b, one);
                    c = _mm512_mask_add_epi8(c, n, c, one);
                    (pred & n) | (p & !pred)
                }),
            );
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
