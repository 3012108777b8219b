//! C entry points of the soft-target loss and the probability helper.

use super::edge::{Grad, Span, cells, check, disjoint, grad_entry, input, loss_entry, slice, slice_mut, try_status};
use super::status::{Status, reduction as reduction_code, status};
use crate::Shape;

/// The loss of a batch with soft targets.
///
/// targets: rows * classes floats in [0, 1] (NaN or outside:
/// MLCCE_ERR_LABEL); every logit takes part.
/// Other parameters as mlcce_loss.
///
/// Safety: each pointer addresses the elements stated; out overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_soft_loss(
    logits: *const f32,
    targets: *const f32,
    rows: usize,
    classes: usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, classes));
    // SAFETY: `targets` addresses n floats per this function's contract.
    let (t, ts) = try_status!(unsafe { input(targets, n) });
    // SAFETY: per this function's contract.
    unsafe {
        loss_entry(logits, n, r, rows, out, &[ts], |x, red, o| {
            crate::soft_loss(Shape::new(rows, classes), x, t, red, o)
        })
    }
}

/// The soft loss (optional) and its gradient; grad may be logits.
///
/// Safety: as mlcce_soft_loss; grad addresses rows * classes floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_soft_loss_grad(
    logits: *const f32,
    targets: *const f32,
    rows: usize,
    classes: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    let r = try_status!(reduction_code(reduction));
    let n = try_status!(cells(rows, classes));
    let shape = Shape::new(rows, classes);
    // SAFETY: `targets` addresses n floats per this function's contract.
    let (t, ts) = try_status!(unsafe { input(targets, n) });
    // SAFETY: per this function's contract.
    unsafe {
        grad_entry(logits, grad, n, r, rows, loss_out, &[ts], |g, red, lo| match g {
            Grad::InPlace(buf) => crate::soft_loss_grad_in_place(shape, buf, t, red, lo),
            Grad::Apart(x, g) => crate::soft_loss_grad(shape, x, t, red, lo, g),
        })
    }
}

/// Probabilities as this loss defines them, `σ(2s)`, for `n` logits into
/// `out` (`n` floats; may be `logits`). `s > 0` ⇔ `p > 0.5`: the decision
/// threshold 0 on logits is 0.5 on these. A NaN logit: `MLCCE_ERR_NON_FINITE`.
///
/// Safety: `logits` and `out` address `n` floats each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_probabilities(logits: *const f32, n: usize, out: *mut f32) -> Status {
    try_status!(check(logits, n));
    try_status!(check(out, n));
    if n > 0 && core::ptr::eq(out.cast_const(), logits) {
        // SAFETY: checked; in place, one slice only. Validate before writing.
        let buf = unsafe { slice_mut(out, n) };
        if buf.iter().any(|s| s.is_nan()) {
            return Status::MLCCE_ERR_NON_FINITE;
        }
        for v in buf.iter_mut() {
            let mut p = [0.0f32];
            let _ = crate::probabilities(&[*v], &mut p);
            *v = p[0];
        }
        return Status::MLCCE_OK;
    }
    try_status!(disjoint(&[Span::of(out, n)], &[Span::of(logits, n)]));
    // SAFETY: checked above; disjoint.
    let (x, p) = unsafe { (slice(logits, n), slice_mut(out, n)) };
    status(crate::probabilities(x, p))
}
