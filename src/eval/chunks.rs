//! The evaluation on SIMD targets: rows in chunks, the loss of each row of
//! a chunk first (which validates them), then the chunk's counts by blocks
//! of byte lanes, while it is in cache.

use core::ops::Range;

use super::{ClassCounts, EvalTotals};
use crate::Error;
use crate::batch::row;
use crate::confusion;
use crate::kernel::{self, Dense, Isa, Job};
use wide::u64x4;

/// Counts `rows` rows into `counts`; returns their summed loss and how many
/// were predicted exactly right. On error nothing stays counted.
pub(super) fn add(
    counts: &mut [ClassCounts],
    totals: &EvalTotals,
    rows: usize,
    logits: &[f32],
    labels: &[u8],
) -> Result<(f64, u64), Error> {
    let (classes, threshold) = (totals.classes, totals.threshold);
    let chunk = chunk_rows(rows, classes);
    // Counts (or takes back) the rows of one chunk.
    let mut count = |rows: Range<usize>, sign: Sign| {
        kernel::run(ChunkCount { counts: &mut *counts, logits, labels, rows, threshold, sign })
    };
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
                    count(done..done + chunk, Sign::Undo);
                    done += chunk;
                }
                return Err(e);
            }
        }
        exact += count(first..first + n, Sign::Add);
        first += n;
    }
    Ok((loss_sum, exact))
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
/// reach the caller's `u64` counts once per chunk.
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
