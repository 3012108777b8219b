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
//! 0.03 ulp), evaluated as `2^n + 2^n·(r + r²·w(r))` (`w` of degree 4 by
//! Horner): no constant 1 to keep in a register, and the scaling by `2^n`
//! fused into the last FMA. Degree 5 measured 2.02 ulp (FMA) and 2.31 ulp
//! (SSE2): over the 2-ulp budget, so the one extra FMA stays.
//!
//! The dispatched AVX2 level has an exp of its own (`avx2.rs`,
//! `exp_by_table`): the same clamp, poison and reduction, but to
//! `|r| <= ln2/16` with `2^(j/8)` from an eight-entry table (one lane
//! permutation) and a degree-3 polynomial: three multiply-adds fewer per
//! lane, and as accurate.
//!
//! Accuracy (measured by the crate's `accuracy_tests` against `f64::exp` on every
//! `f32` in the normal-output range `[-87.33, 88]`, at every dispatch level):
//! **1.16 ulp** with FMA (AVX-512), **1.14 ulp** with the AVX2 level's table,
//! **1.13 ulp** on the baseline SSE2 lanes (see `MAX_ULP`, the budget the
//! test enforces). Below `2^-126` (inputs under -87.33) the outputs lie
//! between 0 and `2^-126`: subnormal values here, the table's step scaled
//! into the subnormal range at the AVX2 level; 0 at and below `LO`.

use super::isa::F32s;

/// Inputs at or below this give exactly `0`.
pub(crate) const LO: f32 = -88.0;
/// Inputs at or above this give `e^88`.
pub(crate) const HI: f32 = 88.0;
/// The largest error of each level's exp in ulp over `[-87.33, 88]`, as measured by
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

const C2: f32 = f32::from_bits(0x3efffffe); // 0.4999999403953552
const C3: f32 = f32::from_bits(0x3e2aaa0d); // 0.16666431725025177
const C4: f32 = f32::from_bits(0x3d2aac11); // 0.04166800156235695
const C5: f32 = f32::from_bits(0x3c0933c1); // 0.00837415549904108
const C6: f32 = f32::from_bits(0x3ab57398); // 0.0013843653723597527

/// The constants of [`exp_with`], as vectors, made once per loop and handed to
/// each step: splats, or what the instruction set's `Isa::consts` makes
/// them in the blocks of a pass (loads on AVX2).
#[derive(Clone, Copy)]
pub(crate) struct Consts<V> {
    pub(crate) hi: V,
    pub(crate) lo: V,
    pub(crate) log2e: V,
    pub(crate) magic: V,
    pub(crate) ln2_hi: V,
    pub(crate) ln2_lo: V,
    pub(crate) c: [V; 5],
    /// The label value 1 as lane bits (`f32::from_bits(1)`), for
    /// instruction sets that compare labels as 32-bit lanes
    /// (`Isa::signed`: the dispatched AVX2 lanes).
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    pub(crate) label_one: V,
}

impl<V> Consts<V> {
    #[inline(always)]
    pub(crate) fn new<const N: usize>() -> Self
    where
        V: F32s<N>,
    {
        // Written out, not through `from_fn`: opt-level z called its
        // closure eleven times, and kept the constants (176 B on MCUs,
        // whose exp does not use them) on the stack.
        Consts {
            hi: V::splat(HI),
            lo: V::splat(LO),
            log2e: V::splat(LOG2E),
            magic: V::splat(MAGIC),
            ln2_hi: V::splat(LN2_HI),
            ln2_lo: V::splat(LN2_LO),
            c: [V::splat(C6), V::splat(C5), V::splat(C4), V::splat(C3), V::splat(C2)],
            #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
            label_one: V::splat(f32::from_bits(1)),
        }
    }

    /// The constants with `f(i)` the `i`-th field's vector, in the order
    /// of the fields.
    #[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
    #[inline(always)]
    pub(crate) fn from_fn(f: impl Fn(usize) -> V) -> Self {
        Consts {
            hi: f(0),
            lo: f(1),
            log2e: f(2),
            magic: f(3),
            ln2_hi: f(4),
            ln2_lo: f(5),
            c: [f(6), f(7), f(8), f(9), f(10)],
            label_one: f(11),
        }
    }
}

/// [`exp_with`] with the constants made here (the tests').
#[cfg(test)]
#[inline(always)]
pub(crate) fn exp<V: F32s<N>, const N: usize, const POISON: bool>(x: V) -> V {
    exp_with::<V, N, POISON>(x, &Consts::new())
}

/// `e^x` on every lane with its constants given (see the module
/// documentation for range and accuracy); the table-free exp, the same
/// algorithm for every instruction set.
///
/// `POISON`: the reduction takes the unclamped `x`, so that an input
/// outside `[LO, HI]` that the clamp would have hidden shows: `-inf` (and a
/// finite `x` far below `LO`) gives NaN (`±inf · 0`), `+inf` gives `+inf`.
/// Inputs in `[LO, HI]` give the same result either way. The fast path uses
/// it to see non-finite logits in its sums; the shifted path, whose inputs
/// may lie far below `LO`, does not.
#[inline(always)]
pub(crate) fn exp_with<V: F32s<N>, const N: usize, const POISON: bool>(x: V, k: &Consts<V>) -> V {
    let (t, r) = reduce::<V, N, POISON>(x, k);
    let [c6, c5, c4, c3, c2] = k.c;
    // e^r = 1 + r + r^2·w(r); scaled by 2^n as 2^n + 2^n·(r + r^2·w): no
    // constant 1 to hold, and one rounding less than `(1 + …)·2^n`.
    let w = c6.mul_add(r, c5).mul_add(r, c4).mul_add(r, c3).mul_add(r, c2);
    let u = (r * r).mul_add(w, r);
    let scale = t.shl23();
    u.mul_add(scale, scale)
}

/// The clamp and the reduction of every lane exp (this one and the AVX2
/// level's table exp, whose constants make the step `ln2/8`): `t`, the
/// magic-constant round of `x / step` (its low bits the integer `n`), and
/// `r = x - n·step` in two multiply-adds (`POISON`: from the unclamped
/// `x`, see [`exp_with`]).
#[inline(always)]
pub(crate) fn reduce<V: F32s<N>, const N: usize, const POISON: bool>(x: V, k: &Consts<V>) -> (V, V) {
    // The constant first: x86's max and min return their second operand
    // when one is NaN, so a NaN input stays NaN.
    let xc = k.hi.fast_min(k.lo.fast_max(x));
    let t = xc.mul_add(k.log2e, k.magic);
    let n = t - k.magic;
    let r = n.mul_neg_add(k.ln2_hi, if POISON { x } else { xc });
    (t, n.mul_neg_add(k.ln2_lo, r))
}

/// Whether the MCU exp fuses its multiply-adds: where the target's FPU has
/// a fused multiply-add that stable Rust can issue (`build.rs` sets
/// `mlcce_fma` from the target): RISC-V's F extension. (Arm's FPv4 and
/// FPv5 have `vfma.f32`, but inline assembly on their registers needs
/// Arm target features that stable Rust does not have.)
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const FUSED: bool = cfg!(mlcce_fma = "riscv");

/// `a·b + c`: fused (one rounding, one instruction) when `FUSED`, else a
/// multiply and an add.
#[cfg(any(test, not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))))]
#[inline(always)]
fn fma<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { fused(a, b, c) } else { a * b + c }
}

/// `a·b + c` with one rounding: RISC-V's `fmadd.s`.
#[cfg(all(not(test), mlcce_fma = "riscv"))]
#[inline(always)]
fn fused(a: f32, b: f32, c: f32) -> f32 {
    let d: f32;
    // SAFETY: `fmadd.s` is an instruction of the F extension, which the
    // targets that set `mlcce_fma = "riscv"` have; it reads and writes
    // these registers only.
    unsafe {
        core::arch::asm!("fmadd.s {d}, {a}, {b}, {c}", d = out(freg) d, a = in(freg) a, b = in(freg) b, c = in(freg) c,
            options(pure, nomem, nostack))
    };
    d
}

/// Targets without a fused multiply-add that stable Rust reaches: never
/// called (`FUSED` is false there).
#[cfg(all(
    not(test),
    not(mlcce_fma = "riscv"),
    not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))
))]
#[inline(always)]
fn fused(a: f32, b: f32, c: f32) -> f32 {
    a * b + c
}

/// The host tests' fused multiply-add: [`fused_exact`].
#[cfg(test)]
#[inline(always)]
fn fused(a: f32, b: f32, c: f32) -> f32 {
    fused_exact(a, b, c)
}

/// `fl(a·b + c)` with one rounding, exactly, from `f64` arithmetic (for
/// the host tests of the fused exp): the product is exact in `f64`, the
/// sum's error is recovered by TwoSum, and it decides only when the
/// rounded sum lies exactly halfway between two `f32`s.
#[cfg(test)]
pub(crate) fn fused_exact(a: f32, b: f32, c: f32) -> f32 {
    let (p, c) = (f64::from(a) * f64::from(b), f64::from(c));
    let s = p + c;
    let bv = s - p;
    let e = (p - (s - bv)) + (c - bv);
    let r = s as f32;
    let d = s - f64::from(r);
    if d != 0.0 && e != 0.0 && r.is_finite() {
        let other = if d > 0.0 { r.next_up() } else { r.next_down() };
        if (f64::from(other) - s).abs() == d.abs() && (e > 0.0) == (d > 0.0) {
            return other;
        }
    }
    r
}

/// [`exp_with`] of one value, for the MCU lanes (scalar FPUs): the same
/// reduction and polynomial, its multiply-adds fused where the FPU has a
/// fused multiply-add ([`FUSED`]: one instruction each; `vmla` and the like
/// round twice and overwrite their addend), with `w` by Estrin instead of
/// Horner (each constant an addend once: on Arm a multiply-accumulate
/// overwrites its addend, so every Horner step would copy its constant
/// first). Its error is measured on every `f32` of `[-87.33, 88]`, fused
/// and unfused (within `MAX_ULP`); in `[LO, HI]` the three forms below
/// compute the same.
///
/// `CLAMP`: the input is clamped to `[LO, HI]` (as `exp_with`). Without it
/// the exponent is saturated in integer arithmetic instead (for FPUs
/// without a float min/max: Arm's FPv4 clamps with a compare, a status
/// move and a predicated move, twice; `usat` is one instruction). Outside
/// `[LO, HI]` that gives what the fast path needs: above `HI` the scale
/// saturates to `+inf`, so the result is `±inf` or NaN (a sum the fast path
/// rejects); below `LO` the scale is `0` and the result `0` (NaN where `r²`
/// overflows, far below, as `exp_with` gives); NaN and `±inf` give NaN.
///
/// `POISON`: as [`exp_with`]'s, the reduction takes the unclamped input.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub(crate) fn exp_one<const CLAMP: bool, const POISON: bool>(x: f32) -> f32 {
    exp_one_by::<CLAMP, POISON, FUSED>(x)
}

/// [`exp_one`] with its multiply-adds fused or not.
#[cfg(any(test, not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))))]
#[inline(always)]
pub(crate) fn exp_one_by<const CLAMP: bool, const POISON: bool, const FUSED: bool>(x: f32) -> f32 {
    exp_signed::<CLAMP, POISON, FUSED, false, { cfg!(target_arch = "arm") }>(x)
}

/// [`exp_one`] of `-x`, bit for bit, with the sign taken by the
/// constants and the reduction's subtraction (`vmls`, `vnmls`; RISC-V's
/// `fnmsub`, `fmsub`) rather than by an instruction of its own.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub(crate) fn exp_one_neg<const CLAMP: bool, const POISON: bool>(x: f32) -> f32 {
    exp_signed::<CLAMP, POISON, FUSED, true, { cfg!(target_arch = "arm") }>(x)
}

/// `e^{-x}` if `NEG`, else `e^{x}` ([`exp_one_by`]); the clamp by
/// compares if `CMP` (as on Arm), else by float min and max.
#[cfg(any(test, not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))))]
#[inline(always)]
pub(crate) fn exp_signed<const CLAMP: bool, const POISON: bool, const FUSED: bool, const NEG: bool, const CMP: bool>(
    x: f32,
) -> f32 {
    // The input's clamp, for `-x` as bounds on `x` (exact: negation is).
    let (lo, hi) = if NEG { (-HI, -LO) } else { (LO, HI) };
    // Not `f32::clamp` (opt-level z leaves it a call, with a panic path).
    // On Arm by compares (a NaN stays NaN): FPv4 has no float min/max, and
    // `f32::max`'s NaN rule costs more compares there; RISC-V's F extension
    // has them.
    #[allow(clippy::manual_clamp)]
    let xc = match (CLAMP, CMP) {
        (false, _) => x,
        (true, true) => {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        }
        // A NaN goes to the bound that `x`'s would (`f32::max` drops it).
        (true, false) if NEG => x.min(hi).max(lo),
        (true, false) => x.max(lo).min(hi),
    };
    // `(-x)·LOG2E` is `x·(-LOG2E)` exactly, so both signs round alike.
    let t = fma::<FUSED>(xc, if NEG { -LOG2E } else { LOG2E }, MAGIC);
    // `-n`, exactly (as `t - MAGIC`); `n·LN2_HI` is exact too, so fused or
    // not the first step rounds once.
    let neg_n = MAGIC - t;
    let v = if POISON { x } else { xc };
    let r = fma::<FUSED>(neg_n, LN2_HI, if NEG { -v } else { v });
    let r = fma::<FUSED>(neg_n, LN2_LO, r);
    let r2 = r * r;
    let w = fma::<FUSED>(fma::<FUSED>(C6, r2, fma::<FUSED>(C5, r, C4)), r2, fma::<FUSED>(C3, r, C2));
    let u = fma::<FUSED>(r2, w, r);
    // `t`'s low mantissa bits hold `n + 127` (`MAGIC`'s exponent field is
    // 0x4B, its leading mantissa bit 0x40_0000); in `[0, 254]` for a
    // clamped input.
    let field = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let field = if CLAMP { field } else { field.clamp(0, 255) };
    let scale = f32::from_bits((field as u32) << 23);
    fma::<FUSED>(u, scale, scale)
}

/// The MCU fast path's exp on Arm: [`exp_one`] with the exponent saturated
/// and the input unclamped.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub(crate) fn exp_saturated(x: f32) -> f32 {
    exp_one::<false, true>(x)
}

/// [`exp`] of one value, on `wide`'s eight lanes (for the accuracy tests).
#[cfg(test)]
pub(crate) fn exp_scalar(x: f32) -> f32 {
    exp::<wide::f32x8, 8, false>(wide::f32x8::splat(x)).to_array()[0]
}
