//! C entry points of class sharding (see the crate's `shard` module): the
//! partial states of a shard's classes, their element-wise merge (the body
//! of an `MPI_Op`), and the losses and a shard's gradient from merged states.

use super::edge::{Grad, Span, cells, check, disjoint, grad_entry, input, slice_mut, try_status};
use super::sparse::csr;
use super::status::{Status, reduction as reduction_code, status};
use crate::{Shape, Shard, Stream};

/// Checks `states` (`rows` of them) as an output that overlaps no input.
///
/// Safety: `states` addresses `rows` writable states (or is NULL for 0).
unsafe fn states_out<'a>(states: *mut Stream, rows: usize, inputs: &[Span]) -> Result<&'a mut [Stream], Status> {
    check(states.cast_const(), rows)?;
    disjoint(&[Span::of(states.cast_const(), rows)], inputs)?;
    // SAFETY: checked above; overlaps no input.
    Ok(unsafe { slice_mut(states, rows) })
}

/// The partial state of every row over this shard's classes, dense labels.
///
/// logits, labels: rows * shard_classes elements, the shard's columns of the
/// full batch (row-major). states: rows mlcce_stream, written. On a data
/// error (LABEL, NON_FINITE) every state is written as failed, so that the
/// merged states make every shard report the error.
///
/// Safety: each pointer addresses the elements stated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_shard_states(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    shard_classes: usize,
    states: *mut Stream,
) -> Status {
    let n = try_status!(cells(rows, shard_classes));
    // SAFETY: per this function's contract.
    let ((x, xs), (y, ys)) = (try_status!(unsafe { input(logits, n) }), try_status!(unsafe { input(labels, n) }));
    // SAFETY: per this function's contract.
    let st = try_status!(unsafe { states_out(states, rows, &[xs, ys]) });
    status(crate::shard_states(Shape::new(rows, shard_classes), x, y, st))
}

/// mlcce_shard_states with sparse labels. The shard holds columns
/// first_class .. first_class + shard_classes of rows of classes classes;
/// positives, offsets: every row's positive classes over the full row
/// (global indices, strictly increasing, each < classes; else
/// MLCCE_ERR_INDEX), the same lists on every shard.
///
/// Safety: each pointer addresses the elements stated.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mlcce_shard_states_sparse(
    logits: *const f32,
    rows: usize,
    shard_classes: usize,
    first_class: usize,
    classes: usize,
    positives: *const u32,
    offsets: *const usize,
    states: *mut Stream,
) -> Status {
    let n = try_status!(cells(rows, shard_classes));
    // SAFETY: per this function's contract.
    let (x, xs) = try_status!(unsafe { input(logits, n) });
    // SAFETY: per this function's contract.
    let (p, [a, b]) = try_status!(unsafe { csr(positives, offsets, rows) });
    // SAFETY: per this function's contract.
    let st = try_status!(unsafe { states_out(states, rows, &[xs, a, b]) });
    let shard = Shard::new(first_class, classes);
    status(crate::shard_states_sparse(Shape::new(rows, shard_classes), shard, x, p, st))
}

/// Merges n states of src into inout, element by element: associative and
/// commutative, a failed state winning. An MPI_Op for MPI_Allreduce over
/// an MPI datatype of one mlcce_stream (16 bytes) is two lines:
///   static void op(void *in, void *io, int *n, MPI_Datatype *t)
///   { (void)t; mlcce_shard_merge(in, io, (size_t)*n); }
/// src and inout must not overlap.
///
/// Safety: src and inout address n states each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_shard_merge(src: *const Stream, inout: *mut Stream, n: usize) -> Status {
    // SAFETY: per this function's contract.
    let (from, span) = try_status!(unsafe { input(src, n) });
    // SAFETY: per this function's contract.
    let into = try_status!(unsafe { states_out(inout, n, &[span]) });
    status(crate::merge_states(into, from))
}

/// The losses of rows merged states (out: rows floats for NONE, 1
/// otherwise). A failed state: its status, and nothing written.
///
/// Safety: states addresses rows states, out the floats stated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_shard_loss(states: *const Stream, rows: usize, reduction: u32, out: *mut f32) -> Status {
    let r = try_status!(reduction_code(reduction));
    // SAFETY: per this function's contract.
    let (st, span) = try_status!(unsafe { input(states, rows) });
    let outs = r.outputs(rows);
    try_status!(check(out.cast_const(), outs));
    try_status!(disjoint(&[Span::of(out.cast_const(), outs)], &[span]));
    // SAFETY: checked above; overlaps no input.
    let o = unsafe { slice_mut(out, outs) };
    status(crate::shard_loss(st, r, o))
}

/// The gradient of the reduced loss over this shard's classes, from the
/// merged states (rows of them): grad (rows * shard_classes floats) gets
/// what mlcce_loss_grad gives these columns of the full batch. grad may be
/// logits (in place).
///
/// Safety: each pointer addresses the elements stated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_shard_grad(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    shard_classes: usize,
    states: *const Stream,
    reduction: u32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, shard_classes));
    let shape = Shape::new(rows, shard_classes);
    // SAFETY: per this function's contract.
    let ((y, ys), (st, ss)) = (try_status!(unsafe { input(labels, n) }), try_status!(unsafe { input(states, rows) }));
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, n, r, rows, core::ptr::null_mut(), &[ys, ss], |g, red, _| match g {
            Grad::InPlace(buf) => crate::shard_grad_in_place(shape, buf, y, st, r),
            Grad::Apart(x, g) => crate::shard_grad(shape, x, y, st, red, g),
        })
    }
}

/// mlcce_shard_grad with sparse labels (as mlcce_shard_states_sparse).
///
/// Safety: each pointer addresses the elements stated.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mlcce_shard_grad_sparse(
    logits: *const f32,
    rows: usize,
    shard_classes: usize,
    first_class: usize,
    classes: usize,
    positives: *const u32,
    offsets: *const usize,
    states: *const Stream,
    reduction: u32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, shard_classes));
    let (shape, shard) = (Shape::new(rows, shard_classes), Shard::new(first_class, classes));
    // SAFETY: per this function's contract.
    let (p, [a, b]) = try_status!(unsafe { csr(positives, offsets, rows) });
    // SAFETY: per this function's contract.
    let (st, ss) = try_status!(unsafe { input(states, rows) });
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, n, r, rows, core::ptr::null_mut(), &[a, b, ss], |g, red, _| match g {
            Grad::InPlace(buf) => crate::shard_grad_sparse_in_place(shape, shard, buf, p, st, r),
            Grad::Apart(x, g) => crate::shard_grad_sparse(shape, shard, x, p, st, red, g),
        })
    }
}
