//! One short row of dense labels (at most [`SHORT`] classes), the whole
//! call in one function: no row loop, no segments, no blocks, the exp
//! constants made once. Only the fast path runs here; a row it cannot
//! finish (a sum outside the fast range, a bad label or logit) comes back
//! as `None` and the caller runs the general path, which redoes it shifted
//! or reports the error. (Redone here, the shifted pass made the dense
//! loss 9 KB larger; run from here, the general path's frame would be
//! under this one.)

use super::labels::Facts;
use super::sums::{Pass, Shifts, Sums};
use super::{Isa, pad, pad_labels, scale_terms};

/// The longest row the short path takes (4 steps of AVX2 lanes, 2 of
/// AVX-512's; one flush of the `f32` sums).
pub(crate) const SHORT: usize = 32;

/// Whether one row of `classes` classes takes the short path: 1 to
/// [`SHORT`], and never on MCUs (there is no dispatch to skip, and the
/// path's second copy of the kernel cost 15 KB of flash on Cortex-M4F at
/// opt-level 3).
#[inline(always)]
pub(crate) fn takes_short(classes: usize) -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    {
        classes.wrapping_sub(1) < SHORT
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = classes;
        false
    }
}

/// The fast pass over a short row; `grad` (as long as the row, or empty)
/// receives the signed terms.
#[inline(always)]
fn short_pass<S: Isa<N>, const N: usize>(x: &[f32], y: &[u8], grad: &mut [f32]) -> Pass {
    let mut acc = Sums::<S, N>::new();
    let k = &S::step_consts();
    let zero = Shifts::new(0.0, 0.0);
    let store = !grad.is_empty();
    let ((xc, xt), (yc, yt)) = (x.as_chunks::<N>(), y.as_chunks::<N>());
    let (gc, gt) = grad.as_chunks_mut::<N>();
    // A loop of a constant count (the compiler unrolls it and keeps the
    // sums in registers), its steps past the row skipped.
    for i in 0..SHORT / N {
        if i > 0 && i % Sums::<S, N>::FLUSH == 0 {
            acc.end_block();
        }
        if let (Some(x), Some(y)) = (xc.get(i), yc.get(i)) {
            let e = acc.step::<false>(x, y, zero, k);
            if let Some(g) = gc.get_mut(i) {
                *g = e;
            }
        }
    }
    if !xt.is_empty() {
        if xc.len() % Sums::<S, N>::FLUSH == 0 && !xc.is_empty() {
            acc.end_block();
        }
        let e = acc.step::<false>(&pad::<N>(xt), &pad_labels::<N>(yt), zero, k);
        if store {
            gt.iter_mut().zip(e).for_each(|(d, s)| *d = s);
        }
    }
    // The facts after the steps (before them measured 1.7 ns a call slower
    // at the AVX2 level).
    let facts = if S::FACTS_IN_LOOP { Facts::NONE } else { Facts::of_short::<S::Bytes>(y) };
    if SHORT / N <= Sums::<S, N>::FLUSH {
        acc.finish_unflushed(facts)
    } else {
        acc.count_steps(1);
        acc.finish(facts)
    }
}

/// The loss of a short row (logits and labels as long as each other), if
/// the fast path takes it.
#[inline(always)]
pub(crate) fn short_loss<S: Isa<N>, const N: usize>(x: &[f32], y: &[u8]) -> Option<f64> {
    let fast = short_pass::<S, N>(x, y, &mut []);
    fast.fast_ok_short().then(|| fast.fast_loss::<S, N>())
}

/// The loss of a short row and its gradient (times `scale`) into `grad`
/// (as long as the row), if the fast path takes it; otherwise `grad` holds
/// partial results.
#[inline(always)]
pub(crate) fn short_loss_grad<S: Isa<N>, const N: usize>(
    x: &[f32],
    y: &[u8],
    scale: f32,
    grad: &mut [f32],
) -> Option<f64> {
    let fast = short_pass::<S, N>(x, y, grad);
    if !fast.fast_ok_short() {
        return None;
    }
    let state = fast.fast_state();
    scale_terms::<S, N>(grad, state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    Some(fast.fast_loss::<S, N>())
}
