//! The dense entries' path for one short row (1 to [`SHORT`] classes):
//! the checks as address arithmetic, then the kernel's short path, called
//! through the dispatcher with the entry's arguments as machine words
//! ([`WordJob`]). Any pointer it does not accept (NULL, misaligned,
//! overlapping, in the upper half of the address space), and any row whose
//! fast path fails, goes to the general path, which reports or redoes it:
//! the results are the same. The entry, the dispatch and the fallback are
//! tail calls: the entry of `mlcce_loss` keeps no frame.

use super::Status;
use crate::kernel::{self, Isa, SHORT, WordJob, run_words};

/// Whether the byte ranges `[a, a + a_len)` and `[b, b + b_len)` (neither
/// empty nor wrapping) share no byte, in one compare: they overlap when
/// `-a_len < a - b < b_len`, that is when `a - b + a_len - 1` (wrapping)
/// is below `a_len + b_len - 1`.
#[inline(always)]
fn apart(a: usize, a_len: usize, b: usize, b_len: usize) -> bool {
    a.wrapping_sub(b).wrapping_add(a_len - 1) >= a_len + b_len - 1
}

/// Zero when a call is one short row: `rows` 1, `classes` 1 to [`SHORT`].
#[inline(always)]
fn misfit(rows: usize, classes: usize) -> usize {
    (rows ^ 1) | (classes.wrapping_sub(1) / SHORT)
}

/// Zero when every pointer ORed into `ptrs`, each minus 1, is non-NULL
/// and in the lower half of the address space (where user space lies on
/// x86-64 and AArch64), so that no short buffer from it wraps: NULL wraps
/// to the top.
#[inline(always)]
fn high(ptrs: usize) -> usize {
    ptrs >> (usize::BITS - 1)
}

/// Whether the short path can read an `mlcce_loss` call's inputs: one
/// short row ([`misfit`]), `logits` and `labels` non-NULL and below the
/// top half ([`high`]), `logits` aligned. The bit tests are ORed into one
/// word, tested once. What `out` must be is tested after the row
/// ([`loss_writes`]): tests before the kernel delay its first loads.
#[inline(always)]
pub(super) fn loss_reads(logits: *const f32, labels: *const u8, rows: usize, classes: usize) -> bool {
    let (x, y) = (logits as usize, labels as usize);
    (misfit(rows, classes) | high(x.wrapping_sub(1) | y.wrapping_sub(1)) | (x & 3)) == 0
}

/// Whether an `mlcce_loss` call that [`loss_reads`] may write its loss:
/// `out` non-NULL, below the top half, aligned and apart from the inputs,
/// the reduction a valid code (any of them: a row's mean and sum are its
/// loss).
#[inline(always)]
fn loss_writes(x: usize, y: usize, n: usize, reduction: usize, o: usize) -> bool {
    (high(o.wrapping_sub(1)) | (o & 3) | usize::from(reduction > 2)) == 0 && apart(o, 4, x, 4 * n) && apart(o, 4, y, n)
}

/// Whether the short path takes an `mlcce_loss_grad` call: one short row,
/// every pointer non-NULL (`loss_out` may be NULL) and below the top half,
/// the floats aligned, `grad` apart from every other buffer (in place, the
/// general entry runs), `loss_out` NULL or apart too, the reduction a valid
/// code. All before the kernel, which writes `grad`: an argument error
/// writes nothing.
#[inline(always)]
pub(super) fn loss_grad_takes(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> bool {
    let (x, y, g, o, n) = (logits as usize, labels as usize, grad as usize, loss_out as usize, classes);
    // NULL `loss_out` is allowed: its test is on `o | 4` (any low-half
    // aligned address passes), its overlaps skipped.
    let low = high(x.wrapping_sub(1) | y.wrapping_sub(1) | g.wrapping_sub(1) | (o | 4).wrapping_sub(1));
    let bits = misfit(rows, classes) | low | ((x | g | o) & 3) | usize::from(reduction > 2);
    bits == 0
        && apart(g, 4 * n, x, 4 * n)
        && apart(g, 4 * n, y, n)
        && (o == 0 || apart(o, 4, x, 4 * n) && apart(o, 4, y, n) && apart(o, 4, g, 4 * n))
}

/// `mlcce_loss` of a call whose inputs the short path [`loss_reads`]: the
/// kernel's short path, or (a row it declines, an `out` or reduction it
/// may not write) the general entry, which redoes the row or reports the
/// error. Every call in it is a tail call with the entry's arguments.
///
/// Safety: as `mlcce_loss`, and [`loss_reads`] true.
#[inline(always)]
pub(super) unsafe fn loss(
    logits: *const f32,
    labels: *const u8,
    rows: usize,
    classes: usize,
    reduction: u32,
    out: *mut f32,
) -> Status {
    let (x, y, r, o) = (logits as usize, labels as usize, reduction as usize, out as usize);
    // SAFETY: per this fn's contract, as `Loss` states.
    unsafe { run_words::<Loss>(x, y, rows, classes, r, o) }
}

/// [`loss`] with the gradient, for a call the short path
/// [`loss_grad_takes`]; a row the kernel declines goes to the batch path
/// ([`loss_grad_row`](super::dense::loss_grad_row)).
///
/// Safety: as `mlcce_loss_grad` with `rows == 1`, `classes == n`, and
/// [`loss_grad_takes`] true.
#[inline(always)]
pub(super) unsafe fn loss_grad(
    logits: *const f32,
    labels: *const u8,
    n: usize,
    reduction: u32,
    loss_out: *mut f32,
    grad: *mut f32,
) -> Status {
    let (x, y, r, o, g) = (logits as usize, labels as usize, reduction as usize, loss_out as usize, grad as usize);
    // SAFETY: per this fn's contract, as `LossGrad` states.
    unsafe { run_words::<LossGrad>(x, y, n, r, o, g) }
}

/// [`loss`]'s job. Words: `mlcce_loss`'s arguments.
struct Loss;

impl WordJob for Loss {
    type Out = Status;

    /// Safety: as [`loss`]'s.
    #[inline(always)]
    unsafe fn run<S: Isa<N>, const N: usize>([x, y, rows, n, r, o]: [usize; 6]) -> Status {
        let (logits, labels, out) = (x as *const f32, y as *const u8, o as *mut f32);
        // SAFETY: non-NULL, aligned, not wrapping (checked), and readable
        // for `n` elements per the contract.
        let (xs, ys) = unsafe { (core::slice::from_raw_parts(logits, n), core::slice::from_raw_parts(labels, n)) };
        match kernel::short_loss::<S, N>(xs, ys) {
            Some(l) if loss_writes(x, y, n, r, o) => {
                // SAFETY: checked just now; `out` overlaps no input.
                unsafe { out.write(l as f32) };
                Status::MLCCE_OK
            }
            // SAFETY: the entry's arguments, per this fn's contract.
            _ => unsafe { super::dense::loss_general(logits, labels, rows, n, r as u32, out) },
        }
    }
}

/// [`loss_grad`]'s job. Words: logits, labels, `n`, reduction, loss_out,
/// grad.
struct LossGrad;

impl WordJob for LossGrad {
    type Out = Status;

    /// Safety: as [`loss_grad`]'s.
    #[inline(always)]
    unsafe fn run<S: Isa<N>, const N: usize>([x, y, n, r, o, g]: [usize; 6]) -> Status {
        let (logits, labels, loss_out, grad) = (x as *const f32, y as *const u8, o as *mut f32, g as *mut f32);
        // SAFETY: non-NULL, aligned, not wrapping (checked), valid for `n`
        // elements per the contract; `grad` overlaps no input nor `loss_out`.
        let (xs, ys, gs) = unsafe {
            (
                core::slice::from_raw_parts(logits, n),
                core::slice::from_raw_parts(labels, n),
                core::slice::from_raw_parts_mut(grad, n),
            )
        };
        match kernel::short_loss_grad::<S, N>(xs, ys, 1.0, gs) {
            Some(l) => {
                if o != 0 {
                    // SAFETY: checked; overlapping no other buffer.
                    unsafe { loss_out.write(l as f32) };
                }
                Status::MLCCE_OK
            }
            // SAFETY: checked as it requires, per this fn's contract.
            None => unsafe { super::dense::loss_grad_row(logits, labels, n, r as u32, loss_out, grad) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::apart;

    /// The one-compare test against the ranges' definition, near 0 and
    /// near the top of the address space.
    #[test]
    fn apart_is_no_shared_byte() {
        for base in [0usize, 1000, usize::MAX - 200] {
            for a in base..base + 60 {
                for b in base..base + 60 {
                    for (a_len, b_len) in [(1, 1), (4, 4), (4, 128), (128, 4), (1, 32), (32, 1), (3, 7)] {
                        let (a_end, b_end) = (a as u128 + a_len as u128, b as u128 + b_len as u128);
                        let shared = (a as u128) < b_end && (b as u128) < a_end;
                        assert_eq!(apart(a, a_len, b, b_len), !shared, "{a} {a_len} {b} {b_len}");
                    }
                }
            }
        }
    }
}
