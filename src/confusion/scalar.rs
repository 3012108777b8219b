//! Confusion counting cell by cell, straight into the caller's counts: on
//! targets without SIMD, where `wide`'s byte lanes are plain arrays (byte
//! loops, 4 KB of stack) and a block's counts would be converted and added
//! to the `u64` counts per chunk, which for the one-row updates of
//! firmware costs more than the counting itself.

use crate::eval::ClassCounts;

/// Counts `rows` rows of `logits` and `labels` (validated: 0, 1 or
/// `IGNORE`; `counts.len()` classes each) into `counts`, adding `step`
/// (1, or `u64::MAX` to take a count back) to the one count each cell
/// falls in. Returns the rows predicted exactly right.
#[cfg_attr(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
pub(crate) fn count_cells(counts: &mut [ClassCounts], logits: &[f32], labels: &[u8], threshold: f32, step: u64) -> u64 {
    let classes = counts.len();
    if classes == 0 {
        return 0;
    }
    let mut exact = 0;
    for (x, y) in logits.chunks_exact(classes).zip(labels.chunks_exact(classes)) {
        let mut wrong = false;
        for ((c, &x), &y) in counts.iter_mut().zip(x).zip(y) {
            let pred = x > threshold;
            let count = match (y, pred) {
                (1, true) => &mut c.true_pos,
                (0, true) => &mut c.false_pos,
                (1, false) => &mut c.false_neg,
                (0, false) => &mut c.true_neg,
                _ => continue,
            };
            *count = count.wrapping_add(step);
            wrong |= pred != (y == 1);
        }
        exact += u64::from(!wrong);
    }
    exact
}

#[cfg(test)]
mod tests {
    use super::count_cells;
    use crate::eval::{ClassCounts, Evaluator};

    /// The cell-by-cell counts equal the block counts of the host build's
    /// evaluation, row for row, and taking them back restores zero.
    #[test]
    fn cell_counts_match_the_block_counts() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (rows, classes) in [(1, 1), (3, 7), (5, 64), (17, 100), (70, 131)] {
            let logits: std::vec::Vec<f32> =
                (0..rows * classes).map(|_| (next() % 2001) as f32 / 500.0 - 2.0).collect();
            let labels: std::vec::Vec<u8> =
                (0..rows * classes).map(|_| [0, 0, 1, crate::IGNORE][(next() % 4) as usize]).collect();
            for threshold in [0.0, 0.5] {
                let mut want = std::vec![ClassCounts::default(); classes];
                let mut ev = Evaluator::new(&mut want, threshold).unwrap();
                ev.update(rows, &logits, &labels).unwrap();
                let exact = ev.totals().exact;
                let mut got = std::vec![ClassCounts::default(); classes];
                assert_eq!(count_cells(&mut got, &logits, &labels, threshold, 1), exact, "{rows}x{classes}");
                assert_eq!(got, want, "{rows}x{classes} threshold {threshold}");
                count_cells(&mut got, &logits, &labels, threshold, u64::MAX);
                assert!(got.iter().all(|c| *c == ClassCounts::default()));
            }
        }
    }
}
