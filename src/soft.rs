//! Soft targets `t ∈ [0, 1]` (label smoothing, mixup, distillation):
//!
//! ```text
//! L = log(1 + Σ t e^{-s}) + log(1 + Σ (1 - t) e^{s})
//! ∂L/∂s = (1 - t) e^{s} / (1 + Σ (1-t) e^{s}) - t e^{-s} / (1 + Σ t e^{-s})
//! ```
//!
//! Both sums are weighted log-sum-exps on the same streaming state as the hard
//! loss; a weight of exactly 0 drops its term (the exp is clamped, so `0 · e`
//! is always 0, and the max is taken only over weighted terms), so `t = 0` and
//! `t = 1` give exactly the hard loss even for huge logits. Probabilities in
//! this loss's sense are `σ(2s)` ([`probabilities`]): the optimum of a row is
//! at `t = σ(2s)`, and 0 stays the decision threshold.

use wide::f32x8;

use crate::batch::{Reducer, check, out_len};
use crate::batch::{row, row_mut};
use crate::exp::exp;
use crate::lse::Lse;
use crate::{Error, Reduction, Shape, Stream};

/// `+s` with weight `1 - t` (the "negative" sum) and `-s` with weight `t`.
#[derive(Default)]
struct Acc {
    neg: f64,
    pos: f64,
    neg_v: f32x8,
    pos_v: f32x8,
    /// Lane max of each weight (a positive lane: the group has a term).
    w_neg: f32x8,
    w_pos: f32x8,
    /// All-ones lanes while every target is in [0, 1].
    ok: f32x8,
    /// 0 unless a logit is non-finite.
    poison: f32x8,
}

fn load(x: &[f32]) -> (f32x8, f32x8) {
    let mut a = [0.0f32; 8];
    let mut valid = [0.0f32; 8];
    for ((d, v), s) in a.iter_mut().zip(valid.iter_mut()).zip(x) {
        *d = *s;
        *v = f32::from_bits(u32::MAX);
    }
    (f32x8::new(a), f32x8::new(valid))
}

/// Calls `f(s, t, valid_mask, index)` on each 8-lane chunk (tails padded).
fn chunks(logits: &[f32], targets: &[f32], mut f: impl FnMut(f32x8, f32x8, f32x8, usize)) {
    let all = f32x8::new([f32::from_bits(u32::MAX); 8]);
    let (xc, xt) = logits.as_chunks::<8>();
    let (tc, tt) = targets.as_chunks::<8>();
    let mut k = 0;
    for (x, t) in xc.iter().zip(tc) {
        f(f32x8::new(*x), f32x8::new(*t), all, k);
        k += 1;
    }
    if !xt.is_empty() {
        let (x, valid) = load(xt);
        let (t, _) = load(tt);
        f(x, t, valid, k);
    }
}

/// Weights of a chunk: `(1 - t, t)`, zero in padded lanes.
#[inline(always)]
fn weights(t: f32x8, valid: f32x8) -> (f32x8, f32x8) {
    ((f32x8::ONE - t) & valid, t & valid)
}

fn pass<const SHIFTED: bool>(logits: &[f32], targets: &[f32], neg_shift: f32, pos_shift: f32) -> Acc {
    let mut a = Acc { ok: f32x8::new([f32::from_bits(u32::MAX); 8]), ..Acc::default() };
    let (sn, sp) = (f32x8::splat(neg_shift), f32x8::splat(pos_shift));
    let mut steps = 0usize;
    chunks(logits, targets, |s, t, valid, _| {
        let (wn, wp) = weights(t, valid);
        a.ok &= (t.simd_ge(f32x8::ZERO) & t.simd_le(f32x8::ONE)) | !valid;
        a.w_neg = a.w_neg.fast_max(wn);
        a.w_pos = a.w_pos.fast_max(wp);
        let (en, ep) = if SHIFTED {
            (exp(s - sn), exp(-s - sp))
        } else {
            // Unshifted, `e^{-s}` is `1 / e^{s}`: a division is cheaper than a
            // second exp here (measured: ~20% per lane with AVX-512). Where
            // `e^{s}` is clamped or flushed the quotient is off, but then a
            // sum leaves `[FAST_MIN, FAST_MAX]` or the term is below its
            // precision, and the row is redone shifted.
            // (`min` keeps `1 / 0` finite, so that a zero weight still
            // drops its term.)
            let en = exp(s);
            (en, (f32x8::ONE / en).fast_min(f32x8::splat(f32::MAX)))
        };
        if !SHIFTED {
            a.poison += (s * f32x8::ZERO) & valid;
        }
        a.neg_v = wn.mul_add(en, a.neg_v);
        a.pos_v = wp.mul_add(ep, a.pos_v);
        steps += 1;
        if steps.is_multiple_of(64) {
            a.neg += f64::from(a.neg_v.reduce_add());
            a.pos += f64::from(a.pos_v.reduce_add());
            a.neg_v = f32x8::ZERO;
            a.pos_v = f32x8::ZERO;
        }
    });
    a.neg += f64::from(a.neg_v.reduce_add());
    a.pos += f64::from(a.pos_v.reduce_add());
    a
}

fn lane_max(v: f32x8) -> f32 {
    v.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// The loss state of one row with soft targets.
pub(crate) fn row_state(logits: &[f32], targets: &[f32]) -> Result<Stream, Error> {
    const LO: f32 = 9.094_947e-13; // as the dense fast path (kernel.rs)
    const HI: f32 = 1.267_650_6e30;
    let a = pass::<false>(logits, targets, 0.0, 0.0);
    if !a.ok.all() {
        return Err(Error::Label);
    }
    if a.poison.reduce_add() != 0.0 {
        return Err(Error::NonFinite);
    }
    let (has_n, has_p) = (lane_max(a.w_neg) > 0.0, lane_max(a.w_pos) > 0.0);
    let fits = |has: bool, sum: f64| !has || (f64::from(LO)..=f64::from(HI)).contains(&sum);
    let group = |has: bool, shift: f32, sum: f64| if has { Lse::new(shift, sum as f32) } else { Lse::EMPTY };
    if fits(has_n, a.neg) && fits(has_p, a.pos) {
        return Ok(Stream { neg: group(has_n, 0.0, a.neg), pos: group(has_p, 0.0, a.pos) });
    }
    // Shifted: the max of each group over its weighted terms only.
    let neg_inf = f32x8::splat(f32::NEG_INFINITY);
    let (mut mn, mut mp) = (neg_inf, neg_inf);
    chunks(logits, targets, |s, t, valid, _| {
        let (wn, wp) = weights(t, valid);
        mn = mn.fast_max(wn.simd_gt(f32x8::ZERO).select(s, neg_inf));
        mp = mp.fast_max(wp.simd_gt(f32x8::ZERO).select(-s, neg_inf));
    });
    let (mn, mp) = (lane_max(mn), lane_max(mp));
    let b = pass::<true>(logits, targets, frame(mn), frame(mp));
    Ok(Stream { neg: group(has_n, mn, b.neg), pos: group(has_p, mp, b.pos) })
}

fn frame(m: f32) -> f32 {
    if m.is_finite() { m } else { 0.0 }
}

/// The gradient chunk of a row in the frame of its state.
#[inline(always)]
fn grad_chunk(s: f32x8, t: f32x8, valid: f32x8, k: &GradConsts) -> f32x8 {
    let (wn, wp) = weights(t, valid);
    let gn = wn * exp(s - k.neg_shift) * k.neg_factor;
    let gp = wp * exp(-s - k.pos_shift) * k.pos_factor;
    gn - gp
}

struct GradConsts {
    neg_shift: f32x8,
    pos_shift: f32x8,
    neg_factor: f32x8,
    pos_factor: f32x8,
}

impl GradConsts {
    fn new(st: Stream, scale: f32) -> Self {
        let shift = |l: Lse| f32x8::splat(if l.is_empty() { 0.0 } else { l.shift });
        GradConsts {
            neg_shift: shift(st.neg),
            pos_shift: shift(st.pos),
            neg_factor: f32x8::splat(st.neg.grad_factor(scale)),
            pos_factor: f32x8::splat(st.pos.grad_factor(scale)),
        }
    }
}

fn write(dst: &mut [f32], k: usize, g: f32x8) {
    if let Some(d) = dst.get_mut(k * 8..) {
        for (d, s) in d.iter_mut().zip(g.to_array()) {
            *d = s;
        }
    }
}

fn row_grad(logits: &[f32], targets: &[f32], scale: f32, grad: &mut [f32]) -> Result<Stream, Error> {
    let st = row_state(logits, targets)?;
    let k = GradConsts::new(st, scale);
    chunks(logits, targets, |s, t, valid, i| write(grad, i, grad_chunk(s, t, valid, &k)));
    Ok(st)
}

fn row_grad_in_place(buf: &mut [f32], targets: &[f32], scale: f32) -> Result<Stream, Error> {
    let st = row_state(buf, targets)?;
    let k = GradConsts::new(st, scale);
    let (bc, bt) = buf.as_chunks_mut::<8>();
    let (tc, tt) = targets.as_chunks::<8>();
    let all = f32x8::new([f32::from_bits(u32::MAX); 8]);
    for (b, t) in bc.iter_mut().zip(tc) {
        *b = grad_chunk(f32x8::new(*b), f32x8::new(*t), all, &k).to_array();
    }
    if !bt.is_empty() {
        let ((x, valid), (t, _)) = (load(bt), load(tt));
        write(bt, 0, grad_chunk(x, t, valid, &k));
    }
    Ok(st)
}

/// The loss of a batch with soft targets in `[0, 1]` (`rows * classes`
/// floats, like the logits). A NaN target or one outside `[0, 1]` is
/// [`Error::Label`]; every logit takes part, so any non-finite logit is
/// [`Error::NonFinite`]. Otherwise as [`loss`](crate::loss).
///
/// ```
/// use mlcce::{Reduction, Shape};
/// // Label smoothing: 0 -> 0.05, 1 -> 0.95.
/// let logits = [0.9f32, 0.1, 0.8, 0.3];
/// let targets = [0.95f32, 0.05, 0.95, 0.05];
/// let mut out = [0.0f32];
/// mlcce::soft_loss(Shape::new(1, 4), &logits, &targets, Reduction::Sum, &mut out)?;
/// # Ok::<(), mlcce::Error>(())
/// ```
pub fn soft_loss(
    shape: Shape,
    logits: &[f32],
    targets: &[f32],
    reduction: Reduction,
    out: &mut [f32],
) -> Result<(), Error> {
    check(shape, logits.len(), targets.len(), out.len(), reduction)?;
    let mut reducer = Reducer::new(reduction, shape.rows, out);
    for r in 0..shape.rows {
        reducer.push(r, row_state(row(logits, r, shape.classes), row(targets, r, shape.classes))?.loss_f64());
    }
    reducer.finish();
    Ok(())
}

/// The soft loss and its gradient; as [`loss_grad`](crate::loss_grad).
pub fn soft_loss_grad(
    shape: Shape,
    logits: &[f32],
    targets: &[f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
    grad: &mut [f32],
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows);
    check(shape, logits.len(), targets.len(), out, reduction)?;
    shape.check_len(grad.len())?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        reducer.push(r, row_grad(row(logits, r, c), row(targets, r, c), scale, row_mut(grad, r, c))?.loss_f64());
    }
    reducer.finish();
    Ok(())
}

/// [`soft_loss_grad`] with the gradient written over the logits.
pub fn soft_loss_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    targets: &[f32],
    reduction: Reduction,
    loss_out: Option<&mut [f32]>,
) -> Result<(), Error> {
    let out = out_len(&loss_out, reduction, shape.rows);
    check(shape, logits_then_grad.len(), targets.len(), out, reduction)?;
    let scale = reduction.grad_scale(shape.rows)?;
    let mut reducer = Reducer::new(reduction, shape.rows, loss_out.unwrap_or(&mut []));
    let c = shape.classes;
    for r in 0..shape.rows {
        reducer.push(r, row_grad_in_place(row_mut(logits_then_grad, r, c), row(targets, r, c), scale)?.loss_f64());
    }
    reducer.finish();
    Ok(())
}

/// Probabilities as this loss defines them: `σ(2s) = 1 / (1 + e^{-2s})`
/// (the optimum of the soft loss is at `t = σ(2s)`; `s > 0` ⇔ `p > 0.5`).
/// `out` is as long as `logits`; a NaN logit is [`Error::NonFinite`] (±inf
/// give 1 and 0).
pub fn probabilities(logits: &[f32], out: &mut [f32]) -> Result<(), Error> {
    if logits.len() != out.len() {
        return Err(Error::Shape);
    }
    if logits.iter().any(|s| s.is_nan()) {
        return Err(Error::NonFinite);
    }
    for (p, &s) in out.iter_mut().zip(logits) {
        let e = libm::expf(-2.0 * s.abs());
        *p = if s >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    }
    Ok(())
}
