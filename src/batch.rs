//! What every batch function shares: shape checks and the row reduction.

use crate::{Error, Reduction, Shape};

/// Checks the shape, the label length and the output length.
pub(crate) fn check(shape: Shape, logits: usize, labels: usize, out: usize, reduction: Reduction) -> Result<(), Error> {
    shape.check_len(logits)?;
    shape.check_len(labels)?;
    reduction.grad_scale(shape.rows)?;
    if out != reduction.outputs(shape.rows) {
        return Err(Error::Shape);
    }
    Ok(())
}

/// Collects per-row losses into the reduced output.
pub(crate) struct Reducer<'a> {
    reduction: Reduction,
    out: &'a mut [f32],
    total: f64,
    /// `1 / rows` for a mean (1 otherwise), divided up front: off the latency
    /// path of a short batch, whose last step would otherwise be a division.
    factor: f64,
}

impl<'a> Reducer<'a> {
    pub(crate) fn new(reduction: Reduction, rows: usize, out: &'a mut [f32]) -> Self {
        let factor = match reduction {
            Reduction::Mean if rows > 0 => 1.0 / rows as f64,
            _ => 1.0,
        };
        Reducer { reduction, out, total: 0.0, factor }
    }

    #[inline]
    /// A row's loss, unrounded: rows are summed in `f64` and the mean or
    /// sum is rounded to `f32` once.
    pub(crate) fn push(&mut self, row: usize, loss: f64) {
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
    pub(crate) fn finish(self) {
        if self.reduction == Reduction::None {
            return;
        }
        if let Some(o) = self.out.first_mut() {
            *o = (self.total * self.factor) as f32;
        }
    }
}

/// The length the optional loss output must have.
pub(crate) fn out_len(loss_out: &Option<&mut [f32]>, reduction: Reduction, rows: usize) -> usize {
    loss_out.as_ref().map_or(reduction.outputs(rows), |o| o.len())
}

/// Checks CSR offsets: `rows + 1` entries, non-decreasing, within `items`.
pub(crate) fn check_offsets(offsets: &[usize], rows: usize, items: usize) -> Result<(), Error> {
    if offsets.len() != rows.checked_add(1).ok_or(Error::Shape)? {
        return Err(Error::Shape);
    }
    if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last().is_some_and(|&last| last > items) {
        return Err(Error::Shape);
    }
    Ok(())
}

/// The items of row `r` of a CSR list (offsets already checked).
pub(crate) fn csr_row<'a>(items: &'a [u32], offsets: &[usize], r: usize) -> Result<&'a [u32], Error> {
    match (offsets.get(r), offsets.get(r + 1)) {
        (Some(&a), Some(&b)) => items.get(a..b).ok_or(Error::Shape),
        _ => Err(Error::Shape),
    }
}

/// Strictly increasing and each `< limit`.
pub(crate) fn check_indices(indices: &[u32], limit: usize) -> Result<(), Error> {
    let mut prev: Option<u32> = None;
    for &i in indices {
        if (i as usize) >= limit || prev.is_some_and(|p| p >= i) {
            return Err(Error::Index);
        }
        prev = Some(i);
    }
    Ok(())
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
