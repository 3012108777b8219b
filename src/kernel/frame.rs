//! The gradient of a row in the frame of a state that covers it: the row's
//! own, or the merge of the states of every shard of a row that this one is
//! a part of (class sharding, see the crate's `shard` module).

use super::sums::Shifts;
use super::{Isa, Labels, Segments, Whole, pass_in_place, pass_store, row_maxima, scale_segments};
use crate::Error;
use crate::lse::{Lse, Stream};

/// The shifts of a state's frame (0 for an empty group).
fn frame_shifts(state: Stream) -> Shifts {
    let shift = |l: Lse| if l.is_empty() { 0.0 } else { l.shift };
    Shifts::new(shift(state.neg), shift(state.pos))
}

/// The gradient (times `scale`) of a row whose loss state is `state`: the
/// row's own, or the merge of the states of every shard of a row that this
/// one is a part of. Each term is `e^{v - shift}` in the state's frame times
/// the state's factor, so a shard's gradient is the one the whole row would
/// give its cells. Validates the row (labels, finiteness) first.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn segments_grad_in_frame<S: Isa<N>, const N: usize>(
    row: &[f32],
    segs: &impl Segments,
    state: Stream,
    scale: f32,
    grad: &mut [f32],
) -> Result<(), Error> {
    row_maxima::<S, N>(row, segs)?;
    pass_store::<S, N, true, _>(row, segs, frame_shifts(state), grad)?;
    scale_segments::<S, N>(grad, segs, state, scale)
}

/// [`segments_grad_in_frame`] with the gradient written over the logits.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn segments_grad_in_frame_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    segs: &impl Segments,
    state: Stream,
    scale: f32,
) -> Result<(), Error> {
    row_maxima::<S, N>(buf, segs)?;
    pass_in_place::<S, N>(buf, segs, frame_shifts(state))?;
    scale_segments::<S, N>(buf, segs, state, scale)
}

/// The gradient of one row in the frame of `state` (see [`segments_grad_in_frame`]).
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_grad_in_frame<S: Isa<N>, const N: usize>(
    logits: &[f32],
    labels: impl Labels,
    state: Stream,
    scale: f32,
    grad: &mut [f32],
) -> Result<(), Error> {
    segments_grad_in_frame::<S, N>(logits, &Whole(logits.len(), labels), state, scale, grad)
}

/// [`row_grad_in_frame`] with the gradient written over the logits.
#[cfg_attr(target_arch = "x86_64", inline(always))]
pub(crate) fn row_grad_in_frame_in_place<S: Isa<N>, const N: usize>(
    buf: &mut [f32],
    labels: impl Labels,
    state: Stream,
    scale: f32,
) -> Result<(), Error> {
    segments_grad_in_frame_in_place::<S, N>(buf, &Whole(buf.len(), labels), state, scale)
}
