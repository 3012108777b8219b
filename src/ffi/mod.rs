//! The C API: `extern "C"` functions, status codes, and the checks that turn
//! raw pointers into slices. No math lives here: every function validates its
//! arguments, builds slices, calls the safe Rust API and maps the result
//! (one short row of the dense entries: the kernel's short path, through
//! the dispatcher, `short.rs`).
//!
//! Conventions (see README "Conventions"):
//! * every fallible function returns a status code; nothing panics;
//! * a pointer may be NULL only where it addresses 0 elements (`loss_out`
//!   of the `_grad` functions may always be NULL);
//! * argument errors (NULL, shape, argument) are found before anything is
//!   written; on a data error scalar outputs are not written;
//! * `grad` may be exactly `logits` (in place); any other overlap of an
//!   output with an input or another output is `MLCCE_ERR_ARGUMENT`.

// The contract of each function is stated in plain text in its doc
// comment, which cbindgen copies into the C header (a "# Safety" heading
// would read as noise there).
#![allow(clippy::missing_safety_doc)]

mod dense;
mod edge;
mod eval;
mod layout;
mod shard;
mod short;
mod soft;
mod sparse;
mod status;

pub use dense::*;
pub use eval::*;
pub use shard::*;
pub use soft::*;
pub use sparse::*;
pub use status::*;
