//! The one batch driver: every loss function of the crate (dense, sparse,
//! soft, GlobalPointer; loss, loss + gradient, in place) is a [`Rows`] value
//! handed to [`loss`], [`loss_grad`] or [`loss_grad_in_place`]. The driver
//! checks the buffers against the shape, takes the gradient scale of the
//! reduction, runs the rows in order and reduces their losses.

use crate::kernel::{Isa, Job};
use crate::{Error, Reduction};

/// A batch as the kernels see it: its rows, and how one row's loss (and
/// gradient) is computed from that row's logits. Implementations check
/// their own inputs (labels, indices) when they are built; a row checks its
/// data (labels, finiteness, indices) as it runs.
pub(crate) trait Rows {
    /// The number of rows.
    fn rows(&self) -> usize;
    /// The number of logits of one row in the buffer.
    fn row_len(&self) -> usize;
    /// The loss of row `r`, with the lanes of `S`.
    fn loss<S: Isa<N>, const N: usize>(&self, r: usize, logits: &[f32]) -> Result<f64, Error>;
    /// The loss of row `r` and its gradient times `scale` into `grad`.
    fn loss_grad<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        logits: &[f32],
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f64, Error>;
    /// [`Rows::loss_grad`] with the gradient written over the logits.
    fn loss_grad_in_place<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        buf: &mut [f32],
        scale: f32,
    ) -> Result<f64, Error>;
}

/// [`loss`] as a job for the dispatcher.
struct LossJob<'a, B> {
    batch: &'a B,
    logits: &'a [f32],
    reduction: Reduction,
    out: &'a mut [f32],
}

impl<B: Rows> Job for LossJob<'_, B> {
    type Out = Result<(), Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let LossJob { batch, logits, reduction, out } = self;
        let (rows, c) = (batch.rows(), batch.row_len());
        // The rows' loop is written here, not through `drive`'s closure: a
        // closure is compiled on its own, without the dispatcher's target
        // features, and its intrinsics would become calls.
        let (mut reducer, _) = Reducer::begin(rows, reduction, Some(out))?;
        for r in 0..rows {
            reducer.push(r, batch.loss::<S, N>(r, row(logits, r, c))?);
        }
        reducer.finish();
        Ok(())
    }
}

/// [`loss_grad`] as a job for the dispatcher.
struct GradJob<'a, B> {
    batch: &'a B,
    logits: &'a [f32],
    reduction: Reduction,
    loss_out: Option<&'a mut [f32]>,
    grad: &'a mut [f32],
}

impl<B: Rows> Job for GradJob<'_, B> {
    type Out = Result<(), Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let GradJob { batch, logits, reduction, loss_out, grad } = self;
        let (rows, c) = (batch.rows(), batch.row_len());
        let (mut reducer, scale) = Reducer::begin(rows, reduction, loss_out)?;
        for r in 0..rows {
            reducer.push(r, batch.loss_grad::<S, N>(r, row(logits, r, c), scale, row_mut(grad, r, c))?);
        }
        reducer.finish();
        Ok(())
    }
}

/// [`loss_grad_in_place`] as a job for the dispatcher.
struct InPlaceJob<'a, B> {
    batch: &'a B,
    buf: &'a mut [f32],
    reduction: Reduction,
    loss_out: Option<&'a mut [f32]>,
}

impl<B: Rows> Job for InPlaceJob<'_, B> {
    type Out = Result<(), Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let InPlaceJob { batch, buf, reduction, loss_out } = self;
        let (rows, c) = (batch.rows(), batch.row_len());
        let (mut reducer, scale) = Reducer::begin(rows, reduction, loss_out)?;
        for r in 0..rows {
            reducer.push(r, batch.loss_grad_in_place::<S, N>(r, row_mut(buf, r, c), scale)?);
        }
        reducer.finish();
        Ok(())
    }
}

/// The loss of a batch: `out` holds `rows` values for [`Reduction::None`]
/// and one otherwise.
pub(crate) fn loss(batch: &impl Rows, logits: &[f32], reduction: Reduction, out: &mut [f32]) -> Result<(), Error> {
    let n = cells(batch)?;
    check_len(logits, n)?;
    crate::kernel::run(LossJob { batch, logits, reduction, out })
}

/// The loss (optional) and its gradient, into a separate buffer.
pub(crate) fn loss_grad(
    batch: &impl Rows,
    logits: &[f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    let n = cells(batch)?;
    check_len(logits, n)?;
    check_len(grad, n)?;
    crate::kernel::run(GradJob { batch, logits, reduction, loss_out, grad })
}

/// The loss (optional) and its gradient, written over the logits.
pub(crate) fn loss_grad_in_place(
    batch: &impl Rows,
    logits_then_grad: &mut [f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    let n = cells(batch)?;
    check_len(logits_then_grad, n)?;
    crate::kernel::run(InPlaceJob { batch, buf: logits_then_grad, reduction, loss_out })
}

/// The sequence every batch call shares: the output's length, the
/// reduction's gradient scale (a mean over 0 rows fails here, before
/// anything is written), the rows in order, the reduction.
#[inline(always)]
pub(crate) fn drive(
    rows: usize,
    reduction: Reduction,
    out: Option<&mut [f32]>,
    mut row: impl FnMut(usize, f32) -> Result<f64, Error>,
) -> Result<(), Error> {
    let (mut reducer, scale) = Reducer::begin(rows, reduction, out)?;
    for r in 0..rows {
        reducer.push(r, row(r, scale)?);
    }
    reducer.finish();
    Ok(())
}

fn cells(batch: &impl Rows) -> Result<usize, Error> {
    batch.rows().checked_mul(batch.row_len()).ok_or(Error::Shape)
}

fn check_len<T>(buf: &[T], n: usize) -> Result<(), Error> {
    if buf.len() == n { Ok(()) } else { Err(Error::Shape) }
}

/// Collects per-row losses into the reduced output.
struct Reducer<'a> {
    reduction: Reduction,
    out: &'a mut [f32],
    total: f64,
    /// `1 / rows` for a mean (1 otherwise), divided up front: off the latency
    /// path of a short batch, whose last step would otherwise be a division.
    factor: f64,
}

impl<'a> Reducer<'a> {
    /// The checks before any row (the output's length; the gradient scale,
    /// which fails for a mean over 0 rows), then the reducer and the scale.
    #[inline(always)]
    fn begin(rows: usize, reduction: Reduction, out: Option<&'a mut [f32]>) -> Result<(Self, f32), Error> {
        if out.as_ref().is_some_and(|o| o.len() != reduction.outputs(rows)) {
            return Err(Error::Shape);
        }
        let scale = reduction.grad_scale(rows)?;
        Ok((Reducer::new(reduction, rows, out.unwrap_or(&mut [])), scale))
    }

    #[inline(always)]
    fn new(reduction: Reduction, rows: usize, out: &'a mut [f32]) -> Self {
        let factor = match reduction {
            Reduction::Mean if rows > 1 => 1.0 / rows as f64,
            _ => 1.0,
        };
        Reducer { reduction, out, total: 0.0, factor }
    }

    /// A row's loss, unrounded: rows are summed in `f64` and the mean or
    /// sum is rounded to `f32` once.
    #[inline(always)]
    fn push(&mut self, row: usize, loss: f64) {
        match self.reduction {
            Reduction::None => {
                if let Some(o) = self.out.get_mut(row) {
                    *o = loss as f32;
                }
            }
            Reduction::Mean | Reduction::Sum => self.total += loss,
        }
    }

    /// Writes the sum or mean (nothing for [`Reduction::None`]).
    #[inline(always)]
    fn finish(self) {
        if self.reduction == Reduction::None {
            return;
        }
        if let Some(o) = self.out.first_mut() {
            *o = (self.total * self.factor) as f32;
        }
    }
}

/// Lists of indices per row in CSR form (the positives of sparse labels, the
/// spans of GlobalPointer rows): the items of row `r` are
/// `items[offsets[r]..offsets[r + 1]]`.
#[derive(Clone, Copy, Debug)]
pub struct Csr<'a> {
    /// Every row's indices, row after row.
    pub items: &'a [u32],
    /// `rows + 1` non-decreasing offsets into `items`, the last at most
    /// `items.len()`.
    pub offsets: &'a [usize],
}

impl<'a> Csr<'a> {
    /// The lists `items` split at `offsets`.
    pub const fn new(items: &'a [u32], offsets: &'a [usize]) -> Self {
        Csr { items, offsets }
    }

    /// Checks the offsets: `rows + 1` entries, non-decreasing, within
    /// `items` ([`Error::Shape`] otherwise).
    pub(crate) fn check(&self, rows: usize) -> Result<(), Error> {
        let offsets = self.offsets;
        if offsets.len() != rows.checked_add(1).ok_or(Error::Shape)? {
            return Err(Error::Shape);
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last().is_some_and(|&last| last > self.items.len()) {
            return Err(Error::Shape);
        }
        Ok(())
    }

    /// The items of row `r` (offsets already checked).
    pub(crate) fn row(&self, r: usize) -> Result<&'a [u32], Error> {
        match (self.offsets.get(r), self.offsets.get(r + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a..b).ok_or(Error::Shape),
            _ => Err(Error::Shape),
        }
    }
}

/// Row `r` of a row-major buffer of rows of `len` (empty if out of range,
/// which the callers' shape checks rule out). Index arithmetic instead of
/// `chunks_exact`, whose zero-size assertion is a panic path when not inlined.
pub(crate) fn row<T>(x: &[T], r: usize, len: usize) -> &[T] {
    r.checked_mul(len).and_then(|start| x.get(start..)?.get(..len)).unwrap_or(&[])
}

/// [`row`], mutable.
pub(crate) fn row_mut<T>(x: &mut [T], r: usize, len: usize) -> &mut [T] {
    match r.checked_mul(len) {
        Some(start) => x.get_mut(start..).and_then(|t| t.get_mut(..len)).unwrap_or(&mut []),
        None => &mut [],
    }
}
