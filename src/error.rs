//! The one error type of the safe API, and the one table of its texts (the
//! C API's `mlcce_status_str` reads the same table).

use core::ffi::CStr;
use core::fmt;

/// Why a call failed. Every fallible function returns one of these; none of
/// them panics. New kinds may be added in a minor version.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Buffer lengths disagree with the shape, `rows * classes` overflows
    /// `usize`, a mean over zero rows, offsets that decrease or point past
    /// their buffer, or a GlobalPointer length above `max_len`.
    Shape,
    /// A dense label other than 0, 1 or [`IGNORE`](crate::IGNORE); a soft
    /// target that is NaN or outside `[0, 1]`.
    Label,
    /// A NaN or infinite logit in a cell that takes part in the loss.
    NonFinite,
    /// A sparse index `>= classes` or not strictly increasing in its row; a
    /// GlobalPointer span outside its row's valid upper triangle.
    Index,
    /// A parameter value that is not allowed (a NaN threshold, a state that
    /// was never initialised, a gradient buffer that partly overlaps an input).
    Argument,
}

/// The texts of the C status codes 0..=6 (`MLCCE_OK`, then one per
/// [`Error`] in the order of their codes).
const TEXTS: [&CStr; 7] = [
    c"MLCCE_OK: success",
    c"MLCCE_ERR_NULL_POINTER: a pointer addressing at least one element is NULL",
    c"MLCCE_ERR_SHAPE: inconsistent shape or buffer length",
    c"MLCCE_ERR_LABEL: label not 0, 1 or 255 (or soft target outside [0, 1])",
    c"MLCCE_ERR_NON_FINITE: NaN or infinite logit",
    c"MLCCE_ERR_INDEX: index out of range or not strictly increasing",
    c"MLCCE_ERR_ARGUMENT: invalid argument value",
];

/// The text of a code that is none of the above.
const UNKNOWN: &CStr = c"unknown mlcce status";

/// The text of a C status code (unknown codes included).
pub(crate) fn status_text(code: i32) -> &'static CStr {
    usize::try_from(code).ok().and_then(|i| TEXTS.get(i)).copied().unwrap_or(UNKNOWN)
}

impl Error {
    /// The C status code of this error (`MLCCE_ERR_*`).
    pub const fn code(self) -> i32 {
        match self {
            Error::Shape => 2,
            Error::Label => 3,
            Error::NonFinite => 4,
            Error::Index => 5,
            Error::Argument => 6,
        }
    }
}

impl Error {
    /// The error of a C status code (`None` for `MLCCE_OK`, NULL_POINTER and
    /// unknown codes).
    pub(crate) const fn from_code(code: i32) -> Option<Error> {
        match code {
            2 => Some(Error::Shape),
            3 => Some(Error::Label),
            4 => Some(Error::NonFinite),
            5 => Some(Error::Index),
            6 => Some(Error::Argument),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    /// The text after the status name, e.g. "inconsistent shape or buffer length".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = status_text(self.code()).to_str().unwrap_or("");
        f.write_str(text.split_once(": ").map_or(text, |(_, t)| t))
    }
}

impl core::error::Error for Error {}
