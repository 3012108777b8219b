//! One short row of dense labels (at most [`SHORT`] classes), the whole
//! call in one function: no row loop, no segments, no blocks, the exp
//! constants made once. Only the fast path runs here; a row it cannot
//! finish (a sum outside the fast range, a bad label or logit) comes back
//! as `None` and the caller runs the general path, which redoes it shifted
//! or reports the error. (Redone here, the shifted pass made the dense
//! loss 9 KB larger; called from here, the general path's frame would be
//! under this one. The C entries' level functions reach it by a tail
//! call, which leaves no frame: `ffi/short.rs`.)

use super::labels::Facts;
use super::sums::{Pass, Shifts, Sums};
use super::{Isa, scale_terms};

/// The longest row the short path takes (4 steps of AVX2 lanes, 2 of
/// AVX-512's; one flush of the `f32` sums).
pub(crate) const SHORT: usize = 32;

/// Whether the short path exists: not on MCUs (there is no dispatch to
/// skip, and the path's second copy of the kernel cost 15 KB of flash on
/// Cortex-M4F at opt-level 3).
pub(crate) const SHORT_PATH: bool = cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"));

/// Whether one row of `classes` classes takes the short path: 1 to
/// [`SHORT`], where the path exists.
#[inline(always)]
pub(crate) fn takes_short(classes: usize) -> bool {
    SHORT_PATH && classes.wrapping_sub(1) < SHORT
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
    // The partial step first, while no sum is live: padded lane by lane
    // (copied by a loop, the pads were calls to `memcpy`, see
    // `store_short`).
    if !xt.is_empty() {
        let px: [f32; N] = core::array::from_fn(|i| xt.get(i).copied().unwrap_or(0.0));
        let py: [u8; N] = core::array::from_fn(|i| yt.get(i).copied().unwrap_or(crate::IGNORE));
        let e = acc.step::<false>(&px, &py, zero, k);
        if store {
            store_short(gt, &e);
        }
    }
    // Then a loop of a constant count (the compiler unrolls it and keeps
    // the sums in registers), its steps past the row skipped. The whole
    // steps and the partial one are at most `SHORT / N`.
    let partial = usize::from(!xt.is_empty());
    for i in 0..SHORT / N {
        if i > 0 && (i + partial) % Sums::<S, N>::FLUSH == 0 {
            acc.end_block();
        }
        if let (Some(x), Some(y)) = (xc.get(i), yc.get(i)) {
            let e = acc.step::<false>(x, y, zero, k);
            if let Some(g) = gc.get_mut(i) {
                *g = e;
            }
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

/// Writes the first `dst.len()` (fewer than `N`) lanes of `e` to `dst`,
/// lane by lane at constant indices. A loop of element copies, or two
/// overlapping copies, were calls to `memcpy`: the short path then saved
/// its vector registers around them and its fallback was no tail call.
#[inline(always)]
pub(crate) fn store_short<const N: usize>(dst: &mut [f32], e: &[f32; N]) {
    for (i, &v) in e.iter().enumerate() {
        if let Some(d) = dst.get_mut(i) {
            *d = v;
        }
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
