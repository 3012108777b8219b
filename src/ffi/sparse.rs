//! C entry points of the sparse and GlobalPointer losses.

use super::edge::{Grad, Span, cells, check, grad_buffers, loss_buffers, outs, slice, try_status};
use super::status::{Status, reduction as reduction_code, status};
use crate::{GpShape, Reduction, Shape};

/// Reads `offsets` (`rows + 1` entries) and returns it with the number of
/// items it addresses (its last entry), once its pointer is checked.
///
/// # Safety
/// `offsets` addresses `rows + 1` readable `size_t`s (checked for NULL here).
unsafe fn offsets<'a>(offsets: *const usize, rows: usize) -> Result<(&'a [usize], usize), Status> {
    let n = rows.checked_add(1).ok_or(Status::MLCCE_ERR_SHAPE)?;
    check(offsets, n)?;
    // SAFETY: checked for `n` elements just above; read-only.
    let off = unsafe { slice(offsets, n) };
    if off.windows(2).any(|w| w[0] > w[1]) {
        return Err(Status::MLCCE_ERR_SHAPE);
    }
    Ok((off, off.last().copied().unwrap_or(0)))
}

/// The loss of a batch with sparse labels.
///
/// - `positives`, `offsets`: the positive classes of row `r` are
///   `positives[offsets[r] .. offsets[r + 1]]`; `offsets` has `rows + 1`
///   non-decreasing entries (else `MLCCE_ERR_SHAPE`); indices strictly
///   increasing and `< classes` (else `MLCCE_ERR_INDEX`).
/// - other parameters as [`mlcce_loss`](super::mlcce_loss).
///
/// # Safety
/// Each pointer addresses the elements stated; `out` overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_sparse_loss(
    logits: *const f32,
    rows: usize,
    classes: usize,
    positives: *const u32,
    offsets: *const usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, classes));
    // SAFETY: `offsets` addresses rows + 1 entries per the contract.
    let (off, k) = try_status!(unsafe { self::offsets(offsets, rows) });
    try_status!(check(positives, k));
    let inputs = [Span::of(positives, k), Span::of(offsets, rows + 1)];
    // SAFETY: per this function's contract.
    let (x, y) = try_status!(unsafe { loss_buffers(logits, n, out, r.outputs(rows), &inputs) });
    // SAFETY: checked above; no output overlaps it.
    let p = unsafe { slice(positives, k) };
    status(crate::sparse_loss(Shape::new(rows, classes), x, p, off, r, y))
}

/// The sparse loss (optional) and its gradient; `grad` may be `logits`.
///
/// # Safety
/// As [`mlcce_sparse_loss`]; `grad` addresses `rows * classes` floats.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mlcce_sparse_loss_grad(
    logits: *const f32,
    rows: usize,
    classes: usize,
    positives: *const u32,
    offsets: *const usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let shape = Shape::new(rows, classes);
    let n = try_status!(cells(rows, classes));
    let o = outs(loss_out, r, rows);
    // SAFETY: `offsets` addresses rows + 1 entries per the contract.
    let (off, k) = try_status!(unsafe { self::offsets(offsets, rows) });
    try_status!(check(positives, k));
    let inputs = [Span::of(positives, k), Span::of(offsets, rows + 1)];
    // SAFETY: per this function's contract.
    let (g, lo) = try_status!(unsafe { grad_buffers(logits, grad, n, loss_out, o, &inputs) });
    // SAFETY: checked above; no output overlaps it.
    let p = unsafe { slice(positives, k) };
    status(match g {
        Grad::InPlace(buf) => crate::sparse_loss_grad_in_place(shape, buf, p, off, r, lo),
        Grad::Apart(x, g) => crate::sparse_loss_grad(shape, x, p, off, r, lo, g),
    })
}

/// Checked GlobalPointer arguments.
struct Gp<'a> {
    shape: GpShape,
    reduction: Reduction,
    cells: usize,
    rows: usize,
    lengths: &'a [u32],
    spans: &'a [u32],
    offsets: &'a [usize],
    inputs: [Span; 3],
}

/// # Safety
/// The pointers address the elements the C contract states.
#[allow(clippy::too_many_arguments)]
unsafe fn gp_args<'a>(
    logits: *const f32,
    batch: usize,
    heads: usize,
    max_len: usize,
    lengths: *const u32,
    spans: *const u32,
    offsets: *const usize,
    reduction: u32,
) -> Result<Gp<'a>, Status> {
    let reduction = reduction_code(reduction)?;
    let shape = GpShape::new(batch, heads, max_len);
    let cells = shape.cells().map_err(Status::from)?;
    let rows = shape.rows().map_err(Status::from)?;
    check(logits, cells)?;
    check(lengths, batch)?;
    // SAFETY: `offsets` addresses rows + 1 entries per the contract.
    let (off, k) = unsafe { self::offsets(offsets, rows) }?;
    check(spans, k)?;
    // SAFETY: checked above; read-only inputs.
    let (len, sp) = unsafe { (slice(lengths, batch), slice(spans, k)) };
    let inputs = [Span::of(lengths, batch), Span::of(spans, k), Span::of(offsets, rows + 1)];
    Ok(Gp { shape, reduction, cells, rows, lengths: len, spans: sp, offsets: off, inputs })
}

/// The GlobalPointer loss.
///
/// - `logits`: `batch * heads * max_len * max_len` floats.
/// - `lengths`: `batch` entries, each `<= max_len` (else `MLCCE_ERR_SHAPE`).
/// - `spans`, `offsets`: the positive cells `i * max_len + j` of row
///   `b * heads + h` are `spans[offsets[row] .. offsets[row + 1]]`, strictly
///   increasing, with `i <= j < lengths[b]` (else `MLCCE_ERR_INDEX`).
/// - `out`: `batch * heads` floats for NONE, 1 otherwise.
///
/// Cells outside each row's valid triangle are never read.
///
/// # Safety
/// Each pointer addresses the elements stated; `out` overlaps no input.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mlcce_globalpointer_loss(
    logits: *const f32,
    batch: usize,
    heads: usize,
    max_len: usize,
    lengths: *const u32,
    spans: *const u32,
    offsets: *const usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    // SAFETY: per this function's contract.
    let a = try_status!(unsafe { gp_args(logits, batch, heads, max_len, lengths, spans, offsets, reduction) });
    // SAFETY: per this function's contract.
    let (x, y) = try_status!(unsafe { loss_buffers(logits, a.cells, out, a.reduction.outputs(a.rows), &a.inputs) });
    status(crate::globalpointer_loss(a.shape, x, a.lengths, a.spans, a.offsets, a.reduction, y))
}

/// The GlobalPointer loss (optional) and its gradient (0 outside each valid
/// triangle); `grad` may be `logits`.
///
/// # Safety
/// As [`mlcce_globalpointer_loss`]; `grad` addresses as many floats as `logits`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mlcce_globalpointer_loss_grad(
    logits: *const f32,
    batch: usize,
    heads: usize,
    max_len: usize,
    lengths: *const u32,
    spans: *const u32,
    offsets: *const usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    // SAFETY: per this function's contract.
    let a = try_status!(unsafe { gp_args(logits, batch, heads, max_len, lengths, spans, offsets, reduction) });
    let o = outs(loss_out, a.reduction, a.rows);
    // SAFETY: per this function's contract.
    let (g, lo) = try_status!(unsafe { grad_buffers(logits, grad, a.cells, loss_out, o, &a.inputs) });
    status(match g {
        Grad::InPlace(buf) => {
            crate::globalpointer_loss_grad_in_place(a.shape, buf, a.lengths, a.spans, a.offsets, a.reduction, lo)
        }
        Grad::Apart(x, g) => {
            crate::globalpointer_loss_grad(a.shape, x, a.lengths, a.spans, a.offsets, a.reduction, lo, g)
        }
    })
}
