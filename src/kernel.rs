//! The SIMD row kernels of the dense loss (one `wide` register per step: 16
//! `f32` lanes with AVX-512, 8 elsewhere).
//!
//! # The algorithm
//! Each logit feeds exactly one of the row's two sums: a negative class adds
//! `e^{s}`, a positive class adds `e^{-s}`. So each lane computes `v = ±s`
//! (the sign flipped by XOR with the positive mask) and ONE `exp(v)`, which is
//! then masked into the negative or the positive accumulator. Labels are read
//! a step at a time as bytes and turned into lane masks; whether they are
//! all valid (0, 1 or 255) and which groups occur is gathered in the loop
//! (AVX-512, SSE2) or by a separate pass over the label bytes (AVX2).
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
//! Sums are accumulated in `f32` lanes for blocks of `BLOCK_STEPS` steps,
//! then added lane by lane into `f64` lanes (reduced across lanes once, at
//! the end of the row): an `f32` lane never takes more than `BLOCK_STEPS`
//! terms, so its rounding error stays below `3·2^-24` of its value however
//! the terms' sizes mix, and a 131072-class row is summed as accurately as a
//! 32-class one. (With 32-step blocks a row of one large term and many
//! small ones lost 1e-6, found by fuzzing.)
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

use core::ops::Range;

use wide::{u8x16, u8x32};

use crate::{Error, lse::Lse, stream::Stream};

// The vector type of the kernels: one 16-lane register per step where
// AVX-512 has them, one 8-lane vector elsewhere (AVX2: one register; SSE2 and
// targets without SIMD: `wide`'s 4-lane or scalar fallbacks).
#[cfg(target_feature = "avx512f")]
mod lanes {
    use wide::{f32x16, i8x16, i16x16, i32x16, u8x16};
    pub(crate) type V = f32x16;
    /// Vectors per step.
    pub(crate) const H: usize = 1;
    /// Logits per step: one 16-lane register.
    pub(crate) const STEP: usize = 16;
    /// The label facts are gathered inside the exp loop (its byte
    /// operations are free next to the 512-bit work; a separate pass over
    /// the labels measured 7% slower here).
    pub(crate) const FACTS_IN_LOOP: bool = true;
    pub(super) use crate::exp::exp16 as exp;

    /// A step's labels as bytes.
    #[inline(always)]
    pub(super) fn bytes(l: &[u8; STEP]) -> u8x16 {
        u8x16::new(*l)
    }

    /// `acc += e` where `mask` is set: one masked add.
    #[inline(always)]
    pub(super) fn add_masked(acc: &mut V, e: V, mask: V) {
        *acc = mask.select(*acc + e, *acc);
    }

    /// The bytes of [`bytes`] that hold labels: all.
    pub(super) const USED: u8x16 = u8x16::new([0xff; 16]);

    /// 16 labels as `i32` lanes (255 sign-extends to -1: neither 0 nor 1).
    #[inline(always)]
    fn widen(lab: u8x16) -> [i32x16; H] {
        let signed: i8x16 = wide::bytemuck::cast(lab);
        [i32x16::from_i16x16(i16x16::from_i8x16(signed))]
    }

    #[inline(always)]
    fn eq(l: i32x16, k: i32) -> V {
        wide::bytemuck::cast(l.simd_eq(i32x16::splat(k)))
    }

    /// The masks of 16 labels.
    #[inline(always)]
    pub(super) fn masks(lab: u8x16) -> [super::Masks; H] {
        widen(lab).map(|l| super::Masks { neg: eq(l, 0), pos: eq(l, 1) })
    }

    #[inline(always)]
    pub(super) fn load(x: &[f32; 16]) -> [V; H] {
        [f32x16::new(*x)]
    }

    #[inline(always)]
    pub(super) fn store(v: [V; H]) -> [f32; 16] {
        v[0].to_array()
    }
}

#[cfg(not(target_feature = "avx512f"))]
mod lanes {
    use wide::{f32x8, i8x16, i16x8, i16x16, i32x8, u8x16};
    pub(crate) type V = f32x8;
    /// Vectors per step.
    pub(crate) const H: usize = 1;
    /// Logits per step: one vector. (Two per step, as on AVX-512, left too
    /// few of AVX2's sixteen registers for the exp's constants: the loop
    /// reloaded them and spilled its sums, 115 instructions per 16 logits.)
    pub(crate) const STEP: usize = 8;
    /// With AVX2 the label facts come from a separate pass over the label
    /// bytes, 32 at a time (the loop's register and its byte operations cost
    /// 8% more instructions, callgrind). On SSE2 the separate pass made the
    /// compiler serialise the exp's two 4-lane halves (2x slower, measured),
    /// so there, and without SIMD, they stay in the loop.
    pub(crate) const FACTS_IN_LOOP: bool = !cfg!(target_feature = "avx2");
    pub(super) use crate::exp::exp;

    /// A step's labels as bytes, in the low half (one 8-byte load; the high
    /// half is 0 and left out of the statistics by [`USED`]).
    #[inline(always)]
    pub(super) fn bytes(l: &[u8; STEP]) -> u8x16 {
        let mut b = [0u8; 16];
        b.iter_mut().zip(l).for_each(|(to, from)| *to = *from);
        u8x16::new(b)
    }

    /// The bytes of [`bytes`] that hold labels.
    pub(super) const USED: u8x16 = u8x16::new([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);

    /// `acc += e` where `mask` is set: an AND and an add (a blend costs two
    /// micro-ops on Intel's AVX2 cores, and sits on the sum's chain).
    #[inline(always)]
    pub(super) fn add_masked(acc: &mut V, e: V, mask: V) {
        *acc += e & mask;
    }

    /// The masks of 8 labels: compared as bytes, the byte masks
    /// sign-extended to lanes (fewer instructions than widening the labels
    /// first and comparing lanes).
    #[inline(always)]
    pub(super) fn masks(lab: u8x16) -> [super::Masks; H] {
        let lanes = |k: u8| -> V {
            let m: i8x16 = wide::bytemuck::cast(lab.simd_eq(u8x16::splat(k)));
            let [low, _]: [i16x8; 2] = wide::bytemuck::cast(i16x16::from_i8x16(m));
            wide::bytemuck::cast(i32x8::from_i16x8(low))
        };
        [super::Masks { neg: lanes(0), pos: lanes(1) }]
    }

    #[inline(always)]
    pub(super) fn load(x: &[f32; STEP]) -> [V; H] {
        [f32x8::new(*x)]
    }

    #[inline(always)]
    pub(super) fn store(v: [V; H]) -> [f32; STEP] {
        v[0].to_array()
    }
}

use lanes::{H, STEP, V, exp};

/// Steps summed in `f32` before the lanes are added into the `f64` lanes
/// (4: at most 3 `f32` roundings per lane per block; against 32-step blocks
/// measured on AVX2 with callgrind: +3% instructions for the loss, +10% with
/// the gradient).
const BLOCK_STEPS: usize = 4;
/// Fast-path sums outside `[FAST_MIN, FAST_MAX]` are redone shifted.
///
/// `FAST_MIN = 2^-40`: a sum this large has a term above `e^-28 / n`, so the
/// terms that `exp` flushed to zero (below `e^-87.7`) are < `n·e^-60` of it.
/// `FAST_MAX = 2^100`: far from `f32::MAX`, and below `e^88`, the value a
/// clamped huge input produces.
const FAST_MIN: f32 = 9.094_947e-13;
const FAST_MAX: f32 = 1.267_650_6e30;

const IGNORE: u8 = crate::IGNORE;

/// Where a row's labels come from, a step at a time: a dense label slice,
/// or the sorted positive indices of a sparse row (every other cell is a
/// negative). Cloned to walk a row a second time.
pub(crate) trait Labels: Clone {
    /// The labels of the next `STEP` cells.
    fn step(&mut self) -> [u8; STEP];
    /// The labels of the last `n < STEP` cells, padded with ignored lanes.
    fn tail(&mut self, n: usize) -> [u8; STEP];
    /// What the `n` cells not yet walked hold (used where the exp loop does
    /// not gather it, see `FACTS_IN_LOOP`).
    fn facts(&self, n: usize) -> Facts;
}

/// Label bytes to OR-able class bits: `t = label + 1` (wrapping) is 0
/// ignored, 1 negative, 2 positive, 3 or more invalid; `min(t, 3) + sat(t -
/// 2)` (saturating) keeps 0, 1 and 2 and sends every invalid label to 4 or
/// more.
macro_rules! classify {
    ($T:ident, $lab:expr) => {{
        let t = $lab + $T::splat(1);
        t.min($T::splat(3)).saturating_add(t.saturating_sub($T::splat(2)))
    }};
}

/// Whether some byte of the OR of `classify!`ed labels has one of `bits`.
macro_rules! any_bits {
    ($T:ident, $seen:expr, $bits:expr) => {
        !($seen & $T::splat($bits)).simd_eq($T::ZERO).all()
    };
}

/// What a row's (or segment's) labels hold.
#[derive(Clone, Copy)]
pub(crate) struct Facts {
    has_neg: bool,
    has_pos: bool,
    /// Every label is 0, 1 or [`IGNORE`].
    valid: bool,
}

impl Facts {
    const NONE: Facts = Facts { has_neg: false, has_pos: false, valid: true };

    fn and(self, other: Facts) -> Facts {
        Facts {
            has_neg: self.has_neg || other.has_neg,
            has_pos: self.has_pos || other.has_pos,
            valid: self.valid && other.valid,
        }
    }

    /// The facts of a label slice, 32 bytes per vector step, with the
    /// classification of `classify!`. A partial last chunk is covered by
    /// the slice's last 32 bytes (seen twice: harmless for an OR); only a
    /// slice shorter than 32 is padded.
    #[inline(always)]
    fn of(labels: &[u8]) -> Facts {
        let mut seen = u8x32::ZERO;
        let mut add = |c: &[u8; 32]| {
            seen |= classify!(u8x32, u8x32::new(*c));
        };
        let (chunks, rest) = labels.as_chunks::<32>();
        chunks.iter().for_each(&mut add);
        if !rest.is_empty() {
            match labels.last_chunk::<32>() {
                Some(last) => add(last),
                None => {
                    let mut pad = [IGNORE; 32];
                    pad.iter_mut().zip(rest).for_each(|(to, from)| *to = *from);
                    add(&pad);
                }
            }
        }
        Facts {
            has_neg: any_bits!(u8x32, seen, 1),
            has_pos: any_bits!(u8x32, seen, 2),
            valid: !any_bits!(u8x32, seen, !3),
        }
    }

    /// The facts of the OR of classified label bytes (`classify!`).
    fn of_seen(seen: u8x16) -> Facts {
        Facts {
            has_neg: any_bits!(u8x16, seen, 1),
            has_pos: any_bits!(u8x16, seen, 2),
            valid: !any_bits!(u8x16, seen, !3),
        }
    }
}

/// Dense labels: a slice as long as the row.
#[derive(Clone)]
pub(crate) struct Dense<'a> {
    all: &'a [u8],
    chunks: core::slice::Iter<'a, [u8; STEP]>,
    rest: &'a [u8],
}

impl<'a> Dense<'a> {
    pub(crate) fn new(labels: &'a [u8]) -> Self {
        let (chunks, rest) = labels.as_chunks::<STEP>();
        Dense { all: labels, chunks: chunks.iter(), rest }
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

    /// (Called on a fresh walk: the whole slice.)
    #[inline(always)]
    fn facts(&self, _n: usize) -> Facts {
        Facts::of(self.all)
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

    /// Validated indices: a positive for each index in the `n` cells, a
    /// negative for every other cell.
    fn facts(&self, n: usize) -> Facts {
        let end = self.origin + self.next + n;
        let pos = self.positives.iter().take_while(|&&p| (p as usize) < end).count();
        Facts { has_neg: n > pos, has_pos: pos > 0, valid: true }
    }
}

/// Lane masks of one vector.
#[derive(Clone, Copy)]
pub(crate) struct Masks {
    pub(crate) neg: V,
    pub(crate) pos: V,
}

/// Where a block's `f32` lane sums go. With SIMD (x86, AArch64): added lane
/// by lane into `f64` lanes (no `f32` rounding beyond a lane's own three),
/// reduced across lanes once per row. Elsewhere (Cortex-M, RISC-V: no `f64`
/// hardware, `wide` is scalar code) that would be eight soft-float additions
/// per block, so the lanes are summed in `f32` (three more roundings) and
/// added into one `f64`.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
mod total {
    use super::{STEP, V};
    /// Half a step's lanes in `f64`.
    #[cfg(target_feature = "avx512f")]
    pub(super) type Total = wide::f64x8;
    #[cfg(not(target_feature = "avx512f"))]
    pub(super) type Total = wide::f64x4;
    /// `-0.0`: the first `total + x` is `x` exactly (folds away).
    pub(super) const ZERO: Total = Total::splat(-0.0);

    /// Adds a vector's low and high halves, widened to `f64`.
    #[inline(always)]
    pub(super) fn add(total: &mut Total, v: V) {
        let [lo, hi]: [[f32; STEP / 2]; 2] = wide::bytemuck::cast(v.to_array());
        *total += Total::new(lo.map(f64::from)) + Total::new(hi.map(f64::from));
    }

    pub(super) fn value(total: Total) -> f64 {
        total.reduce_add()
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
mod total {
    use super::V;
    pub(super) type Total = f64;
    pub(super) const ZERO: Total = -0.0;

    #[inline(always)]
    pub(super) fn add(total: &mut Total, v: V) {
        *total += f64::from(v.reduce_add());
    }

    pub(super) fn value(total: Total) -> f64 {
        total
    }
}

/// The per-group shifts of the shifted path.
#[derive(Clone, Copy)]
struct Shifts {
    neg: V,
    pos: V,
}

impl Shifts {
    fn new(neg: f32, pos: f32) -> Shifts {
        Shifts { neg: V::splat(neg), pos: V::splat(pos) }
    }
}

/// Widens 16 labels into the masks of the step's vectors.
#[inline(always)]
fn unpack(lab: u8x16) -> [Masks; H] {
    lanes::masks(lab)
}

/// `+s` for negatives, `-s` for positives (other lanes: anything).
#[inline(always)]
fn flip(s: V, m: Masks) -> V {
    s ^ (m.pos & V::splat(-0.0))
}

/// Running sums of one exp pass.
#[derive(Clone, Copy)]
struct Sums {
    neg: [V; H],
    pos: [V; H],
    /// The block sums so far, lane by lane in `f64`.
    neg_total: total::Total,
    pos_total: total::Total,
    /// Lane-wise OR of each label's class bits: 1 for a negative, 2 for a
    /// positive, 4 or more for an invalid label (ignored: 0). One register
    /// for all three facts (see [`Sums::step`]).
    seen: u8x16,
    steps: usize,
}

/// What one exp pass found.
struct Pass {
    /// The two sums, in the pass's frame.
    neg: f64,
    pos: f64,
    has_neg: bool,
    has_pos: bool,
    labels_ok: bool,
}

impl Pass {
    /// Whether the fast (shift 0) sums are exact: valid labels and each
    /// present group's sum within `[FAST_MIN, FAST_MAX]` (NaN, from a
    /// non-finite logit, is not). Otherwise the row is redone shifted (or
    /// holds a bad value).
    #[inline(always)]
    fn fast_ok(&self) -> bool {
        let ok = |present: bool, sum: f64| !present || (f64::from(FAST_MIN)..=f64::from(FAST_MAX)).contains(&sum);
        self.labels_ok && ok(self.has_neg, self.neg) && ok(self.has_pos, self.pos)
    }

    /// The row state of a fast pass (when [`Pass::fast_ok`]).
    #[inline(always)]
    fn fast_state(&self) -> Stream {
        let group = |present: bool, sum: f64| if present { Lse::new(0.0, sum as f32) } else { Lse::EMPTY };
        Stream { neg: group(self.has_neg, self.neg), pos: group(self.has_pos, self.pos) }
    }

    /// The loss of a fast pass (when [`Pass::fast_ok`]): `log((1 + a)(1 + b))`
    /// as one `log1p` of `a + b + ab`, from the `f64` sums (an absent group's
    /// sum is 0), rounded once.
    #[inline(always)]
    fn fast_loss(&self) -> f64 {
        let (a, b) = (self.neg, self.pos);
        crate::lse::log1p_unrounded(a + b + a * b)
    }

    fn shifted_state(&self, neg_max: f32, pos_max: f32) -> Stream {
        Stream { neg: Lse::new(neg_max, self.neg as f32), pos: Lse::new(pos_max, self.pos as f32) }
    }
}

impl Sums {
    fn new() -> Sums {
        Sums {
            neg: [V::ZERO; H],
            pos: [V::ZERO; H],
            // -0.0: the first block's `total + x` is `x` exactly, so a
            // short row's single flush folds to a conversion.
            neg_total: total::ZERO,
            pos_total: total::ZERO,
            seen: u8x16::ZERO,
            steps: 0,
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        for v in self.neg {
            total::add(&mut self.neg_total, v);
        }
        for v in self.pos {
            total::add(&mut self.pos_total, v);
        }
        self.neg = [V::ZERO; H];
        self.pos = [V::ZERO; H];
    }

    /// Counts `n` more steps; flushes the `f32` sums into the `f64` totals
    /// once a block's worth has been added. Called between blocks, not per
    /// step: a flush inside the step loop made the compiler keep the running
    /// sums in memory.
    #[inline(always)]
    fn count_steps(&mut self, n: usize) {
        self.steps += n;
        if self.steps >= BLOCK_STEPS {
            self.flush();
            self.steps = 0;
        }
    }

    /// One step of `STEP` logits: accumulates the terms and returns them signed
    /// (`+e` negative, `-e` positive, `0` ignored).
    #[inline(always)]
    fn step<const SHIFTED: bool>(&mut self, x: &[f32; STEP], labels: &[u8; STEP], shifts: Shifts) -> [f32; STEP] {
        let lab = lanes::bytes(labels);
        // `t = label + 1` (wrapping) is 0 ignored, 1 negative, 2 positive, 3
        // or more invalid; `min(t, 3) + sat(t - 2)` (saturating) keeps 0, 1,
        // 2 and sends every invalid label to 4 or more.
        if lanes::FACTS_IN_LOOP {
            self.seen |= classify!(u8x16, lab);
        }
        let masks = unpack(lab);
        let s = lanes::load(x);
        let mut out = [V::ZERO; H];
        for h in 0..H {
            let m = masks[h];
            let v = flip(s[h], m);
            let e = if SHIFTED {
                exp(v - m.pos.select(shifts.pos, shifts.neg))
            } else {
                // `0·v + e` is `e` for finite `v` and NaN otherwise: a
                // non-finite logit that takes part poisons its sum.
                v.mul_add(V::ZERO, exp(v))
            };
            lanes::add_masked(&mut self.neg[h], e, m.neg);
            lanes::add_masked(&mut self.pos[h], e, m.pos);
            out[h] = (e & m.neg) - (e & m.pos);
        }
        lanes::store(out)
    }

    /// The pass's result; `facts` are the labels' (from [`Labels::facts`])
    /// where the loop does not gather them. (Kept out of `Sums`: a field
    /// written between segments made the compiler keep the whole
    /// accumulator in memory on the SSE2 build, 2x slower.)
    fn finish(&mut self, facts: Facts) -> Pass {
        self.flush();
        let facts = if lanes::FACTS_IN_LOOP { Facts::of_seen(self.seen & lanes::USED) } else { facts };
        Pass {
            neg: total::value(self.neg_total),
            pos: total::value(self.pos_total),
            has_neg: facts.has_neg,
            has_pos: facts.has_pos,
            labels_ok: facts.valid,
        }
    }
}

/// Pads a tail of fewer than `STEP` logits.
#[inline(always)]
fn pad(x: &[f32]) -> [f32; STEP] {
    let mut xs = [0.0f32; STEP];
    for (d, s) in xs.iter_mut().zip(x) {
        *d = *s;
    }
    xs
}

/// One exp pass without storing terms.
/// Inlined into each pass: an out-of-line call per GlobalPointer line (with
/// the accumulators copied in and out) cost 10% on short rows.
#[inline(always)]
fn sums<const SHIFTED: bool>(sums: &mut Sums, logits: &[f32], mut labels: impl Labels, shifts: Shifts) {
    // A local copy keeps the accumulators in registers, not behind `sums`.
    let mut acc = *sums;
    let (xc, xt) = logits.as_chunks::<STEP>();
    // Whole blocks as fixed-size arrays: the compiler unrolls them.
    let (blocks, rest) = xc.as_chunks::<BLOCK_STEPS>();
    for block in blocks {
        for x in block {
            acc.step::<SHIFTED>(x, &labels.step(), shifts);
        }
        acc.count_steps(BLOCK_STEPS);
    }
    for x in rest {
        acc.step::<SHIFTED>(x, &labels.step(), shifts);
    }
    acc.count_steps(rest.len());
    if !xt.is_empty() {
        acc.step::<SHIFTED>(&pad(xt), &labels.tail(xt.len()), shifts);
        acc.count_steps(1);
    }
    *sums = acc;
}

/// One exp pass that stores the signed terms in `grad`.
#[inline(always)]
fn sums_store<const SHIFTED: bool>(
    sums: &mut Sums,
    logits: &[f32],
    mut labels: impl Labels,
    shifts: Shifts,
    grad: &mut [f32],
) {
    let mut acc = *sums;
    let (xc, xt) = logits.as_chunks::<STEP>();
    let (gc, gt) = grad.as_chunks_mut::<STEP>();
    // Blocks by index, not by zipping `chunks`: the zipped chunk iterators
    // kept a division-by-zero panic path at opt-level z.
    let mut start = 0;
    while start < xc.len() {
        let end = (start + BLOCK_STEPS).min(xc.len());
        if let (Some(xb), Some(gb)) = (xc.get(start..end), gc.get_mut(start..end)) {
            for (x, g) in xb.iter().zip(gb) {
                *g = acc.step::<SHIFTED>(x, &labels.step(), shifts);
            }
        }
        acc.count_steps(end - start);
        start = end;
    }
    if !xt.is_empty() {
        let out = acc.step::<SHIFTED>(&pad(xt), &labels.tail(xt.len()), shifts);
        acc.count_steps(1);
        for (d, s) in gt.iter_mut().zip(out) {
            *d = s;
        }
    }
    *sums = acc;
}

/// The shifted exp pass over logits that it overwrites with the signed terms.
#[inline(always)]
fn sums_in_place(sums: &mut Sums, buf: &mut [f32], mut labels: impl Labels, shifts: Shifts) {
    let mut acc = *sums;
    let (bc, bt) = buf.as_chunks_mut::<STEP>();
    for block in bc.chunks_mut(BLOCK_STEPS) {
        for b in block.iter_mut() {
            *b = acc.step::<true>(b, &labels.step(), shifts);
        }
        acc.count_steps(block.len());
    }
    if !bt.is_empty() {
        let out = acc.step::<true>(&pad(bt), &labels.tail(bt.len()), shifts);
        acc.count_steps(1);
        for (d, s) in bt.iter_mut().zip(out) {
            *d = s;
        }
    }
    *sums = acc;
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
    let neg_inf = V::splat(f32::NEG_INFINITY);
    let mut max_neg = [neg_inf; H];
    let mut max_pos = [neg_inf; H];
    // Stays 0 unless a participating logit is NaN or infinite (`0 · v`).
    let mut poison = V::ZERO;
    let mut label_max = u8x16::ZERO;
    let mut visit = |x: &[f32; STEP], l: &[u8; STEP]| {
        let lab = lanes::bytes(l);
        label_max = label_max.max(lab + u8x16::splat(1));
        let masks = unpack(lab);
        let s = lanes::load(x);
        for h in 0..H {
            let m = masks[h];
            let v = flip(s[h], m);
            max_neg[h] = max_neg[h].fast_max(m.neg.select(v, neg_inf));
            max_pos[h] = max_pos[h].fast_max(m.pos.select(v, neg_inf));
            poison += (v * V::ZERO) & (m.neg | m.pos);
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
    if !labels_valid(label_max) || poison.reduce_add() != 0.0 {
        return Err(first_error(logits, labels));
    }
    let fold = |v: [V; H]| v.into_iter().map(lane_max).fold(f32::NEG_INFINITY, f32::max);
    Ok((fold(max_neg), fold(max_pos)))
}

/// Every lane of `label + 1` (wrapping) is at most 2: labels 0, 1 or 255.
/// (Vector ops only: `wide`'s byte reductions unwrap an `Option` on targets
/// without SIMD, a panic path at low optimisation levels.)
fn labels_valid(plus_one_max: u8x16) -> bool {
    plus_one_max.max(u8x16::splat(2)).simd_eq(u8x16::splat(2)).all()
}

fn lane_max(v: V) -> f32 {
    v.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
}

/// The cells of a row that take part: ranges of the row's buffer, each with
/// its labels. A dense or sparse row is one segment ([`Whole`]); a
/// GlobalPointer row is one segment per line of its valid triangle. All
/// segments of a row share one accumulator, so a row is finished (checked,
/// reduced, and if need be redone shifted) once, however many segments it has.
///
/// The segments come as an iterator, not through a callback: a closure
/// between a pass and its accumulator was not always inlined (AVX2 build),
/// which put the running sums in memory.
pub(crate) trait Segments {
    /// The labels of one segment.
    type L: Labels;
    /// The segments, in order.
    type Iter: Iterator<Item = (Range<usize>, Self::L)>;
    fn segments(&self) -> Self::Iter;
}

/// A whole row as one segment.
pub(crate) struct Whole<L>(pub usize, pub L);

impl<L: Labels> Segments for Whole<L> {
    type L = L;
    type Iter = core::iter::Once<(Range<usize>, L)>;
    #[inline(always)]
    fn segments(&self) -> Self::Iter {
        core::iter::once((0..self.0, self.1.clone()))
    }
}

/// One exp pass over every segment into one accumulator.
#[inline(always)]
fn pass<const SHIFTED: bool>(row: &[f32], segs: &impl Segments, shifts: Shifts) -> Result<Pass, Error> {
    let mut acc = Sums::new();
    let mut facts = Facts::NONE;
    for (r, l) in segs.segments() {
        let x = row.get(r).ok_or(Error::Shape)?;
        if !lanes::FACTS_IN_LOOP {
            facts = facts.and(l.facts(x.len()));
        }
        sums::<SHIFTED>(&mut acc, x, l, shifts);
    }
    Ok(acc.finish(facts))
}

/// [`pass`], storing the signed terms into `grad` (as long as `row`) and
/// zeroing the cells between and after the segments as it goes (while they
/// are in cache), so that every cell of `grad` is written.
#[inline(always)]
fn pass_store<const SHIFTED: bool>(
    row: &[f32],
    segs: &impl Segments,
    shifts: Shifts,
    grad: &mut [f32],
) -> Result<Pass, Error> {
    let mut acc = Sums::new();
    let mut facts = Facts::NONE;
    let mut done = 0;
    for (r, l) in segs.segments() {
        zero(grad, done..r.start);
        done = r.end;
        let x = row.get(r.clone()).ok_or(Error::Shape)?;
        if !lanes::FACTS_IN_LOOP {
            facts = facts.and(l.facts(x.len()));
        }
        sums_store::<SHIFTED>(&mut acc, x, l, shifts, grad.get_mut(r).ok_or(Error::Shape)?);
    }
    zero(grad, done..grad.len());
    Ok(acc.finish(facts))
}

/// Writes 0 to `buf[range]` (nothing if the range is empty or outside).
fn zero(buf: &mut [f32], range: Range<usize>) {
    if let Some(cells) = buf.get_mut(range) {
        cells.fill(0.0);
    }
}

/// The maxima of a row's two groups over all its segments (validating).
fn row_maxima(row: &[f32], segs: &impl Segments) -> Result<(f32, f32), Error> {
    let (mut mn, mut mp) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for (r, l) in segs.segments() {
        let (a, b) = maxima(row.get(r).ok_or(Error::Shape)?, l)?;
        (mn, mp) = (mn.max(a), mp.max(b));
    }
    Ok((mn, mp))
}

/// The loss state of a row made of segments (for the streaming API).
pub(crate) fn segments_state(row: &[f32], segs: &impl Segments) -> Result<Stream, Error> {
    let fast = pass::<false>(row, segs, Shifts::new(0.0, 0.0))?;
    if fast.fast_ok() {
        return Ok(fast.fast_state());
    }
    let (mn, mp) = row_maxima(row, segs)?;
    Ok(pass::<true>(row, segs, Shifts::new(mn, mp))?.shifted_state(mn, mp))
}

/// The loss of a row made of segments. Only an `f32` comes back (a 16-byte
/// state returned through memory cost a store-forwarding stall on short
/// rows), and the fast path finishes from its `f64` sums directly.
pub(crate) fn segments_loss(row: &[f32], segs: &impl Segments) -> Result<f64, Error> {
    let fast = pass::<false>(row, segs, Shifts::new(0.0, 0.0))?;
    if fast.fast_ok() {
        return Ok(fast.fast_loss());
    }
    let (mn, mp) = row_maxima(row, segs)?;
    Ok(pass::<true>(row, segs, Shifts::new(mn, mp))?.shifted_state(mn, mp).loss_f64())
}

/// [`scale_terms`] over the segments of a row only.
#[inline(always)]
fn scale_segments(grad: &mut [f32], segs: &impl Segments, state: Stream, scale: f32) -> Result<(), Error> {
    let (fneg, fpos) = (state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    for (r, _) in segs.segments() {
        scale_terms(grad.get_mut(r).ok_or(Error::Shape)?, fneg, fpos);
    }
    Ok(())
}

/// The loss of a row made of segments and its gradient (times `scale`);
/// `grad` is as long as `row`, and is 0 outside the segments.
pub(crate) fn segments_loss_grad(
    row: &[f32],
    segs: &impl Segments,
    scale: f32,
    grad: &mut [f32],
) -> Result<f64, Error> {
    let fast = pass_store::<false>(row, segs, Shifts::new(0.0, 0.0), grad)?;
    if fast.fast_ok() {
        scale_segments(grad, segs, fast.fast_state(), scale)?;
        return Ok(fast.fast_loss());
    }
    let (mn, mp) = row_maxima(row, segs)?;
    let state = pass_store::<true>(row, segs, Shifts::new(mn, mp), grad)?.shifted_state(mn, mp);
    scale_segments(grad, segs, state, scale)?;
    Ok(state.loss_f64())
}

/// [`segments_loss_grad`] with the gradient written over the logits (always the
/// shifted path: the logits are gone once written over); returns the loss.
pub(crate) fn segments_loss_grad_in_place(buf: &mut [f32], segs: &impl Segments, scale: f32) -> Result<f64, Error> {
    let (mn, mp) = row_maxima(buf, segs)?;
    let shifts = Shifts::new(mn, mp);
    let mut acc = Sums::new();
    let mut done = 0;
    for (r, l) in segs.segments() {
        zero(buf, done..r.start);
        done = r.end;
        sums_in_place(&mut acc, buf.get_mut(r).ok_or(Error::Shape)?, l, shifts);
    }
    zero(buf, done..buf.len());
    let state = acc.finish(Facts::NONE).shifted_state(mn, mp);
    scale_segments(buf, segs, state, scale)?;
    Ok(state.loss_f64())
}

/// The loss state of one row (`logits.len()` cells), for the streaming API.
pub(crate) fn row_state(logits: &[f32], labels: impl Labels) -> Result<Stream, Error> {
    segments_state(logits, &Whole(logits.len(), labels))
}

/// The loss of one row.
pub(crate) fn row_loss(logits: &[f32], labels: impl Labels) -> Result<f64, Error> {
    segments_loss(logits, &Whole(logits.len(), labels))
}

/// Multiplies the stored signed terms by their group's factor.
pub(crate) fn scale_terms(grad: &mut [f32], neg_factor: f32, pos_factor: f32) {
    let (gc, gt) = grad.as_chunks_mut::<STEP>();
    let (fn_, fp) = (V::splat(neg_factor), V::splat(pos_factor));
    for g in gc {
        let v = lanes::load(g).map(|v| v * v.simd_lt(V::ZERO).select(fp, fn_));
        *g = lanes::store(v);
    }
    for g in gt {
        *g *= if *g < 0.0 { pos_factor } else { neg_factor };
    }
}

/// The loss of one row and its gradient (times `scale`); `grad` is as long
/// as `logits`.
pub(crate) fn row_loss_grad(logits: &[f32], labels: impl Labels, scale: f32, grad: &mut [f32]) -> Result<f64, Error> {
    segments_loss_grad(logits, &Whole(logits.len(), labels), scale, grad)
}

/// [`row_loss_grad`] with the gradient written over the logits.
pub(crate) fn row_loss_grad_in_place(buf: &mut [f32], labels: impl Labels, scale: f32) -> Result<f64, Error> {
    segments_loss_grad_in_place(buf, &Whole(buf.len(), labels), scale)
}
