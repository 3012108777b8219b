//! The evaluation's confusion counts taken inside the loss pass, on targets
//! without SIMD: each counted cell adds to one of its class's four `u64`
//! counts from the step's own label test, where a separate counting pass
//! (`confusion::count_cells`) loads the cell again, tests its label again and
//! loops again (on Cortex-M4F the evaluation cost 1.8x the loss alone).

use super::isa::Base;
use super::labels::{Dense, Facts};
use super::sums::{Shifts, Sums};
use super::{Whole, pad_labels, pass, row_maxima};
use crate::Error;
use crate::confusion::{StepCounts, count_cells};
use crate::eval::ClassCounts;

/// What a step tells about each cell that takes part in the loss.
pub(crate) trait Tally {
    /// Lane `lane` of the step is a negative (label 0) of logit `x`.
    fn negative(&mut self, lane: usize, x: f32);
    /// Lane `lane` of the step is a positive (label 1) of logit `x`.
    fn positive(&mut self, lane: usize, x: f32);
}

/// A step that counts nothing (the loss alone).
pub(crate) struct NoTally;

impl Tally for NoTally {
    #[inline(always)]
    fn negative(&mut self, _: usize, _: f32) {}
    #[inline(always)]
    fn positive(&mut self, _: usize, _: f32) {}
}

/// The loss of one dense row (`counts.len()` classes, as long as `logits`
/// and `labels`), its cells counted into `counts` with predictions `logit >
/// threshold` (as [`count_cells`], which counts the last partial step);
/// returns the loss and whether every counted cell was predicted right. On
/// a data error the row's counts are taken back (nothing of it stays
/// counted).
///
/// The counting rides on the fast pass; a row that pass cannot finish is
/// redone by the two-pass path without counting.
#[inline(never)]
pub(crate) fn row_loss_counted(
    logits: &[f32],
    labels: &[u8],
    counts: &mut [ClassCounts],
    threshold: f32,
) -> Result<(f64, bool), Error> {
    let n = logits.len().min(labels.len()).min(counts.len());
    let (x, y) = (logits.get(..n).unwrap_or(&[]), labels.get(..n).unwrap_or(&[]));
    let c = counts.get_mut(..n).unwrap_or(&mut []);
    let ((xc, xt), (yc, yt), (cc, ct)) = (x.as_chunks::<4>(), y.as_chunks::<4>(), c.as_chunks_mut::<4>());
    let shifts = Shifts::new(0.0, 0.0);
    let mut acc = Sums::<Base, 4>::new();
    let mut wrong = false;
    // One step, its cells counted into `c` (a macro: opt-level z calls a
    // closure rather than inline it).
    macro_rules! counted {
        ($x:expr, $y:expr, $c:expr) => {{
            let mut step = StepCounts { counts: $c, threshold, wrong: false };
            acc.step_tallied($x, $y, &mut step);
            wrong |= step.wrong;
        }};
    }
    // Four steps an iteration, written out, flushed once (one loop test
    // and no flush test): 41 instead of 45 instructions per logit on
    // Cortex-M4F for 5 KB of flash.
    let ((x4, xr), (y4, yr), (c4, cr)) = (xc.as_chunks::<4>(), yc.as_chunks::<4>(), cc.as_chunks_mut::<4>());
    for ((x, y), [c0, c1, c2, c3]) in x4.iter().zip(y4).zip(c4) {
        counted!(&x[0], &y[0], c0);
        counted!(&x[1], &y[1], c1);
        counted!(&x[2], &y[2], c2);
        counted!(&x[3], &y[3], c3);
        acc.count_steps(4);
    }
    for ((x, y), c) in xr.iter().zip(yr).zip(cr) {
        counted!(x, y, c);
        acc.count_steps(1);
    }
    if !xt.is_empty() {
        acc.tail::<false>(xt, &pad_labels::<4>(yt), shifts);
        wrong |= count_cells(ct, xt, yt, threshold, 1) == 0;
    }
    let fast = acc.finish(Facts::NONE);
    if fast.fast_ok() {
        return Ok((fast.fast_loss::<Base, 4>(), !wrong));
    }
    // The two-pass path (as `segments_loss`'s), which validates the row.
    let segs = Whole(logits.len(), Dense::new(labels));
    let shifted = row_maxima::<Base, 4>(logits, &segs).and_then(|(mn, mp)| {
        Ok(pass::<Base, 4, true, _>(logits, &segs, Shifts::new(mn, mp))?.state(mn, mp).loss_f64())
    });
    match shifted {
        Ok(loss) => Ok((loss, !wrong)),
        Err(e) => {
            count_cells(counts, logits, labels, threshold, u64::MAX);
            Err(e)
        }
    }
}
