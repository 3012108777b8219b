//! C entry points of prediction and evaluation.

use super::edge::{Span, cells, check, disjoint, slice, slice_mut, try_status};
use super::status::{Status, status};
use crate::Report;
use crate::eval::{ClassCounts, EvalTotals, Evaluator, report};

/// The evaluation accumulator: a plain struct the caller keeps (on the stack
/// is fine); `per_class` points to the caller's `classes` counts.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Eval {
    /// Running totals (rows, exact rows, loss sum, classes, threshold).
    pub totals: EvalTotals,
    /// The caller's per-class counts (`totals.classes` entries).
    pub per_class: *mut ClassCounts,
}

/// Writes `logits > threshold` (1 or 0) into `out` (`rows * classes` bytes).
/// A NaN threshold: `MLCCE_ERR_ARGUMENT`; a non-finite logit:
/// `MLCCE_ERR_NON_FINITE`.
///
/// Safety: `logits` addresses `rows * classes` floats, `out` as many bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_predict(
    logits: *const f32,
    rows: usize,
    classes: usize,
    threshold: f32,
    out: *mut u8,
) -> Status {
    let n = try_status!(cells(rows, classes));
    if threshold.is_nan() {
        return Status::MLCCE_ERR_ARGUMENT;
    }
    try_status!(check(logits, n));
    try_status!(check(out, n));
    try_status!(disjoint(&[Span::of(out, n)], &[Span::of(logits, n)]));
    // SAFETY: checked above; disjoint.
    let (x, o) = unsafe { (slice(logits, n), slice_mut(out, n)) };
    status(crate::predict(x, threshold, o))
}

/// Starts an evaluation of `classes` classes: fully initialises `*e` and
/// zeroes `per_class` (`classes` entries). A NaN threshold:
/// `MLCCE_ERR_ARGUMENT`.
///
/// Safety: `e` points to writable memory for one `mlcce_eval`; `per_class` to
/// `classes` writable counts that outlive the evaluation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_eval_init(
    e: *mut Eval,
    per_class: *mut ClassCounts,
    classes: usize,
    threshold: f32,
) -> Status {
    try_status!(check(e.cast_const(), 1));
    try_status!(check(per_class.cast_const(), classes));
    try_status!(disjoint(&[Span::of(e, 1)], &[Span::of(per_class, classes)]));
    // SAFETY: checked above.
    let counts = unsafe { slice_mut(per_class, classes) };
    let ev = try_status!(Evaluator::new(counts, threshold).map_err(Status::from));
    // SAFETY: checked above.
    unsafe { e.write(Eval { totals: ev.totals(), per_class }) };
    Status::MLCCE_OK
}

/// Adds a batch of `rows` rows; on error nothing changes.
///
/// Safety: `e` was set up by mlcce_eval_init and its counts are still valid;
/// `logits` and `labels` address `rows * classes` elements each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_eval_update(e: *mut Eval, logits: *const f32, labels: *const u8, rows: usize) -> Status {
    try_status!(check(e.cast_const(), 1));
    // SAFETY: checked above.
    let Eval { totals, per_class } = unsafe { e.read() };
    if totals.threshold.is_nan() {
        return Status::MLCCE_ERR_ARGUMENT;
    }
    let n = try_status!(cells(rows, totals.classes));
    try_status!(check(per_class.cast_const(), totals.classes));
    try_status!(check(logits, n));
    try_status!(check(labels, n));
    let state = [Span::of(e, 1), Span::of(per_class, totals.classes)];
    try_status!(disjoint(&state, &[Span::of(logits, n), Span::of(labels, n)]));
    // SAFETY: all checked above; the state and counts overlap no input.
    let (counts, x, y) = unsafe { (slice_mut(per_class, totals.classes), slice(logits, n), slice(labels, n)) };
    let mut ev = Evaluator::resume(totals, counts);
    try_status!(ev.update(rows, x, y).map_err(Status::from));
    // SAFETY: checked above.
    unsafe { (*e).totals = ev.totals() };
    Status::MLCCE_OK
}

/// Writes the figures so far to `*out` (all 0 after 0 rows).
///
/// Safety: `e` was set up by mlcce_eval_init; `out` points to one `mlcce_report`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlcce_eval_report(e: *const Eval, out: *mut Report) -> Status {
    try_status!(check(e, 1));
    try_status!(check(out.cast_const(), 1));
    // SAFETY: checked above.
    let Eval { totals, per_class } = unsafe { e.read() };
    try_status!(check(per_class.cast_const(), totals.classes));
    // SAFETY: checked above; read-only.
    let counts = unsafe { slice(per_class.cast_const(), totals.classes) };
    let r = report(&totals, counts);
    // SAFETY: checked above.
    unsafe { out.write(r) };
    Status::MLCCE_OK
}
