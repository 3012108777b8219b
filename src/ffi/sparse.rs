//! C entry points of the sparse and GlobalPointer losses.

use super::edge::{Grad, Span, cells, check, grad_entry, input, loss_entry, slice, try_status};
use super::status::{Status, reduction as reduction_code};
use crate::{Csr, GpShape, Shape};

/// Checks `offsets` (`rows + 1` entries) and `items` (as many as its last
/// entry says) and returns them as a Csr with the bytes both span.
///
/// Safety: `offsets` addresses `rows + 1` readable `size_t`s, and `items` as many
/// `u32`s as the last of them (each may be NULL where that number is 0).
pub(super) unsafe fn csr<'a>(
    items: *const u32,
    offsets: *const usize,
    rows: usize,
) -> Result<(Csr<'a>, [Span; 2]), Status> {
    let n = rows.checked_add(1).ok_or(Status::MLCCE_ERR_SHAPE)?;
    check(offsets, n)?;
    // SAFETY: checked for `n` elements just above; read-only.
    let off = unsafe { slice(offsets, n) };
    if off.windows(2).any(|w| w[0] > w[1]) {
        return Err(Status::MLCCE_ERR_SHAPE);
    }
    let k = off.last().copied().unwrap_or(0);
    // SAFETY: `items` addresses `k` entries per this fn's contract.
    let (it, span) = unsafe { input(items, k) }?;
    Ok((Csr::new(it, off), [span, Span::of(offsets, n)]))
}

/// The loss of a batch with sparse labels.
///
/// positives, offsets: the positive classes of row r are
/// `positives[offsets[r] .. offsets[r + 1]]`; offsets has rows + 1
/// non-decreasing entries (else MLCCE_ERR_SHAPE); indices strictly
/// increasing and < classes (else MLCCE_ERR_INDEX).
/// Other parameters as mlcce_loss.
///
/// Safety: each pointer addresses the elements stated; out overlaps no input.
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
    // SAFETY: per this function's contract.
    let (p, spans) = try_status!(unsafe { csr(positives, offsets, rows) });
    // SAFETY: per this function's contract.
    unsafe {
        loss_entry(logits, n, r, rows, out, &spans, |x, red, o| {
            crate::sparse_loss(Shape::new(rows, classes), x, p, red, o)
        })
    }
}

/// The sparse loss (optional) and its gradient; grad may be logits.
///
/// Safety: as mlcce_sparse_loss; grad addresses rows * classes floats.
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
    let n = try_status!(cells(rows, classes));
    let shape = Shape::new(rows, classes);
    // SAFETY: per this function's contract.
    let (p, spans) = try_status!(unsafe { csr(positives, offsets, rows) });
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, n, r, rows, loss_out, &spans, |g, red, lo| match g {
            Grad::InPlace(buf) => crate::sparse_loss_grad_in_place(shape, buf, p, red, lo),
            Grad::Apart(x, g) => crate::sparse_loss_grad(shape, x, p, red, lo, g),
        })
    }
}

/// Checked GlobalPointer inputs.
struct Gp<'a> {
    shape: GpShape,
    cells: usize,
    rows: usize,
    lengths: &'a [u32],
    spans: Csr<'a>,
    inputs: [Span; 3],
}

/// Safety: The pointers address the elements the C contract states.
unsafe fn gp_args<'a>(
    batch: usize,
    heads: usize,
    max_len: usize,
    lengths: *const u32,
    spans: *const u32,
    offsets: *const usize,
) -> Result<Gp<'a>, Status> {
    let shape = GpShape::new(batch, heads, max_len);
    let cells = shape.cells().map_err(Status::from)?;
    let rows = shape.rows().map_err(Status::from)?;
    // SAFETY: `lengths` addresses `batch` entries per the contract.
    let (len, len_span) = unsafe { input(lengths, batch) }?;
    // SAFETY: per the contract.
    let (sp, [a, b]) = unsafe { csr(spans, offsets, rows) }?;
    Ok(Gp { shape, cells, rows, lengths: len, spans: sp, inputs: [len_span, a, b] })
}

/// The GlobalPointer loss.
///
/// logits: batch * heads * max_len * max_len floats.
/// lengths: batch entries, each <= max_len (else MLCCE_ERR_SHAPE).
/// spans, offsets: the positive cells i * max_len + j of row b * heads + h
/// are `spans[offsets[row] .. offsets[row + 1]]`, strictly increasing, with
/// `i <= j < lengths[b]` (else MLCCE_ERR_INDEX).
/// out: batch * heads floats for NONE, 1 otherwise.
/// Cells outside each row's valid triangle are never read.
///
/// Safety: each pointer addresses the elements stated; out overlaps no input.
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
    let r = try_status!(reduction_code(reduction));
    // SAFETY: per this function's contract.
    let a = try_status!(unsafe { gp_args(batch, heads, max_len, lengths, spans, offsets) });
    // SAFETY: per this function's contract.
    unsafe {
        loss_entry(logits, a.cells, r, a.rows, out, &a.inputs, |x, red, o| {
            crate::globalpointer_loss(a.shape, x, a.lengths, a.spans, red, o)
        })
    }
}

/// The GlobalPointer loss (optional) and its gradient (0 outside each valid
/// triangle); grad may be logits.
///
/// Safety: as mlcce_globalpointer_loss; grad addresses as many floats as logits.
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
    let r = try_status!(reduction_code(reduction));
    // SAFETY: per this function's contract.
    let a = try_status!(unsafe { gp_args(batch, heads, max_len, lengths, spans, offsets) });
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, a.cells, r, a.rows, loss_out, &a.inputs, |g, red, lo| match g {
            Grad::InPlace(buf) => crate::globalpointer_loss_grad_in_place(a.shape, buf, a.lengths, a.spans, red, lo),
            Grad::Apart(x, g) => crate::globalpointer_loss_grad(a.shape, x, a.lengths, a.spans, red, lo, g),
        })
    }
}
