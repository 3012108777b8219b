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
