//! The dense entries' path for one short row (1 to [`SHORT`] classes):
//! the checks as address arithmetic, then the kernel's short path. Any
//! pointer it does not accept (NULL, misaligned, overlapping, near the top
//! of the address space), and any row whose fast path fails, goes to the
//! general entry, which reports or redoes it: the results are the same.

use crate::kernel::SHORT;

/// Whether the byte ranges `[a, a + a_len)` and `[b, b + b_len)` (neither
/// empty nor wrapping) share no byte, in one compare: they overlap when
/// `-a_len < a - b < b_len`, that is when `a - b + a_len - 1` (wrapping)
/// is below `a_len + b_len - 1`.
#[inline(always)]
fn apart(a: usize, a_len: usize, b: usize, b_len: usize) -> bool {
    a.wrapping_sub(b).wrapping_add(a_len - 1) >= a_len + b_len - 1
}

/// Whether `p` is non-NULL and far enough below the top of the address
/// space that no short buffer from it wraps (one compare: NULL wraps to
/// the top).
#[inline(always)]
fn usable(p: usize) -> bool {
    p.wrapping_sub(1) < usize::MAX - 4 * SHORT - 1
}

/// The loss of one row of `n` (1 to [`SHORT`]) classes written to `out`;
/// false (nothing written) when the general entry must run.
///
/// Safety: as `mlcce_loss` with `rows == 1`, `classes == n`.
#[inline(always)]
pub(super) unsafe fn short_loss(logits: *const f32, labels: *const u8, n: usize, out: *mut f32) -> bool {
    let (x, y, o) = (logits as usize, labels as usize, out as usize);
    // Every test evaluated (`&`, each one compare): none ordered first.
    let ok = usable(x) & usable(y) & usable(o) & ((x | o) & 3 == 0) & apart(o, 4, x, 4 * n) & apart(o, 4, y, n);
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
    let ok = usable(x) & usable(y) & usable(g) & ((x | g) & 3 == 0) & apart(g, 4 * n, x, 4 * n) & apart(g, 4 * n, y, n);
    // A loss output, if any, overlaps no other buffer.
    let ok =
        ok && (o == 0 || usable(o) & (o & 3 == 0) & apart(o, 4, x, 4 * n) & apart(o, 4, y, n) & apart(o, 4, g, 4 * n));
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
    match crate::dense::short_loss_grad(xs, ys, gs) {
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
