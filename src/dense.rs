//! The dense loss over a batch: hard labels (0, 1 or [`IGNORE`](crate::IGNORE)),
//! every buffer the caller's.

use crate::batch::{Reducer, check, out_len, row, row_mut};
use crate::kernel::{self, Dense};
use crate::{Error, Reduction, Shape};

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
    check(shape, logits.len(), labels.len(), out.len(), reduction)?;
    let mut reducer = Reducer::new(reduction, shape.rows, out);
    let c = shape.classes;
    for r in 0..shape.rows {
        reducer.push(r, kernel::row_loss(row(logits, r, c), Dense::new(row(labels, r, c)))?);
    }
    reducer.finish();
    Ok(())
}

/// The loss of one row (dense labels).
pub fn row_loss(logits: &[f32], labels: &[u8]) -> Result<f32, Error> {
    if logits.len() != labels.len() {
        return Err(Error::Shape);
    }
    Ok(kernel::row_loss(logits, Dense::new(labels))? as f32)
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
    let out_len = out_len(&loss_out, reduction, shape.rows);
    check(shape, logits.len(), labels.len(), out_len, reduction)?;
    shape.check_len(grad.len())?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        let (x, y, g) = (row(logits, r, c), row(labels, r, c), row_mut(grad, r, c));
        reducer.push(r, kernel::row_loss_grad(x, Dense::new(y), scale, g)?);
    }
    reducer.finish();
    Ok(())
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
    let out_len = out_len(&loss_out, reduction, shape.rows);
    check(shape, logits_then_grad.len(), labels.len(), out_len, reduction)?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        let (buf, y) = (row_mut(logits_then_grad, r, c), row(labels, r, c));
        reducer.push(r, kernel::row_loss_grad_in_place(buf, Dense::new(y), scale)?);
    }
    reducer.finish();
    Ok(())
}
