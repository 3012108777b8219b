//! On-device evaluation: predictions, loss and the usual multi-label metrics,
//! accumulated batch by batch with no heap (per-class counts live in a buffer
//! the caller owns).
//!
//! Predictions are `logit > threshold` (0 is the threshold this loss learns).
//! Cells labelled [`IGNORE`](crate::IGNORE) are left out of every count and
//! of the loss.

use wide::{f32x8, u8x16};

use crate::batch::row;
use crate::kernel::{self, Dense};
use crate::{Error, IGNORE, Shape};

/// Confusion counts of one class.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Predicted positive, labelled positive.
    pub true_pos: u64,
    /// Predicted positive, labelled negative.
    pub false_pos: u64,
    /// Predicted negative, labelled positive.
    pub false_neg: u64,
    /// Predicted negative, labelled negative.
    pub true_neg: u64,
}

/// The running totals of an evaluation (everything but the per-class counts).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EvalTotals {
    /// Rows seen.
    pub rows: u64,
    /// Rows whose every counted cell was predicted right.
    pub exact: u64,
    /// Sum of the rows' losses.
    pub loss_sum: f64,
    /// Classes per row.
    pub classes: usize,
    /// Decision threshold on the logits.
    pub threshold: f32,
}

/// The figures of an evaluation. With no rows, every figure is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// Rows seen.
    pub rows: u64,
    /// Mean loss over rows.
    pub mean_loss: f32,
    /// `TP / (TP + FP)` over all classes (0 if no positive prediction).
    pub micro_precision: f32,
    /// `TP / (TP + FN)` over all classes (0 if no positive label).
    pub micro_recall: f32,
    /// `2TP / (2TP + FP + FN)` over all classes.
    pub micro_f1: f32,
    /// Mean over classes of each class's F1 (0 for a class with no TP, FP, FN).
    pub macro_f1: f32,
    /// `(FP + FN) / counted cells`.
    pub hamming_loss: f32,
    /// Fraction of rows predicted exactly right.
    pub subset_accuracy: f32,
}

/// Writes `logit > threshold` (1 or 0) for each logit. A NaN threshold is
/// [`Error::Argument`]; a NaN or infinite logit [`Error::NonFinite`].
pub fn predict(logits: &[f32], threshold: f32, out: &mut [u8]) -> Result<(), Error> {
    if threshold.is_nan() {
        return Err(Error::Argument);
    }
    if logits.len() != out.len() {
        return Err(Error::Shape);
    }
    for (o, &s) in out.iter_mut().zip(logits) {
        if !s.is_finite() {
            return Err(Error::NonFinite);
        }
        *o = u8::from(s > threshold);
    }
    Ok(())
}

/// An evaluation accumulator over caller-owned per-class counts.
///
/// ```
/// use mlcce::{ClassCounts, Evaluator};
/// let mut counts = [ClassCounts::default(); 4];
/// let mut ev = Evaluator::new(&mut counts, 0.0)?;
/// ev.update(3, &[0.9, -0.1, 0.8, -0.3, 0.3, -0.2, 0.5, 0.7, 0.7, -0.6, -0.1, 0.3],
///           &[1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0])?;
/// let r = ev.report();
/// assert_eq!(r.rows, 3);
/// assert!((r.micro_recall - 1.0).abs() < 1e-6);
/// # Ok::<(), mlcce::Error>(())
/// ```
#[derive(Debug)]
pub struct Evaluator<'a> {
    totals: EvalTotals,
    counts: &'a mut [ClassCounts],
}

impl<'a> Evaluator<'a> {
    /// Starts an evaluation of `counts.len()` classes; zeroes the counts. A
    /// NaN threshold is [`Error::Argument`].
    pub fn new(counts: &'a mut [ClassCounts], threshold: f32) -> Result<Self, Error> {
        if threshold.is_nan() {
            return Err(Error::Argument);
        }
        counts.fill(ClassCounts::default());
        let totals = EvalTotals { classes: counts.len(), threshold, ..EvalTotals::default() };
        Ok(Evaluator { totals, counts })
    }

    /// Resumes from saved totals (the C accumulator).
    pub(crate) fn resume(totals: EvalTotals, counts: &'a mut [ClassCounts]) -> Self {
        Evaluator { totals, counts }
    }

    /// The running totals.
    pub fn totals(&self) -> EvalTotals {
        self.totals
    }

    /// Adds a batch of `rows` rows (row-major logits and dense labels). On
    /// error nothing changes.
    pub fn update(&mut self, rows: usize, logits: &[f32], labels: &[u8]) -> Result<(), Error> {
        let classes = self.totals.classes;
        let shape = Shape::new(rows, classes);
        shape.check_len(logits.len())?;
        shape.check_len(labels.len())?;
        let threshold = self.totals.threshold;
        // Every counted cell starts as a true negative (one add per class per
        // batch); a row's pass then moves only its other cells (predicted
        // positive, labelled positive, or ignored), which SIMD finds 16 at a
        // time. Most cells of a multi-label batch are true negatives.
        add_true_negatives(self.counts, rows as u64, true);
        let mut loss_sum = 0.0f64;
        let mut exact = 0u64;
        for r in 0..rows {
            let (x, y) = (row(logits, r, classes), row(labels, r, classes));
            match kernel::row_loss(x, Dense::new(y)) {
                Ok(loss) => loss_sum += f64::from(loss),
                Err(e) => {
                    // All or nothing: undo the rows already counted.
                    for k in 0..r {
                        count_row(self.counts, row(logits, k, classes), row(labels, k, classes), threshold, false);
                    }
                    add_true_negatives(self.counts, rows as u64, false);
                    return Err(e);
                }
            }
            exact += u64::from(count_row(self.counts, x, y, threshold, true));
        }
        self.totals.rows += rows as u64;
        self.totals.exact += exact;
        self.totals.loss_sum += loss_sum;
        Ok(())
    }

    /// The figures so far.
    pub fn report(&self) -> Report {
        report(&self.totals, self.counts)
    }
}

/// Adds `n` to (or, with `add == false`, removes it from) every class's
/// true negatives.
fn add_true_negatives(counts: &mut [ClassCounts], n: u64, add: bool) {
    for c in counts.iter_mut() {
        c.true_neg = if add { c.true_neg.wrapping_add(n) } else { c.true_neg.wrapping_sub(n) };
    }
}

/// Bit `k` set where lane `k` of `m` is set.
fn bits(m: f32x8) -> u32 {
    m.to_bitmask()
}

/// Moves one validated row's cells that are not true negatives out of
/// `true_neg` into their own count (or back, with `add == false`); returns
/// whether the row was predicted exactly right.
fn count_row(counts: &mut [ClassCounts], x: &[f32], y: &[u8], threshold: f32, add: bool) -> bool {
    let thr = f32x8::splat(threshold);
    // +1 to add the row, -1 (mod 2^64) to take it back.
    let d: u64 = if add { 1 } else { u64::MAX };
    let mut wrong = 0u64;
    // 64 cells at a time: their masks are built 8 lanes at a time, then the
    // few cells to move are visited bit by bit (one unpredictable loop exit
    // per 64 cells rather than per 16).
    let mut visit = |base: usize, xs: &[f32; 64], ls: &[u8; 64]| {
        let (mut pred, mut pos, mut ign) = (0u64, 0u64, 0u64);
        let (xc, _) = xs.as_chunks::<8>();
        for (s, x8) in xc.iter().enumerate() {
            pred |= u64::from(bits(f32x8::new(*x8).simd_gt(thr))) << (8 * s);
        }
        let (lc, _) = ls.as_chunks::<16>();
        for (s, l16) in lc.iter().enumerate() {
            let lab = u8x16::new(*l16);
            pos |= u64::from(lab.simd_eq(u8x16::splat(1)).to_bitmask()) << (16 * s);
            ign |= u64::from(lab.simd_eq(u8x16::splat(IGNORE)).to_bitmask()) << (16 * s);
        }
        wrong |= ((pred & !pos) | (!pred & pos)) & !ign;
        let mut todo = pred | pos | ign;
        while todo != 0 {
            let k = todo.trailing_zeros();
            todo &= todo - 1;
            let Some(c) = counts.get_mut(base + k as usize) else { break };
            // Branch-free (predictions and labels are as good as random to
            // the branch predictor): the cell leaves the true negatives and
            // joins at most one of the other counts.
            let valid = u64::from(ign >> k & 1 == 0);
            let (p, q) = ((pred >> k & 1) & valid, (pos >> k & 1) & valid);
            let both = p & q;
            c.true_pos = c.true_pos.wrapping_add(both.wrapping_mul(d));
            c.false_pos = c.false_pos.wrapping_add((p - both).wrapping_mul(d));
            c.false_neg = c.false_neg.wrapping_add((q - both).wrapping_mul(d));
            c.true_neg = c.true_neg.wrapping_sub(d);
        }
    };
    let (xc, xt) = x.as_chunks::<64>();
    let (lc, lt) = y.as_chunks::<64>();
    let mut base = 0;
    for (xs, ls) in xc.iter().zip(lc) {
        visit(base, xs, ls);
        base += 64;
    }
    if !xt.is_empty() {
        let mut xs = [0.0f32; 64];
        let mut ls = [IGNORE; 64];
        xs.iter_mut().zip(xt).for_each(|(to, from)| *to = *from);
        ls.iter_mut().zip(lt).for_each(|(to, from)| *to = *from);
        visit(base, &xs, &ls);
    }
    wrong == 0
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

pub(crate) fn report(t: &EvalTotals, counts: &[ClassCounts]) -> Report {
    if t.rows == 0 {
        return Report::default();
    }
    let mut sum = ClassCounts::default();
    let mut macro_f1 = 0.0f64;
    for c in counts {
        sum.true_pos += c.true_pos;
        sum.false_pos += c.false_pos;
        sum.false_neg += c.false_neg;
        sum.true_neg += c.true_neg;
        macro_f1 += ratio(2 * c.true_pos, 2 * c.true_pos + c.false_pos + c.false_neg);
    }
    let (tp, fp, fneg, tn) = (sum.true_pos, sum.false_pos, sum.false_neg, sum.true_neg);
    Report {
        rows: t.rows,
        mean_loss: (t.loss_sum / t.rows as f64) as f32,
        micro_precision: ratio(tp, tp + fp) as f32,
        micro_recall: ratio(tp, tp + fneg) as f32,
        micro_f1: ratio(2 * tp, 2 * tp + fp + fneg) as f32,
        macro_f1: if counts.is_empty() { 0.0 } else { (macro_f1 / counts.len() as f64) as f32 },
        hamming_loss: ratio(fp + fneg, tp + fp + fneg + tn) as f32,
        subset_accuracy: ratio(t.exact, t.rows) as f32,
    }
}
