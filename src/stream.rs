//! One row's two log-sum-exp states: the result of every dense kernel, and a
//! streaming accumulator for logits that arrive chunk by chunk.
//!
//! ```
//! use mlcce::Stream;
//! let logits = [0.9f32, 0.1, 0.8, 0.3];
//! let labels = [1u8, 0, 1, 0];
//! let (mut a, mut b) = (Stream::new(), Stream::new());
//! b.update(&logits[2..], &labels[2..])?;
//! a.update(&logits[..2], &labels[..2])?;
//! a.merge(&b)?;
//! let whole = mlcce::row_loss(&logits, &labels)?;
//! assert!((a.loss() - whole).abs() <= 1e-6 * whole);
//! # Ok::<(), mlcce::Error>(())
//! ```

use crate::{Error, kernel, lse::Lse};

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

    /// Appends the next `logits.len()` classes of the row. On error the state
    /// is left exactly as it was.
    pub fn update(&mut self, logits: &[f32], labels: &[u8]) -> Result<(), Error> {
        self.check()?;
        if logits.len() != labels.len() {
            return Err(Error::Shape);
        }
        let part = kernel::row_state(logits, kernel::Dense::new(labels))?;
        *self = self.merged(part);
        Ok(())
    }

    /// Adds another, disjoint part of the same row. On error (a state whose
    /// fields were not produced by this library) nothing changes.
    pub fn merge(&mut self, other: &Stream) -> Result<(), Error> {
        self.check()?;
        other.check()?;
        *self = self.merged(*other);
        Ok(())
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
                return crate::lse::log1p_unrounded(u);
            }
        }
        self.neg.log1p_f64() + self.pos.log1p_f64()
    }

    /// [`Error::Argument`] unless both states are well formed.
    pub fn check(&self) -> Result<(), Error> {
        if self.neg.is_valid() && self.pos.is_valid() { Ok(()) } else { Err(Error::Argument) }
    }

    pub(crate) fn merged(self, other: Stream) -> Stream {
        Stream { neg: self.neg.merge(other.neg), pos: self.pos.merge(other.pos) }
    }
}
