//! Soft targets `t ∈ [0, 1]` (label smoothing, mixup, distillation):
//!
//! ```text
//! L = log(1 + Σ t e^{-s}) + log(1 + Σ (1 - t) e^{s})
//! ∂L/∂s = (1 - t) e^{s} / (1 + Σ (1-t) e^{s}) - t e^{-s} / (1 + Σ t e^{-s})
//! ```
//!
//! Both sums are weighted log-sum-exps on the kernels' accumulator (see the
//! kernel's `soft` module); a weight of exactly 0 drops its term, so `t = 0`
//! and `t = 1` give exactly the hard loss even for huge logits.
//! Probabilities in this loss's sense are `σ(2s)` ([`probabilities`]): the
//! optimum of a row is at `t = σ(2s)`, and 0 stays the decision threshold.

use crate::batch::{self, Rows, row};
use crate::kernel::{self, Isa};
use crate::{Error, Reduction, Shape};

/// A batch of soft targets.
struct SoftRows<'a> {
    shape: Shape,
    targets: &'a [f32],
}

impl<'a> SoftRows<'a> {
    fn new(shape: Shape, targets: &'a [f32]) -> Result<Self, Error> {
        shape.check_len(targets.len())?;
        Ok(SoftRows { shape, targets })
    }

    fn targets(&self, r: usize) -> &'a [f32] {
        row(self.targets, r, self.shape.classes)
    }
}

impl Rows for SoftRows<'_> {
    fn rows(&self) -> usize {
        self.shape.rows
    }
    fn row_len(&self) -> usize {
        self.shape.classes
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss<S: Isa<N>, const N: usize>(&self, r: usize, logits: &[f32]) -> Result<f64, Error> {
        kernel::soft_row_loss::<S, N>(logits, self.targets(r))
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        logits: &[f32],
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f64, Error> {
        kernel::soft_row_loss_grad::<S, N>(logits, self.targets(r), scale, grad)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad_in_place<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        buf: &mut [f32],
        scale: f32,
    ) -> Result<f64, Error> {
        kernel::soft_row_loss_grad_in_place::<S, N>(buf, self.targets(r), scale)
    }
}

/// The loss of a batch with soft targets in `[0, 1]` (`rows * classes`
/// floats, like the logits). A NaN target or one outside `[0, 1]` is
/// [`Error::Label`]; every logit takes part, so any non-finite logit is
/// [`Error::NonFinite`]. Otherwise as [`loss`](crate::loss).
///
/// ```
/// use mlcce::{Reduction, Shape};
/// // Label smoothing: 0 -> 0.05, 1 -> 0.95.
/// let logits = [0.9f32, 0.1, 0.8, 0.3];
/// let targets = [0.95f32, 0.05, 0.95, 0.05];
/// let mut out = [0.0f32];
/// mlcce::soft_loss(Shape::new(1, 4), &logits, &targets, Reduction::Sum, &mut out)?;
/// // The formula, term by term, in f64:
/// let (mut neg, mut pos) = (0.0f64, 0.0f64);
/// for (&s, &t) in logits.iter().zip(&targets) {
///     neg += (1.0 - f64::from(t)) * f64::from(s).exp();
///     pos += f64::from(t) * (-f64::from(s)).exp();
/// }
/// let want = neg.ln_1p() + pos.ln_1p();
/// assert!((f64::from(out[0]) - want).abs() <= 4e-7 * want);
/// # Ok::<(), mlcce::Error>(())
/// ```
pub fn soft_loss(
    shape: Shape,
    logits: &[f32],
    targets: &[f32],
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    batch::loss(&SoftRows::new(shape, targets)?, logits, reduction, out)
}

/// The soft loss and its gradient; as [`loss_grad`](crate::loss_grad).
pub fn soft_loss_grad(
    shape: Shape,
    logits: &[f32],
    targets: &[f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    batch::loss_grad(&SoftRows::new(shape, targets)?, logits, reduction, loss_out, grad)
}

/// [`soft_loss_grad`] with the gradient written over the logits.
pub fn soft_loss_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    targets: &[f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    batch::loss_grad_in_place(&SoftRows::new(shape, targets)?, logits_then_grad, reduction, loss_out)
}

/// Probabilities as this loss defines them: `σ(2s) = 1 / (1 + e^{-2s})`
/// (the optimum of the soft loss is at `t = σ(2s)`; `s > 0` ⇔ `p > 0.5`).
/// `out` is as long as `logits`; a NaN logit is [`Error::NonFinite`] (±inf
/// give 1 and 0).
pub fn probabilities(logits: &[f32], out: &mut [f32]) -> Result<(), Error> {
    if logits.len() != out.len() {
        return Err(Error::Shape);
    }
    if logits.iter().any(|s| s.is_nan()) {
        return Err(Error::NonFinite);
    }
    for (p, &s) in out.iter_mut().zip(logits) {
        let e = libm::expf(-2.0 * s.abs());
        *p = if s >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    }
    Ok(())
}
