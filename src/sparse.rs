//! Sparse (CSR) labels: each row lists its positive classes; every other
//! class is negative. The negative sum is taken directly over the row (the
//! positives are skipped as the row is walked), never as "all minus
//! positives", so no `a + log(1 - e^{b-a})` cancellation can occur and the
//! loss is never negative.

use crate::batch::{Reducer, check, check_indices, check_offsets, csr_row, out_len, row, row_mut};
use crate::kernel::{self, Sparse};
use crate::{Error, Reduction, Shape};

/// Argument checks shared by the sparse functions.
fn check_sparse(
    shape: Shape,
    logits: usize,
    positives: usize,
    offsets: &[usize],
    out: usize,
    reduction: Reduction,
) -> Result<(), Error> {
    check(shape, logits, logits, out, reduction)?;
    check_offsets(offsets, shape.rows, positives)
}

/// The positives of row `r`, validated.
fn row_positives<'a>(positives: &'a [u32], offsets: &[usize], r: usize, classes: usize) -> Result<&'a [u32], Error> {
    let p = csr_row(positives, offsets, r)?;
    check_indices(p, classes)?;
    Ok(p)
}

/// The loss of a batch with sparse labels.
///
/// The positives of row `r` are `positives[offsets[r]..offsets[r + 1]]`
/// (`offsets` has `rows + 1` non-decreasing entries, the last at most
/// `positives.len()`), strictly increasing, each `< classes`. Errors:
/// [`Error::Shape`] for offsets, [`Error::Index`] for indices, otherwise as
/// [`loss`](crate::loss).
///
/// ```
/// use mlcce::{Reduction, Shape};
/// // One confident row: a positive at +30, negatives near -5.
/// let logits = [30.0f32, -5.0, -5.5, -4.5];
/// let mut out = [0.0f32];
/// mlcce::sparse_loss(Shape::new(1, 4), &logits, &[0], &[0, 1], Reduction::Sum, &mut out)?;
/// let dense = mlcce::row_loss(&logits, &[1, 0, 0, 0])?;
/// assert!(out[0] > 0.0 && out[0] == dense);
/// # Ok::<(), mlcce::Error>(())
/// ```
pub fn sparse_loss(
    shape: Shape,
    logits: &[f32],
    positives: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    check_sparse(shape, logits.len(), positives.len(), offsets, out.len(), reduction)?;
    let mut reducer = Reducer::new(reduction, shape.rows, out);
    for r in 0..shape.rows {
        let p = row_positives(positives, offsets, r, shape.classes)?;
        reducer.push(r, kernel::row_loss(row(logits, r, shape.classes), Sparse::new(p, 0))?);
    }
    reducer.finish();
    Ok(())
}

/// The sparse loss and its gradient, fused; `grad` as in
/// [`loss_grad`](crate::loss_grad).
pub fn sparse_loss_grad(
    shape: Shape,
    logits: &[f32],
    positives: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows);
    check_sparse(shape, logits.len(), positives.len(), offsets, out, reduction)?;
    shape.check_len(grad.len())?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        let p = row_positives(positives, offsets, r, c)?;
        let (x, g) = (row(logits, r, c), row_mut(grad, r, c));
        reducer.push(r, kernel::row_loss_grad(x, Sparse::new(p, 0), scale, g)?);
    }
    reducer.finish();
    Ok(())
}

/// [`sparse_loss_grad`] with the gradient written over the logits.
pub fn sparse_loss_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    positives: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows);
    check_sparse(shape, logits_then_grad.len(), positives.len(), offsets, out, reduction)?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        let p = row_positives(positives, offsets, r, c)?;
        reducer.push(r, kernel::row_loss_grad_in_place(row_mut(logits_then_grad, r, c), Sparse::new(p, 0), scale)?);
    }
    reducer.finish();
    Ok(())
}
