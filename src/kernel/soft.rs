//! Soft targets `t ∈ [0, 1]` on the kernels' accumulator:
//!
//! ```text
//! L = log(1 + Σ (1 - t) e^{s}) + log(1 + Σ t e^{-s})
//! ```
//!
//! Both sums go through the same [`Sums`] as hard labels (the same lane
//! width, `f32` blocks of `BLOCK_STEPS` steps added into `f64` lanes, the same
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
//!   computed in a second pass from the row's state (two exps per cell).

use super::labels::Facts;
use super::lanes::{self, I, STEP, V, exp, lane_max, pad};
use super::sums::{Pass, Shifts, Sums};
use crate::Error;
use crate::lse::{Lse, Stream};

/// The fast pass is used only while every `|s|` is at most this: `e^{±s}`
/// and its reciprocal are then normal `f32`s well inside the exp's range.
const FAST_LOGIT: f32 = 80.0;

/// One step's logits and weights `(1 - t, t)`, and the lanes that hold cells.
#[derive(Clone, Copy)]
struct Cells {
    s: V,
    t: V,
    valid: V,
}

impl Cells {
    /// A last partial step of fewer than `STEP` cells, padded.
    #[inline(always)]
    fn tail(x: &[f32], t: &[f32]) -> Cells {
        let mut valid = [0.0f32; STEP];
        valid.iter_mut().take(x.len()).for_each(|v| *v = f32::from_bits(u32::MAX));
        Cells { s: lanes::load(&pad(x)), t: lanes::load(&pad(t)), valid: lanes::load(&valid) }
    }

    #[inline(always)]
    fn weights(self) -> (V, V) {
        ((V::ONE - self.t) & self.valid, self.t & self.valid)
    }
}

/// Calls `f` on each step of a row (a partial last step padded, its padding
/// lanes not `valid`).
#[inline(always)]
fn steps(logits: &[f32], targets: &[f32], mut f: impl FnMut(Cells)) {
    let all = V::splat(f32::from_bits(u32::MAX));
    let (xc, xt) = logits.as_chunks::<STEP>();
    let (tc, tt) = targets.as_chunks::<STEP>();
    for (x, t) in xc.iter().zip(tc) {
        f(Cells { s: lanes::load(x), t: lanes::load(t), valid: all });
    }
    if !xt.is_empty() {
        f(Cells::tail(xt, tt));
    }
}

/// `⌊log2 w⌋·ln 2` from the exponent bits of `w > 0` (a lower bound of
/// `log w` within `ln 2`; for subnormal `w`, `-127·ln 2`).
#[inline(always)]
fn log_weight(w: V) -> V {
    let bits: I = wide::bytemuck::cast(w);
    let e: I = (bits >> 23) - I::splat(127);
    e.round_float() * V::splat(core::f32::consts::LN_2)
}

/// What the fast pass found besides its sums.
struct Fast {
    pass: Pass,
    /// Some `|s| > FAST_LOGIT`.
    big: bool,
    /// Some logit is NaN or infinite.
    poisoned: bool,
}

/// The unshifted pass (also validates the targets and logits).
fn fast_pass(logits: &[f32], targets: &[f32]) -> Fast {
    let mut acc = Sums::new();
    let (mut ok, mut big, mut poison) = (V::splat(f32::from_bits(u32::MAX)), V::ZERO, V::ZERO);
    let (mut wn_max, mut wp_max) = (V::ZERO, V::ZERO);
    steps(logits, targets, |c| {
        let (wn, wp) = c.weights();
        // NaN fails both comparisons.
        ok &= (c.t.simd_ge(V::ZERO) & c.t.simd_le(V::ONE)) | !c.valid;
        wn_max = wn_max.fast_max(wn);
        wp_max = wp_max.fast_max(wp);
        big |= c.s.abs().simd_gt(V::splat(FAST_LOGIT)) & c.valid;
        poison += (c.s * V::ZERO) & c.valid;
        let en = exp(c.s);
        let ep = (V::ONE / en).fast_min(V::splat(f32::MAX));
        acc.add(wn * en, wp * ep);
        acc.count_steps(1);
    });
    let facts = Facts { has_neg: lane_max(wn_max) > 0.0, has_pos: lane_max(wp_max) > 0.0, valid: ok.all() };
    Fast { pass: acc.finish_with(facts), big: big.any(), poisoned: poison.reduce_add() != 0.0 }
}

/// The shifts of the weighted groups: the max of `±s + log w` over the cells
/// of positive weight (`-inf` for a group without any).
fn shifts(logits: &[f32], targets: &[f32]) -> (f32, f32) {
    let neg_inf = V::splat(f32::NEG_INFINITY);
    let (mut mn, mut mp) = (neg_inf, neg_inf);
    steps(logits, targets, |c| {
        let (wn, wp) = c.weights();
        mn = mn.fast_max(wn.simd_gt(V::ZERO).select(c.s + log_weight(wn), neg_inf));
        mp = mp.fast_max(wp.simd_gt(V::ZERO).select(log_weight(wp) - c.s, neg_inf));
    });
    (lane_max(mn), lane_max(mp))
}

/// A finite stand-in for an absent group's shift.
fn frame(m: f32) -> f32 {
    if m.is_finite() { m } else { 0.0 }
}

/// The shifted pass (on validated input).
fn shifted_pass(logits: &[f32], targets: &[f32], neg: f32, pos: f32) -> Stream {
    let mut acc = Sums::new();
    let sh = Shifts::new(frame(neg), frame(pos));
    steps(logits, targets, |c| {
        let (wn, wp) = c.weights();
        acc.add(wn * exp(c.s - sh.neg), wp * exp(-c.s - sh.pos));
        acc.count_steps(1);
    });
    acc.finish_with(Facts::NONE).state(neg, pos)
}

/// The loss state of one row with soft targets.
fn soft_row_state(logits: &[f32], targets: &[f32]) -> Result<Stream, Error> {
    if logits.len() != targets.len() {
        return Err(Error::Shape);
    }
    let fast = fast_pass(logits, targets);
    if !fast.pass.labels_ok() {
        return Err(Error::Label);
    }
    if fast.poisoned {
        return Err(Error::NonFinite);
    }
    if fast.pass.fast_ok() && !fast.big {
        return Ok(fast.pass.fast_state());
    }
    let (neg, pos) = shifts(logits, targets);
    Ok(shifted_pass(logits, targets, neg, pos))
}

/// The loss of one row with soft targets.
pub(crate) fn soft_row_loss(logits: &[f32], targets: &[f32]) -> Result<f64, Error> {
    Ok(soft_row_state(logits, targets)?.loss_f64())
}

/// The gradient's constants for a row in the frame of its state.
#[derive(Clone, Copy)]
struct GradConsts {
    shifts: Shifts,
    neg_factor: V,
    pos_factor: V,
}

impl GradConsts {
    fn new(st: Stream, scale: f32) -> Self {
        let shift = |l: Lse| if l.is_empty() { 0.0 } else { l.shift };
        GradConsts {
            shifts: Shifts::new(shift(st.neg), shift(st.pos)),
            neg_factor: V::splat(st.neg.grad_factor(scale)),
            pos_factor: V::splat(st.pos.grad_factor(scale)),
        }
    }

    /// The gradient of one step's cells.
    #[inline(always)]
    fn step(&self, c: Cells) -> [f32; STEP] {
        let (wn, wp) = c.weights();
        let gn = wn * exp(c.s - self.shifts.neg) * self.neg_factor;
        let gp = wp * exp(-c.s - self.shifts.pos) * self.pos_factor;
        (gn - gp).to_array()
    }
}

/// The loss of one row and its gradient (times `scale`) into `grad`.
pub(crate) fn soft_row_loss_grad(logits: &[f32], targets: &[f32], scale: f32, grad: &mut [f32]) -> Result<f64, Error> {
    let st = soft_row_state(logits, targets)?;
    let k = GradConsts::new(st, scale);
    let mut rest = &mut grad[..];
    steps(logits, targets, |c| {
        let g = k.step(c);
        let n = rest.len().min(STEP);
        let (now, later) = core::mem::take(&mut rest).split_at_mut(n);
        now.iter_mut().zip(g).for_each(|(d, s)| *d = s);
        rest = later;
    });
    Ok(st.loss_f64())
}

/// [`soft_row_loss_grad`] with the gradient written over the logits (each
/// step's logits are loaded before its gradient goes over them).
pub(crate) fn soft_row_loss_grad_in_place(buf: &mut [f32], targets: &[f32], scale: f32) -> Result<f64, Error> {
    let st = soft_row_state(buf, targets)?;
    let k = GradConsts::new(st, scale);
    let all = V::splat(f32::from_bits(u32::MAX));
    let (bc, bt) = buf.as_chunks_mut::<STEP>();
    let (tc, tt) = targets.as_chunks::<STEP>();
    for (b, t) in bc.iter_mut().zip(tc) {
        *b = k.step(Cells { s: lanes::load(b), t: lanes::load(t), valid: all });
    }
    if !bt.is_empty() {
        let g = k.step(Cells::tail(bt, tt));
        bt.iter_mut().zip(g).for_each(|(d, s)| *d = s);
    }
    Ok(st.loss_f64())
}
