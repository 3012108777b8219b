//! C entry points of the dense loss and the stream.

use super::edge::{Grad, Span, cells, check, disjoint, grad_entry, input, loss_entry, try_status};
use super::short;
use super::status::{Status, reduction as reduction_code, status};
use crate::kernel::SHORT_PATH;
use crate::{Shape, Stream};

/// The loss of a batch with dense labels.
///
/// logits: rows * classes floats, row-major.
/// labels: rows * classes bytes: 0, 1 or MLCCE_IGNORE.
/// reduction: MLCCE_REDUCTION_NONE, _MEAN or _SUM.
/// out: rows floats for NONE, 1 float otherwise; overlaps no input.
/// A pointer may be NULL only where it addresses 0 elements.
///
/// Safety: Each pointer addresses at least as many elements as stated (or may be
/// NULL where that number is 0); `out` does not overlap the inputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_loss(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    if SHORT_PATH && short::loss_reads(logits, labels, rows, classes) {
        // SAFETY: per this function's contract; checked as it requires.
        return unsafe { short::loss(logits, labels, rows, classes, reduction, out) };
    }
    // SAFETY: per this function's contract.
    unsafe { loss_general(logits, labels, rows, classes, reduction, out) }
}

/// `mlcce_loss` past its short path (out of line: its frame is not the
/// short path's).
///
/// Safety: as `mlcce_loss`.
#[inline(never)]
pub(super) unsafe fn loss_general(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, classes));
    // SAFETY: `labels` addresses n bytes per this function's contract.
    let (y, ys) = try_status!(unsafe { input(labels, n) });
    // SAFETY: per this function's contract.
    unsafe {
        loss_entry(logits, n, r, rows, out, &[ys], |x, red, o| {
            crate::dense::batch_loss(Shape::new(rows, classes), x, y, red, o)
        })
    }
}

/// The loss (optional) and its gradient, fused.
///
/// loss_out: NULL (loss not wanted), or as out of mlcce_loss.
/// grad: rows * classes floats, the gradient of the reduced loss. It may be
/// the very pointer logits (computed in place); any other overlap with an
/// input is MLCCE_ERR_ARGUMENT.
///
/// Safety: As `mlcce_loss`; `grad` addresses `rows * classes` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_loss_grad(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    if SHORT_PATH && short::loss_grad_takes(logits, labels, rows, classes, reduction, loss_out, grad) {
        // SAFETY: per this function's contract; checked as it requires.
        return unsafe { short::loss_grad(logits, labels, classes, reduction, loss_out, grad) };
    }
    // SAFETY: per this function's contract.
    unsafe { loss_grad_general(logits, labels, rows, classes, reduction, loss_out, grad) }
}

/// `mlcce_loss_grad` of one row whose arguments the short path checked
/// and whose row its kernel declined (a sum out of its range, or bad data):
/// the batch path, which redoes the row shifted or reports the error, as
/// the general entry would. Six arguments, in registers: the short path's
/// call of it is a tail call (the general entry's seventh, on the stack,
/// made that call a nested one, its frame under the general path's).
///
/// Safety: as `mlcce_loss_grad` with `rows == 1`, `classes` 1 to
/// [`kernel::SHORT`](crate::kernel::SHORT), every check of
/// `short::loss_grad_takes` passed.
#[inline(never)]
pub(super) unsafe fn loss_grad_row(
    logits: *const f32,
    labels: *const u8,
    classes: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    // SAFETY: checked (non-NULL, aligned, not wrapping, `grad` and
    // `loss_out` overlapping no other buffer); valid per the contract.
    let (x, y, g, lo) = unsafe {
        (
            core::slice::from_raw_parts(logits, classes),
            core::slice::from_raw_parts(labels, classes),
            core::slice::from_raw_parts_mut(grad, classes),
            (!loss_out.is_null()).then(|| core::slice::from_raw_parts_mut(loss_out, 1)),
        )
    };
    status(crate::dense::batch_loss_grad(Shape::new(1, classes), x, y, r, lo, g))
}

/// `mlcce_loss_grad` past its short path, inlined. Out of line, LLVM
/// called it instead of jumping to it (its seventh argument is on the
/// stack), and the entry's frame stayed under the general path's: 32 B
/// more stack at the AVX2 level.
///
/// Safety: as `mlcce_loss_grad`.
#[inline(always)]
unsafe fn loss_grad_general(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, classes));
    let shape = Shape::new(rows, classes);
    // SAFETY: `labels` addresses n bytes per this function's contract.
    let (y, ys) = try_status!(unsafe { input(labels, n) });
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, n, r, rows, loss_out, &[ys], |g, red, lo| match g {
            Grad::InPlace(buf) => crate::loss_grad_in_place(shape, buf, y, red, lo),
            Grad::Apart(x, g) => crate::dense::batch_loss_grad(shape, x, y, red, lo, g),
        })
    }
}

/// Initialises a stream: the state of one row, empty.
/// MLCCE_ERR_NULL_POINTER for a NULL s, MLCCE_ERR_ARGUMENT for a misaligned one.
///
/// Safety: `s` is NULL or points to writable memory for one `mlcce_stream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_stream_init(s: *mut Stream) -> Status {
    try_status!(check(s.cast_const(), 1));
    // SAFETY: non-NULL and aligned (checked); writable per the contract.
    unsafe { s.write(Stream::new()) };
    Status::MLCCE_OK
}

/// Appends the next n classes of the row (logits and labels: n elements
/// each). On error the state is unchanged.
///
/// Safety: `s` points to a stream set up by `mlcce_stream_init`; `logits` and
/// `labels` address `n` elements each (NULL allowed when `n == 0`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_stream_update(
    s: *mut Stream,
    logits: *const f32,
    labels: *const u8,
    n: usize,
) -> Status {
    try_status!(check(s.cast_const(), 1));
    // SAFETY: per this function's contract.
    let ((x, xs), (y, ys)) = (try_status!(unsafe { input(logits, n) }), try_status!(unsafe { input(labels, n) }));
    try_status!(disjoint(&[Span::of(s.cast_const(), 1)], &[xs, ys]));
    // SAFETY: checked above; the state overlaps no input.
    let st = unsafe { &mut *s };
    status(st.update(x, y))
}

/// Adds other, a disjoint part of the same row, to s. other may be s
/// itself (the row's classes counted twice). On error nothing changes.
///
/// Safety: Both point to streams set up by `mlcce_stream_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_stream_merge(s: *mut Stream, other: *const Stream) -> Status {
    try_status!(check(s.cast_const(), 1));
    try_status!(check(other, 1));
    // SAFETY: checked above; read by value first, so `s` may equal `other`.
    let part = unsafe { other.read() };
    // SAFETY: checked above; no other reference to `*s` exists now.
    status(unsafe { (*s).merge(&part) })
}

/// The loss of the classes seen so far, written to *loss.
///
/// Safety: `s` points to a stream set up by `mlcce_stream_init`; `loss` to a float.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_stream_loss(s: *const Stream, loss: *mut f32) -> Status {
    try_status!(check(s, 1));
    try_status!(check(loss.cast_const(), 1));
    // SAFETY: checked above.
    let st = unsafe { s.read() };
    try_status!(st.check().map_err(Status::from));
    // SAFETY: checked above.
    unsafe { loss.write(st.loss()) };
    Status::MLCCE_OK
}
