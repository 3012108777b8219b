//! The running sums of one exp pass and what a pass found: the one
//! accumulator of every kernel (hard labels, sparse, GlobalPointer and soft
//! targets alike).

use wide::u8x16;

use super::exp::Consts;
use super::isa::{F32s, Isa, Masks};
use super::labels::Facts;
use crate::lse::{Lse, Stream};

/// Steps summed in `f32` before the lanes are added into the `f64` lanes,
/// by lane count: 8 steps of 8 lanes (AVX2, SSE2, NEON: at most 7 `f32`
/// roundings per lane; against 4 steps, 6% faster forward at 256x1000 and
/// 72x16384 on AVX2, 2% on SSE2, 3-5% with the gradient), 4 steps of 16
/// (AVX-512: the same 64 logits a flush; 8 steps measured 2% faster
/// forward, for a frame 128 B larger) and of the MCUs' 4 lanes (whose
/// four lanes are then added in `f32` before their `f32` pair total, see
/// `scalar.rs`). An `f32` lane never takes more than 8 terms.
pub(crate) const fn flush_steps(lanes: usize) -> usize {
    if lanes == 8 { 8 } else { 4 }
}
/// Steps per iteration of the dense loops (one or two flushes).
pub(crate) const BLOCK_STEPS: usize = 8;
/// Steps per iteration of the other loops (sparse labels, in place), each
/// ended by a flush (more often than [`flush_steps`] asks: never less
/// accurate).
pub(crate) const GROUP_STEPS: usize = 4;
/// Fast-path sums outside `[FAST_MIN, FAST_MAX]` are redone shifted.
///
/// `FAST_MIN = 2^-40`: a sum this large has a term above `e^-28 / n`, so the
/// terms that `exp` flushed to zero (below `e^-87.7`) are < `n·e^-60` of it.
/// `FAST_MAX = 2^100`: far from `f32::MAX`, and below `e^88`, the value a
/// clamped huge input produces.
pub(crate) const FAST_MIN: f32 = 9.094_947e-13;
pub(crate) const FAST_MAX: f32 = 1.267_650_6e30;

/// The value the `f32` sums start from (and restart from after each
/// flush). `-0.0` on x86 and AArch64, as the totals: `-0.0 + x` is `x`
/// exactly (`+0.0 + x` is not, for `x = -0.0`), so the first add of a block
/// folds away. `+0.0` on MCUs, where `-0.0` measured 2 instructions per
/// logit more and up to 96 B more stack at opt-level "s" (Cortex-M4F).
const SUM_START: f32 =
    if cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")) { -0.0 } else { 0.0 };

/// The per-group shifts of the shifted path.
#[derive(Clone, Copy)]
pub(crate) struct Shifts {
    pub(crate) neg: f32,
    pub(crate) pos: f32,
}

impl Shifts {
    pub(crate) fn new(neg: f32, pos: f32) -> Shifts {
        Shifts { neg, pos }
    }
}

/// `+s` for negatives, `-s` for positives (other lanes: anything).
#[inline(always)]
pub(crate) fn flip<V: F32s<N>, const N: usize>(s: V, m: Masks<V>) -> V {
    s ^ (m.pos & V::splat(-0.0))
}

/// Running sums of one exp pass.
#[derive(Clone, Copy)]
pub(crate) struct Sums<S: Isa<N>, const N: usize> {
    neg: S::V,
    pos: S::V,
    /// The block sums so far, lane by lane in `f64`.
    neg_total: S::Total,
    pos_total: S::Total,
    /// Lane-wise OR of each label's class bits: 1 for a negative, 2 for a
    /// positive, 4 or more for an invalid label (ignored: 0). One register
    /// for all three facts (see [`Sums::step`]).
    seen: u8x16,
    steps: usize,
}

/// What one exp pass found.
pub(crate) struct Pass {
    /// The two sums, in the pass's frame.
    neg: f64,
    pos: f64,
    has_neg: bool,
    has_pos: bool,
    labels_ok: bool,
}

impl Pass {
    /// The two `f64` sums and what the labels hold.
    #[inline(always)]
    fn of(neg: f64, pos: f64, facts: Facts) -> Pass {
        Pass { neg, pos, has_neg: facts.has_neg, has_pos: facts.has_pos, labels_ok: facts.valid }
    }

    /// Whether the fast (shift 0) sums are exact: valid labels and each
    /// present group's sum within `[FAST_MIN, FAST_MAX]` (NaN, from a
    /// non-finite logit, is not). Otherwise the row is redone shifted (or
    /// holds a bad value).
    #[inline(always)]
    pub(crate) fn fast_ok(&self) -> bool {
        let ok = |present: bool, sum: f64| !present || (f64::from(FAST_MIN)..=f64::from(FAST_MAX)).contains(&sum);
        self.labels_ok && ok(self.has_neg, self.neg) && ok(self.has_pos, self.pos)
    }

    /// [`Pass::fast_ok`] for a short row: the sums in range by their bits
    /// (those of non-negative `f64`s are in their order; a NaN's are above,
    /// a negative's and +-0's outside), the three tests combined without
    /// branches, one branch on the result (a short row 0.7 ns faster at the
    /// AVX2 level; 1.8 ns with no range test at all). Not on MCUs (64-bit integer work on a
    /// 32-bit core), nor in the other passes (their frames grew).
    #[inline(always)]
    pub(crate) fn fast_ok_short(&self) -> bool {
        if cfg!(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))) {
            return self.fast_ok();
        }
        const LO: u64 = (FAST_MIN as f64).to_bits();
        const SPAN: u64 = (FAST_MAX as f64).to_bits() - LO;
        let ok = |present: bool, sum: f64| !present | (sum.to_bits().wrapping_sub(LO) <= SPAN);
        self.labels_ok & ok(self.has_neg, self.neg) & ok(self.has_pos, self.pos)
    }

    /// Whether the labels (or targets) were all valid.
    pub(crate) fn labels_ok(&self) -> bool {
        self.labels_ok
    }

    /// The row state of a fast pass (when [`Pass::fast_ok`]).
    #[inline(always)]
    pub(crate) fn fast_state(&self) -> Stream {
        self.state(0.0, 0.0)
    }

    /// The loss of a fast pass (when [`Pass::fast_ok`]): `log((1 + a)(1 + b))`
    /// as one `log1p` of `a + b + ab`, from the `f64` sums (an absent group's
    /// sum is 0), rounded once; with the instruction set's `f64`
    /// multiply-add (fused where it has FMA: a shorter chain of latencies,
    /// which is what a short row waits for).
    #[inline(always)]
    pub(crate) fn fast_loss<S: Isa<N>, const N: usize>(&self) -> f64 {
        let (a, b) = (self.neg, self.pos);
        if cfg!(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))) {
            // MCUs: the soft-float `log1p` once, out of line, not in every
            // pass (1.1 KB of flash at opt-level 3 on Cortex-M4F).
            return crate::lse::log1p_wide_apart(a * b + (a + b));
        }
        crate::lse::log1p_wide_by(S::mul_add_f64(a, b, a + b), S::mul_add_f64)
    }

    /// The row state of a pass whose groups were shifted by these maxima
    /// (a group without terms is empty, whatever its shift).
    #[inline(always)]
    pub(crate) fn state(&self, neg_max: f32, pos_max: f32) -> Stream {
        let group = |shift: f32, sum: f64| if sum == 0.0 { Lse::EMPTY } else { Lse::new(shift, sum as f32) };
        Stream { neg: group(neg_max, self.neg), pos: group(pos_max, self.pos) }
    }
}

impl<S: Isa<N>, const N: usize> Sums<S, N> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Sums {
            neg: S::V::splat(SUM_START),
            pos: S::V::splat(SUM_START),
            neg_total: S::total_zero(),
            pos_total: S::total_zero(),
            seen: u8x16::ZERO,
            steps: 0,
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        S::total_add(&mut self.neg_total, self.neg);
        S::total_add(&mut self.pos_total, self.pos);
        self.neg = S::V::splat(SUM_START);
        self.pos = S::V::splat(SUM_START);
    }

    /// Starts a segment's blocks: a partial block left by the previous
    /// segment is flushed (fewer terms per `f32` lane: never less accurate).
    #[inline(always)]
    pub(crate) fn start_blocks(&mut self) {
        if self.steps > 0 {
            self.flush();
            self.steps = 0;
        }
    }

    /// Ends a whole block of steps begun after [`Sums::start_blocks`] (no
    /// count to keep: the flush is unconditional).
    #[inline(always)]
    pub(crate) fn end_block(&mut self) {
        self.flush();
    }

    /// Steps between flushes ([`flush_steps`] of `N` lanes).
    pub(crate) const FLUSH: usize = flush_steps(N);

    /// Ends a group of [`GROUP_STEPS`] steps begun after
    /// [`Sums::start_blocks`] (the sparse and in-place loops): flushed when
    /// [`Sums::FLUSH`] steps are reached, so that every loop flushes after
    /// the same steps (sparse and dense rows give the same bits).
    #[inline(always)]
    pub(crate) fn end_group(&mut self) {
        if Self::FLUSH == GROUP_STEPS {
            self.flush();
        } else {
            self.count_steps(GROUP_STEPS);
        }
    }

    /// Counts `n` more steps; flushes the `f32` sums into the `f64` totals
    /// once [`Sums::FLUSH`] have been added (the steps outside whole blocks,
    /// and soft targets).
    #[inline(always)]
    pub(crate) fn count_steps(&mut self, n: usize) {
        self.steps += n;
        if self.steps >= Self::FLUSH {
            self.flush();
            self.steps = 0;
        }
    }

    /// Adds one step's terms of each group (soft targets: weighted terms).
    #[inline(always)]
    pub(crate) fn add(&mut self, neg: S::V, pos: S::V) {
        self.neg += neg;
        self.pos += pos;
    }

    /// One step of `N` logits with hard labels: one exp per lane (`+s` for
    /// a negative, `-s` for a positive), accumulated into its group; returns
    /// the terms signed (`+e` negative, `-e` positive, `0` ignored).
    #[inline(always)]
    pub(crate) fn step<const SHIFTED: bool>(
        &mut self,
        x: &[f32; N],
        labels: &[u8; N],
        shifts: Shifts,
        k: &Consts<S::V>,
    ) -> [f32; N] {
        self.step_by::<SHIFTED, false>(x, labels, shifts, k, true)
    }

    /// [`Sums::step`]; `BINARY` as [`Isa::terms_by`] (labels 0 and 1 only),
    /// the terms unsigned unless `signed` ([`Isa::LABEL_SCALE`]).
    #[inline(always)]
    pub(crate) fn step_by<const SHIFTED: bool, const BINARY: bool>(
        &mut self,
        x: &[f32; N],
        labels: &[u8; N],
        shifts: Shifts,
        k: &Consts<S::V>,
        signed: bool,
    ) -> [f32; N] {
        // `terms` when not binary and signed: MCUs have a `terms` of their
        // own (and store every term signed).
        let (neg, pos, seen) = (&mut self.neg, &mut self.pos, &mut self.seen);
        match (BINARY, signed) {
            (_, false) => S::terms_by::<SHIFTED, BINARY, false>(neg, pos, seen, x, labels, shifts, k),
            (true, true) => S::terms_by::<SHIFTED, true, true>(neg, pos, seen, x, labels, shifts, k),
            (false, true) => S::terms::<SHIFTED>(neg, pos, seen, x, labels, shifts, k),
        }
    }

    /// A row's last, partial step ([`Isa::tail_terms`]), counted.
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    #[inline(always)]
    pub(crate) fn tail<const SHIFTED: bool>(&mut self, x: &[f32], labels: &[u8; N], shifts: Shifts) -> [f32; N] {
        let out = S::tail_terms::<SHIFTED>(&mut self.neg, &mut self.pos, &mut self.seen, x, labels, shifts);
        self.count_steps(1);
        out
    }

    /// [`Sums::tail`] with the terms written to `dst` (as long as `x`).
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    #[inline(always)]
    pub(crate) fn tail_into<const SHIFTED: bool>(
        &mut self,
        x: &[f32],
        labels: &[u8; N],
        shifts: Shifts,
        dst: &mut [f32],
    ) {
        S::tail_terms_into::<SHIFTED>(&mut self.neg, &mut self.pos, &mut self.seen, x, labels, shifts, dst);
        self.count_steps(1);
    }

    /// A whole block of steps (whole flushes: `B` a multiple of
    /// [`Sums::FLUSH`]; the flushes between them here, the last one the
    /// caller's); the terms (signed if `signed`) stored in `out` if given.
    #[inline(always)]
    pub(crate) fn block<const B: usize, const SHIFTED: bool, const BINARY: bool>(
        &mut self,
        x: &[[f32; N]; B],
        labels: &[[u8; N]; B],
        shifts: Shifts,
        k: &Consts<S::V>,
        out: Option<&mut [[f32; N]; B]>,
        signed: bool,
    ) {
        if Self::FLUSH == 4 {
            self.block_by::<4, B, SHIFTED, BINARY>(x, labels, shifts, k, out, signed);
        } else {
            self.block_by::<8, B, SHIFTED, BINARY>(x, labels, shifts, k, out, signed);
        }
    }

    /// A block as groups of `F` (= [`Sums::FLUSH`]) steps, flushed between
    /// groups; the terms stored in `out` if given.
    #[inline(always)]
    fn block_by<const F: usize, const B: usize, const SHIFTED: bool, const BINARY: bool>(
        &mut self,
        x: &[[f32; N]; B],
        labels: &[[u8; N]; B],
        shifts: Shifts,
        k: &Consts<S::V>,
        out: Option<&mut [[f32; N]; B]>,
        signed: bool,
    ) {
        let (x, l) = (x.as_chunks::<F>().0, labels.as_chunks::<F>().0);
        match out {
            None => {
                for (i, (x, l)) in x.iter().zip(l).enumerate() {
                    if i > 0 {
                        self.flush();
                    }
                    for (x, l) in x.iter().zip(l) {
                        self.step_by::<SHIFTED, BINARY>(x, l, shifts, k, true);
                    }
                }
            }
            Some(out) => {
                for (i, ((x, l), o)) in x.iter().zip(l).zip(out.as_chunks_mut::<F>().0).enumerate() {
                    if i > 0 {
                        self.flush();
                    }
                    for ((x, l), o) in x.iter().zip(l).zip(o) {
                        *o = self.step_by::<SHIFTED, BINARY>(x, l, shifts, k, signed);
                    }
                }
            }
        }
    }

    /// The pass's result; `facts` are the labels' (from [`Labels::facts`](super::Labels::facts))
    /// where the loop does not gather them. (Kept out of `Sums`: a field
    /// written between segments made the compiler keep the whole
    /// accumulator in memory on the SSE2 build, 2x slower.)
    #[inline(always)]
    pub(crate) fn finish(&mut self, facts: Facts) -> Pass {
        let facts = if S::FACTS_IN_LOOP { Facts::of_seen(self.seen) } else { facts };
        self.finish_with(facts)
    }

    /// The row state of a pass shifted by `shifts` whose labels were
    /// checked before it (the in-place pass): [`Pass::state`] of
    /// [`Sums::finish`], its sums rounded to `f32` straight from the
    /// totals ([`Isa::total_value_f32`]: no soft-float `f64` on MCUs).
    #[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn finish_state(&mut self, shifts: Shifts) -> Stream {
        if self.steps > 0 {
            self.flush();
        }
        // Empty as in `Pass::state`: the `f32` of a normalised pair is 0
        // only when the pair is.
        let group = |shift: f32, sum: f32| if sum == 0.0 { Lse::EMPTY } else { Lse::new(shift, sum) };
        Stream {
            neg: group(shifts.neg, S::total_value_f32(self.neg_total)),
            pos: group(shifts.pos, S::total_value_f32(self.pos_total)),
        }
    }

    /// [`Sums::finish`] of a pass of at most [`Sums::FLUSH`] steps (a short
    /// row), counted or not: its sums are still in the `f32` lanes, and go
    /// to `f64` without the zero totals ([`Isa::lane_values`], the same
    /// bits).
    #[inline(always)]
    pub(crate) fn finish_unflushed(&mut self, facts: Facts) -> Pass {
        let facts = if S::FACTS_IN_LOOP { Facts::of_seen(self.seen) } else { facts };
        let (neg, pos) = S::lane_values(self.neg, self.pos);
        Pass::of(neg, pos, facts)
    }

    /// The pass's result with facts gathered by the caller (soft targets).
    #[inline(always)]
    pub(crate) fn finish_with(&mut self, facts: Facts) -> Pass {
        // Whole blocks end flushed: only counted steps can be pending.
        if self.steps > 0 {
            self.flush();
        }
        Pass::of(S::total_value(self.neg_total), S::total_value(self.pos_total), facts)
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
impl Sums<super::isa::Base, 4> {
    /// [`Sums::step`] of the fast path, telling `tally` each negative and
    /// positive cell (the four scalar lanes of MCUs).
    #[inline(always)]
    pub(crate) fn step_tallied(
        &mut self,
        x: &[f32; 4],
        labels: &[u8; 4],
        tally: &mut impl super::tally::Tally,
    ) -> [f32; 4] {
        super::isa::Base::terms_tallied(&mut self.neg, &mut self.pos, &mut self.seen, x, labels, tally)
    }
}
