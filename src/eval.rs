//! On-device evaluation: predictions, loss and the usual multi-label metrics,
//! accumulated batch by batch with no heap (per-class counts live in a buffer
//! the caller owns).
//!
//! Predictions are `logit > threshold` (0 is the threshold this loss learns).
//! Cells labelled [`IGNORE`](crate::IGNORE) are left out of every count and
//! of the loss.

use core::ops::Range;

use crate::batch::row;
use crate::confusion;
use crate::kernel::{self, Dense, Isa, Job};
use crate::{Error, Shape};
use wide::u64x4;

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
        let chunk = chunk_rows(rows, classes);
        // The rows go in chunks: the loss of each row of a chunk first (which
        // validates them), then the chunk's counts, while it is in cache.
        let mut loss_sum = 0.0f64;
        let mut exact = 0u64;
        let mut first = 0;
        while first < rows {
            let n = (rows - first).min(chunk);
            match kernel::run(ChunkLoss { logits, labels, classes, rows: first..first + n }) {
                Ok(loss) => loss_sum += loss,
                Err(e) => {
                    // All or nothing: take back the chunks already counted.
                    let mut done = 0;
                    while done < first {
                        kernel::run(ChunkCount {
                            counts: &mut *self.counts,
                            logits,
                            labels,
                            rows: done..done + chunk,
                            threshold,
                            sign: Sign::Undo,
                        });
                        done += chunk;
                    }
                    return Err(e);
                }
            }
            exact += kernel::run(ChunkCount {
                counts: &mut *self.counts,
                logits,
                labels,
                rows: first..first + n,
                threshold,
                sign: Sign::Add,
            });
            first += n;
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

/// Rows counted together: about `CHUNK_CELLS` cells (so a chunk read by the
/// loss is still in cache when it is counted), at least `MIN_CHUNK_ROWS`
/// rows (the byte counts are added to the caller's once per chunk) and at
/// most `CHUNK_ROWS`; the batch split evenly.
fn chunk_rows(rows: usize, classes: usize) -> usize {
    let most = (CHUNK_CELLS / classes.max(1)).clamp(MIN_CHUNK_ROWS, CHUNK_ROWS);
    rows.div_ceil(rows.div_ceil(most).max(1)).max(1)
}

/// See [`chunk_rows`].
const CHUNK_CELLS: usize = 64 * 1024;
/// See [`chunk_rows`].
const MIN_CHUNK_ROWS: usize = 16;
/// The most rows in a chunk: the length of the per-row wrong-cell flags, on
/// the stack (64: more measured no faster).
const CHUNK_ROWS: usize = 64;
const _: () = assert!(CHUNK_ROWS <= confusion::MAX_ROWS);

/// Whether [`count_chunk`] adds a chunk's counts or takes them back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Add,
    Undo,
}

/// Counts `rows` (at most [`CHUNK_ROWS`], already validated by the loss)
/// into `counts`, adding them or taking them back; returns how many of them
/// were predicted exactly right.
///
/// The chunk is read a block of classes at a time, each block down the rows
/// (column-major): the block's counts stay in byte lanes over the chunk and
/// reach the caller's `u64` counts once per chunk. Targets without SIMD
/// count cell by cell instead ([`confusion::count_cells`]).
#[inline(always)]
fn count_chunk<B: confusion::Lanes>(
    counts: &mut [ClassCounts],
    logits: &[f32],
    labels: &[u8],
    rows: Range<usize>,
    threshold: f32,
    sign: Sign,
) -> u64 {
    let classes = counts.len();
    let n = rows.len().min(CHUNK_ROWS);
    let cells = rows.start * classes..(rows.start + n) * classes;
    let (Some(xs), Some(ys)) = (logits.get(cells.clone()), labels.get(cells)) else { return 0 };
    if confusion::CELL_BY_CELL {
        let step = if sign == Sign::Add { 1 } else { u64::MAX };
        return confusion::count_cells(counts, xs, ys, threshold, step);
    }
    // Row `r` has a wrongly predicted cell where `wrong[r] != 0`.
    let mut wrong = [0u8; CHUNK_ROWS];
    let kinds = confusion::Kinds::of(ys);
    for (block, counts) in counts.chunks_mut(confusion::BLOCK).enumerate() {
        // A row's last block is read as its last `BLOCK` classes: the lanes
        // before `first` belong to the block before, and are dropped here
        // (their wrong-cell bits are set again, which changes nothing).
        let first = block * confusion::BLOCK;
        let base = first.min(classes.saturating_sub(confusion::BLOCK));
        let b = confusion::count_block::<B>(xs, ys, classes, base, threshold, kinds, &mut wrong);
        let b = b.get(first - base..).unwrap_or(&[]);
        for (c, add) in counts.iter_mut().zip(b) {
            let add = u64x4::new(add.map(u64::from));
            let old = u64x4::new([c.true_pos, c.false_pos, c.false_neg, c.true_neg]);
            // Wrapping: an undo always follows the add it takes back.
            let [true_pos, false_pos, false_neg, true_neg] =
                if sign == Sign::Add { old + add } else { old - add }.to_array();
            *c = ClassCounts { true_pos, false_pos, false_neg, true_neg };
        }
    }
    wrong.iter().take(n).filter(|&&w| w == 0).count() as u64
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

/// [`count_chunk`] as a job for the dispatcher (with the byte lanes of its
/// instruction set).
struct ChunkCount<'a> {
    counts: &'a mut [ClassCounts],
    logits: &'a [f32],
    labels: &'a [u8],
    rows: Range<usize>,
    threshold: f32,
    sign: Sign,
}

impl Job for ChunkCount<'_> {
    type Out = u64;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> u64 {
        count_chunk::<S::Bytes>(self.counts, self.logits, self.labels, self.rows, self.threshold, self.sign)
    }
}

/// The summed losses of a chunk's rows (validating them), as a job for the
/// dispatcher.
struct ChunkLoss<'a> {
    logits: &'a [f32],
    labels: &'a [u8],
    classes: usize,
    rows: Range<usize>,
}

impl Job for ChunkLoss<'_> {
    type Out = Result<f64, Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let (c, mut sum) = (self.classes, 0.0f64);
        for r in self.rows {
            sum += kernel::row_loss::<S, N>(row(self.logits, r, c), Dense::new(row(self.labels, r, c)))?;
        }
        Ok(sum)
    }
}
