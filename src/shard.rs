//! Class shards: a row's classes split across processes (tensor or
//! vocabulary parallelism, as for extreme multi-label output layers).
//!
//! The loss of a row is two log-sum-exps, and their streaming states merge
//! associatively and commutatively, so a sharded batch needs one reduction of
//! 16 bytes per row:
//!
//! 1. each shard computes the partial state of every row over its own classes
//!    ([`shard_states`], [`shard_states_sparse`]);
//! 2. the states are merged element-wise across shards ([`merge_states`]; in
//!    C, `mlcce_shard_merge` is the body of an `MPI_Op` for `MPI_Allreduce`);
//! 3. every shard finishes the losses from the merged states
//!    ([`shard_loss`]) and the gradient of its own classes ([`shard_grad`]),
//!    which is what the whole row would give them.
//!
//! A state is a [`Stream`] (C: `mlcce_stream`, four floats: `neg.shift`,
//! `neg.sum`, `pos.shift`, `pos.sum`). A shard that finds bad data (a label,
//! a non-finite logit, an index) returns the error and writes a *failed*
//! state into every row (`shift` NaN, `sum` minus the status code); a failed
//! state wins every merge (the larger code when both failed), so every
//! shard's [`shard_loss`] and [`shard_grad`] report the error instead of a
//! wrong loss.

use core::marker::PhantomData;

use crate::batch::{self, Csr, row, row_mut};
use crate::kernel::{self, Dense, Isa, Job, Labels, Sparse};
use crate::lse::{Lse, Stream};
use crate::{Error, Reduction, Shape};

/// Where a shard's classes sit in the full row: columns `first ..
/// first + classes` (the shard's [`Shape::classes`]) of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    /// The first class of the shard in the full row.
    pub first: usize,
    /// The number of classes of the full row (over all shards).
    pub total: usize,
}

impl Shard {
    /// Columns `first..` of a row of `total` classes.
    pub const fn new(first: usize, total: usize) -> Self {
        Shard { first, total }
    }
}

/// The failed state of an error (see the module documentation).
fn failed(e: Error) -> Stream {
    let l = Lse::new(f32::NAN, -(e.code() as f32));
    Stream { neg: l, pos: l }
}

/// The error a state stands for: its code if it is a failed state,
/// [`Error::Argument`] if it is not a state this library writes.
fn failure(s: &Stream) -> Option<Error> {
    if s.neg.shift.is_nan() && s.neg.sum < 0.0 {
        return Some(Error::from_code(-s.neg.sum as i32).unwrap_or(Error::Argument));
    }
    s.check().err()
}

/// Merges two states of the same row: associative and commutative, a failure
/// winning (the larger code when both failed).
fn merge_one(a: Stream, b: Stream) -> Stream {
    match (failure(&a), failure(&b)) {
        (Some(x), Some(y)) => failed(if x.code() >= y.code() { x } else { y }),
        (Some(x), None) | (None, Some(x)) => failed(x),
        (None, None) => a.merged(b),
    }
}

/// Every row's state, as a job for the dispatcher (`labels(r)`: row `r`'s).
struct StatesJob<'a, F, L> {
    shape: Shape,
    logits: &'a [f32],
    states: &'a mut [Stream],
    labels: F,
    _l: PhantomData<L>,
}

impl<L: Labels, F: Fn(usize) -> Result<L, Error>> Job for StatesJob<'_, F, L> {
    type Out = Result<(), Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let c = self.shape.classes;
        for (r, out) in self.states.iter_mut().enumerate() {
            *out = kernel::row_state::<S, N>(row(self.logits, r, c), (self.labels)(r)?)?;
        }
        Ok(())
    }
}

/// Computes every row's state; on a data error fills every state with the
/// failure and returns it.
fn states_of<L: Labels>(
    shape: Shape,
    logits: &[f32],
    states: &mut [Stream],
    labels: impl Fn(usize) -> Result<L, Error>,
) -> Result<(), Error> {
    shape.check_len(logits.len())?;
    if states.len() != shape.rows {
        return Err(Error::Shape);
    }
    let result = kernel::run(StatesJob { shape, logits, states: &mut *states, labels, _l: PhantomData });
    if let Err(e) = result {
        states.fill(failed(e));
    }
    result
}

/// The partial state of every row over this shard's classes, dense labels
/// (0, 1 or [`IGNORE`](crate::IGNORE)). `logits` and `labels` are the shard's
/// `shape.rows × shape.classes` columns of the full batch; `states` holds
/// `rows` states. On a data error every state is written as failed (see the
/// module documentation).
pub fn shard_states(shape: Shape, logits: &[f32], labels: &[u8], states: &mut [Stream]) -> Result<(), Error> {
    shape.check_len(labels.len())?;
    states_of(shape, logits, states, |r| Ok(Dense::new(row(labels, r, shape.classes))))
}

/// The positives of row `r` that fall in the shard, validated: the row's
/// list strictly increasing, each `< total` ([`Error::Index`] otherwise).
fn shard_positives<'a>(positives: &Csr<'a>, r: usize, shape: Shape, shard: Shard) -> Result<Sparse<'a>, Error> {
    let p = positives.row(r)?;
    if p.iter().any(|&i| i as usize >= shard.total) || p.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::Index);
    }
    let end = shard.first + shape.classes;
    let (lo, hi) = (p.partition_point(|&i| (i as usize) < shard.first), p.partition_point(|&i| (i as usize) < end));
    Ok(Sparse::new(p.get(lo..hi).unwrap_or(&[]), shard.first))
}

/// Checks a shard against its shape and the CSR offsets.
fn check_shard(shape: Shape, shard: Shard, positives: &Csr<'_>) -> Result<(), Error> {
    match shard.first.checked_add(shape.classes) {
        Some(end) if end <= shard.total => positives.check(shape.rows),
        _ => Err(Error::Shape),
    }
}

/// [`shard_states`] with sparse labels: `positives` lists each row's
/// positive classes over the *full* row (global indices, strictly
/// increasing, each `< shard.total`), as every shard may share one list.
pub fn shard_states_sparse(
    shape: Shape,
    shard: Shard,
    logits: &[f32],
    positives: Csr<'_>,
    states: &mut [Stream],
) -> Result<(), Error> {
    check_shard(shape, shard, &positives)?;
    states_of(shape, logits, states, |r| shard_positives(&positives, r, shape, shard))
}

/// Merges `from` into `into`, element by element (both hold one state per
/// row). Associative and commutative up to rounding, so any reduction tree
/// over the shards gives the same result; a failed state wins.
pub fn merge_states(into: &mut [Stream], from: &[Stream]) -> Result<(), Error> {
    if into.len() != from.len() {
        return Err(Error::Shape);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a = merge_one(*a, *b);
    }
    Ok(())
}

/// The losses of merged states (`out` as in [`loss`](crate::loss)); the
/// error of a failed state if there is one.
pub fn shard_loss(states: &[Stream], reduction: Reduction, out: &mut [f32]) -> Result<(), Error> {
    batch::drive(states.len(), reduction, Some(out), |r, _| match states.get(r) {
        Some(s) => match failure(s) {
            Some(e) => Err(e),
            None => Ok(s.loss_f64()),
        },
        None => Err(Error::Shape),
    })
}

/// Where a shard's gradient goes.
enum Target<'a> {
    /// `(logits, grad)`.
    Apart(&'a [f32], &'a mut [f32]),
    /// The gradient over the logits.
    InPlace(&'a mut [f32]),
}

/// Every row's gradient in the frame of its merged state, as a job for the
/// dispatcher.
struct GradsJob<'a, F, L> {
    classes: usize,
    states: &'a [Stream],
    scale: f32,
    target: Target<'a>,
    labels: F,
    _l: PhantomData<L>,
}

impl<L: Labels, F: Fn(usize) -> Result<L, Error>> Job for GradsJob<'_, F, L> {
    type Out = Result<(), Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        let (c, scale) = (self.classes, self.scale);
        match self.target {
            Target::Apart(x, g) => {
                for (r, &s) in self.states.iter().enumerate() {
                    kernel::row_grad_in_frame::<S, N>(row(x, r, c), (self.labels)(r)?, s, scale, row_mut(g, r, c))?;
                }
            }
            Target::InPlace(buf) => {
                for (r, &s) in self.states.iter().enumerate() {
                    kernel::row_grad_in_frame_in_place::<S, N>(row_mut(buf, r, c), (self.labels)(r)?, s, scale)?;
                }
            }
        }
        Ok(())
    }
}

/// The shared checks of the gradient functions, then the job.
fn grads<L: Labels>(
    shape: Shape,
    states: &[Stream],
    reduction: Reduction,
    target: Target<'_>,
    labels: impl Fn(usize) -> Result<L, Error>,
) -> Result<(), Error> {
    if states.len() != shape.rows {
        return Err(Error::Shape);
    }
    let scale = reduction.grad_scale(shape.rows)?;
    if let Some(e) = states.iter().find_map(failure) {
        return Err(e);
    }
    kernel::run(GradsJob { classes: shape.classes, states, scale, target, labels, _l: PhantomData })
}

/// The gradient of the reduced loss over this shard's classes, from the
/// merged states: `grad` (`rows × classes`, like the shard's logits)
/// receives what the single-process [`loss_grad`](crate::loss_grad) gives
/// these columns.
pub fn shard_grad(
    shape: Shape,
    logits: &[f32],
    labels: &[u8],
    states: &[Stream],
    reduction: Reduction,
    grad: &mut [f32],
) -> Result<(), Error> {
    shape.check_len(logits.len())?;
    shape.check_len(labels.len())?;
    shape.check_len(grad.len())?;
    grads(shape, states, reduction, Target::Apart(logits, grad), |r| Ok(Dense::new(row(labels, r, shape.classes))))
}

/// [`shard_grad`] with the gradient written over the logits.
pub fn shard_grad_in_place(
    shape: Shape,
    logits_then_grad: &mut [f32],
    labels: &[u8],
    states: &[Stream],
    reduction: Reduction,
) -> Result<(), Error> {
    shape.check_len(logits_then_grad.len())?;
    shape.check_len(labels.len())?;
    let target = Target::InPlace(logits_then_grad);
    grads(shape, states, reduction, target, |r| Ok(Dense::new(row(labels, r, shape.classes))))
}

/// [`shard_grad`] with sparse labels (as in [`shard_states_sparse`]).
pub fn shard_grad_sparse(
    shape: Shape,
    shard: Shard,
    logits: &[f32],
    positives: Csr<'_>,
    states: &[Stream],
    reduction: Reduction,
    grad: &mut [f32],
) -> Result<(), Error> {
    check_shard(shape, shard, &positives)?;
    shape.check_len(logits.len())?;
    shape.check_len(grad.len())?;
    grads(shape, states, reduction, Target::Apart(logits, grad), |r| shard_positives(&positives, r, shape, shard))
}

/// [`shard_grad_sparse`] with the gradient written over the logits.
pub fn shard_grad_sparse_in_place(
    shape: Shape,
    shard: Shard,
    logits_then_grad: &mut [f32],
    positives: Csr<'_>,
    states: &[Stream],
    reduction: Reduction,
) -> Result<(), Error> {
    check_shard(shape, shard, &positives)?;
    shape.check_len(logits_then_grad.len())?;
    let target = Target::InPlace(logits_then_grad);
    grads(shape, states, reduction, target, |r| shard_positives(&positives, r, shape, shard))
}
