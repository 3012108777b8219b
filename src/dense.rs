//! The dense loss over a batch: hard labels (0, 1 or [`IGNORE`](crate::IGNORE)),
//! every buffer the caller's.

use crate::batch::{self, Rows, row};
use crate::kernel::{self, Dense, Isa};
use crate::{Error, Reduction, Shape};

/// One row's loss as a job for the dispatcher.
struct RowLoss<'a>(&'a [f32], &'a [u8]);

impl kernel::Job for RowLoss<'_> {
    type Out = Result<f64, Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        kernel::row_loss::<S, N>(self.0, Dense::new(self.1))
    }
}

/// A short row's fast path as a job for the dispatcher.
struct ShortLoss<'a>(&'a [f32], &'a [u8]);

impl kernel::Job for ShortLoss<'_> {
    type Out = Option<f64>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        kernel::short_loss::<S, N>(self.0, self.1)
    }
}

/// A short row's fast path with its gradient, as a job for the dispatcher.
struct ShortLossGrad<'a>(&'a [f32], &'a [u8], &'a mut [f32]);

impl kernel::Job for ShortLossGrad<'_> {
    type Out = Option<f64>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        kernel::short_loss_grad::<S, N>(self.0, self.1, 1.0, self.2)
    }
}

/// The loss of one row of 1 to [`kernel::SHORT`] classes (logits and
/// labels as long as each other) if the fast path takes it; `None`: run
/// the general path.
#[inline(always)]
pub(crate) fn short_loss(logits: &[f32], labels: &[u8]) -> Option<f64> {
    kernel::run(ShortLoss(logits, labels))
}

/// [`short_loss`] with the gradient (scale 1) into `grad` (as long as the
/// row); on `None` `grad` holds partial results.
#[inline(always)]
pub(crate) fn short_loss_grad(logits: &[f32], labels: &[u8], grad: &mut [f32]) -> Option<f64> {
    kernel::run(ShortLossGrad(logits, labels, grad))
}

/// Whether a batch is one short row ([`kernel::takes_short`]; the
/// buffers of its length): the short path's, where every reduction is
/// the row's loss and the gradient's scale is 1.
#[inline(always)]
fn short(shape: Shape, logits: &[f32], labels: &[u8]) -> bool {
    shape.rows == 1
        && kernel::takes_short(shape.classes)
        && logits.len() == shape.classes
        && labels.len() == shape.classes
}

/// A batch of dense labels.
struct DenseRows<'a> {
    shape: Shape,
    labels: &'a [u8],
}

impl<'a> DenseRows<'a> {
    fn new(shape: Shape, labels: &'a [u8]) -> Result<Self, Error> {
        shape.check_len(labels.len())?;
        Ok(DenseRows { shape, labels })
    }

    fn labels(&self, r: usize) -> Dense<'a> {
        Dense::new(row(self.labels, r, self.shape.classes))
    }
}

impl Rows for DenseRows<'_> {
    fn rows(&self) -> usize {
        self.shape.rows
    }
    fn row_len(&self) -> usize {
        self.shape.classes
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss<S: Isa<N>, const N: usize>(&self, r: usize, logits: &[f32]) -> Result<f64, Error> {
        kernel::row_loss::<S, N>(logits, self.labels(r))
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        logits: &[f32],
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f64, Error> {
        kernel::row_loss_grad::<S, N>(logits, self.labels(r), scale, grad)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad_in_place<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        buf: &mut [f32],
        scale: f32,
    ) -> Result<f64, Error> {
        kernel::row_loss_grad_in_place::<S, N>(buf, self.labels(r), scale)
    }
}

/// The loss of a batch.
///
/// `logits` and `labels` are row-major `[rows][classes]`; `out` holds `rows`
/// values for [`Reduction::None`] and one otherwise. On error `out` is not
/// written, except that with [`Reduction::None`] the rows before the bad one
/// may have been.
///
/// ```
/// use mlcce::{Reduction, Shape};
/// let logits = [0.9, 0.1, 0.8, 0.3, 0.3, 0.2, 0.5, 0.7, 0.7, 0.6, 0.1, 0.3];
/// let labels = [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0];
/// let mut mean = [0.0f32];
/// mlcce::loss(Shape::new(3, 4), &logits, &labels, Reduction::Mean, &mut mean)?;
/// assert!((mean[0] - 1.980_370_4).abs() < 1e-6);
/// # Ok::<(), mlcce::Error>(())
/// ```
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub fn loss(shape: Shape, logits: &[f32], labels: &[u8], reduction: Reduction, out: &mut [f32]) -> Result<(), Error> {
    if let ([o], true) = (&mut *out, short(shape, logits, labels))
        && let Some(l) = short_loss(logits, labels)
    {
        *o = l as f32;
        return Ok(());
    }
    batch_loss(shape, logits, labels, reduction, out)
}

/// [`loss`] without its short path (the C entry's, past its own).
pub(crate) fn batch_loss(
    shape: Shape,
    logits: &[f32],
    labels: &[u8],
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    batch::loss(&DenseRows::new(shape, labels)?, logits, reduction, out)
}

/// The loss of one row (dense labels).
pub fn row_loss(logits: &[f32], labels: &[u8]) -> Result<f32, Error> {
    if logits.len() != labels.len() {
        return Err(Error::Shape);
    }
    if short(Shape::new(1, logits.len()), logits, labels)
        && let Some(l) = short_loss(logits, labels)
    {
        return Ok(l as f32);
    }
    Ok(kernel::run(RowLoss(logits, labels))? as f32)
}

/// The loss and its gradient, fused: one exp per logit.
///
/// `grad` (`rows * classes`) receives the gradient of the reduced loss.
/// `loss_out`, when given, receives the loss as in [`loss`]. On error
/// `loss_out` is not written; `grad` may hold partial results.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub fn loss_grad(
    shape: Shape,
    logits: &[f32],
    labels: &[u8],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    if loss_out.as_ref().is_none_or(|o| o.len() == 1)
        && grad.len() == logits.len()
        && short(shape, logits, labels)
        && let Some(l) = short_loss_grad(logits, labels, grad)
    {
        if let Some([o]) = loss_out {
            *o = l as f32;
        }
        return Ok(());
    }
    batch_loss_grad(shape, logits, labels, reduction, loss_out, grad)
}

/// [`loss_grad`] without its short path (the C entry's, past its own).
pub(crate) fn batch_loss_grad(
    shape: Shape,
    logits: &[f32],
    labels: &[u8],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    batch::loss_grad(&DenseRows::new(shape, labels)?, logits, reduction, loss_out, grad)
}

/// [`loss_grad`] with the gradient written over the logits (for callers
/// short of memory). On a data error the logits may be partly overwritten.
pub fn loss_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    labels: &[u8],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    batch::loss_grad_in_place(&DenseRows::new(shape, labels)?, logits_then_grad, reduction, loss_out)
}
