//! GlobalPointer span extraction: logits `[batch][heads][max_len][max_len]`,
//! where row `(b, h)` counts only the cells `(i, j)` with
//! `i <= j < lengths[b]` (the valid upper triangle) and its positive spans are
//! the flattened cells `i * max_len + j` listed in CSR form.
//!
//! Only the valid region is ever read: matrix row `i` of a (b, h) row
//! contributes the contiguous cells `i..len`, each walked as a sparse segment
//! and merged into the row's log-sum-exp state. Padding may hold anything
//! (NaN included) and gets gradient 0.

use crate::batch::{Reducer, check_offsets, csr_row, out_len};
use crate::kernel::{self, Sparse};
use core::ops::Range;

use crate::{Error, Reduction};

/// The dimensions of a GlobalPointer batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GpShape {
    /// Sequences in the batch.
    pub batch: usize,
    /// Entity types (heads) per sequence.
    pub heads: usize,
    /// Padded sequence length: each (b, h) row is a `max_len x max_len` matrix.
    pub max_len: usize,
}

impl GpShape {
    /// A GlobalPointer shape.
    pub const fn new(batch: usize, heads: usize, max_len: usize) -> Self {
        GpShape { batch, heads, max_len }
    }

    /// `batch * heads`, the rows of the loss.
    pub fn rows(self) -> Result<usize, Error> {
        self.batch.checked_mul(self.heads).ok_or(Error::Shape)
    }

    /// `max_len * max_len`, the cells of one row.
    pub fn row_cells(self) -> Result<usize, Error> {
        self.max_len.checked_mul(self.max_len).ok_or(Error::Shape)
    }

    /// All cells of the logits.
    pub fn cells(self) -> Result<usize, Error> {
        self.rows()?.checked_mul(self.row_cells()?).ok_or(Error::Shape)
    }
}

struct Checked {
    rows: usize,
    row_cells: usize,
}

fn check(
    shape: GpShape,
    logits: usize,
    lengths: &[u32],
    spans: usize,
    offsets: &[usize],
    out: usize,
    reduction: Reduction,
) -> Result<Checked, Error> {
    let rows = shape.rows()?;
    let row_cells = shape.row_cells()?;
    if shape.cells()? != logits || lengths.len() != shape.batch || out != reduction.outputs(rows) {
        return Err(Error::Shape);
    }
    reduction.grad_scale(rows)?;
    if lengths.iter().any(|&l| l as usize > shape.max_len) {
        return Err(Error::Shape);
    }
    check_offsets(offsets, rows, spans)?;
    Ok(Checked { rows, row_cells })
}

/// The spans of row `r`, validated against its valid triangle.
fn row_spans<'a>(
    spans: &'a [u32],
    offsets: &[usize],
    r: usize,
    len: usize,
    max_len: usize,
) -> Result<&'a [u32], Error> {
    let s = csr_row(spans, offsets, r)?;
    let mut prev: Option<u32> = None;
    for &cell in s {
        let (i, j) = ((cell as usize) / max_len.max(1), (cell as usize) % max_len.max(1));
        if max_len == 0 || i > j || j >= len || prev.is_some_and(|p| p >= cell) {
            return Err(Error::Index);
        }
        prev = Some(cell);
    }
    Ok(s)
}

/// The valid region of one (b, h) row: line `i < len` of its matrix
/// contributes the cells `i * max_len + i .. i * max_len + len`, with the
/// spans that fall in that line.
struct Triangle<'a> {
    spans: &'a [u32],
    len: usize,
    max_len: usize,
}

impl<'a> kernel::Segments for Triangle<'a> {
    type L = Sparse<'a>;
    type Iter = Lines<'a>;
    #[inline(always)]
    fn segments(&self) -> Lines<'a> {
        Lines { rest: self.spans, i: 0, len: self.len, max_len: self.max_len }
    }
}

/// The lines of a [`Triangle`], each with the spans that fall in it.
struct Lines<'a> {
    rest: &'a [u32],
    i: usize,
    len: usize,
    max_len: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (Range<usize>, Sparse<'a>);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.len {
            return None;
        }
        let (i, m) = (self.i, self.max_len);
        self.i += 1;
        let line_end = (i + 1) * m;
        let n = self.rest.iter().take_while(|&&c| (c as usize) < line_end).count();
        // `n <= rest.len()`, so the split always succeeds.
        let (mine, later) = self.rest.split_at_checked(n).unwrap_or((self.rest, &[]));
        self.rest = later;
        let start = i * m + i;
        Some((start..i * m + self.len, Sparse::new(mine, start)))
    }
}

/// The loss of a GlobalPointer batch.
///
/// `logits`: `batch * heads * max_len * max_len` floats. `lengths`: `batch`
/// entries, each `<= max_len` (else [`Error::Shape`]). `spans`/`offsets`:
/// CSR, row `b * heads + h`, cells `i * max_len + j` strictly increasing with
/// `i <= j < lengths[b]` (else [`Error::Index`]). `out` as for
/// [`loss`](crate::loss) with `rows = batch * heads`.
#[allow(clippy::too_many_arguments)]
pub fn globalpointer_loss(
    shape: GpShape,
    logits: &[f32],
    lengths: &[u32],
    spans: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    let c = check(shape, logits.len(), lengths, spans.len(), offsets, out.len(), reduction)?;
    let mut reducer = Reducer::new(reduction, c.rows, out);
    for r in 0..c.rows {
        let len = lengths.get(r / shape.heads.max(1)).map_or(0, |&l| l as usize);
        let s = row_spans(spans, offsets, r, len, shape.max_len)?;
        let x = crate::batch::row(logits, r, c.row_cells);
        reducer.push(r, kernel::segments_loss(x, &Triangle { spans: s, len, max_len: shape.max_len })?);
    }
    reducer.finish();
    Ok(())
}

/// The GlobalPointer loss and its gradient (0 outside each valid triangle).
/// `grad` has as many cells as `logits`.
#[allow(clippy::too_many_arguments)]
pub fn globalpointer_loss_grad(
    shape: GpShape,
    logits: &[f32],
    lengths: &[u32],
    spans: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows().unwrap_or(0));
    let c = check(shape, logits.len(), lengths, spans.len(), offsets, out, reduction)?;
    if grad.len() != logits.len() {
        return Err(Error::Shape);
    }
    let scale = reduction.grad_scale(c.rows)?;
    let mut reducer = Reducer::new(reduction, c.rows, loss_out.unwrap_or(&mut []));
    for r in 0..c.rows {
        let len = lengths.get(r / shape.heads.max(1)).map_or(0, |&l| l as usize);
        let s = row_spans(spans, offsets, r, len, shape.max_len)?;
        let x = crate::batch::row(logits, r, c.row_cells);
        let g = crate::batch::row_mut(grad, r, c.row_cells);
        let loss = kernel::segments_loss_grad(x, &Triangle { spans: s, len, max_len: shape.max_len }, scale, g)?;
        reducer.push(r, loss);
    }
    reducer.finish();
    Ok(())
}

/// [`globalpointer_loss_grad`] with the gradient written over the logits.
#[allow(clippy::too_many_arguments)]
pub fn globalpointer_loss_grad_in_place(
    shape: GpShape,
    logits_then_grad: &mut [f32],
    lengths: &[u32],
    spans: &[u32],
    offsets: &[usize],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows().unwrap_or(0));
    let c = check(shape, logits_then_grad.len(), lengths, spans.len(), offsets, out, reduction)?;
    let scale = reduction.grad_scale(c.rows)?;
    let mut reducer = Reducer::new(reduction, c.rows, loss_out.unwrap_or(&mut []));
    for r in 0..c.rows {
        let len = lengths.get(r / shape.heads.max(1)).map_or(0, |&l| l as usize);
        let s = row_spans(spans, offsets, r, len, shape.max_len)?;
        let b = crate::batch::row_mut(logits_then_grad, r, c.row_cells);
        let loss = kernel::segments_loss_grad_in_place(b, &Triangle { spans: s, len, max_len: shape.max_len }, scale)?;
        reducer.push(r, loss);
    }
    reducer.finish();
    Ok(())
}
