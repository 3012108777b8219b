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
pub fn loss(shape: Shape, logits: &[f32], labels: &[u8], reduction: Reduction, out: &mut [f32]) -> Result<(), Error> {
    batch::loss(&DenseRows::new(shape, labels)?, logits, reduction, out)
}

/// The loss of one row (dense labels).
pub fn row_loss(logits: &[f32], labels: &[u8]) -> Result<f32, Error> {
    if logits.len() != labels.len() {
        return Err(Error::Shape);
    }
    Ok(kernel::run(RowLoss(logits, labels))? as f32)
}

/// The loss and its gradient, fused: one exp per logit.
///
/// `grad` (`rows * classes`) receives the gradient of the reduced loss.
/// `loss_out`, when given, receives the loss as in [`loss`]. On error
/// `loss_out` is not written; `grad` may hold partial results.
pub fn loss_grad(
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
