//! The SIMD row kernels of the dense loss (eight `f32` lanes through `wide`).
//!
//! # The algorithm
//! Each logit feeds exactly one of the row's two sums: a negative class adds
//! `e^{s}`, a positive class adds `e^{-s}`. So each lane computes `v = ±s`
//! (the sign flipped by XOR with the positive mask) and ONE `exp(v)`, which is
//! then masked into the negative or the positive accumulator. Labels are read
//! 16 at a time as bytes, checked (`label + 1 <= 2` covers 0, 1 and 255) and
//! widened into lane masks.
//!
//! * **Fast path** (one pass): the sums are taken with shift 0, i.e. of
//!   `e^{v}` itself. Because the loss's `1 +` keeps each log-sum-exp at or
//!   above 0, no max is needed as long as every term is a normal `f32` and the
//!   sums cannot overflow. The pass checks that afterwards: both sums must lie
//!   in `[FAST_MIN, FAST_MAX]` (non-finite logits poison their sum with NaN,
//!   clamped huge ones push it over `FAST_MAX`, bad labels are caught by the
//!   byte check).
//! * **Shifted path** (when the check fails): a max pass that also validates
//!   labels and finiteness, then the same exp pass with `v - max` per group
//!   (every exp input `<= 0`), the textbook stable log-sum-exp.
//!
//! Sums are accumulated in `f32` lanes for blocks of `BLOCK` logits and the
//! block totals in `f64`, so a 131072-class row is summed as accurately as a
//! 512-class one.
//!
//! Gradients: the exp pass stores the signed terms (`+e` negative, `-e`
//! positive, `0` ignored) in the gradient buffer; a second pass multiplies
//! each by its group's factor `scale / (1 + Σ)`, picked by the stored sign, so
//! labels are not read twice. In place (gradient over the logits) the shifted
//! path is always used, since the fast path could not redo a row once the
//! logits are overwritten.
//!
//! Row tails (`len % 16` logits) go through the same vector code, padded with
//! ignored lanes, so a logit's term never depends on where its row starts.

use wide::{f32x8, i32x8, u8x16, u16x8};

use crate::{Error, exp::exp, lse::Lse, stream::Stream};

/// Logits per loop step (two vectors; one 16-byte label load).
const STEP: usize = 16;
/// Steps summed in `f32` before the block total is added in `f64`.
const BLOCK_STEPS: usize = 32;
/// Fast-path sums outside `[FAST_MIN, FAST_MAX]` are redone shifted.
///
/// `FAST_MIN = 2^-40`: a sum this large has a term above `e^-28 / n`, so the
/// terms that `exp` flushed to zero (below `e^-87.7`) are < `n·e^-60` of it.
/// `FAST_MAX = 2^100`: far from `f32::MAX`, and below `e^88`, the value a
/// clamped huge input produces.
const FAST_MIN: f32 = 9.094_947e-13;
const FAST_MAX: f32 = 1.267_650_6e30;

const IGNORE: u8 = crate::IGNORE;

/// Where a row's labels come from, 16 cells at a time: a dense label slice,
/// or the sorted positive indices of a sparse row (every other cell is a
/// negative). Cloned to walk a row a second time.
pub(crate) trait Labels: Clone {
    /// The labels of the next 16 cells.
    fn step(&mut self) -> [u8; STEP];
    /// The labels of the last `n < 16` cells, padded with ignored lanes.
    fn tail(&mut self, n: usize) -> [u8; STEP];
}

/// Dense labels: a slice as long as the row.
#[derive(Clone)]
pub(crate) struct Dense<'a> {
    chunks: core::slice::Iter<'a, [u8; STEP]>,
    rest: &'a [u8],
}

impl<'a> Dense<'a> {
    pub(crate) fn new(labels: &'a [u8]) -> Self {
        let (chunks, rest) = labels.as_chunks::<STEP>();
        Dense { chunks: chunks.iter(), rest }
    }
}

impl Labels for Dense<'_> {
    #[inline(always)]
    fn step(&mut self) -> [u8; STEP] {
        self.chunks.next().copied().unwrap_or([IGNORE; STEP])
    }

    #[inline(always)]
    fn tail(&mut self, _n: usize) -> [u8; STEP] {
        let mut ls = [IGNORE; STEP];
        for (d, s) in ls.iter_mut().zip(self.rest) {
            *d = *s;
        }
        ls
    }
}

/// Sparse labels: strictly increasing positive indices (validated by the
/// caller); cell `k` of the row has index `origin + k`.
#[derive(Clone)]
pub(crate) struct Sparse<'a> {
    positives: &'a [u32],
    origin: usize,
    next: usize,
}

impl<'a> Sparse<'a> {
    pub(crate) fn new(positives: &'a [u32], origin: usize) -> Self {
        Sparse { positives, origin, next: 0 }
    }

    #[inline(always)]
    fn fill(&mut self, n: usize) -> [u8; STEP] {
        let mut ls = [IGNORE; STEP];
        for l in ls.iter_mut().take(n) {
            *l = 0;
        }
        let end = self.next + n;
        while let [p, rest @ ..] = self.positives {
            let k = (*p as usize).wrapping_sub(self.origin);
            if k >= end {
                break;
            }
            if let Some(l) = ls.get_mut(k.wrapping_sub(self.next)) {
                *l = 1;
            }
            self.positives = rest;
        }
        self.next = end;
        ls
    }
}

impl Labels for Sparse<'_> {
    #[inline(always)]
    fn step(&mut self) -> [u8; STEP] {
        self.fill(STEP)
    }

    #[inline(always)]
    fn tail(&mut self, n: usize) -> [u8; STEP] {
        self.fill(n)
    }
}

/// Lane masks of one 8-lane half.
#[derive(Clone, Copy)]
struct Masks {
    neg: f32x8,
    pos: f32x8,
}

/// The per-group shifts of the shifted path.
#[derive(Clone, Copy)]
struct Shifts {
    neg: f32x8,
    pos: f32x8,
}

impl Shifts {
    fn new(neg: f32, pos: f32) -> Shifts {
        Shifts { neg: f32x8::splat(neg), pos: f32x8::splat(pos) }
    }
}

#[inline(always)]
fn to_mask(lanes: i32x8) -> f32x8 {
    wide::bytemuck::cast(lanes)
}

/// Widens 16 labels into the masks of two 8-lane halves.
#[inline(always)]
fn unpack(lab: u8x16) -> [Masks; 2] {
    let lo = i32x8::from_u16x8(u16x8::from_u8x16_low(lab));
    let hi = i32x8::from_u16x8(u16x8::from_u8x16_high(lab));
    let zero = i32x8::splat(0);
    let one = i32x8::splat(1);
    [
        Masks { neg: to_mask(lo.simd_eq(zero)), pos: to_mask(lo.simd_eq(one)) },
        Masks { neg: to_mask(hi.simd_eq(zero)), pos: to_mask(hi.simd_eq(one)) },
    ]
}

/// `+s` for negatives, `-s` for positives (other lanes: anything).
#[inline(always)]
fn flip(s: f32x8, m: Masks) -> f32x8 {
    s ^ (m.pos & f32x8::splat(-0.0))
}

#[inline(always)]
fn halves(x: &[f32; STEP]) -> [f32x8; 2] {
    let [a, b]: [[f32; 8]; 2] = wide::bytemuck::cast(*x);
    [f32x8::new(a), f32x8::new(b)]
}

#[inline(always)]
fn join(a: f32x8, b: f32x8) -> [f32; STEP] {
    wide::bytemuck::cast([a.to_array(), b.to_array()])
}

/// Running sums of one exp pass.
struct Sums {
    neg: [f32x8; 2],
    pos: [f32x8; 2],
    neg_total: f64,
    pos_total: f64,
    /// Lane-wise max of `label + 1` (wrapping): `<= 2` iff every label is valid.
    labels: u8x16,
    /// Lane-wise min of `label` (a 0 lane: some negative) and of `label ^ 1`
    /// (a 0 lane: some positive).
    any_neg: u8x16,
    any_pos: u8x16,
    steps: usize,
}

/// What one exp pass found.
struct Pass {
    neg: f32,
    pos: f32,
    has_neg: bool,
    has_pos: bool,
    labels_ok: bool,
}

impl Pass {
    /// The row state if the fast (shift 0) sums are exact; `None` if the row
    /// must be redone shifted (or holds a bad value).
    fn fast_state(&self) -> Option<Stream> {
        let group = |present: bool, sum: f32| match present {
            false => Some(Lse::EMPTY),
            true if (FAST_MIN..=FAST_MAX).contains(&sum) => Some(Lse::new(0.0, sum)),
            true => None,
        };
        if !self.labels_ok {
            return None;
        }
        Some(Stream { neg: group(self.has_neg, self.neg)?, pos: group(self.has_pos, self.pos)? })
    }

    fn shifted_state(&self, neg_max: f32, pos_max: f32) -> Stream {
        Stream { neg: Lse::new(neg_max, self.neg), pos: Lse::new(pos_max, self.pos) }
    }
}

impl Sums {
    fn new() -> Sums {
        Sums {
            neg: [f32x8::ZERO; 2],
            pos: [f32x8::ZERO; 2],
            neg_total: 0.0,
            pos_total: 0.0,
            labels: u8x16::ZERO,
            any_neg: u8x16::splat(u8::MAX),
            any_pos: u8x16::splat(u8::MAX),
            steps: 0,
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        self.neg_total += f64::from((self.neg[0] + self.neg[1]).reduce_add());
        self.pos_total += f64::from((self.pos[0] + self.pos[1]).reduce_add());
        self.neg = [f32x8::ZERO; 2];
        self.pos = [f32x8::ZERO; 2];
    }

    /// One step of 16 logits: accumulates the terms and returns them signed
    /// (`+e` negative, `-e` positive, `0` ignored).
    #[inline(always)]
    fn step<const SHIFTED: bool>(&mut self, x: &[f32; STEP], labels: &[u8; STEP], shifts: Shifts) -> [f32; STEP] {
        let lab = u8x16::new(*labels);
        self.labels = self.labels.max(lab + u8x16::splat(1));
        self.any_neg = self.any_neg.min(lab);
        self.any_pos = self.any_pos.min(lab ^ u8x16::splat(1));
        let masks = unpack(lab);
        let s = halves(x);
        let mut out = [f32x8::ZERO; 2];
        for h in 0..2 {
            let m = masks[h];
            let v = flip(s[h], m);
            let e = if SHIFTED {
                exp(v - m.pos.select(shifts.pos, shifts.neg))
            } else {
                // `0·v + e` is `e` for finite `v` and NaN otherwise: a
                // non-finite logit that takes part poisons its sum.
                v.mul_add(f32x8::ZERO, exp(v))
            };
            // Select-adds: one masked add each on AVX-512, a blend + add on AVX2.
            self.neg[h] = m.neg.select(self.neg[h] + e, self.neg[h]);
            self.pos[h] = m.pos.select(self.pos[h] + e, self.pos[h]);
            out[h] = (e & m.neg) - (e & m.pos);
        }
        self.steps += 1;
        if self.steps.is_multiple_of(BLOCK_STEPS) {
            self.flush();
        }
        join(out[0], out[1])
    }

    fn finish(mut self) -> Pass {
        self.flush();
        Pass {
            neg: self.neg_total as f32,
            pos: self.pos_total as f32,
            has_neg: byte_min(self.any_neg) == 0,
            has_pos: byte_min(self.any_pos) == 0,
            labels_ok: byte_max(self.labels) <= 2,
        }
    }
}

/// Pads a tail of fewer than 16 logits.
#[inline(always)]
fn pad(x: &[f32]) -> [f32; STEP] {
    let mut xs = [0.0f32; STEP];
    for (d, s) in xs.iter_mut().zip(x) {
        *d = *s;
    }
    xs
}

/// One exp pass without storing terms.
#[inline(never)]
fn sums<const SHIFTED: bool>(logits: &[f32], mut labels: impl Labels, shifts: Shifts) -> Pass {
    let mut acc = Sums::new();
    let (xc, xt) = logits.as_chunks::<STEP>();
    for x in xc {
        acc.step::<SHIFTED>(x, &labels.step(), shifts);
    }
    if !xt.is_empty() {
        acc.step::<SHIFTED>(&pad(xt), &labels.tail(xt.len()), shifts);
    }
    acc.finish()
}

/// One exp pass that stores the signed terms in `grad`.
#[inline(never)]
fn sums_store<const SHIFTED: bool>(logits: &[f32], mut labels: impl Labels, shifts: Shifts, grad: &mut [f32]) -> Pass {
    let mut acc = Sums::new();
    let (xc, xt) = logits.as_chunks::<STEP>();
    let (gc, gt) = grad.as_chunks_mut::<STEP>();
    for (x, g) in xc.iter().zip(gc) {
        *g = acc.step::<SHIFTED>(x, &labels.step(), shifts);
    }
    if !xt.is_empty() {
        let out = acc.step::<SHIFTED>(&pad(xt), &labels.tail(xt.len()), shifts);
        for (d, s) in gt.iter_mut().zip(out) {
            *d = s;
        }
    }
    acc.finish()
}

/// The shifted exp pass over logits that it overwrites with the signed terms.
#[inline(never)]
fn sums_in_place(buf: &mut [f32], mut labels: impl Labels, shifts: Shifts) -> Pass {
    let mut acc = Sums::new();
    let (bc, bt) = buf.as_chunks_mut::<STEP>();
    for b in bc {
        *b = acc.step::<true>(b, &labels.step(), shifts);
    }
    if !bt.is_empty() {
        let out = acc.step::<true>(&pad(bt), &labels.tail(bt.len()), shifts);
        for (d, s) in bt.iter_mut().zip(out) {
            *d = s;
        }
    }
    acc.finish()
}

/// The first bad cell of a row, in order (called once a row is known bad).
fn first_error(logits: &[f32], mut labels: impl Labels) -> Error {
    let (xc, xt) = logits.as_chunks::<STEP>();
    let check = |x: &[f32], l: &[u8; STEP]| {
        for (&s, &y) in x.iter().zip(l) {
            match y {
                0 | 1 if !s.is_finite() => return Some(Error::NonFinite),
                0 | 1 | IGNORE => {}
                _ => return Some(Error::Label),
            }
        }
        None
    };
    for x in xc {
        if let Some(e) = check(x, &labels.step()) {
            return e;
        }
    }
    check(xt, &labels.tail(xt.len())).unwrap_or(Error::NonFinite)
}

/// The max of `+s` over negatives and of `-s` over positives, validating
/// labels and the finiteness of every logit that takes part.
#[inline(never)]
fn maxima(logits: &[f32], labels: impl Labels) -> Result<(f32, f32), Error> {
    let neg_inf = f32x8::splat(f32::NEG_INFINITY);
    let mut max_neg = [neg_inf; 2];
    let mut max_pos = [neg_inf; 2];
    // Stays 0 unless a participating logit is NaN or infinite (`0 · v`).
    let mut poison = f32x8::ZERO;
    let mut label_max = u8x16::ZERO;
    let mut visit = |x: &[f32; STEP], l: &[u8; STEP]| {
        let lab = u8x16::new(*l);
        label_max = label_max.max(lab + u8x16::splat(1));
        let masks = unpack(lab);
        let s = halves(x);
        for h in 0..2 {
            let m = masks[h];
            let v = flip(s[h], m);
            max_neg[h] = max_neg[h].fast_max(m.neg.select(v, neg_inf));
            max_pos[h] = max_pos[h].fast_max(m.pos.select(v, neg_inf));
            poison += (v * f32x8::ZERO) & (m.neg | m.pos);
        }
    };
    let mut walk = labels.clone();
    let (xc, xt) = logits.as_chunks::<STEP>();
    for x in xc {
        visit(x, &walk.step());
    }
    if !xt.is_empty() {
        visit(&pad(xt), &walk.tail(xt.len()));
    }
    if byte_max(label_max) > 2 || poison.reduce_add() != 0.0 {
        return Err(first_error(logits, labels));
    }
    Ok((lane_max(max_neg[0].fast_max(max_neg[1])), lane_max(max_pos[0].fast_max(max_pos[1]))))
}

/// Lane max / min of bytes (`wide`'s own reductions unwrap an `Option` on
/// targets without SIMD, a panic path at low optimisation levels).
fn byte_max(v: u8x16) -> u8 {
    v.to_array().into_iter().fold(0, u8::max)
}

fn byte_min(v: u8x16) -> u8 {
    v.to_array().into_iter().fold(u8::MAX, u8::min)
}

fn lane_max(v: f32x8) -> f32 {
    v.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// The loss state of one row (`logits.len()` cells).
pub(crate) fn row_state(logits: &[f32], labels: impl Labels) -> Result<Stream, Error> {
    if let Some(state) = sums::<false>(logits, labels.clone(), Shifts::new(0.0, 0.0)).fast_state() {
        return Ok(state);
    }
    let (mn, mp) = maxima(logits, labels.clone())?;
    Ok(sums::<true>(logits, labels, Shifts::new(mn, mp)).shifted_state(mn, mp))
}

/// Multiplies the stored signed terms by their group's factor.
pub(crate) fn scale_terms(grad: &mut [f32], neg_factor: f32, pos_factor: f32) {
    let (gc, gt) = grad.as_chunks_mut::<8>();
    let (fn_, fp) = (f32x8::splat(neg_factor), f32x8::splat(pos_factor));
    for g in gc {
        let v = f32x8::new(*g);
        *g = (v * v.simd_lt(f32x8::ZERO).select(fp, fn_)).to_array();
    }
    for g in gt {
        *g *= if *g < 0.0 { pos_factor } else { neg_factor };
    }
}

/// Loss state and gradient (times `scale`) of one row; `grad` is as long as
/// `logits`.
pub(crate) fn row_grad(logits: &[f32], labels: impl Labels, scale: f32, grad: &mut [f32]) -> Result<Stream, Error> {
    let pass = sums_store::<false>(logits, labels.clone(), Shifts::new(0.0, 0.0), grad);
    let state = match pass.fast_state() {
        Some(state) => state,
        None => {
            let (mn, mp) = maxima(logits, labels.clone())?;
            sums_store::<true>(logits, labels, Shifts::new(mn, mp), grad).shifted_state(mn, mp)
        }
    };
    scale_terms(grad, state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    Ok(state)
}

/// [`row_grad`] with the gradient written over the logits.
pub(crate) fn row_grad_in_place(buf: &mut [f32], labels: impl Labels, scale: f32) -> Result<Stream, Error> {
    let (mn, mp) = maxima(buf, labels.clone())?;
    let state = sums_in_place(buf, labels, Shifts::new(mn, mp)).shifted_state(mn, mp);
    scale_terms(buf, state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    Ok(state)
}

/// The signed terms `±e^{v - shift}` of a row in the frame of a known state
/// (a row split into segments: GlobalPointer), times the state's factors.
pub(crate) fn grad_in_frame(logits: &[f32], labels: impl Labels, state: Stream, scale: f32, grad: &mut [f32]) {
    let shifts = Shifts::new(frame(state.neg), frame(state.pos));
    sums_store::<true>(logits, labels, shifts, grad);
    scale_terms(grad, state.neg.grad_factor(scale), state.pos.grad_factor(scale));
}

/// [`grad_in_frame`] over logits that it overwrites.
pub(crate) fn grad_in_frame_in_place(buf: &mut [f32], labels: impl Labels, state: Stream, scale: f32) {
    let shifts = Shifts::new(frame(state.neg), frame(state.pos));
    sums_in_place(buf, labels, shifts);
    scale_terms(buf, state.neg.grad_factor(scale), state.pos.grad_factor(scale));
}

/// The shift of a state, with an empty group's `-inf` made harmless.
fn frame(l: Lse) -> f32 {
    if l.is_empty() { 0.0 } else { l.shift }
}
