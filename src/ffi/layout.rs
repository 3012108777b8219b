//! The layout of every struct the C header declares, asserted at compile
//! time. The header asserts the same sizes and offsets on the C side (its
//! trailer, in cbindgen.toml), so a Rust and a C build that disagree about a
//! struct fail to compile instead of corrupting memory.

use core::mem::{align_of, offset_of, size_of};

use super::eval::Eval;
use crate::{ClassCounts, EvalTotals, Lse, Report, Stream};

/// `n` rounded up to a multiple of `a`.
const fn round_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

const U64: usize = align_of::<u64>();

const _: () = {
    assert!(size_of::<Lse>() == 8 && offset_of!(Lse, sum) == 4);
    assert!(size_of::<Stream>() == 16 && offset_of!(Stream, pos) == 8);
    assert!(size_of::<ClassCounts>() == 32);
    assert!(offset_of!(ClassCounts, false_pos) == 8);
    assert!(offset_of!(ClassCounts, false_neg) == 16);
    assert!(offset_of!(ClassCounts, true_neg) == 24);
    assert!(offset_of!(EvalTotals, exact) == 8);
    assert!(offset_of!(EvalTotals, loss_sum) == 16);
    assert!(offset_of!(EvalTotals, classes) == 24);
    assert!(offset_of!(EvalTotals, threshold) == 24 + size_of::<usize>());
    assert!(size_of::<EvalTotals>() == round_up(28 + size_of::<usize>(), U64));
    assert!(offset_of!(Eval, per_class) == size_of::<EvalTotals>());
    assert!(size_of::<Eval>() == round_up(size_of::<EvalTotals>() + size_of::<usize>(), U64));
    assert!(offset_of!(Report, mean_loss) == 8);
    assert!(offset_of!(Report, subset_accuracy) == 32);
    assert!(size_of::<Report>() == round_up(36, U64));
};
