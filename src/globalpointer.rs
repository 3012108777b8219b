//! GlobalPointer span extraction: logits `[batch][heads][max_len][max_len]`,
//! where row `(b, h)` counts only the cells `(i, j)` with
//! `i <= j < lengths[b]` (the valid upper triangle) and its positive spans are
//! the flattened cells `i * max_len + j` listed in CSR form.
//!
//! Only the valid region is ever read: matrix row `i` of a (b, h) row
//! contributes the contiguous cells `i..len`, each walked as a sparse segment
//! and merged into the row's log-sum-exp state. Padding may hold anything
//! (NaN included) and gets gradient 0.

use crate::batch::{self, Csr, Rows};
use crate::kernel::{self, Isa, Sparse};
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

/// A GlobalPointer batch (lengths and offsets checked).
struct GpRows<'a> {
    shape: GpShape,
    rows: usize,
    row_cells: usize,
    lengths: &'a [u32],
    spans: Csr<'a>,
}

impl<'a> GpRows<'a> {
    fn new(shape: GpShape, lengths: &'a [u32], spans: Csr<'a>) -> Result<Self, Error> {
        let rows = shape.rows()?;
        let row_cells = shape.row_cells()?;
        shape.cells()?;
        if lengths.len() != shape.batch || lengths.iter().any(|&l| l as usize > shape.max_len) {
            return Err(Error::Shape);
        }
        spans.check(rows)?;
        Ok(GpRows { shape, rows, row_cells, lengths, spans })
    }

    /// The valid triangle of row `r` with its spans, validated: strictly
    /// increasing cells `i * max_len + j` with `i <= j < len`
    /// ([`Error::Index`] otherwise).
    fn triangle(&self, r: usize) -> Result<Triangle<'a>, Error> {
        let max_len = self.shape.max_len;
        let len = self.lengths.get(r / self.shape.heads.max(1)).map_or(0, |&l| l as usize);
        let spans = self.spans.row(r)?;
        let mut prev: Option<u32> = None;
        for &cell in spans {
            let (i, j) = ((cell as usize) / max_len.max(1), (cell as usize) % max_len.max(1));
            if max_len == 0 || i > j || j >= len || prev.is_some_and(|p| p >= cell) {
                return Err(Error::Index);
            }
            prev = Some(cell);
        }
        Ok(Triangle { spans, len, max_len })
    }
}

impl Rows for GpRows<'_> {
    fn rows(&self) -> usize {
        self.rows
    }
    fn row_len(&self) -> usize {
        self.row_cells
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss<S: Isa<N>, const N: usize>(&self, r: usize, logits: &[f32]) -> Result<f64, Error> {
        kernel::segments_loss::<S, N>(logits, &self.triangle(r)?)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        logits: &[f32],
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f64, Error> {
        kernel::segments_loss_grad::<S, N>(logits, &self.triangle(r)?, scale, grad)
    }
    #[cfg_attr(target_arch = "x86_64", inline(always))]
    fn loss_grad_in_place<S: Isa<N>, const N: usize>(
        &self,
        r: usize,
        buf: &mut [f32],
        scale: f32,
    ) -> Result<f64, Error> {
        kernel::segments_loss_grad_in_place::<S, N>(buf, &self.triangle(r)?, scale)
    }
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
/// entries, each `<= max_len` (else [`Error::Shape`]). `spans`: row
/// `b * heads + h` lists its positive cells `i * max_len + j`, strictly
/// increasing with `i <= j < lengths[b]` (else [`Error::Index`]). `out` as
/// for [`loss`](crate::loss) with `rows = batch * heads`.
pub fn globalpointer_loss(
    shape: GpShape,
    logits: &[f32],
    lengths: &[u32],
    spans: Csr<'_>,
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    batch::loss(&GpRows::new(shape, lengths, spans)?, logits, reduction, out)
}

/// The GlobalPointer loss and its gradient (0 outside each valid triangle).
/// `grad` has as many cells as `logits`.
pub fn globalpointer_loss_grad(
    shape: GpShape,
    logits: &[f32],
    lengths: &[u32],
    spans: Csr<'_>,
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    batch::loss_grad(&GpRows::new(shape, lengths, spans)?, logits, reduction, loss_out, grad)
}

/// [`globalpointer_loss_grad`] with the gradient written over the logits.
pub fn globalpointer_loss_grad_in_place(
    shape: GpShape,
    logits_then_grad: &mut [f32],
    lengths: &[u32],
    spans: Csr<'_>,
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    batch::loss_grad_in_place(&GpRows::new(shape, lengths, spans)?, logits_then_grad, reduction, loss_out)
}
