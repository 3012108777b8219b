//! The SIMD row kernels, written once over an instruction set's lanes
//! ([`Isa`]: `N` lanes a step, 16 with AVX-512, 8 elsewhere) and run with
//! the best one the CPU has (`dispatch.rs`).
//!
//! # The algorithm
//! Each logit feeds exactly one of the row's two sums: a negative class adds
//! `e^{s}`, a positive class adds `e^{-s}`. So each lane computes `v = ±s`
//! (the sign flipped by XOR with the positive mask) and ONE `exp(v)`, which is
//! then masked into the negative or the positive accumulator. Labels are read
//! a step at a time as bytes (dense labels beside the logits, by the same
//! index, 8 steps per loop iteration) and turned into lane masks; whether they are
//! all valid (0, 1 or 255) and which groups occur is gathered in the loop
//! or by a separate pass over the label bytes (`Isa::FACTS_IN_LOOP`).
//!
//! * **Fast path** (one pass): the sums are taken with shift 0, i.e. of
//!   `e^{v}` itself. Because the loss's `1 +` keeps each log-sum-exp at or
//!   above 0, no max is needed as long as every term is a normal `f32` and the
//!   sums cannot overflow. The pass checks that afterwards: both sums must lie
//!   in `[FAST_MIN, FAST_MAX]` (non-finite logits poison their sum: the
//!   fast path's exp gives NaN for NaN and `-inf` and `+inf` for `+inf`;
//!   clamped huge ones push it over `FAST_MAX`, bad labels are caught by the
//!   byte check).
//! * **Shifted path** (when the check fails): a max pass that also validates
//!   labels and finiteness, then the same exp pass with `v - max` per group
//!   (every exp input `<= 0`), the textbook stable log-sum-exp.
//!
//! Sums are accumulated in `f32` lanes for 4 or 8 steps (`flush_steps`: 8
//! of 8 lanes, 4 of 16 and on MCUs), then added lane by lane into `f64` lanes
//! (reduced across lanes once, at the end of the row): an `f32` lane never
//! takes more than 8 terms, so its rounding error stays below `7·2^-24` of
//! its value however the terms' sizes mix, and a 131072-class row is summed
//! as accurately as a 32-class one. (With 32-step blocks a row of one large
//! term and many small ones lost 1e-6, found by fuzzing.)
//!
//! Gradients: the exp pass stores the signed terms (`+e` negative, `-e`
//! positive, `0` ignored) in the gradient buffer; a second pass multiplies
//! each by its group's factor `scale / (1 + Σ)`, picked by the stored sign, so
//! labels are not read twice. At the AVX2 level ([`Isa::LABEL_SCALE`]) a
//! dense row's terms are stored unsigned and the second pass picks each
//! factor by the label instead: the sign was one operation a step in the
//! exp pass, which the FMA and adder pipes keep full (2-4% faster forward
//! and backward at 256x1000); that pass runs from the row's end back
//! (`scale_by_labels`). In place (gradient over the logits) the shifted
//! path is always used, since the fast path could not redo a row once the
//! logits are overwritten.
//!
//! Row tails (`len % N` logits) go through the same vector code, padded with
//! ignored lanes, so a logit's term never depends on where its row starts.

#[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
mod avx2;
#[cfg(all(target_arch = "x86_64", not(all(target_feature = "avx2", target_feature = "fma"))))]
mod avx512;
mod dispatch;
pub(crate) mod exp;
mod frame;
#[macro_use]
mod labels;
mod isa;
mod maxima;
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
mod scalar;
mod short;
mod soft;
pub(crate) mod sums;
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
mod tally;

use core::ops::Range;

pub(crate) use dispatch::{Job, WordJob, run, run_words};
pub use dispatch::{Level, force_level, level};
pub(crate) use frame::{row_grad_in_frame, row_grad_in_frame_in_place};
pub(crate) use isa::{F32s, Isa};
use labels::Facts;
pub(crate) use labels::{Dense, Labels, Sparse};
use maxima::maxima;
pub(crate) use short::{SHORT, SHORT_PATH, short_loss, short_loss_grad, store_short, takes_short};
pub(crate) use soft::{soft_row_loss, soft_row_loss_grad, soft_row_loss_grad_in_place};
use sums::{BLOCK_STEPS, GROUP_STEPS, Pass, Shifts, Sums};
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) use tally::{Tally, row_loss_counted};

use crate::Error;
use crate::lse::Stream;

/// A row's last, partial step: `$x` (fewer than `N` logits) padded with
/// zeros, `$labels` with ignored lanes; its terms (signed if `$signed`). On MCUs cell by
/// cell ([`Isa::tail_terms`]: a step has eight exps there, each in its
/// label's branch); elsewhere written out here (a function of its own
/// changed the x86 frames).
macro_rules! tail_step {
    ($acc:ident, $N:ident, $shifted:tt, $x:expr, $labels:expr, $shifts:expr, $k:expr, $signed:expr) => {{
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        let out = {
            let out = $acc.step_by::<$shifted, false>(&pad::<$N>($x), $labels, $shifts, $k, $signed);
            $acc.count_steps(1);
            out
        };
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        let out = $acc.tail::<$shifted>($x, $labels, $shifts);
        out
    }};
}

/// [`tail_step!`] with the terms written to `$dst` (as long as `$x`); on
/// MCUs each as it comes ([`Isa::tail_terms_into`], signed: MCUs have no
/// [`Isa::LABEL_SCALE`]).
macro_rules! tail_store {
    ($acc:ident, $N:ident, $shifted:tt, $x:expr, $labels:expr, $shifts:expr, $k:expr, $signed:expr, $dst:expr) => {{
        #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
        store_tail($dst, tail_step!($acc, $N, $shifted, $x, $labels, $shifts, $k, $signed));
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
        $acc.tail_into::<$shifted>($x, $labels, $shifts, $dst);
    }};
}

// The row functions below are `inline(always)` on x86-64: the dispatcher runs
// them inside `#[target_feature]` functions, and a function compiled on its
// own would not have the features (its intrinsics would become calls).
// Elsewhere they are shared between callers (smaller firmware).

/// One exp pass without storing terms.
/// Inlined into each pass: an out-of-line call per GlobalPointer line (with
/// the accumulators copied in and out) cost 10% on short rows.
#[inline(always)]
fn sums<S: Isa<N>, const N: usize, const SHIFTED: bool>(
    sums: &mut Sums<S, N>,
    logits: &[f32],
    mut labels: impl Labels,
    shifts: Shifts,
    binary: bool,
) {
    // A local copy keeps the accumulators in registers, not behind `sums`.
    let mut acc = *sums;
    // Dense blocks take the constants as the instruction set keeps them in
    // a loop (`Isa::consts`, made again for each block: at the AVX2 level
    // loads the compiler cannot hoist out of the loop, 96-128 B less stack
    // than once for the row, same speed); other steps (short rows) as the
    // instruction set's plain constants (`Isa::step_consts`).
    let k = &S::step_consts();
    acc.start_blocks();
    match labels.dense() {
        Some(all) => {
            // A dense row's labels are as long as its logits (a cell past
            // them would be left out); read by the logits' index.
            let n = logits.len().min(all.len());
            let (x, y) = (logits.get(..n).unwrap_or(&[]), all.get(..n).unwrap_or(&[]));
            let ((xc, xt), (yc, yt)) = (x.as_chunks::<N>(), y.as_chunks::<N>());
            let ((xb, xr), (yb, yr)) = (unrolled::<BLOCK_STEPS, N, _>(xc), unrolled::<BLOCK_STEPS, N, _>(yc));
            if !xb.is_empty() {
                // Whole blocks of labels 0 and 1 in a loop of their own
                // (see [`segment_facts`]).
                if binary {
                    for (x, y) in xb.iter().zip(yb) {
                        let k = &S::consts();
                        acc.block::<BLOCK_STEPS, SHIFTED, true>(x, y, shifts, k, None, true);
                        acc.end_block();
                    }
                } else {
                    for (x, y) in xb.iter().zip(yb) {
                        let k = &S::consts();
                        acc.block::<BLOCK_STEPS, SHIFTED, false>(x, y, shifts, k, None, true);
                        acc.end_block();
                    }
                }
            }
            for (x, y) in xr.iter().zip(yr) {
                acc.step::<SHIFTED>(x, y, shifts, k);
                acc.count_steps(1);
            }
            if !xt.is_empty() {
                tail_step!(acc, N, SHIFTED, xt, &pad_labels::<N>(yt), shifts, k, true);
            }
        }
        None => {
            let (xc, xt) = logits.as_chunks::<N>();
            let (blocks, rest) = unrolled::<GROUP_STEPS, N, _>(xc);
            for block in blocks {
                for x in block {
                    acc.step::<SHIFTED>(x, &labels.step::<N>(), shifts, k);
                }
                acc.end_group();
            }
            for x in rest {
                acc.step::<SHIFTED>(x, &labels.step::<N>(), shifts, k);
                acc.count_steps(1);
            }
            if !xt.is_empty() {
                tail_step!(acc, N, SHIFTED, xt, &labels.tail::<N>(xt.len()), shifts, k, true);
            }
        }
    }
    *sums = acc;
}

/// One exp pass that stores the signed terms in `grad`.
#[inline(always)]
fn sums_store<S: Isa<N>, const N: usize, const SHIFTED: bool>(
    sums: &mut Sums<S, N>,
    logits: &[f32],
    mut labels: impl Labels,
    shifts: Shifts,
    grad: &mut [f32],
    binary: bool,
) {
    let mut acc = *sums;
    // Dense blocks as in [`sums`].
    let k = &S::step_consts();
    acc.start_blocks();
    match labels.dense() {
        Some(all) => {
            let n = logits.len().min(all.len()).min(grad.len());
            let (x, y) = (logits.get(..n).unwrap_or(&[]), all.get(..n).unwrap_or(&[]));
            let (g, past) = grad.split_at_mut(n);
            past.fill(0.0);
            let ((xc, xt), (yc, yt), (gc, gt)) = (x.as_chunks::<N>(), y.as_chunks::<N>(), g.as_chunks_mut::<N>());
            let (xb, xr) = unrolled::<BLOCK_STEPS, N, _>(xc);
            let (yb, yr) = unrolled::<BLOCK_STEPS, N, _>(yc);
            let (gb, gr) = unrolled_mut::<BLOCK_STEPS, N, _>(gc);
            let signed = signed_terms::<S, N>(&labels);
            if !xb.is_empty() {
                if binary {
                    for ((x, y), g) in xb.iter().zip(yb).zip(gb) {
                        let k = &S::consts();
                        acc.block::<BLOCK_STEPS, SHIFTED, true>(x, y, shifts, k, Some(g), signed);
                        acc.end_block();
                    }
                } else {
                    for ((x, y), g) in xb.iter().zip(yb).zip(gb) {
                        let k = &S::consts();
                        acc.block::<BLOCK_STEPS, SHIFTED, false>(x, y, shifts, k, Some(g), signed);
                        acc.end_block();
                    }
                }
            }
            // The steps after the blocks (fewer than a block). With labels
            // 0 and 1 binary steps, counted once after the loop where a
            // flush takes a block's steps (a flush test per step kept the
            // sums in memory at the AVX2 level).
            if binary && BLOCK_STEPS <= Sums::<S, N>::FLUSH {
                for ((x, y), g) in xr.iter().zip(yr).zip(gr.iter_mut()) {
                    *g = acc.step_by::<SHIFTED, true>(x, y, shifts, k, signed);
                }
                acc.count_steps(xr.len());
            } else {
                for ((x, y), g) in xr.iter().zip(yr).zip(gr) {
                    *g = acc.step_by::<SHIFTED, false>(x, y, shifts, k, signed);
                    acc.count_steps(1);
                }
            }
            if !xt.is_empty() {
                tail_store!(acc, N, SHIFTED, xt, &pad_labels::<N>(yt), shifts, k, signed, gt);
            }
        }
        None => {
            let (xc, xt) = logits.as_chunks::<N>();
            let (gc, gt) = grad.as_chunks_mut::<N>();
            let (blocks, rest) = unrolled::<GROUP_STEPS, N, _>(xc);
            let (gblocks, grest) = unrolled_mut::<GROUP_STEPS, N, _>(gc);
            for (block, gblock) in blocks.iter().zip(gblocks.iter_mut()) {
                for (x, g) in block.iter().zip(gblock) {
                    *g = acc.step::<SHIFTED>(x, &labels.step::<N>(), shifts, k);
                }
                acc.end_group();
            }
            for (x, g) in rest.iter().zip(grest.iter_mut()) {
                *g = acc.step::<SHIFTED>(x, &labels.step::<N>(), shifts, k);
                acc.count_steps(1);
            }
            if !xt.is_empty() {
                tail_store!(acc, N, SHIFTED, xt, &labels.tail::<N>(xt.len()), shifts, k, true, gt);
            }
        }
    }
    *sums = acc;
}

/// The shifted exp pass over logits that it overwrites with the signed terms.
#[inline(always)]
fn sums_in_place<S: Isa<N>, const N: usize>(
    sums: &mut Sums<S, N>,
    buf: &mut [f32],
    mut labels: impl Labels,
    shifts: Shifts,
) {
    let mut acc = *sums;
    let k = &S::consts();
    let (bc, bt) = buf.as_chunks_mut::<N>();
    acc.start_blocks();
    let signed = signed_terms::<S, N>(&labels);
    let (blocks, rest) = unrolled_mut::<GROUP_STEPS, N, _>(bc);
    for block in blocks {
        for b in block.iter_mut() {
            *b = acc.step_by::<true, false>(b, &labels.step::<N>(), shifts, k, signed);
        }
        acc.end_group();
    }
    for b in rest.iter_mut() {
        *b = acc.step_by::<true, false>(b, &labels.step::<N>(), shifts, k, signed);
        acc.count_steps(1);
    }
    if !bt.is_empty() {
        let out = tail_step!(acc, N, true, bt, &labels.tail::<N>(bt.len()), shifts, k, signed);
        store_tail(bt, out);
    }
    *sums = acc;
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

/// Cells of a dense segment whose labels' facts are gathered just before
/// the exp loop runs over them, where the instruction set gathers them in
/// a pass of their own (`!FACTS_IN_LOOP`): 8 KB of labels, still in L1
/// when the exp loop reads them (a multiple of a block's cells, so the
/// sums are flushed after the same steps). Forward 10% faster at
/// 32x131072 on Zen 4 (AVX2 level) than one facts pass over the row.
const FACTS_CHUNK: usize = 8192;

/// One exp pass over every segment into one accumulator.
#[inline(always)]
fn pass<S: Isa<N>, const N: usize, const SHIFTED: bool, G: Segments>(
    row: &[f32],
    segs: &G,
    shifts: Shifts,
) -> Result<Pass, Error> {
    let mut acc = Sums::<S, N>::new();
    let mut facts = Facts::NONE;
    for (r, l) in segs.segments() {
        if G::L::DENSE && !S::FACTS_IN_LOOP && !SHIFTED {
            // Piece by piece ([`FACTS_CHUNK`]).
            let (mut r, mut l) = (r, l);
            while let Some((a, b)) = l.split_at(FACTS_CHUNK) {
                let x = row.get(r.start..r.start + FACTS_CHUNK).ok_or(Error::Shape)?;
                let binary = segment_facts::<S, N, SHIFTED, _>(&a, x.len(), &mut facts);
                sums::<S, N, SHIFTED>(&mut acc, x, a, shifts, binary);
                (r, l) = (r.start + FACTS_CHUNK..r.end, b);
            }
            let x = row.get(r).ok_or(Error::Shape)?;
            let binary = segment_facts::<S, N, SHIFTED, _>(&l, x.len(), &mut facts);
            sums::<S, N, SHIFTED>(&mut acc, x, l, shifts, binary);
        } else {
            let x = row.get(r).ok_or(Error::Shape)?;
            let binary = segment_facts::<S, N, SHIFTED, _>(&l, x.len(), &mut facts);
            sums::<S, N, SHIFTED>(&mut acc, x, l, shifts, binary);
        }
    }
    Ok(acc.finish(facts))
}

/// [`pass`], storing the signed terms into `grad` (as long as `row`) and
/// zeroing the cells between and after the segments as it goes (while they
/// are in cache), so that every cell of `grad` is written.
#[inline(always)]
fn pass_store<S: Isa<N>, const N: usize, const SHIFTED: bool, G: Segments>(
    row: &[f32],
    segs: &G,
    shifts: Shifts,
    grad: &mut [f32],
) -> Result<Pass, Error> {
    let mut acc = Sums::<S, N>::new();
    let mut facts = Facts::NONE;
    let mut done = 0;
    for (r, l) in segs.segments() {
        zero(grad, done..r.start);
        done = r.end;
        // Piece by piece as in [`pass`] (32x131072 forward + backward
        // 15-20% faster on Zen 4), only in segments longer than a piece:
        // with the pieces' loop in the way of every row, 256x1000 forward
        // + backward was 6% slower.
        if G::L::DENSE && !S::FACTS_IN_LOOP && !SHIFTED && r.len() > FACTS_CHUNK {
            let (mut r, mut l) = (r, l);
            while let Some((a, b)) = l.split_at(FACTS_CHUNK) {
                let p = r.start..r.start + FACTS_CHUNK;
                let x = row.get(p.clone()).ok_or(Error::Shape)?;
                let binary = segment_facts::<S, N, SHIFTED, _>(&a, x.len(), &mut facts);
                sums_store::<S, N, SHIFTED>(&mut acc, x, a, shifts, grad.get_mut(p).ok_or(Error::Shape)?, binary);
                (r, l) = (r.start + FACTS_CHUNK..r.end, b);
            }
            let x = row.get(r.clone()).ok_or(Error::Shape)?;
            let binary = segment_facts::<S, N, SHIFTED, _>(&l, x.len(), &mut facts);
            sums_store::<S, N, SHIFTED>(&mut acc, x, l, shifts, grad.get_mut(r).ok_or(Error::Shape)?, binary);
        } else {
            let x = row.get(r.clone()).ok_or(Error::Shape)?;
            let binary = segment_facts::<S, N, SHIFTED, _>(&l, x.len(), &mut facts);
            sums_store::<S, N, SHIFTED>(&mut acc, x, l, shifts, grad.get_mut(r).ok_or(Error::Shape)?, binary);
        }
    }
    zero(grad, done..grad.len());
    Ok(acc.finish(facts))
}

/// Adds a segment's label facts to `facts`, where the instruction set
/// gathers them before the exp loop; returns whether the segment takes the
/// block loop of labels 0 and 1 only (one lane mask a step, see
/// [`Isa::terms_by`]): dense labels on the fast path (the rare shifted pass
/// keeps one loop). Sparse labels (built step by step) keep one loop and
/// the code they had before it: a `binary` flag computed for them, though
/// always false, took 32 B more stack in the AVX2 GlobalPointer loss.
#[inline(always)]
fn segment_facts<S: Isa<N>, const N: usize, const SHIFTED: bool, L: Labels>(
    labels: &L,
    n: usize,
    facts: &mut Facts,
) -> bool {
    if S::FACTS_IN_LOOP {
        return false;
    }
    if !L::DENSE {
        *facts = facts.and(labels.facts::<S::Bytes>(n));
        return false;
    }
    let f = labels.facts::<S::Bytes>(n);
    *facts = facts.and(f);
    !SHIFTED && UNROLL_BLOCKS && f.binary
}

/// Writes 0 to `buf[range]` (nothing if the range is empty or outside).
fn zero(buf: &mut [f32], range: Range<usize>) {
    if let Some(cells) = buf.get_mut(range) {
        cells.fill(0.0);
    }
}

/// The maxima of a row's two groups over all its segments (validating).
#[cfg_attr(target_arch = "x86_64", inline(always))]
fn row_maxima<S: Isa<N>, const N: usize>(row: &[f32], segs: &impl Segments) -> Result<(f32, f32), Error> {
    let (mut mn, mut mp) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for (r, l) in segs.segments() {
        let (a, b) = maxima::<S, N>(row.get(r).ok_or(Error::Shape)?, l)?;
        (mn, mp) = if UNROLL_BLOCKS {
            (mn.max(a), mp.max(b))
        } else {
            // MCUs: compares (`f32::max` is a call on Cortex-M4F).
            (if a > mn { a } else { mn }, if b > mp { b } else { mp })
        };
    }
    Ok((mn, mp))
}

/// The loss state of a row made of segments (for the streaming API).
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn segments_state<S: Isa<N>, const N: usize>(row: &[f32], segs: &impl Segments) -> Result<Stream, Error> {
    let fast = pass::<S, N, false, _>(row, segs, Shifts::new(0.0, 0.0))?;
    if fast.fast_ok() {
        return Ok(fast.fast_state());
    }
    let (mn, mp) = row_maxima::<S, N>(row, segs)?;
    Ok(pass::<S, N, true, _>(row, segs, Shifts::new(mn, mp))?.state(mn, mp))
}

/// The loss of a row made of segments. Only an `f32` comes back (a 16-byte
/// state returned through memory cost a store-forwarding stall on short
/// rows), and the fast path finishes from its `f64` sums directly. On
/// MCUs the fast pass, the maxima, the shifted pass and the shifted
/// path's `f64` finish are calls from here, one after the other, none
/// under another's frame (with both passes and the finish in one function,
/// `mlcce_loss` needed 528 B of stack on Cortex-M4F at opt-level z on rows
/// of huge logits, now 412 B; ordinary rows take 16-24 B more). Elsewhere
/// the fast pass is inline (as a call of `fast_loss`, the AVX2
/// GlobalPointer loss's frame grew by 64 B).
#[inline(always)]
pub(crate) fn segments_loss<S: Isa<N>, const N: usize>(row: &[f32], segs: &impl Segments) -> Result<f64, Error> {
    if UNROLL_BLOCKS {
        let fast = pass::<S, N, false, _>(row, segs, Shifts::new(0.0, 0.0))?;
        if fast.fast_ok() {
            return Ok(fast.fast_loss::<S, N>());
        }
    } else if let Some(loss) = fast_loss::<S, N>(row, segs)? {
        return Ok(loss);
    }
    let (mn, mp) = row_maxima::<S, N>(row, segs)?;
    Ok(shifted_state::<S, N>(row, segs, Shifts::new(mn, mp))?.loss_f64())
}

/// The fast pass of [`segments_loss`] on MCUs and its finish; `None` when
/// the row must be redone shifted. Out of line (its loop inlined into the
/// dense entry's batch loop measured 2 instructions per logit more at
/// opt-level 3 on Cortex-M4F).
#[cfg_attr(target_arch = "x86_64", inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
fn fast_loss<S: Isa<N>, const N: usize>(row: &[f32], segs: &impl Segments) -> Result<Option<f64>, Error> {
    let fast = pass::<S, N, false, _>(row, segs, Shifts::new(0.0, 0.0))?;
    Ok(if fast.fast_ok() { Some(fast.fast_loss::<S, N>()) } else { None })
}

/// The shifted pass of [`segments_loss`]: the row's state. Out of line on
/// MCUs, so that the row's `f64` finish is not called from under its frame.
#[cfg_attr(target_arch = "x86_64", inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
fn shifted_state<S: Isa<N>, const N: usize>(
    row: &[f32],
    segs: &impl Segments,
    shifts: Shifts,
) -> Result<Stream, Error> {
    Ok(pass::<S, N, true, _>(row, segs, shifts)?.state(shifts.neg, shifts.pos))
}

/// [`scale_terms`] (or [`scale_by_labels`]) over the segments of a row
/// only.
#[inline(always)]
fn scale_segments<S: Isa<N>, const N: usize>(
    grad: &mut [f32],
    segs: &impl Segments,
    state: Stream,
    scale: f32,
) -> Result<(), Error> {
    let (fneg, fpos) = (state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    for (r, l) in segs.segments() {
        let g = grad.get_mut(r).ok_or(Error::Shape)?;
        match l.dense() {
            // Unsigned terms: a positive's factor carries its sign.
            Some(y) if !signed_terms::<S, N>(&l) => scale_by_labels::<S, N>(g, y, fneg, -fpos),
            _ => scale_terms::<S, N>(g, fneg, fpos),
        }
    }
    Ok(())
}

/// The loss of a row made of segments and its gradient (times `scale`);
/// `grad` is as long as `row`, and is 0 outside the segments.
#[inline(always)]
pub(crate) fn segments_loss_grad<S: Isa<N>, const N: usize>(
    row: &[f32],
    segs: &impl Segments,
    scale: f32,
    grad: &mut [f32],
) -> Result<f64, Error> {
    if let Some(loss) = fast_loss_grad::<S, N>(row, segs, scale, grad)? {
        return Ok(loss);
    }
    if !UNROLL_BLOCKS {
        // MCUs: the in-place path over a copy of the row (called from here,
        // not from the fast pass's frame): one shifted pass less in flash
        // (2 KB on Cortex-M4F at opt-level 3) for one copy of a row that
        // needs it.
        for (g, x) in grad.iter_mut().zip(row) {
            *g = *x;
        }
        return segments_loss_grad_in_place::<S, N>(grad, segs, scale);
    }
    let (mn, mp) = row_maxima::<S, N>(row, segs)?;
    let state = pass_store::<S, N, true, _>(row, segs, Shifts::new(mn, mp), grad)?.state(mn, mp);
    scale_segments::<S, N>(grad, segs, state, scale)?;
    Ok(state.loss_f64())
}

/// The fast pass of [`segments_loss_grad`]: the loss, with the gradient
/// written, or `None` when the row must be redone shifted.
#[cfg_attr(target_arch = "x86_64", inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
fn fast_loss_grad<S: Isa<N>, const N: usize>(
    row: &[f32],
    segs: &impl Segments,
    scale: f32,
    grad: &mut [f32],
) -> Result<Option<f64>, Error> {
    let fast = pass_store::<S, N, false, _>(row, segs, Shifts::new(0.0, 0.0), grad)?;
    if !fast.fast_ok() {
        return Ok(None);
    }
    scale_segments::<S, N>(grad, segs, fast.fast_state(), scale)?;
    Ok(Some(fast.fast_loss::<S, N>()))
}

/// [`segments_loss_grad`] with the gradient written over the logits (always the
/// shifted path: the logits are gone once written over); returns the loss.
#[cfg_attr(target_arch = "x86_64", inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
pub(crate) fn segments_loss_grad_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    segs: &impl Segments,
    scale: f32,
) -> Result<f64, Error> {
    let (mn, mp) = row_maxima::<S, N>(buf, segs)?;
    let state = pass_in_place::<S, N>(buf, segs, Shifts::new(mn, mp))?;
    scale_segments::<S, N>(buf, segs, state, scale)?;
    Ok(state.loss_f64())
}

/// The shifted exp pass over every segment, writing the signed terms over
/// the logits and zeroing the cells outside the segments. Out of line on
/// MCUs, so that the row's `f64` finish (soft float there) is not called
/// from under its frame.
#[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
fn pass_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    segs: &impl Segments,
    shifts: Shifts,
) -> Result<Stream, Error> {
    let mut acc = Sums::<S, N>::new();
    let mut done = 0;
    for (r, l) in segs.segments() {
        zero(buf, done..r.start);
        done = r.end;
        sums_in_place::<S, N>(&mut acc, buf.get_mut(r).ok_or(Error::Shape)?, l, shifts);
    }
    zero(buf, done..buf.len());
    // MCUs: the sums rounded to `f32` from the totals, no soft-float `f64`
    // (its calls were this pass's deepest: 28 B of stack on Cortex-M4F).
    // Elsewhere through the pass's `f64` sums (the same values; the `f32`
    // route added 32 B to the AVX2 GlobalPointer gradient's frame).
    if UNROLL_BLOCKS { Ok(acc.finish(Facts::NONE).state(shifts.neg, shifts.pos)) } else { Ok(acc.finish_state(shifts)) }
}

/// The loss state of one row (`logits.len()` cells), for the streaming API.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_state<S: Isa<N>, const N: usize>(logits: &[f32], labels: impl Labels) -> Result<Stream, Error> {
    segments_state::<S, N>(logits, &Whole(logits.len(), labels))
}

/// The loss of one row.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_loss<S: Isa<N>, const N: usize>(logits: &[f32], labels: impl Labels) -> Result<f64, Error> {
    segments_loss::<S, N>(logits, &Whole(logits.len(), labels))
}

/// Multiplies the stored signed terms by their group's factor. Once, out
/// of line, on MCUs (inlined in each of the three gradient passes, it was
/// 1 KB of flash at opt-level 3 on Cortex-M4F).
#[cfg_attr(target_arch = "x86_64", inline(always))]
#[cfg_attr(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")), inline(never))]
pub(crate) fn scale_terms<S: Isa<N>, const N: usize>(grad: &mut [f32], neg_factor: f32, pos_factor: f32) {
    let (gc, gt) = grad.as_chunks_mut::<N>();
    let (fn_, fp) = (S::V::splat(neg_factor), S::V::splat(pos_factor));
    for g in gc {
        let v = S::V::load(g);
        *g = (v * v.sign_select(fp, fn_)).to_array();
    }
    for g in gt {
        *g *= if *g < 0.0 { pos_factor } else { neg_factor };
    }
}

/// Whether the gradient passes store these labels' terms signed (scaled
/// by their sign, [`scale_terms`]) rather than unsigned (scaled by their
/// labels, [`scale_by_labels`]): the one rule the exp passes and
/// [`scale_segments`] share.
#[inline(always)]
fn signed_terms<S: Isa<N>, const N: usize>(labels: &impl Labels) -> bool {
    !(S::LABEL_SCALE && labels.dense().is_some())
}

/// Multiplies the unsigned terms of dense labels ([`Isa::LABEL_SCALE`]) by
/// their label's factor: `pos_factor` for a positive, `neg_factor` for any
/// other (an ignored cell holds 0). Cells past the labels are left as they
/// are (the exp pass wrote 0 there).
#[inline(always)]
fn scale_by_labels<S: Isa<N>, const N: usize>(grad: &mut [f32], labels: &[u8], neg_factor: f32, pos_factor: f32) {
    let n = grad.len().min(labels.len());
    let (g, y) = (grad.get_mut(..n).unwrap_or(&mut []), labels.get(..n).unwrap_or(&[]));
    let ((gc, gt), (yc, yt)) = (g.as_chunks_mut::<N>(), y.as_chunks::<N>());
    let (fn_, fp) = (S::V::splat(neg_factor), S::V::splat(pos_factor));
    // The whole steps from the last: the cells the exp pass wrote last are
    // still in cache (forward and backward 2% faster at 32x131072, where a
    // row's logits, labels and gradient do not fit in L2). The partial
    // step, the last one written, after them. (Both reversed, zipped: the
    // reversed zip took 32 B more stack in `mlcce_shard_grad`.)
    for (g, y) in gc.iter_mut().rev().zip(yc.iter().rev()) {
        *g = (S::V::load(g) * S::label_factors(y, fn_, fp)).to_array();
    }
    // Lane by lane, as the short rows' (a loop over the cells, vectorised
    // by the compiler, took 32 B more stack at AVX2).
    if !gt.is_empty() {
        let pg: [f32; N] = core::array::from_fn(|i| gt.get(i).copied().unwrap_or(0.0));
        let py: [u8; N] = core::array::from_fn(|i| yt.get(i).copied().unwrap_or(crate::IGNORE));
        store_short(gt, &(S::V::load(&pg) * S::label_factors(&py, fn_, fp)).to_array());
    }
}

/// The loss of one row and its gradient (times `scale`); `grad` is as long
/// as `logits`.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_loss_grad<S: Isa<N>, const N: usize>(
    logits: &[f32],
    labels: impl Labels,
    scale: f32,
    grad: &mut [f32],
) -> Result<f64, Error> {
    segments_loss_grad::<S, N>(logits, &Whole(logits.len(), labels), scale, grad)
}

/// [`row_loss_grad`] with the gradient written over the logits.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_loss_grad_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    labels: impl Labels,
    scale: f32,
) -> Result<f64, Error> {
    segments_loss_grad_in_place::<S, N>(buf, &Whole(buf.len(), labels), scale)
}

/// Whether the dense passes run whole blocks of steps unrolled. Not on MCUs:
/// there every step goes through the loop of the steps outside blocks
/// (flushed every [`Sums::FLUSH`] steps all the same), one copy of the step in
/// each pass instead of eight.
const UNROLL_BLOCKS: bool = cfg!(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"));

/// A row's steps as whole blocks of `B` steps and the steps after them
/// (all of them after, where blocks are not unrolled).
#[inline(always)]
fn unrolled<const B: usize, const N: usize, T>(steps: &[[T; N]]) -> (&[[[T; N]; B]], &[[T; N]]) {
    if UNROLL_BLOCKS { steps.as_chunks::<B>() } else { (&[], steps) }
}

/// [`unrolled`] for a buffer written step by step.
#[inline(always)]
fn unrolled_mut<const B: usize, const N: usize, T>(steps: &mut [[T; N]]) -> (&mut [[[T; N]; B]], &mut [[T; N]]) {
    if UNROLL_BLOCKS { steps.as_chunks_mut::<B>() } else { (&mut [], steps) }
}

/// Pads a tail of fewer than `N` logits with zeros.
#[inline(always)]
pub(crate) fn pad<const N: usize>(x: &[f32]) -> [f32; N] {
    let mut xs = [0.0f32; N];
    for (d, s) in xs.iter_mut().zip(x) {
        *d = *s;
    }
    xs
}

/// Writes a partial step's terms to its cells (`dst`: fewer than `N`).
/// On MCUs zipped with the array by reference: with its `into_iter`,
/// opt-level "z" kept both iterators on the stack and called their `next`
/// (32 B more of the in-place exp pass's frame on Cortex-M4F). Elsewhere
/// by value (by reference, an AVX-512 GlobalPointer frame grew by 128 B).
#[inline(always)]
pub(crate) fn store_tail<const N: usize>(dst: &mut [f32], out: [f32; N]) {
    if UNROLL_BLOCKS {
        for (d, s) in dst.iter_mut().zip(out) {
            *d = s;
        }
    } else {
        for (d, s) in dst.iter_mut().zip(&out) {
            *d = *s;
        }
    }
}

/// Pads the labels of a tail of fewer than `N` cells with ignored lanes.
#[inline(always)]
pub(crate) fn pad_labels<const N: usize>(y: &[u8]) -> [u8; N] {
    let mut ys = [crate::IGNORE; N];
    for (d, s) in ys.iter_mut().zip(y) {
        *d = *s;
    }
    ys
}

/// The largest lane (NaN lanes left out). On MCUs by compares: `f32::max`
/// is a call to `fmaxf` on FPUs without a float max (Cortex-M4F), and a
/// fold over the array's `into_iter` one more call at opt-level "z".
#[inline(always)]
pub(crate) fn lane_max<V: F32s<N>, const N: usize>(v: V) -> f32 {
    if !UNROLL_BLOCKS {
        let mut m = f32::NEG_INFINITY;
        for x in v.to_array() {
            if x > m {
                m = x;
            }
        }
        return m;
    }
    v.to_array().into_iter().fold(f32::NEG_INFINITY, f32::max)
}
