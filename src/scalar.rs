//! The scalar path: one logit at a time through [`Lse::push`](crate::Lse::push) and `libm`.
//!
//! It is the readable statement of the dense loss and the oracle that the
//! SIMD kernels are tested against.

use crate::{Error, IGNORE, Stream};

/// The loss state of one row, computed one logit at a time.
pub fn row_state(logits: &[f32], labels: &[u8]) -> Result<Stream, Error> {
    if logits.len() != labels.len() {
        return Err(Error::Shape);
    }
    let mut state = Stream::EMPTY;
    for (&s, &y) in logits.iter().zip(labels) {
        match y {
            0 | 1 if !s.is_finite() => return Err(Error::NonFinite),
            0 => state.neg = state.neg.push(s),
            1 => state.pos = state.pos.push(-s),
            IGNORE => {}
            _ => return Err(Error::Label),
        }
    }
    Ok(state)
}

/// The loss of one row (scalar path).
pub fn row_loss(logits: &[f32], labels: &[u8]) -> Result<f32, Error> {
    Ok(row_state(logits, labels)?.loss())
}

/// The gradient of one row's loss times `scale`, written to `grad` (scalar
/// path). Returns the row's state.
pub fn row_grad(logits: &[f32], labels: &[u8], scale: f32, grad: &mut [f32]) -> Result<Stream, Error> {
    if grad.len() != logits.len() {
        return Err(Error::Shape);
    }
    let state = row_state(logits, labels)?;
    let (fa, fb) = (state.neg.grad_factor(scale), state.pos.grad_factor(scale));
    for ((g, &s), &y) in grad.iter_mut().zip(logits).zip(labels) {
        *g = match y {
            0 => libm::expf(s - state.neg.shift) * fa,
            1 => -libm::expf(-s - state.pos.shift) * fb,
            _ => 0.0,
        };
    }
    Ok(state)
}
