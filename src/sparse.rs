//! Sparse (CSR) labels: each row lists its positive classes; every other
//! class is negative. The negative sum is taken directly over the row (the
//! positives are skipped as the row is walked), never as "all minus
//! positives", so no `a + log(1 - e^{b-a})` cancellation can occur and the
//! loss is never negative.

use crate::batch::{self, Csr, Rows};
use crate::kernel::{self, Isa, Sparse};
use crate::{Error, Reduction, Shape};

/// A batch of sparse labels (offsets checked).
struct SparseRows<'a> {
    shape: Shape,
    positives: Csr<'a>,
}

impl<'a> SparseRows<'a> {
    fn new(shape: Shape, positives: Csr<'a>) -> Result<Self, Error> {
        positives.check(shape.rows)?;
        Ok(SparseRows { shape, positives })
    }

    /// The positives of row `r`, validated: strictly increasing, each
    /// `< classes` ([`Error::Index`] otherwise).
    fn labels(&self, r: usize) -> Result<Sparse<'a>, Error> {
        let p = self.positives.row(r)?;
        let mut prev: Option<u32> = None;
        for &i in p {
            if (i as usize) >= self.shape.classes || prev.is_some_and(|q| q >= i) {
                return Err(Error::Index);
            }
            prev = Some(i);
        }
        Ok(Sparse::new(p, 0))
    }
}

impl Rows for SparseRows<'_> {
    fn rows(&self) -> usize {
        self.shape.rows
    }
    fn row_len(&self) -> usize {
        self.shape.classes
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss<S: Isa<N>, const N: usize>(&self, r: usize, logits: &[f32]) -> Result<f64, Error> {
        kernel::row_loss::<S, N>(logits, self.labels(r)?)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        logits: &[f32],
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f64, Error> {
        kernel::row_loss_grad::<S, N>(logits, self.labels(r)?, scale, grad)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad_in_place<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        buf: &mut [f32],
        scale: f32,
    ) -> Result<f64, Error> {
        kernel::row_loss_grad_in_place::<S, N>(buf, self.labels(r)?, scale)
    }
}

/// The loss of a batch with sparse labels.
///
/// The positives of row `r` are `positives.items[offsets[r]..offsets[r + 1]]`
/// (`offsets` has `rows + 1` non-decreasing entries, the last at most
/// `items.len()`), strictly increasing, each `< classes`. Errors:
/// [`Error::Shape`] for offsets, [`Error::Index`] for indices, otherwise as
/// [`loss`](crate::loss).
///
/// ```
/// use mlcce::{Csr, Reduction, Shape};
/// // One confident row: a positive at +30, negatives near -5.
/// let logits = [30.0f32, -5.0, -5.5, -4.5];
/// let mut out = [0.0f32];
/// mlcce::sparse_loss(Shape::new(1, 4), &logits, Csr::new(&[0], &[0, 1]), Reduction::Sum, &mut out)?;
/// let dense = mlcce::row_loss(&logits, &[1, 0, 0, 0])?;
/// assert!(out[0] > 0.0 && out[0] == dense);
/// # Ok::<(), mlcce::Error>(())
/// ```
pub fn sparse_loss(
    shape: Shape,
    logits: &[f32],
    positives: Csr<'_>,
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    batch::loss(&SparseRows::new(shape, positives)?, logits, reduction, out)
}

/// The sparse loss and its gradient, fused; `grad` as in
/// [`loss_grad`](crate::loss_grad).
pub fn sparse_loss_grad(
    shape: Shape,
    logits: &[f32],
    positives: Csr<'_>,
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    batch::loss_grad(&SparseRows::new(shape, positives)?, logits, reduction, loss_out, grad)
}

/// [`sparse_loss_grad`] with the gradient written over the logits.
pub fn sparse_loss_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    positives: Csr<'_>,
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    batch::loss_grad_in_place(&SparseRows::new(shape, positives)?, logits_then_grad, reduction, loss_out)
}
