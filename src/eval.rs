//! On-device evaluation: predictions, loss and the usual multi-label metrics,
//! accumulated batch by batch with no heap (per-class counts live in a buffer
//! the caller owns).
//!
//! Predictions are `logit > threshold` (0 is the threshold this loss learns).
//! Cells labelled [`IGNORE`](crate::IGNORE) are left out of every count and
//! of the loss.

use crate::batch::row;
use crate::kernel::{self, Dense, H, I, STEP, V};
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
        // The rows go in chunks: the loss of each row of a chunk first (which
        // validates them), then the chunk's counts, while it is in cache.
        open_batch(self.counts, rows as u64);
        let mut loss_sum = 0.0f64;
        let mut exact = 0u64;
        let mut first = 0;
        while first < rows {
            let n = (rows - first).min(CHUNK);
            for r in first..first + n {
                match kernel::row_loss(row(logits, r, classes), Dense::new(row(labels, r, classes))) {
                    Ok(loss) => loss_sum += loss,
                    Err(e) => {
                        // All or nothing: take back the chunks already counted.
                        let mut done = 0;
                        while done < first {
                            count_chunk(self.counts, logits, labels, done, CHUNK, threshold, true);
                            done += CHUNK;
                        }
                        undo_open_batch(self.counts, rows as u64);
                        return Err(e);
                    }
                }
            }
            exact += count_chunk(self.counts, logits, labels, first, n, threshold, false);
            first += n;
        }
        close_batch(self.counts);
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

// How the counts are kept up to date.
//
// Between updates every class satisfies `TP + FP + FN + TN = counted cells`.
// During an update only true positives, false positives, false negatives
// and ignored cells are counted; the true negatives are settled per batch:
// `open_batch` adds `rows + (TP + FP + FN)` (the sums before the batch) to
// `TN`, each ignored cell takes 1 off it, and `close_batch` subtracts
// `TP + FP + FN` (the sums after), which leaves `TN += rows - ignored -
// (new TP + FP + FN)`. All in wrapping arithmetic, so the intermediate
// values never matter.

fn open_batch(counts: &mut [ClassCounts], rows: u64) {
    for c in counts.iter_mut() {
        c.true_neg = c.true_neg.wrapping_add(rows).wrapping_add(seen(c));
    }
}

/// Takes back an [`open_batch`] once the batch's counts are taken back too.
fn undo_open_batch(counts: &mut [ClassCounts], rows: u64) {
    for c in counts.iter_mut() {
        c.true_neg = c.true_neg.wrapping_sub(rows).wrapping_sub(seen(c));
    }
}

fn close_batch(counts: &mut [ClassCounts]) {
    for c in counts.iter_mut() {
        c.true_neg = c.true_neg.wrapping_sub(seen(c));
    }
}

/// `TP + FP + FN` of a class.
fn seen(c: &ClassCounts) -> u64 {
    c.true_pos.wrapping_add(c.false_pos).wrapping_add(c.false_neg)
}

/// Rows counted together by [`count_chunk`].
const CHUNK: usize = 32;

/// Per-lane counts of one block of 16 classes over a chunk of rows.
#[derive(Clone, Copy)]
struct LaneCounts {
    true_pos: [I; H],
    false_pos: [I; H],
    false_neg: [I; H],
    ignored: [I; H],
}

/// Adds `1` to each lane where `mask` is set (a set lane is `-1` as `i32`).
#[inline(always)]
fn tally(count: I, mask: V) -> I {
    count - wide::bytemuck::cast::<V, I>(mask)
}

/// The counts of 16 lanes as an array.
#[inline(always)]
fn lanes(v: [I; H]) -> [i32; STEP] {
    wide::bytemuck::cast(v.map(|v| v.to_array()))
}

/// Counts rows `first .. first + n` (`n <= CHUNK`, rows already validated)
/// into `counts`, adding them (or, with `undo`, taking them back); returns
/// how many of them were predicted exactly right.
///
/// The chunk is read block of 16 classes by block, each block down the
/// rows (column-major): the counts of a block stay in vector registers over
/// the chunk, one vector add per count per 16 cells whatever the predictions
/// are, and reach the caller's `u64` counts once per chunk.
fn count_chunk(
    counts: &mut [ClassCounts],
    logits: &[f32],
    labels: &[u8],
    first: usize,
    n: usize,
    threshold: f32,
    undo: bool,
) -> u64 {
    let classes = counts.len();
    let cells = first * classes..(first + n) * classes;
    let (Some(xs), Some(ys)) = (logits.get(cells.clone()), labels.get(cells)) else { return 0 };
    if classes == 0 {
        return n as u64;
    }
    let thr = V::splat(threshold);
    // Bit `k` of `wrong[r]`: cell `k` of some block of row `r` is wrong.
    let mut wrong = [0u32; CHUNK];
    let mut base = 0;
    while base < classes {
        let width = (classes - base).min(STEP);
        let zero = [I::ZERO; H];
        let mut acc = LaneCounts { true_pos: zero, false_pos: zero, false_neg: zero, ignored: zero };
        let rows = xs.chunks_exact(classes).zip(ys.chunks_exact(classes)).zip(wrong.iter_mut());
        for ((xr, yr), w) in rows {
            let (x, y) = block(xr, yr, base, width);
            let masks = kernel::unpack(kernel::bytes(&y));
            let s = kernel::load(&x);
            for h in 0..H {
                let kernel::Masks { neg, pos } = masks[h];
                let valid = neg | pos;
                let pred = s[h].simd_gt(thr) & valid;
                acc.true_pos[h] = tally(acc.true_pos[h], pred & pos);
                acc.false_pos[h] = tally(acc.false_pos[h], pred & neg);
                acc.false_neg[h] = tally(acc.false_neg[h], pos & !pred);
                acc.ignored[h] = tally(acc.ignored[h], !valid);
                *w |= ((pred ^ pos) & valid).to_bitmask();
            }
        }
        if undo {
            let neg = |v: [I; H]| v.map(|v| I::ZERO - v);
            acc = LaneCounts {
                true_pos: neg(acc.true_pos),
                false_pos: neg(acc.false_pos),
                false_neg: neg(acc.false_neg),
                ignored: neg(acc.ignored),
            };
        }
        let (tp, fp, fneg, ign) = (lanes(acc.true_pos), lanes(acc.false_pos), lanes(acc.false_neg), lanes(acc.ignored));
        // Sign-extended and added modulo 2^64: a negative count takes back.
        let wide_add = |to: u64, v: i32| to.wrapping_add(i64::from(v) as u64);
        let lanes = tp.into_iter().zip(fp).zip(fneg).zip(ign);
        for (c, (((tp, fp), fneg), ign)) in counts.iter_mut().skip(base).take(width).zip(lanes) {
            c.true_pos = wide_add(c.true_pos, tp);
            c.false_pos = wide_add(c.false_pos, fp);
            c.false_neg = wide_add(c.false_neg, fneg);
            c.true_neg = wide_add(c.true_neg, -ign);
        }
        base += STEP;
    }
    wrong.iter().take(n).filter(|&&w| w == 0).count() as u64
}

/// Cells `base .. base + 16` of a row (`width` of them real; the rest padded
/// as ignored).
#[inline(always)]
fn block(x: &[f32], y: &[u8], base: usize, width: usize) -> ([f32; STEP], [u8; STEP]) {
    let xb = x.get(base..).unwrap_or(&[]);
    let yb = y.get(base..).unwrap_or(&[]);
    if let (Some(x), Some(y)) = (xb.first_chunk::<STEP>(), yb.first_chunk::<STEP>()) {
        return (*x, *y);
    }
    let (mut xp, mut yp) = ([0.0f32; STEP], [IGNORE; STEP]);
    xp.iter_mut().zip(xb).take(width).for_each(|(to, from)| *to = *from);
    yp.iter_mut().zip(yb).take(width).for_each(|(to, from)| *to = *from);
    (xp, yp)
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
