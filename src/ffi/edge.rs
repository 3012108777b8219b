//! Raw pointers to slices, with every check C callers need.

use core::mem::size_of;

use super::Status;
use crate::{Reduction, Shape};

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

    pub(crate) fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// `rows * classes`, or `MLCCE_ERR_SHAPE` when it overflows.
pub(crate) fn cells(rows: usize, classes: usize) -> Result<usize, Status> {
    Shape::new(rows, classes).cells().map_err(Status::from)
}

/// The length of an optional loss output: 0 when `loss_out` is NULL.
pub(crate) fn outs(loss_out: *const f32, r: Reduction, rows: usize) -> usize {
    if loss_out.is_null() { 0 } else { r.outputs(rows) }
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

/// # Safety
/// `ptr` passed [`check`] for `len`, and addresses `len` readable `T`s that
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

/// # Safety
/// `ptr` passed [`check`] for `len`, and addresses `len` writable `T`s that
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

/// Checks and builds the logits and the output of a loss call: `n` logits,
/// `outs` output floats that overlap neither the logits nor `inputs` (the
/// call's other inputs).
///
/// # Safety
/// `logits` addresses `n` floats and `out` `outs` floats (or are NULL where
/// that number is 0), valid for `'a`.
pub(crate) unsafe fn loss_buffers<'a>(
    logits: *const f32,
    n: usize,
    out: *mut f32,
    outs: usize,
    inputs: &[Span],
) -> Result<(&'a [f32], &'a mut [f32]), Status> {
    check(logits, n)?;
    check(out.cast_const(), outs)?;
    let out_span = Span::of(out, outs);
    if out_span.overlaps(Span::of(logits, n)) {
        return Err(Status::MLCCE_ERR_ARGUMENT);
    }
    disjoint(&[out_span], inputs)?;
    // SAFETY: checked above (non-NULL where needed, aligned, sized); `out`
    // overlaps no input.
    Ok(unsafe { (slice(logits, n), slice_mut(out, outs)) })
}

/// The gradient outputs of a `_grad` call: the gradient written over the
/// logits, or logits and gradient apart; and the optional loss output.
pub(crate) enum Grad<'a> {
    /// `grad` is `logits`.
    InPlace(&'a mut [f32]),
    /// `(logits, grad)`, disjoint.
    Apart(&'a [f32], &'a mut [f32]),
}

/// Checks and builds the logits, gradient and loss buffers of a `_grad`
/// call: `n` logits, `n` gradient cells (exactly the logits, or overlapping
/// no input), `outs` loss values (0 when `loss_out` is NULL). `inputs` are the
/// call's other inputs (labels, indices...), which no output may overlap.
///
/// # Safety
/// `logits` and `grad` address `n` floats and `loss_out` `outs` floats (or are
/// NULL where that number is 0), valid for `'a`.
pub(crate) unsafe fn grad_buffers<'a>(
    logits: *const f32,
    grad: *mut f32,
    n: usize,
    loss_out: *mut f32,
    outs: usize,
    inputs: &[Span],
) -> Result<(Grad<'a>, Option<&'a mut [f32]>), Status> {
    check(logits, n)?;
    check(grad.cast_const(), n)?;
    check(loss_out.cast_const(), outs)?;
    let outputs = [Span::of(grad, n), Span::of(loss_out, outs)];
    let logits_span = Span::of(logits, n);
    let in_place = n > 0 && core::ptr::eq(grad.cast_const(), logits);
    if !in_place && outputs.iter().any(|o| o.overlaps(logits_span)) {
        return Err(Status::MLCCE_ERR_ARGUMENT);
    }
    if in_place && Span::of(loss_out, outs).overlaps(logits_span) {
        return Err(Status::MLCCE_ERR_ARGUMENT);
    }
    disjoint(&outputs, inputs)?;
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
    Ok((g, lo))
}

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
