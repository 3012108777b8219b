//! Confusion counting cell by cell, straight into the caller's counts, on
//! targets without SIMD (where `wide`'s byte lanes are plain arrays: byte
//! loops, 4 KB of stack, and a block's counts converted and added to the
//! `u64` counts per chunk, which for the one-row updates of firmware costs
//! more than the counting itself): [`StepCounts`], which the loss pass's
//! step adds each cell to, and [`count_cells`], for a row's last partial
//! step and to take counts back. Both predict `logit > threshold` and count
//! only labels 0 and 1, so that one takes back exactly what the other
//! counted, bad rows included.

use crate::eval::ClassCounts;

/// The counts of one step's four classes, which the loss pass's step adds
/// each counted cell to (`kernel::tally`), and whether one of them was
/// predicted wrong.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) struct StepCounts<'a> {
    pub(crate) counts: &'a mut [ClassCounts; 4],
    pub(crate) threshold: f32,
    pub(crate) wrong: bool,
}

/// Adds 1 to a count (wrapping). On RISC-V as two 32-bit halves, the high
/// one only when the low one carries (a load, add and store of one word
/// instead of both words and the carry computed in registers: 43 -> 40
/// instructions per logit of the evaluation on RV32); on Arm as one `u64`
/// (`ldrd`, `adds`, `adc`, `strd`: as few instructions, and measured 2
/// per logit fewer than the halves on Cortex-M4F).
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn bump(count: &mut u64) {
    if cfg!(target_arch = "arm") {
        *count = count.wrapping_add(1);
        return;
    }
    let halves: &mut [u32; 2] = wide::bytemuck::cast_mut(count);
    let (low, high) = if cfg!(target_endian = "little") { (0, 1) } else { (1, 0) };
    halves[low] = halves[low].wrapping_add(1);
    if halves[low] == 0 {
        halves[high] = halves[high].wrapping_add(1);
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
impl crate::kernel::Tally for StepCounts<'_> {
    #[inline(always)]
    fn negative(&mut self, lane: usize, x: f32) {
        if let Some(c) = self.counts.get_mut(lane) {
            if x > self.threshold {
                bump(&mut c.false_pos);
                self.wrong = true;
            } else {
                bump(&mut c.true_neg);
            }
        }
    }
    #[inline(always)]
    fn positive(&mut self, lane: usize, x: f32) {
        if let Some(c) = self.counts.get_mut(lane) {
            if x > self.threshold {
                bump(&mut c.true_pos);
            } else {
                bump(&mut c.false_neg);
                self.wrong = true;
            }
        }
    }
}

/// Counts `rows` rows of `logits` and `labels` (`counts.len()` classes
/// each; labels other than 0 and 1 count nowhere) into `counts`, adding `step`
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
    /// evaluation, row for row, on every sign of threshold and logit, zeros
    /// and extremes included; taking them back restores zero.
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
            // Logits on a grid through 0, and both zeros, subnormals and the
            // extremes.
            let special = [0.0, -0.0, 1e-45, -1e-45, 1e-30, -1e-30, f32::MAX, -f32::MAX, 0.5, -0.5];
            let logits: std::vec::Vec<f32> = (0..rows * classes)
                .map(|_| match next() % 8 {
                    0 => special[(next() % special.len() as u64) as usize],
                    _ => (next() % 2001) as f32 / 500.0 - 2.0,
                })
                .collect();
            let labels: std::vec::Vec<u8> =
                (0..rows * classes).map(|_| [0, 0, 1, crate::IGNORE][(next() % 4) as usize]).collect();
            for threshold in
                [0.0, -0.0, 0.5, -0.5, 1e-45, -1e-45, -1.998, f32::MAX, -f32::MAX, f32::INFINITY, f32::NEG_INFINITY]
            {
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
