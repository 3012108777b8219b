//! The dense entries' path for one short row (1 to [`SHORT`] classes):
//! the checks as address arithmetic, then the kernel's short path. Any
//! pointer it does not accept (NULL, misaligned, overlapping, near the top
//! of the address space), and any row whose fast path fails, goes to the
//! general entry, which reports or redoes it: the results are the same.

use crate::kernel::SHORT;

/// Whether the byte ranges `[a, a + a_len)` and `[b, b + b_len)` (neither
/// empty nor wrapping) share no byte.
#[inline(always)]
fn apart(a: usize, a_len: usize, b: usize, b_len: usize) -> bool {
    a.wrapping_sub(b) >= b_len && b.wrapping_sub(a) >= a_len
}

/// Whether `p` is non-NULL, aligned for `align`, and far enough below the
/// top of the address space that no short buffer from it wraps.
#[inline(always)]
fn usable(p: usize, align: usize) -> bool {
    p != 0 && p & (align - 1) == 0 && p < usize::MAX - 4 * SHORT
}

/// The loss of one row of `n` (1 to [`SHORT`]) classes written to `out`;
/// false (nothing written) when the general entry must run.
///
/// Safety: as `mlcce_loss` with `rows == 1`, `classes == n`.
#[inline(always)]
pub(super) unsafe fn short_loss(logits: *const f32, labels: *const u8, n: usize, out: *mut f32) -> bool {
    let (x, y, o) = (logits as usize, labels as usize, out as usize);
    let ok = usable(x, 4) && usable(y, 1) && usable(o, 4) && apart(o, 4, x, 4 * n) && apart(o, 4, y, n);
    if !ok {
        return false;
    }
    // SAFETY: non-NULL, aligned, not wrapping (checked), and readable for
    // `n` elements per the contract.
    let (xs, ys) = unsafe { (core::slice::from_raw_parts(logits, n), core::slice::from_raw_parts(labels, n)) };
    match crate::dense::short_loss(xs, ys) {
        Some(l) => {
            // SAFETY: checked above; `out` overlaps no input.
            unsafe { out.write(l as f32) };
            true
        }
        None => false,
    }
}

/// [`short_loss`] with the gradient (apart from every other buffer: in
/// place, the general entry runs) and the loss when `loss_out` is not NULL.
///
/// Safety: as `mlcce_loss_grad` with `rows == 1`, `classes == n`.
#[inline(always)]
pub(super) unsafe fn short_loss_grad(
    logits: *const f32,
    labels: *const u8,
    n: usize,
    loss_out: *mut f32,
    grad: *mut f32,
) -> bool {
    let (x, y, g, o) = (logits as usize, labels as usize, grad as usize, loss_out as usize);
    let ok = usable(x, 4) && usable(y, 1) && usable(g, 4) && apart(g, 4 * n, x, 4 * n) && apart(g, 4 * n, y, n);
    // A loss output, if any, overlaps no other buffer.
    let ok = ok && (o == 0 || usable(o, 4) && apart(o, 4, x, 4 * n) && apart(o, 4, y, n) && apart(o, 4, g, 4 * n));
    if !ok {
        return false;
    }
    // SAFETY: non-NULL, aligned, not wrapping (checked), valid for `n`
    // elements per the contract; `grad` overlaps no input nor `loss_out`.
    let (xs, ys, gs) = unsafe {
        (
            core::slice::from_raw_parts(logits, n),
            core::slice::from_raw_parts(labels, n),
            core::slice::from_raw_parts_mut(grad, n),
        )
    };
    match crate::dense::short_loss_grad(xs, ys, 1.0, gs) {
        Some(l) => {
            if o != 0 {
                // SAFETY: checked above; overlapping no other buffer.
                unsafe { loss_out.write(l as f32) };
            }
            true
        }
        None => false,
    }
}
