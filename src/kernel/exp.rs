//! `e^x` on eight lanes, specialised for what the kernels feed it.
//!
//! The kernels call it with `x = ±s` (fast path, shift 0) or `x = ±s - max`
//! (`x <= 0`, shifted path). Inputs are clamped to `[LO, HI]`: below `LO` the
//! result is exactly `0` (the true value is below `2^-126`, under the `f32`
//! normal range), at and above `HI` it is `e^88` (about `1.65e38`), which the
//! fast path reads as "overflow risk, take the shifted path".
//!
//! Method: `x = n·ln2 + r` with `n = round(x / ln2)` (a magic-constant round
//! that also yields the bits of `2^n`), a two-constant Cody–Waite reduction
//! (`|r| <= ln2/2`), and a degree-6 polynomial with `p(0) = 1` fitted for minimal
//! relative error on that interval (IRLS/Lawson fit; approximation error
//! 0.03 ulp). Degree 5 measured 2.02 ulp (FMA) and 2.31 ulp (SSE2): over the
//! 2-ulp budget, so the one extra FMA stays.
//!
//! Accuracy (measured by the crate's `accuracy_tests` against `f64::exp` on every
//! `f32` in the normal-output range `[-87.33, 88]`, FMA build):
//! **1.06 ulp** with FMA (`-C target-cpu=x86-64-v3`), **1.34 ulp** on the
//! baseline SSE2 build (see `MAX_ULP`, the budget the test enforces). Outputs in `(-87.68, -87.33)` are
//! subnormal and carry the subnormal spacing only; below that they flush to 0.

use wide::{f32x8, i32x8};
#[cfg(target_feature = "avx512f")]
use wide::{f32x16, i32x16};

/// Inputs at or below this give exactly `0`.
pub(crate) const LO: f32 = -88.0;
/// Inputs at or above this give `e^88`.
pub(crate) const HI: f32 = 88.0;
/// The largest error of [`exp`] in ulp over `[-87.33, 88]`, as measured by
/// the accuracy test (which fails if it is ever exceeded).
///
#[cfg(test)]
pub(crate) const MAX_ULP: f32 = 1.5;

const LOG2E: f32 = core::f32::consts::LOG2_E;
/// `1.5·2^23 + 127`: adding it rounds to an integer and leaves `n + 127` in
/// the low mantissa bits, ready to be shifted into a float's exponent.
const MAGIC: f32 = 12_583_039.0;
/// `ln 2` split so that `n · LN2_HI` is exact for `|n| <= 128`.
const LN2_HI: f32 = f32::from_bits(0x3f317200); // 0.693145751953125
const LN2_LO: f32 = f32::from_bits(0x35bfbe8e); // 1.428606765330187e-06

const C1: f32 = 1.0;
const C2: f32 = f32::from_bits(0x3efffffe); // 0.4999999403953552
const C3: f32 = f32::from_bits(0x3e2aaa0d); // 0.16666431725025177
const C4: f32 = f32::from_bits(0x3d2aac11); // 0.04166800156235695
const C5: f32 = f32::from_bits(0x3c0933c1); // 0.00837415549904108
const C6: f32 = f32::from_bits(0x3ab57398); // 0.0013843653723597527

macro_rules! exp_lanes {
    ($(#[$doc:meta])* $name:ident, $F:ident, $I:ident) => {
        $(#[$doc])*
        #[inline(always)]
        pub(crate) fn $name(x: $F) -> $F {
            let x = x.fast_clamp($F::splat(LO), $F::splat(HI));
            let t = x.mul_add($F::splat(LOG2E), $F::splat(MAGIC));
            let n = t - $F::splat(MAGIC);
            let r = n.mul_neg_add($F::splat(LN2_HI), x);
            let r = n.mul_neg_add($F::splat(LN2_LO), r);
            let p = $F::splat(C6)
                .mul_add(r, $F::splat(C5))
                .mul_add(r, $F::splat(C4))
                .mul_add(r, $F::splat(C3))
                .mul_add(r, $F::splat(C2))
                .mul_add(r, $F::splat(C1))
                .mul_add(r, $F::ONE);
            let bits: $I = wide::bytemuck::cast(t);
            let scale: $F = wide::bytemuck::cast(bits << 23u32);
            p * scale
        }
    };
}

exp_lanes!(
    #[cfg_attr(target_feature = "avx512f", allow(dead_code))]
    /// `e^x` on eight lanes (see the module documentation for range and accuracy).
    exp,
    f32x8,
    i32x8
);
#[cfg(target_feature = "avx512f")]
exp_lanes!(
    /// `e^x` on sixteen lanes (one AVX-512 register, two AVX2 ones): the same
    /// code and results as [`exp`].
    exp16, f32x16, i32x16
);

/// [`exp`] of one value (for the accuracy tests).
#[cfg(test)]
pub(crate) fn exp_scalar(x: f32) -> f32 {
    exp(f32x8::splat(x)).to_array()[0]
}
