//! `wide` lanes: SSE2 packs on x86, plain code where `wide` has no SIMD.

use wide::{f32x8, i8x16, i16x8, i32x8, u8x32};

use super::pairs::Predict;
use super::{HALF, Lanes};

/// 32 bytes.
#[derive(Clone, Copy)]
pub(crate) struct Bytes(u8x32);

/// The decision threshold, splatted.
#[derive(Clone, Copy)]
pub(crate) struct Threshold(f32x8);

impl Predict<Bytes> for Threshold {
    /// `logit > threshold` as bytes of all ones, else 0.
    #[inline(always)]
    fn predict(self, x: &[f32; HALF]) -> Bytes {
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

impl Lanes for Bytes {
    type Threshold = Threshold;
    #[inline(always)]
    fn threshold(t: f32) -> Threshold {
        Threshold(f32x8::splat(t))
    }
    /// As an `i32`, a positive `f32` is positive, +0 is 0 and the rest
    /// negative, and the saturating narrowing keeps that.
    #[inline(always)]
    fn positive(x: &[f32; HALF]) -> Bytes {
        let x: &[[f32; 8]; 4] = wide::bytemuck::cast_ref(x);
        let b = narrow(x.map(wide::bytemuck::cast::<[f32; 8], i32x8>));
        Bytes(wide::bytemuck::cast(b.map(|b| b.simd_gt(i8x16::ZERO))))
    }
    #[inline(always)]
    fn splat(b: u8) -> Self {
        Bytes(u8x32::splat(b))
    }
    #[inline(always)]
    fn load(y: &[u8; HALF]) -> Self {
        Bytes(u8x32::new(*y))
    }
    #[inline(always)]
    fn load_halves(lo: &[u8; HALF / 2], hi: &[u8; HALF / 2]) -> Self {
        let mut y = [0; HALF];
        y[..HALF / 2].copy_from_slice(lo);
        y[HALF / 2..].copy_from_slice(hi);
        Bytes(u8x32::new(y))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Bytes(self.0 + o.0)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Bytes(self.0 - o.0)
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        Bytes(self.0 & o.0)
    }
    #[inline(always)]
    fn and_not(self, o: Self) -> Self {
        Bytes(!self.0 & o.0)
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Bytes(self.0 | o.0)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        Bytes(self.0 ^ o.0)
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Self {
        Bytes(self.0.simd_eq(o.0))
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        Bytes(self.0.min(o.0))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Bytes(self.0.max(o.0))
    }
    #[inline(always)]
    fn bitmask(self) -> u32 {
        self.0.to_bitmask()
    }
    #[inline(always)]
    fn per_class(counts: [Self; 4]) -> [[u8; 4]; HALF] {
        let [a, b, c, d] = counts.map(|v| v.0.to_array());
        core::array::from_fn(|i| [a[i], b[i], c[i], d[i]])
    }
}
