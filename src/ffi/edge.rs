//! Raw pointers to slices, with every check C callers need.

use core::mem::size_of;

use super::Status;
use super::status::status;
use crate::{Error, Reduction, Shape};

/// Evaluates a `Result<T, Status>`, returning the status on error.
macro_rules! try_status {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
}
pub(crate) use try_status;

/// The bytes a buffer of `len` `T`s spans, as an address range.
#[derive(Clone, Copy)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    pub(crate) fn of<T>(ptr: *const T, len: usize) -> Span {
        let start = ptr as usize;
        Span { start, end: start.wrapping_add(len.wrapping_mul(size_of::<T>())) }
    }

    /// Whether the two share a byte (an empty span shares none, wherever
    /// its pointer lies).
    pub(crate) fn overlaps(self, other: Span) -> bool {
        self.start < self.end && other.start < other.end && self.start < other.end && other.start < self.end
    }
}

/// `rows * classes`, or `MLCCE_ERR_SHAPE` when it overflows.
pub(crate) fn cells(rows: usize, classes: usize) -> Result<usize, Status> {
    Shape::new(rows, classes).cells().map_err(Status::from)
}

/// Checks a pointer to `len` elements: NULL only if `len == 0`, aligned, and
/// small enough to be a Rust slice.
pub(crate) fn check<T>(ptr: *const T, len: usize) -> Result<(), Status> {
    if len == 0 {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(Status::MLCCE_ERR_NULL_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(Status::MLCCE_ERR_ARGUMENT);
    }
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize && (ptr as usize).checked_add(bytes).is_some() => Ok(()),
        _ => Err(Status::MLCCE_ERR_SHAPE),
    }
}

/// Fails with `MLCCE_ERR_ARGUMENT` if any output overlaps any other buffer.
pub(crate) fn disjoint(outputs: &[Span], inputs: &[Span]) -> Result<(), Status> {
    let mut rest = outputs;
    while let [o, later @ ..] = rest {
        rest = later;
        let clash = inputs.iter().any(|b| o.overlaps(*b)) || later.iter().any(|b| o.overlaps(*b));
        if clash {
            return Err(Status::MLCCE_ERR_ARGUMENT);
        }
    }
    Ok(())
}

/// Safety: `ptr` passed check for `len`, and addresses `len` readable `T`s that
/// no one writes for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, aligned and at most isize::MAX bytes (checked by
        // `check`); readable and unaliased by writes per this fn's contract.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// Safety: `ptr` passed check for `len`, and addresses `len` writable `T`s that
/// no other reference reaches for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: non-NULL, aligned and at most isize::MAX bytes (checked by
        // `check`); exclusive per this fn's contract (callers check overlaps).
        unsafe { core::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// A checked input buffer from C, as a slice, and the bytes it spans.
///
/// Safety: `ptr` addresses `len` readable `T`s (or is NULL where `len` is 0) that
/// nothing writes for `'a`.
pub(crate) unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Result<(&'a [T], Span), Status> {
    check(ptr, len)?;
    // SAFETY: checked just above; read-only per this fn's contract.
    Ok((unsafe { slice(ptr, len) }, Span::of(ptr, len)))
}

/// The entry of every loss function (after its reduction code, the first
/// check of every entry point, and its other inputs): the `n` logits
/// and the output (`rows` values for NONE, 1 otherwise) checked, the output
/// overlapping no input (`inputs`: the call's other inputs, checked by
/// input), then `f` on the slices, its result as a status.
///
/// Safety: `logits` addresses `n` floats and `out` as many as the reduction writes
/// (or are NULL where that number is 0), valid for `'a`.
pub(crate) unsafe fn loss_entry<'a>(
    logits: *const f32,
    n: usize,
    r: Reduction,
    rows: usize,
    out: *mut f32,
    inputs: &[Span],
    f: impl FnOnce(&'a [f32], Reduction, &'a mut [f32]) -> Result<(), Error>,
) -> Status {
    let outs = r.outputs(rows);
    try_status!(check(logits, n));
    try_status!(check(out.cast_const(), outs));
    let out_span = Span::of(out, outs);
    try_status!(disjoint(&[out_span], &[Span::of(logits, n)]));
    try_status!(disjoint(&[out_span], inputs));
    // SAFETY: checked above (non-NULL where needed, aligned, sized); `out`
    // overlaps no input.
    let (x, o) = unsafe { (slice(logits, n), slice_mut(out, outs)) };
    status(f(x, r, o))
}

/// The gradient outputs of a `_grad` call: the gradient written over the
/// logits, or logits and gradient apart; and the optional loss output.
pub(crate) enum Grad<'a> {
    /// `grad` is `logits`.
    InPlace(&'a mut [f32]),
    /// `(logits, grad)`, disjoint.
    Apart(&'a [f32], &'a mut [f32]),
}

/// The entry of every `_grad` function (after its reduction code and its
/// other inputs): `n` logits,
/// `n` gradient cells (exactly the logits, or overlapping no input), and
/// the optional loss output (NULL: not wanted) checked; then `f` on the
/// slices, its result as a status. `inputs` are the call's other inputs
/// (checked by input), which no output may overlap.
///
/// Safety: `logits` and `grad` address `n` floats and `loss_out` as many as the
/// reduction writes (or are NULL where that number is 0), valid for `'a`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn grad_entry<'a>(
    logits: *const f32,
    grad: *mut f32,
    n: usize,
    r: Reduction,
    rows: usize,
    loss_out: *mut f32,
    inputs: &[Span],
    f: impl FnOnce(Grad<'a>, Reduction, Option<&'a mut [f32]>) -> Result<(), Error>,
) -> Status {
    let outs = if loss_out.is_null() { 0 } else { r.outputs(rows) };
    try_status!(check(logits, n));
    try_status!(check(grad.cast_const(), n));
    try_status!(check(loss_out.cast_const(), outs));
    let outputs = [Span::of(grad, n), Span::of(loss_out, outs)];
    let logits_span = Span::of(logits, n);
    let in_place = n > 0 && core::ptr::eq(grad.cast_const(), logits);
    if !in_place && outputs.iter().any(|o| o.overlaps(logits_span)) {
        return Status::MLCCE_ERR_ARGUMENT;
    }
    if in_place && Span::of(loss_out, outs).overlaps(logits_span) {
        return Status::MLCCE_ERR_ARGUMENT;
    }
    try_status!(disjoint(&outputs, inputs));
    // SAFETY: checked above (non-NULL where needed, aligned, sized); the
    // outputs overlap no input and each other not, or `grad` is exactly
    // `logits` and the only slice made of that memory.
    let lo = if outs == 0 { None } else { Some(unsafe { slice_mut(loss_out, outs) }) };
    let g = if in_place {
        // SAFETY: as above.
        Grad::InPlace(unsafe { slice_mut(grad, n) })
    } else {
        // SAFETY: as above.
        Grad::Apart(unsafe { slice(logits, n) }, unsafe { slice_mut(grad, n) })
    };
    status(f(g, r, lo))
}
