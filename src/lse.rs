//! The streaming log-sum-exp state that every kernel produces and consumes.
//!
//! A state stands for the sum `Σ e^{v_i}` of the terms seen so far as the pair
//! `(shift, sum)` with `Σ e^{v_i} = e^{shift} · sum`. `shift` is a reference
//! exponent chosen so that `sum` neither overflows nor underflows: the running
//! maximum of the terms, or `0` when every term is known to lie in the range
//! where `e^v` is an accurate normal `f32` (the kernels' fast path).
//!
//! The `1 +` of the loss (the zero logit) is *not* stored as a term: it is
//! added when the state is finished ([`Lse::log1p`]). Keeping it out of the
//! running sum is what makes tiny losses exact: `log(1 + 1.8e-12)` is
//! `1.8e-12`, but `1 + 1.8e-12` is `1` in `f32`.
//!
//! Two states merge associatively and commutatively (up to rounding), so a row
//! can be split into chunks processed in any order. A row's [`Stream`] is its
//! two states, one per group.

use crate::Error;

/// A partial log-sum-exp: `Σ e^{v} = e^{shift} · sum` over the terms seen.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lse {
    /// Reference exponent (`-inf` while no term has been seen).
    pub shift: f32,
    /// The sum of `e^{v - shift}` over the terms seen (`0` while none).
    pub sum: f32,
}

impl Default for Lse {
    fn default() -> Self {
        Lse::EMPTY
    }
}

impl Lse {
    /// The state of no terms.
    ///
    /// cbindgen:ignore
    pub const EMPTY: Lse = Lse { shift: f32::NEG_INFINITY, sum: 0.0 };

    /// A state from its parts.
    pub const fn new(shift: f32, sum: f32) -> Lse {
        Lse { shift, sum }
    }

    /// True when the state holds no term.
    pub fn is_empty(self) -> bool {
        self.sum == 0.0
    }

    /// True when the fields could have been produced by this library: a
    /// finite or `-inf` shift and a finite, non-negative sum.
    pub fn is_valid(self) -> bool {
        (self.shift.is_finite() || self.shift == f32::NEG_INFINITY) && self.sum.is_finite() && self.sum >= 0.0
    }

    /// Adds one term `e^v` (online: the shift follows the running maximum).
    #[must_use]
    pub fn push(self, v: f32) -> Lse {
        if v > self.shift {
            Lse { shift: v, sum: self.sum * libm::expf(self.shift - v) + 1.0 }
        } else {
            Lse { shift: self.shift, sum: self.sum + libm::expf(v - self.shift) }
        }
    }

    /// The state of the union of both sets of terms.
    #[must_use]
    pub fn merge(self, other: Lse) -> Lse {
        if other.is_empty() {
            return self;
        }
        if self.is_empty() {
            return other;
        }
        if self.shift == other.shift {
            return Lse { shift: self.shift, sum: self.sum + other.sum };
        }
        let (hi, lo) = if self.shift > other.shift { (self, other) } else { (other, self) };
        Lse { shift: hi.shift, sum: hi.sum + lo.sum * libm::expf(lo.shift - hi.shift) }
    }

    /// `log(1 + Σ e^v)`: the loss term of this state, exact for tiny and huge
    /// values alike (no `1 + tiny` rounding, no overflow).
    pub fn log1p(self) -> f32 {
        self.log1p_f64() as f32
    }

    /// [`Lse::log1p`] before its rounding to `f32`: the frame change
    /// (`e^{shift}`) and the log are taken in `f64`, so the only `f32`
    /// errors left are those of `sum` itself (three `f32` roundings here
    /// cost up to 4.4e-7 on a loss of 4e-21, found by fuzzing).
    #[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(always))]
    pub(crate) fn log1p_f64(self) -> f64 {
        let (shift, sum) = (f64::from(self.shift), f64::from(self.sum));
        if self.is_empty() {
            0.0
        } else if shift <= 0.0 {
            // log(1 + sum·e^shift); `e^shift` (shift <= 0) does not
            // overflow, and is 0 only where the loss is below any `f32`.
            log1p_wide_apart(sum * exp_neg_wide(shift))
        } else {
            // shift + log(e^-shift + sum), with `e^-shift < 1`.
            shift + log_wide(sum + exp_neg_wide(-shift))
        }
    }

    /// `scale / (1 + Σ e^v)` expressed in this state's frame, i.e. the factor
    /// that turns a stored `e^{v - shift}` into `scale · e^v / (1 + Σ e^v)`.
    pub(crate) fn grad_factor(self, scale: f32) -> f32 {
        if self.is_empty() {
            0.0
        } else if self.shift == 0.0 {
            scale / (1.0 + self.sum)
        } else {
            scale / (libm::expf(-self.shift) + self.sum)
        }
    }
}

/// The loss state of one row, or of any part of it (C: `mlcce_stream`).
///
/// A stream accumulates ONE row: each `update` appends the next classes of
/// that row, and `merge` combines two disjoint parts of the same row (any
/// split, any order). It is a plain value of 16 bytes: keep it on the stack.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stream {
    /// `Σ_{y=0} e^{s}` over the negative classes seen.
    pub neg: Lse,
    /// `Σ_{y=1} e^{-s}` over the positive classes seen.
    pub pos: Lse,
}

impl Stream {
    /// The state of an empty row (loss 0).
    ///
    /// cbindgen:ignore
    pub const EMPTY: Stream = Stream { neg: Lse::EMPTY, pos: Lse::EMPTY };

    /// An empty state.
    pub const fn new() -> Stream {
        Stream::EMPTY
    }

    /// The loss of the classes seen so far.
    #[inline]
    pub fn loss(&self) -> f32 {
        self.loss_f64() as f32
    }

    /// [`Stream::loss`] before its rounding to `f32` (the batch reductions
    /// sum rows in `f64` and round once).
    #[inline]
    pub(crate) fn loss_f64(&self) -> f64 {
        // With both sums unshifted (the kernels' fast path), one `log1p` of
        // `(1 + a)(1 + b) - 1 = a + b + ab` (formed in f64: no cancellation,
        // all terms >= 0), evaluated in f64 and rounded once, replaces two
        // `log1pf` and an addition: cheaper on short rows and more accurate.
        let plain = |l: Lse| l.is_empty() || l.shift == 0.0;
        if plain(self.neg) && plain(self.pos) {
            let (a, b) = (f64::from(self.neg.sum), f64::from(self.pos.sum));
            let u = a + b + a * b;
            if u < 1e30 {
                return log1p_wide_apart(u);
            }
        }
        self.neg.log1p_f64() + self.pos.log1p_f64()
    }

    /// [`Error::Argument`] unless both states are well formed.
    pub fn check(&self) -> Result<(), Error> {
        if self.neg.is_valid() && self.pos.is_valid() { Ok(()) } else { Err(Error::Argument) }
    }

    #[must_use]
    pub(crate) fn merged(self, other: Stream) -> Stream {
        Stream { neg: self.neg.merge(other.neg), pos: self.pos.merge(other.pos) }
    }
}

/// `log(1 + u)` for `u >= 0` given in `f64`, rounded once to `f32`: the
/// fast path's finish (`u = a + b + ab`). It sits on the latency path of
/// every row (a third of a 32-class row's time with the division-based
/// version), so it is table-driven and division-free: within 2e-10 relative
/// before the one rounding to `f32` (the crate's `accuracy_tests`).
#[cfg(test)]
pub(crate) fn log1p_f64(u: f64) -> f32 {
    log1p_wide(u) as f32
}

/// `e^x` for `x <= 0` in `f64`, relative error below 1e-15 (the crate's
/// `accuracy_tests`), and 0 below -708 (where `e^x < 2^-1021`: multiplied by
/// a sum of at most `f32::MAX` it is below `2^-893`, nothing to an `f32`
/// loss). The state finish's only `exp`; written here rather than taken
/// from `libm` for the MCUs, whose soft-float `libm::exp` was the deepest
/// frame of every kernel (64 B on Cortex-M4F) and 1 KB of flash: a range
/// reduction by `ln 2` (Cody-Waite, exact for every `k` here) and the
/// Taylor series of `e^r`, `|r| <= ln(2)/2`, to `r^12` (the first dropped
/// term is below `2e-16` relative). Out of line, like [`log_wide`]: a rare
/// path, whose registers would otherwise add to the frames of the kernels
/// that finish a state (and on MCUs to the state finish's while it calls
/// the other).
#[inline(never)]
pub(crate) fn exp_neg_wide(x: f64) -> f64 {
    // A NaN (never given) returns 0 too.
    if x.is_nan() || x < -708.0 {
        return 0.0;
    }
    // k = round(x / ln 2) in [-1021, 0] (truncating `t - 0.5 <= 0` rounds
    // to within 1/2 of `t`).
    let k = (x * core::f64::consts::LOG2_E - 0.5) as i32;
    let kf = f64::from(k);
    // fdlibm's split of ln 2: `LN2_HI` ends in 21 zero bits, so
    // `kf * LN2_HI` is exact for `|k| < 2^21`.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // 1 + r + r²/2! + … + r¹²/12!, Horner (the coefficients from a table:
    // as an array of locals, 96 B of stack at opt-level s).
    let mut p = EXP_TAYLOR[0];
    for &c in &EXP_TAYLOR[1..] {
        p = p * r + c;
    }
    // 2^k, a normal f64 for k in [-1021, 0].
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

/// `1/12!, 1/11!, …, 1/1!, 1/0!`.
static EXP_TAYLOR: [f64; 13] = {
    let mut c = [1.0f64; 13];
    let mut i = 0;
    while i < 12 {
        // c[i] = 1 / (12 - i)!
        let mut f = 1.0f64;
        let mut j = 2;
        while j <= 12 - i {
            f *= j as f64;
            j += 1;
        }
        c[i] = 1.0 / f;
        i += 1;
    }
    c
};

/// [`log1p_wide`] in a function of its own on MCUs, called by both
/// finishes (the fast pass's and the state's): one copy in flash, and its
/// soft-float `f64` registers do not add to the frames of its callers (the
/// state finish, with its `exp` and `log` out of line too, is the deepest
/// call of the loss on a row of huge logits).
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
#[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), inline(always))]
pub(crate) fn log1p_wide_apart(u: f64) -> f64 {
    log1p_wide(u)
}

/// Table size of [`log1p_wide`]: the top 5 mantissa bits pick the entry.
const LOG_BITS: u32 = 5;

/// `C[i]` is about `1 / m` for mantissas `m` in `[1 + i/32, 1 + (i+1)/32)`
/// (`64 / (65 + 2i)`, the midpoint; `C[0] = 1` so that small `u` keep their
/// relative accuracy), so `m·C[i] - 1` is within `[-1/64, 1/32)`.
const LOG_C: [f64; 1 << LOG_BITS] = {
    let mut c = [1.0f64; 1 << LOG_BITS];
    let mut i = 1;
    while i < c.len() {
        c[i] = 64.0 / (65.0 + 2.0 * i as f64);
        i += 1;
    }
    c
};

/// `-log(C[i])`, correctly rounded (computed with 50 decimal digits).
#[allow(clippy::excessive_precision)]
const LOG_T: [f64; 1 << LOG_BITS] = [
    0.0,
    0.04580953603129422,
    0.07522342123758752,
    0.10379679368164355,
    0.13157635778871932,
    0.15860503017663852,
    0.18492233849401193,
    0.21056476910734964,
    0.23556607131276697,
    0.259957524436926,
    0.2837681731306446,
    0.3070250352949119,
    0.32975328637246804,
    0.3519764231571781,
    0.373716409793584,
    0.394993808240869,
    0.415827895143711,
    0.43623676677491796,
    0.4562374334815876,
    0.475845904869964,
    0.4950772667978514,
    0.5139457511022344,
    0.5324647988694717,
    0.5506471179526623,
    0.5685047353526688,
    0.5860490450035782,
    0.6032908514380841,
    0.6202404097518576,
    0.6369074622370692,
    0.6533012720127456,
    0.6694306539426292,
    0.6853040030989195,
];

/// `a·b + c`, fused where the target has FMA (one rounding, half the
/// latency), a multiply and an add elsewhere (no software `fma` call).
#[inline(always)]
fn mul_add(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(target_feature = "fma")]
    {
        wide::f64x2::splat(a).mul_add(wide::f64x2::splat(b), wide::f64x2::splat(c)).to_array()[0]
    }
    #[cfg(not(target_feature = "fma"))]
    {
        a * b + c
    }
}

/// `log(1 + u)` in `f64` for `u >= 0` (and below 2^1000), relative error
/// below 2e-10.
///
/// `y = 1 + u = 2^k · m` with `m` in `[1, 2)`; `log y = k·log 2 + T[i] +
/// log(1 + r)` with `r = m·C[i] - 1`, `|r| <= 1/32`, and `log(1 + r)` by its
/// Taylor series to `r^6` (the first dropped term is below `r^6/7`
/// relative, 1.3e-10). Below `u = 1e-4` a series in `u` itself keeps tiny
/// losses exact (`1 + u` would lose their digits).
#[inline(always)]
pub(crate) fn log1p_wide(u: f64) -> f64 {
    log1p_wide_by(u, mul_add)
}

/// [`log1p_wide`] with the multiply-add `mul_add` (`a·b + c`, fused or not:
/// the error bound holds either way).
#[inline(always)]
pub(crate) fn log1p_wide_by(u: f64, mul_add: impl Fn(f64, f64, f64) -> f64) -> f64 {
    if u < 1e-4 {
        // The next term, u^5/5, is below 2e-21 relative.
        return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * 0.25)));
    }
    // `1 + u`: rounding error 1.1e-16, below 1.2e-12 of log y here.
    log_wide_by::<HORNER>(1.0 + u, mul_add)
}

/// `log y` in `f64` for a normal `y > 0` below 2^1000 (see [`log1p_wide`]):
/// within 2e-10 relative where `|log y| >= 1e-3`, within 4e-16 absolute
/// nearer 1 (four ulps of a `y` just below 1; the crate's `accuracy_tests`).
/// The state finish's `log`.
#[inline(never)]
pub(crate) fn log_wide(y: f64) -> f64 {
    log_wide_by::<HORNER>(y, mul_add)
}

/// [`log_wide`] in the form of the hosts (`horner` false) or of the MCUs
/// (the host tests check both).
#[cfg(test)]
pub(crate) fn log_wide_in(y: f64, horner: bool) -> f64 {
    if horner { log_wide_by::<true>(y, mul_add) } else { log_wide_by::<false>(y, mul_add) }
}

/// Whether the `log`'s polynomial goes by Horner's rule: on MCUs, where
/// each `f64` operation is a soft-float call and Horner's rule holds the
/// fewest values across them (the state finish's `log` 64 -> 40 B of
/// frame on Cortex-M4F at opt-level z).
const HORNER: bool = !cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"));

/// [`log_wide`] with the multiply-add `mul_add`, its polynomial by
/// Horner's rule if `H` (see [`HORNER`]).
#[inline(always)]
fn log_wide_by<const H: bool>(y: f64, mul_add: impl Fn(f64, f64, f64) -> f64) -> f64 {
    let bits = y.to_bits();
    let k = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let i = ((bits >> (52 - LOG_BITS)) & ((1 << LOG_BITS) - 1)) as usize;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let (c, t) = (LOG_C[i], LOG_T[i]);
    let r = mul_add(m, c, -1.0);
    // log(1 + r) = r - r²/2 + r³/3 - r⁴/4 + r⁵/5 - r⁶/6: Estrin-style where
    // `f64` is in hardware (a shorter chain of latencies), by Horner's rule
    // on MCUs ([`HORNER`]).
    let p = if !H {
        let r2 = r * r;
        let a = mul_add(r, 1.0 / 3.0, -0.5);
        let b = mul_add(r2, -1.0 / 6.0, mul_add(r, 0.2, -0.25));
        mul_add(r2 * r2, b, mul_add(r2, a, r))
    } else {
        let q = mul_add(mul_add(mul_add(mul_add(r, -1.0 / 6.0, 0.2), r, -0.25), r, 1.0 / 3.0), r, -0.5);
        mul_add(r * r, q, r)
    };
    mul_add(f64::from(k), core::f64::consts::LN_2, t) + p
}
