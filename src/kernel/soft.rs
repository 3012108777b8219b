//! Soft targets `t ∈ [0, 1]` on the kernels' accumulator:
//!
//! ```text
//! L = log(1 + Σ (1 - t) e^{s}) + log(1 + Σ t e^{-s})
//! ```
//!
//! Both sums go through the same [`Sums`] as hard labels (the same lane
//! width, `f32` sums of `Sums::FLUSH` steps added into `f64` lanes, the same
//! fast-path bounds and finish), so soft rows meet the same accuracy bound.
//! What differs is the step: every cell has a weight in each group, so a lane
//! takes two terms, `(1 - t)·e^{s}` and `t·e^{-s}`.
//!
//! * Fast pass: `e^{-s}` as `1 / e^{s}` (measured cheaper than a second exp),
//!   valid while `|s| <= FAST_LOGIT` for every cell (checked in the pass);
//!   together with the [`Pass::fast_ok`] bounds on the sums this keeps every
//!   term an accurate normal `f32`.
//! * Shifted pass: a weighted log-sum-exp is shifted by the max of
//!   `v + log w` (`v = ±s`), not of `v`, or a cell of tiny weight at the
//!   largest `v` would set a shift under which the heavy terms underflow.
//!   `log w` is taken from the weight's exponent bits (`⌊log2 w⌋·ln 2`), so
//!   every shifted term `w·e^{v - shift}` lies below 2 and the largest one at
//!   or above 1: the sum is in `[1, 2n]`.
//! * A weight of exactly 0 drops its term (`0·e` is 0: the exp is clamped),
//!   so targets 0 and 1 give exactly the hard loss, huge logits included.
//! * The gradient `(1 - t) e^{s} / (1 + Σ_neg) - t e^{-s} / (1 + Σ_pos)` is
//!   computed in a second pass from the row's state: after the fast pass
//!   from the `e^{s}` it stored in the gradient buffer (one division per
//!   cell; in place, where the logits must stay until then, `e^{s}` taken
//!   again: one exp), after the shifted pass with two exps per cell.

use super::isa::{F32s, Isa};
use super::labels::Facts;
use super::sums::{Pass, Shifts, Sums};
use super::{lane_max, pad};
use crate::Error;
use crate::lse::{Lse, Stream};

/// The fast pass is used only while every `|s|` is at most this: `e^{±s}`
/// and its reciprocal are then normal `f32`s well inside the exp's range.
const FAST_LOGIT: f32 = 80.0;

/// Each lane's index, for the lanes of a partial step (up to 16 lanes).
static LANE_INDEX: [f32; 16] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0];

/// One step's logits and weights `(1 - t, t)`, and the lanes that hold cells.
#[derive(Clone, Copy)]
struct Cells<V, const N: usize> {
    s: V,
    t: V,
    valid: V,
}

impl<V: F32s<N>, const N: usize> Cells<V, N> {
    /// A last partial step of fewer than `N` cells, padded (its lanes
    /// numbered from a constant and compared with the count: no mask array
    /// on the stack).
    #[inline(always)]
    fn tail(x: &[f32], t: &[f32]) -> Self {
        let lanes = LANE_INDEX.first_chunk::<N>().map_or(V::zero(), V::load);
        Cells { s: V::load(&pad(x)), t: V::load(&pad(t)), valid: lanes.simd_lt(V::splat(x.len() as f32)) }
    }

    #[inline(always)]
    fn weights(self) -> (V, V) {
        ((V::one() - self.t) & self.valid, self.t & self.valid)
    }
}

/// The steps of a row (a partial last step padded, its padding lanes not
/// `valid`). An iterator, not a callback: a closure is compiled on its own,
/// without the dispatcher's target features.
struct Steps<'a, V, const N: usize> {
    x: core::slice::Iter<'a, [f32; N]>,
    t: core::slice::Iter<'a, [f32; N]>,
    tail: Option<(&'a [f32], &'a [f32])>,
    all: V,
}

impl<'a, V: F32s<N>, const N: usize> Steps<'a, V, N> {
    #[inline(always)]
    fn new(logits: &'a [f32], targets: &'a [f32]) -> Self {
        let (xc, xt) = logits.as_chunks::<N>();
        let (tc, tt) = targets.as_chunks::<N>();
        let tail = if xt.is_empty() { None } else { Some((xt, tt)) };
        Steps { x: xc.iter(), t: tc.iter(), tail, all: V::splat(f32::from_bits(u32::MAX)) }
    }
}

impl<V: F32s<N>, const N: usize> Iterator for Steps<'_, V, N> {
    type Item = Cells<V, N>;
    #[inline(always)]
    fn next(&mut self) -> Option<Cells<V, N>> {
        match (self.x.next(), self.t.next()) {
            (Some(x), Some(t)) => Some(Cells { s: V::load(x), t: V::load(t), valid: self.all }),
            // A `match`, not `Option::map`: opt-level z called the closure.
            #[allow(clippy::manual_map)]
            _ => match self.tail.take() {
                Some((x, t)) => Some(Cells::tail(x, t)),
                None => None,
            },
        }
    }
}

/// `⌊log2 w⌋·ln 2` from the exponent bits of `w > 0` (a lower bound of
/// `log w` within `ln 2`; for subnormal `w`, `-127·ln 2`).
#[inline(always)]
fn log_weight<V: F32s<N>, const N: usize>(w: V) -> V {
    w.exponent() * V::splat(core::f32::consts::LN_2)
}

/// What the fast pass found besides its sums.
struct Fast {
    pass: Pass,
    /// Some `|s| > FAST_LOGIT`.
    big: bool,
    /// Some logit is NaN or infinite.
    poisoned: bool,
}

/// The running state of the unshifted pass: the sums and the checks.
struct FastAcc<S: Isa<N>, const N: usize> {
    acc: Sums<S, N>,
    ok: S::V,
    big: S::V,
    poison: S::V,
    wn_max: S::V,
    wp_max: S::V,
}

impl<S: Isa<N>, const N: usize> FastAcc<S, N> {
    #[inline(always)]
    fn new() -> Self {
        let z = S::V::zero();
        FastAcc { acc: Sums::new(), ok: S::V::splat(f32::from_bits(u32::MAX)), big: z, poison: z, wn_max: z, wp_max: z }
    }

    /// One step; returns its `e^{s}`.
    #[inline(always)]
    fn step(&mut self, c: Cells<S::V, N>) -> S::V {
        let (wn, wp) = c.weights();
        // NaN fails both comparisons.
        self.ok = self.ok
            & ((c.t.simd_ge(S::V::zero()) & c.t.simd_le(S::V::one()))
                | (c.valid ^ S::V::splat(f32::from_bits(u32::MAX))));
        self.wn_max = self.wn_max.fast_max(wn);
        self.wp_max = self.wp_max.fast_max(wp);
        self.big = self.big | (c.s.abs().simd_gt(S::V::splat(FAST_LOGIT)) & c.valid);
        self.poison += (c.s * S::V::zero()) & c.valid;
        let en = S::exp_clamped(c.s);
        let ep = (S::V::one() / en).fast_min(S::V::splat(f32::MAX));
        self.acc.add(wn * en, wp * ep);
        self.acc.count_steps(1);
        en
    }

    #[inline(always)]
    fn finish(mut self) -> Fast {
        let facts = Facts {
            has_neg: lane_max(self.wn_max) > 0.0,
            has_pos: lane_max(self.wp_max) > 0.0,
            valid: self.ok.all(),
            binary: false,
        };
        Fast { pass: self.acc.finish_with(facts), big: self.big.any(), poisoned: self.poison.reduce_add() != 0.0 }
    }
}

/// The unshifted pass (also validates the targets and logits). With a
/// gradient buffer (`STORE`, as long as the row), it keeps each cell's
/// `e^{s}` there for [`fast_grad`]. Whole steps in one loop and the partial
/// last step after it, so that the loop's lanes are all cells (no lane
/// masks to apply: on Cortex-M4F they are integer operations per lane).
#[cfg_attr(target_arch = "x86_64", inline(always))]
fn fast_pass<S: Isa<N>, const N: usize, const STORE: bool>(logits: &[f32], targets: &[f32], store: &mut [f32]) -> Fast {
    let mut f = FastAcc::<S, N>::new();
    let all = S::V::splat(f32::from_bits(u32::MAX));
    let ((xc, xt), (tc, tt)) = (logits.as_chunks::<N>(), targets.as_chunks::<N>());
    let (sc, st) = store.as_chunks_mut::<N>();
    let mut out = sc.iter_mut();
    for (x, t) in xc.iter().zip(tc) {
        let en = f.step(Cells { s: S::V::load(x), t: S::V::load(t), valid: all });
        if STORE && let Some(g) = out.next() {
            *g = en.to_array();
        }
    }
    if !xt.is_empty() {
        let en = f.step(Cells::tail(xt, tt));
        if STORE {
            for (d, e) in st.iter_mut().zip(en.to_array()) {
                *d = e;
            }
        }
    }
    f.finish()
}

/// The shifts of the weighted groups: the max of `±s + log w` over the cells
/// of positive weight (`-inf` for a group without any).
#[cfg_attr(target_arch = "x86_64", inline(always))]
fn shifts<S: Isa<N>, const N: usize>(logits: &[f32], targets: &[f32]) -> (f32, f32) {
    let neg_inf = S::V::splat(f32::NEG_INFINITY);
    let (mut mn, mut mp) = (neg_inf, neg_inf);
    for c in Steps::<S::V, N>::new(logits, targets) {
        let (wn, wp) = c.weights();
        mn = mn.fast_max(wn.simd_gt(S::V::zero()).select(c.s + log_weight(wn), neg_inf));
        mp = mp.fast_max(wp.simd_gt(S::V::zero()).select(log_weight(wp) - c.s, neg_inf));
    }
    (lane_max(mn), lane_max(mp))
}

/// A finite stand-in for an absent group's shift.
fn frame(m: f32) -> f32 {
    if m.is_finite() { m } else { 0.0 }
}

/// The shifted pass (on validated input).
#[cfg_attr(target_arch = "x86_64", inline(always))]
fn shifted_pass<S: Isa<N>, const N: usize>(logits: &[f32], targets: &[f32], neg: f32, pos: f32) -> Stream {
    let mut acc = Sums::<S, N>::new();
    let sh = Shifts::new(frame(neg), frame(pos));
    for c in Steps::<S::V, N>::new(logits, targets) {
        let (wn, wp) = c.weights();
        acc.add(wn * S::exp_clamped(c.s - S::V::splat(sh.neg)), wp * S::exp_clamped(-c.s - S::V::splat(sh.pos)));
        acc.count_steps(1);
    }
    acc.finish_with(Facts::NONE).state(neg, pos)
}

/// The loss state of one row with soft targets.
#[cfg_attr(target_arch = "x86_64", inline(always))]
fn soft_row_state<S: Isa<N>, const N: usize>(logits: &[f32], targets: &[f32]) -> Result<Stream, Error> {
    if logits.len() != targets.len() {
        return Err(Error::Shape);
    }
    let fast = fast_pass::<S, N, false>(logits, targets, &mut []);
    Ok(match checked::<S, N>(fast, logits, targets)? {
        Ok(st) | Err(st) => st,
    })
}

/// The fast state of a row (`Ok(Ok)`) if its fast pass holds, else the
/// shifted pass's state (`Ok(Err)`); the row's error if it has one.
#[inline(always)]
fn checked<S: Isa<N>, const N: usize>(
    fast: Fast,
    logits: &[f32],
    targets: &[f32],
) -> Result<Result<Stream, Stream>, Error> {
    if !fast.pass.labels_ok() {
        return Err(Error::Label);
    }
    if fast.poisoned {
        return Err(Error::NonFinite);
    }
    if fast.pass.fast_ok() && !fast.big {
        return Ok(Ok(fast.pass.fast_state()));
    }
    let (neg, pos) = shifts::<S, N>(logits, targets);
    Ok(Err(shifted_pass::<S, N>(logits, targets, neg, pos)))
}

/// The loss of one row with soft targets.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn soft_row_loss<S: Isa<N>, const N: usize>(logits: &[f32], targets: &[f32]) -> Result<f64, Error> {
    Ok(soft_row_state::<S, N>(logits, targets)?.loss_f64())
}

/// The gradient's constants for a row in the frame of its state.
#[derive(Clone, Copy)]
struct GradConsts<V, const N: usize> {
    shifts: Shifts,
    neg_factor: V,
    pos_factor: V,
}

impl<V: F32s<N>, const N: usize> GradConsts<V, N> {
    #[inline(always)]
    fn new(st: Stream, scale: f32) -> Self {
        let shift = |l: Lse| if l.is_empty() { 0.0 } else { l.shift };
        let (neg_factor, pos_factor) = grad_factors::<V, N>(st, scale);
        GradConsts { shifts: Shifts::new(shift(st.neg), shift(st.pos)), neg_factor, pos_factor }
    }

    /// The gradient of one step's cells.
    #[inline(always)]
    fn step<S: Isa<N, V = V>>(&self, c: Cells<V, N>) -> [f32; N] {
        let (wn, wp) = c.weights();
        let gn = wn * S::exp_clamped(c.s - V::splat(self.shifts.neg)) * self.neg_factor;
        let gp = wp * S::exp_clamped(-c.s - V::splat(self.shifts.pos)) * self.pos_factor;
        (gn - gp).to_array()
    }
}

/// The loss of one row and its gradient (times `scale`) into `grad`.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn soft_row_loss_grad<S: Isa<N>, const N: usize>(
    logits: &[f32],
    targets: &[f32],
    scale: f32,
    grad: &mut [f32],
) -> Result<f64, Error> {
    if logits.len() != targets.len() || grad.len() != logits.len() {
        return Err(Error::Shape);
    }
    let fast = fast_pass::<S, N, true>(logits, targets, grad);
    let st = match checked::<S, N>(fast, logits, targets)? {
        Ok(st) => {
            fast_grad::<S, N>(grad, targets, st, scale);
            return Ok(st.loss_f64());
        }
        Err(st) => st,
    };
    let k = GradConsts::<S::V, N>::new(st, scale);
    let all = S::V::splat(f32::from_bits(u32::MAX));
    let ((xc, xt), (tc, tt)) = (logits.as_chunks::<N>(), targets.as_chunks::<N>());
    let (gc, gt) = grad.as_chunks_mut::<N>();
    // Whole steps stored whole (not through a per-cell copy, which
    // opt-level z made a call per cell on MCUs).
    for ((x, t), g) in xc.iter().zip(tc).zip(gc) {
        *g = k.step::<S>(Cells { s: S::V::load(x), t: S::V::load(t), valid: all });
    }
    if !xt.is_empty() {
        let g = k.step::<S>(Cells::tail(xt, tt));
        for (d, s) in gt.iter_mut().zip(g) {
            *d = s;
        }
    }
    Ok(st.loss_f64())
}

/// The gradient of a row whose fast pass held, from the `e^{s}` it stored
/// in `grad`: `(1 - t)·e^{s}·f_neg - t·f_pos / e^{s}`, one division per
/// cell instead of two exps (`|s| <= FAST_LOGIT`: `e^{s}` is a normal
/// `f32`, its reciprocal too).
#[inline(always)]
fn fast_grad<S: Isa<N>, const N: usize>(grad: &mut [f32], targets: &[f32], st: Stream, scale: f32) {
    let (fneg, fpos) = grad_factors::<S::V, N>(st, scale);
    let ((gc, gt), (tc, tt)) = (grad.as_chunks_mut::<N>(), targets.as_chunks::<N>());
    for (e, t) in gc.iter_mut().zip(tc) {
        *e = stored_grad::<S, N>(S::V::load(e), S::V::load(t), fneg, fpos);
    }
    // The tail cell by cell: the same operations as the lanes' (no FMA),
    // so the same results, without padded copies on the stack.
    let (fneg, fpos) = (fneg.to_array()[0], fpos.to_array()[0]);
    for (e, &t) in gt.iter_mut().zip(tt) {
        *e = (1.0 - t) * *e * fneg - t * fpos / *e;
    }
}

/// The factors `scale / (1 + Σ)` of a row's two groups in its state's
/// frame, splatted.
#[inline(always)]
fn grad_factors<V: F32s<N>, const N: usize>(st: Stream, scale: f32) -> (V, V) {
    (V::splat(st.neg.grad_factor(scale)), V::splat(st.pos.grad_factor(scale)))
}

/// One step of [`fast_grad`] (a function, not a closure: a closure is
/// compiled on its own, without the dispatcher's target features).
#[inline(always)]
fn stored_grad<S: Isa<N>, const N: usize>(e: S::V, t: S::V, fneg: S::V, fpos: S::V) -> [f32; N] {
    ((S::V::one() - t) * e * fneg - t * fpos / e).to_array()
}

/// [`soft_row_loss_grad`] with the gradient written over the logits (each
/// step's logits are loaded before its gradient goes over them).
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn soft_row_loss_grad_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    targets: &[f32],
    scale: f32,
) -> Result<f64, Error> {
    if buf.len() != targets.len() {
        return Err(Error::Shape);
    }
    let fast = fast_pass::<S, N, false>(buf, targets, &mut []);
    let st = match checked::<S, N>(fast, buf, targets)? {
        Ok(st) => {
            // The `e^{s}` of the out-of-place path, taken again from the
            // logits before they are written over: the same gradient, bit
            // for bit.
            let (fneg, fpos) = grad_factors::<S::V, N>(st, scale);
            let ((bc, bt), (tc, tt)) = (buf.as_chunks_mut::<N>(), targets.as_chunks::<N>());
            for (b, t) in bc.iter_mut().zip(tc) {
                *b = stored_grad::<S, N>(S::exp_clamped(S::V::load(b)), S::V::load(t), fneg, fpos);
            }
            if !bt.is_empty() {
                let g = stored_grad::<S, N>(S::exp_clamped(S::V::load(&pad(bt))), S::V::load(&pad(tt)), fneg, fpos);
                for (d, s) in bt.iter_mut().zip(g) {
                    *d = s;
                }
            }
            return Ok(st.loss_f64());
        }
        Err(st) => st,
    };
    let k = GradConsts::<S::V, N>::new(st, scale);
    let all = S::V::splat(f32::from_bits(u32::MAX));
    let (bc, bt) = buf.as_chunks_mut::<N>();
    let (tc, tt) = targets.as_chunks::<N>();
    for (b, t) in bc.iter_mut().zip(tc) {
        *b = k.step::<S>(Cells { s: S::V::load(b), t: S::V::load(t), valid: all });
    }
    if !bt.is_empty() {
        let g = k.step::<S>(Cells::tail(bt, tt));
        for (d, s) in bt.iter_mut().zip(g) {
            *d = s;
        }
    }
    Ok(st.loss_f64())
}
