//! Two 32-byte registers per row of a block, with the byte operations of
//! the `avx2` or `portable` module.

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
use super::avx2::{Bytes, Threshold};
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
use super::portable::{Bytes, Threshold};
use super::{BlockCounts, HALF, Kinds, Rows};

/// Whether the threshold-0 shortcut is built: where `wide` has SIMD
/// (elsewhere its packs are plain loops, and a second copy of the
/// counting would cost flash for little).
const ZERO_SHORTCUT: bool = cfg!(any(target_feature = "sse2", target_feature = "neon", target_feature = "simd128"));

pub(super) fn count_block(rows: Rows, threshold: f32, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
    if ZERO_SHORTCUT && threshold == 0.0 {
        // The usual threshold: the packs compare with 0 themselves.
        count(rows, Bytes::positive, kinds, wrong)
    } else {
        let thr = Threshold::new(threshold);
        count(rows, |x| thr.above(x), kinds, wrong)
    }
}

/// A block's four running counts over 32 classes.
#[derive(Clone, Copy)]
struct Acc {
    true_pos: Bytes,
    a: Bytes,
    b: Bytes,
    c: Bytes,
}

#[inline(always)]
fn count(rows: Rows, predict: impl Fn(&[f32; HALF]) -> Bytes, kinds: Kinds, wrong: &mut [u8]) -> BlockCounts {
    let zero = Bytes::splat(0);
    let mut acc = [Acc { true_pos: zero, a: zero, b: zero, c: zero }; 2];
    let per_class = |acc: [Acc; 2], counts: &dyn Fn(Acc) -> [Bytes; 4]| -> BlockCounts {
        wide::bytemuck::cast(acc.map(|acc| Bytes::per_class(counts(acc))))
    };
    match kinds {
        Kinds::Hard => {
            // `a`: predicted positive, `b`: positives.
            let n = rows.each(wrong, |x, y| {
                let mut wrong = zero;
                for ((x, y), acc) in x.iter().zip(y).zip(&mut acc) {
                    let (pred, y) = (predict(x), Bytes::load(y));
                    acc.true_pos = acc.true_pos.add(pred.and(y));
                    // A prediction is all ones, i.e. -1: subtracting it
                    // counts one.
                    acc.a = acc.a.sub(pred);
                    acc.b = acc.b.add(y);
                    // `-label` is 0 or all ones, like the prediction.
                    wrong = wrong.or(pred.xor(zero.sub(y)));
                }
                u64::from(wrong.bitmask())
            });
            // Every counted lane is a positive or a negative.
            let rows = Bytes::splat(n);
            per_class(acc, &|Acc { true_pos, a, b, .. }| {
                let (false_pos, neg) = (a.sub(true_pos), rows.sub(b));
                [true_pos, false_pos, b.sub(true_pos), neg.sub(false_pos)]
            })
        }
        Kinds::WithIgnored => {
            // A set lane is all ones, i.e. -1: subtracting it counts one.
            // `a`: false positives, `b`: positives, `c`: negatives.
            let one = Bytes::splat(1);
            rows.each(wrong, |x, y| {
                let mut wrong = zero;
                for ((x, y), acc) in x.iter().zip(y).zip(&mut acc) {
                    let (pred, y) = (predict(x), Bytes::load(y));
                    let (p, n) = (y.eq(one), y.eq(zero));
                    let (false_pos, false_neg) = (pred.and(n), pred.and_not(p));
                    acc.true_pos = acc.true_pos.sub(pred.and(p));
                    acc.a = acc.a.sub(false_pos);
                    acc.b = acc.b.sub(p);
                    acc.c = acc.c.sub(n);
                    wrong = wrong.or(false_pos.or(false_neg));
                }
                u64::from(wrong.bitmask())
            });
            per_class(acc, &|Acc { true_pos, a, b, c }| [true_pos, a, b.sub(true_pos), c.sub(a)])
        }
    }
}
