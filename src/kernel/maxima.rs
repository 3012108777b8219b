//! The maxima of the shifted path, which also validate a row.

use wide::u8x16;

use super::labels::Labels;
use super::lanes::{self, STEP, V, flip, labels_valid, lane_max, pad};
use crate::Error;

const IGNORE: u8 = crate::IGNORE;

/// The first bad cell of a row, in order (called once a row is known bad).
fn first_error(logits: &[f32], mut labels: impl Labels) -> Error {
    let (xc, xt) = logits.as_chunks::<STEP>();
    let check = |x: &[f32], l: &[u8; STEP]| {
        for (&s, &y) in x.iter().zip(l) {
            match y {
                0 | 1 if !s.is_finite() => return Some(Error::NonFinite),
                0 | 1 | IGNORE => {}
                _ => return Some(Error::Label),
            }
        }
        None
    };
    for x in xc {
        if let Some(e) = check(x, &labels.step()) {
            return e;
        }
    }
    check(xt, &labels.tail(xt.len())).unwrap_or(Error::NonFinite)
}

/// The max of `+s` over negatives and of `-s` over positives, validating
/// labels and the finiteness of every logit that takes part.
#[inline(never)]
pub(crate) fn maxima(logits: &[f32], labels: impl Labels) -> Result<(f32, f32), Error> {
    let neg_inf = V::splat(f32::NEG_INFINITY);
    let mut max_neg = neg_inf;
    let mut max_pos = neg_inf;
    // Stays 0 unless a participating logit is NaN or infinite (`0 · v`).
    let mut poison = V::ZERO;
    let mut label_max = u8x16::ZERO;
    let mut visit = |x: &[f32; STEP], l: &[u8; STEP]| {
        let lab = lanes::bytes(l);
        label_max = label_max.max(lab + u8x16::splat(1));
        let m = lanes::masks(lab);
        let v = flip(lanes::load(x), m);
        max_neg = max_neg.fast_max(m.neg.select(v, neg_inf));
        max_pos = max_pos.fast_max(m.pos.select(v, neg_inf));
        poison += (v * V::ZERO) & (m.neg | m.pos);
    };
    let mut walk = labels.clone();
    let (xc, xt) = logits.as_chunks::<STEP>();
    for x in xc {
        visit(x, &walk.step());
    }
    if !xt.is_empty() {
        visit(&pad(xt), &walk.tail(xt.len()));
    }
    if !labels_valid(label_max) || poison.reduce_add() != 0.0 {
        return Err(first_error(logits, labels));
    }
    Ok((lane_max(max_neg), lane_max(max_pos)))
}
