//! AVX2: four compares (or none, for threshold 0), two 256-bit packs and one
//! lane permutation narrow 32 predictions to bytes.

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
        let gt = |v: &[f32; 8]| cast_to_m256i_from_m256(cmp_op_mask_m256::<_CMP_GT_OQ>(load_unaligned_m256(v), self.0));
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
