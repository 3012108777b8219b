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
//! can be split into chunks processed in any order.

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
    pub fn push(self, v: f32) -> Lse {
        if v > self.shift {
            Lse { shift: v, sum: self.sum * libm::expf(self.shift - v) + 1.0 }
        } else {
            Lse { shift: self.shift, sum: self.sum + libm::expf(v - self.shift) }
        }
    }

    /// The state of the union of both sets of terms.
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
        if self.is_empty() {
            0.0
        } else if self.shift == 0.0 {
            libm::log1pf(self.sum)
        } else if self.shift < 0.0 {
            libm::log1pf(self.sum * libm::expf(self.shift))
        } else {
            self.shift + libm::logf(self.sum + libm::expf(-self.shift))
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

/// `log(1 + u)` for `u >= 0` given in `f64`, rounded once to `f32`: the
/// fast path's finish (`u = a + b + ab`). Cheaper than `log1pf` (one `f64`
/// division and five FMAs) and within 0.5 ulp plus 1e-9 relative.
pub(crate) fn log1p_f64(u: f64) -> f32 {
    if u < 1e-4 {
        // Series: the next term, u^5/5, is below 2e-21 relative.
        return (u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * 0.25)))) as f32;
    }
    let y = 1.0 + u; // relative error 1.1e-16, i.e. < 1.2e-12 of log(y) here
    let bits = y.to_bits();
    let mut k = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        k += 1;
    }
    // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Estrin's scheme: a short dependency chain (this sits on the latency
    // path of every short row).
    let (s4, s8) = (s2 * s2, s2 * s2 * (s2 * s2));
    let p = (2.0 + s2 * (2.0 / 3.0)) + s4 * (2.0 / 5.0 + s2 * (2.0 / 7.0)) + s8 * (2.0 / 9.0 + s2 * (2.0 / 11.0));
    (k as f64 * core::f64::consts::LN_2 + s * p) as f32
}

/// [`log1p_f64`], exposed for the accuracy test.
#[doc(hidden)]
pub fn log1p_f64_for_tests(u: f64) -> f32 {
    log1p_f64(u)
}
