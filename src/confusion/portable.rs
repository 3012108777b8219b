//! `wide` lanes: SSE2 packs on x86, plain code where `wide` has no SIMD.

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
