//! Two 32-byte registers per row of a block, with the byte operations of
//! an instruction set's [`Lanes`] (the `avx2` or `portable` module).
//!
//! Written without closures: this code runs inside the dispatcher's
//! `#[target_feature]` functions, and a closure is compiled as a function of
//! its own, without the features (its intrinsics would become calls).

use super::{BlockCounts, HALF, Kinds, Lanes, RowFn, Rows};

/// Whether the threshold-0 shortcut is built: where `wide` has SIMD
/// (elsewhere its packs are plain loops, and a second copy of the
/// counting would cost flash for little).
const ZERO_SHORTCUT: bool = cfg!(any(target_feature = "sse2", target_feature = "neon", target_feature = "simd128"));

#[inline(always)]
pub(crate) fn count_block<B: Lanes>(rows: Rows, threshold: f32, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
    if ZERO_SHORTCUT && threshold == 0.0 {
        // The usual threshold: the packs compare with 0 themselves.
        count::<B, Positive>(rows, Positive, kinds, wrong)
    } else {
        count::<B, B::Threshold>(rows, B::threshold(threshold), kinds, wrong)
    }
}

/// How 32 logits become predictions (bytes of all ones where positive).
pub(crate) trait Predict<B>: Copy {
    fn predict(self, x: &[f32; HALF]) -> B;
}

/// `logit > 0`.
#[derive(Clone, Copy)]
struct Positive;

impl<B: Lanes> Predict<B> for Positive {
    #[inline(always)]
    fn predict(self, x: &[f32; HALF]) -> B {
        B::positive(x)
    }
}

/// A block's four running counts over 32 classes.
#[derive(Clone, Copy)]
struct Acc<B> {
    true_pos: B,
    a: B,
    b: B,
    c: B,
}

/// Rows whose labels are all 0 or 1. `a`: predicted positive, `b`: positives.
struct Hard<B, P> {
    acc: [Acc<B>; 2],
    predict: P,
}

impl<B: Lanes, P: Predict<B>> RowFn for Hard<B, P> {
    #[inline(always)]
    fn row(&mut self, x: &[[f32; HALF]; 2], y: &[[u8; HALF]; 2]) -> u64 {
        let zero = B::splat(0);
        let mut wrong = zero;
        for ((x, y), acc) in x.iter().zip(y).zip(&mut self.acc) {
            let (pred, y) = (self.predict.predict(x), B::load(y));
            acc.true_pos = acc.true_pos.add(pred.and(y));
            // A prediction is all ones, i.e. -1: subtracting it counts one.
            acc.a = acc.a.sub(pred);
            acc.b = acc.b.add(y);
            // `-label` is 0 or all ones, like the prediction.
            wrong = wrong.or(pred.xor(zero.sub(y)));
        }
        u64::from(wrong.bitmask())
    }
}

/// Rows with ignored labels. A set lane is all ones, i.e. -1: subtracting
/// it counts one. `a`: false positives, `b`: positives, `c`: negatives.
struct WithIgnored<B, P> {
    acc: [Acc<B>; 2],
    predict: P,
}

impl<B: Lanes, P: Predict<B>> RowFn for WithIgnored<B, P> {
    #[inline(always)]
    fn row(&mut self, x: &[[f32; HALF]; 2], y: &[[u8; HALF]; 2]) -> u64 {
        let (zero, one) = (B::splat(0), B::splat(1));
        let mut wrong = zero;
        for ((x, y), acc) in x.iter().zip(y).zip(&mut self.acc) {
            let (pred, y) = (self.predict.predict(x), B::load(y));
            let (p, n) = (y.eq(one), y.eq(zero));
            let (false_pos, false_neg) = (pred.and(n), pred.and_not(p));
            acc.true_pos = acc.true_pos.sub(pred.and(p));
            acc.a = acc.a.sub(false_pos);
            acc.b = acc.b.sub(p);
            acc.c = acc.c.sub(n);
            wrong = wrong.or(false_pos.or(false_neg));
        }
        u64::from(wrong.bitmask())
    }
}

#[inline(always)]
fn count<B: Lanes, P: Predict<B>>(rows: Rows, predict: P, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
    let zero = B::splat(0);
    let acc = [Acc { true_pos: zero, a: zero, b: zero, c: zero }; 2];
    let mut out = [[0; 4]; 2 * HALF];
    let (halves, _) = out.as_chunks_mut::<HALF>();
    match kinds {
        Kinds::Hard => {
            let mut f = Hard { acc, predict };
            let n = rows.each(wrong, &mut f);
            // Every counted lane is a positive or a negative.
            let rows = B::splat(n);
            for (half, Acc { true_pos, a, b, .. }) in halves.iter_mut().zip(f.acc) {
                let (false_pos, neg) = (a.sub(true_pos), rows.sub(b));
                *half = B::per_class([true_pos, false_pos, b.sub(true_pos), neg.sub(false_pos)]);
            }
        }
        Kinds::WithIgnored => {
            let mut f = WithIgnored { acc, predict };
            rows.each(wrong, &mut f);
            for (half, Acc { true_pos, a, b, c }) in halves.iter_mut().zip(f.acc) {
                *half = B::per_class([true_pos, a, b.sub(true_pos), c.sub(a)]);
            }
        }
    }
    out
}
