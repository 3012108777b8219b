//! On-device evaluation: predictions, loss and the usual multi-label metrics,
//! accumulated batch by batch with no heap (per-class counts live in a buffer
//! the caller owns).
//!
//! Predictions are `logit > threshold` (0 is the threshold this loss learns).
//! Cells labelled [`IGNORE`](crate::IGNORE) are left out of every count and
//! of the loss.

use crate::{Error, Shape};
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
use crate::{batch::row, confusion, kernel};

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
mod chunks;

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
        let (loss_sum, exact) = self.add(rows, logits, labels)?;
        self.totals.rows += rows as u64;
        self.totals.exact += exact;
        self.totals.loss_sum += loss_sum;
        Ok(())
    }

    /// Counts `rows` rows into the per-class counts; returns their summed
    /// loss and how many were predicted exactly right. On error nothing
    /// stays counted. SIMD targets: by chunks of rows ([`chunks::add`]).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fn add(&mut self, rows: usize, logits: &[f32], labels: &[u8]) -> Result<(f64, u64), Error> {
        chunks::add(self.counts, &self.totals, rows, logits, labels)
    }

    /// Targets without SIMD: row by row, each row's cells counted inside
    /// its loss pass ([`kernel::row_loss_counted`]).
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    fn add(&mut self, rows: usize, logits: &[f32], labels: &[u8]) -> Result<(f64, u64), Error> {
        let (classes, threshold) = (self.totals.classes, self.totals.threshold);
        let (mut loss_sum, mut exact) = (0.0f64, 0u64);
        for r in 0..rows {
            match kernel::row_loss_counted(row(logits, r, classes), row(labels, r, classes), self.counts, threshold) {
                Ok((loss, right)) => {
                    loss_sum += loss;
                    exact += u64::from(right);
                }
                Err(e) => {
                    // All or nothing: take back the rows already counted
                    // (the failed row took back its own).
                    let cells = ..r * classes;
                    let (Some(x), Some(y)) = (logits.get(cells), labels.get(cells)) else { return Err(e) };
                    confusion::count_cells(self.counts, x, y, threshold, u64::MAX);
                    return Err(e);
                }
            }
        }
        Ok((loss_sum, exact))
    }

    /// The figures so far.
    pub fn report(&self) -> Report {
        report(&self.totals, self.counts)
    }
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
