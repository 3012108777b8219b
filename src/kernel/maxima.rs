//! The maxima of the shifted path, which also validate a row.

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
use {
    super::isa::F32s,
    super::labels::Facts,
    super::sums::flip,
    super::{lane_max, pad},
    wide::u8x16,
};

use super::isa::Isa;
use super::labels::Labels;
use crate::Error;

const IGNORE: u8 = crate::IGNORE;

/// The first bad cell of a row, in order (called once a row is known bad).
fn first_error<const N: usize>(logits: &[f32], mut labels: impl Labels) -> Error {
    let (xc, xt) = logits.as_chunks::<N>();
    let check = |x: &[f32], l: &[u8; N]| {
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
    check(xt, &labels.tail::<N>(xt.len())).unwrap_or(Error::NonFinite)
}

/// The max of `+s` over negatives and of `-s` over positives, validating
/// labels and the finiteness of every logit that takes part.
///
/// On MCUs cell by cell in scalar code: the lanes' masks and selects took
/// 184 B of stack at opt-level "z" on Cortex-M4F, the deepest frame of a
/// row of huge logits.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
pub(crate) fn maxima<S: Isa<N>, const N: usize>(logits: &[f32], labels: impl Labels) -> Result<(f32, f32), Error> {
    let (mut max_neg, mut max_pos) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    // Stays 0 unless a participating logit is NaN or infinite (`0 · s`).
    let mut poison = 0.0f32;
    let mut bad = false;
    let mut walk = labels.clone();
    let (xc, xt) = logits.as_chunks::<N>();
    let mut visit = |x: &[f32], l: &[u8; N]| {
        for (&s, &y) in x.iter().zip(l) {
            match y {
                0 => {
                    poison += s * 0.0;
                    if s > max_neg {
                        max_neg = s;
                    }
                }
                1 => {
                    poison += s * 0.0;
                    if -s > max_pos {
                        max_pos = -s;
                    }
                }
                IGNORE => {}
                _ => bad = true,
            }
        }
    };
    for x in xc {
        visit(x, &walk.step::<N>());
    }
    if !xt.is_empty() {
        visit(xt, &walk.tail::<N>(xt.len()));
    }
    if bad || poison != 0.0 {
        return Err(first_error::<N>(logits, labels));
    }
    Ok((max_neg, max_pos))
}

/// The max of `+s` over negatives and of `-s` over positives, validating
/// labels and the finiteness of every logit that takes part.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
pub(crate) fn maxima<S: Isa<N>, const N: usize>(logits: &[f32], labels: impl Labels) -> Result<(f32, f32), Error> {
    let neg_inf = S::V::splat(f32::NEG_INFINITY);
    let mut max_neg = neg_inf;
    let mut max_pos = neg_inf;
    // Stays 0 unless a participating logit is NaN or infinite (`0 · v`).
    let mut poison = S::V::zero();
    let mut seen = u8x16::ZERO;
    // One step (a macro, not a closure: a closure is compiled on its own,
    // without the dispatcher's target features).
    macro_rules! visit {
        ($x:expr, $l:expr) => {{
            let l: &[u8; N] = $l;
            S::see(&mut seen, l);
            let m = S::masks(l);
            let v = flip(S::V::load($x), m);
            max_neg = max_neg.fast_max(m.neg.select(v, neg_inf));
            max_pos = max_pos.fast_max(m.pos.select(v, neg_inf));
            poison += (v * S::V::zero()) & (m.neg | m.pos);
        }};
    }
    let mut walk = labels.clone();
    let (xc, xt) = logits.as_chunks::<N>();
    for x in xc {
        visit!(x, &walk.step::<N>());
    }
    if !xt.is_empty() {
        visit!(&pad(xt), &walk.tail::<N>(xt.len()));
    }
    if !Facts::of_seen(seen).valid || poison.reduce_add() != 0.0 {
        return Err(first_error::<N>(logits, labels));
    }
    Ok((lane_max(max_neg), lane_max(max_pos)))
}
