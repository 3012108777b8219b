//! # mlcce — multi-label categorical cross-entropy, exact and fast
//!
//! For one row of logits `s` and hard labels `y` (0, 1, or [`IGNORE`]):
//!
//! ```text
//! L = log(1 + Σ_{y=0} e^{s}) + log(1 + Σ_{y=1} e^{-s})
//! ```
//!
//! the loss of "softmax + cross-entropy for multi-label" (ZLPR), and of
//! GlobalPointer span extraction. A class is predicted positive when `s > 0`.
//!
//! * `#![no_std]`, no allocation, no global state: every function is a pure
//!   function of its slices and writes only the buffers it is given.
//! * Nothing panics: errors come back as [`Error`].
//! * Explicit SIMD (`wide`, 8 or 16 `f32` lanes) with an `exp` specialised for
//!   the kernels' range, and a scalar `libm` path that is the test oracle.
//! * Exact where the usual `1e12` masking trick is not: huge logits, fp16-scale
//!   values, 100k+ classes, tiny losses (see [`Lse`]).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(test)]
mod accuracy_tests;
mod batch;
mod confusion;
mod dense;
mod error;
mod eval;
#[doc(hidden)]
pub mod ffi;
mod globalpointer;
mod kernel;
mod lse;
#[doc(hidden)]
pub mod scalar;
mod shape;
mod shard;
mod soft;
mod sparse;
mod stream;

pub use batch::Csr;
pub use dense::{loss, loss_grad, loss_grad_in_place, row_loss};
pub use error::Error;
pub use eval::{ClassCounts, EvalTotals, Evaluator, Report, predict};
pub use globalpointer::{GpShape, globalpointer_loss, globalpointer_loss_grad, globalpointer_loss_grad_in_place};
#[doc(hidden)]
pub use kernel::force_level;
pub use kernel::{Level, level};
pub use lse::{Lse, Stream};
pub use shape::{Reduction, Shape};
pub use shard::{
    Shard, merge_states, shard_grad, shard_grad_in_place, shard_grad_sparse, shard_grad_sparse_in_place, shard_loss,
    shard_states, shard_states_sparse,
};
pub use soft::{probabilities, soft_loss, soft_loss_grad, soft_loss_grad_in_place};
pub use sparse::{sparse_loss, sparse_loss_grad, sparse_loss_grad_in_place};

/// The label of a class that takes part in neither sum (gradient 0).
///
/// cbindgen:ignore
pub const IGNORE: u8 = 255;

/// With the `c-panic-handler` feature (for the staticlib / cdylib builds of
/// the C API only): a panic handler that calls a symbol no one defines. A
/// program that links such a build with `--gc-sections` fails to link exactly
/// when some panic is reachable from the functions it uses, which is how the
/// tests prove that none is.
#[cfg(feature = "c-panic-handler")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    unsafe extern "C" {
        fn mlcce_panic_is_reachable_from_the_c_api() -> !;
    }
    // SAFETY: never defined on purpose: referencing it fails the link.
    unsafe { mlcce_panic_is_reachable_from_the_c_api() }
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
