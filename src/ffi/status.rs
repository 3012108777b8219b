//! Status codes, reduction codes, their names, and the library's version.

use core::ffi::c_char;

use crate::{Error, Reduction};

/// The result of every fallible `mlcce_*` function (an `int32_t`-sized enum).
#[repr(i32)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success.
    MLCCE_OK = 0,
    /// A pointer that addresses at least one element is NULL.
    MLCCE_ERR_NULL_POINTER = 1,
    /// `rows * classes` overflows, MEAN over 0 rows, offsets that decrease or
    /// point past their buffer, a GlobalPointer length above `max_len`.
    MLCCE_ERR_SHAPE = 2,
    /// A dense label not 0, 1 or 255; a soft target NaN or outside [0, 1].
    MLCCE_ERR_LABEL = 3,
    /// A NaN or infinite logit in a cell that takes part.
    MLCCE_ERR_NON_FINITE = 4,
    /// A sparse index `>= classes` or not strictly increasing in its row; a
    /// span outside its row's valid upper triangle.
    MLCCE_ERR_INDEX = 5,
    /// An unknown reduction or another bad parameter value (NaN threshold,
    /// misaligned or overlapping buffers, an uninitialised state).
    MLCCE_ERR_ARGUMENT = 6,
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::Shape => Status::MLCCE_ERR_SHAPE,
            Error::Label => Status::MLCCE_ERR_LABEL,
            Error::NonFinite => Status::MLCCE_ERR_NON_FINITE,
            Error::Index => Status::MLCCE_ERR_INDEX,
            Error::Argument => Status::MLCCE_ERR_ARGUMENT,
        }
    }
}

/// Maps a safe-API result to a status.
pub(crate) fn status(r: Result<(), Error>) -> Status {
    match r {
        Ok(()) => Status::MLCCE_OK,
        Err(e) => e.into(),
    }
}

/// Label of a class that takes part in neither sum (gradient 0).
pub const MLCCE_IGNORE: u8 = 255;
/// Reduction: one loss per row (`out` holds `rows` floats).
pub const MLCCE_REDUCTION_NONE: u32 = 0;
/// Reduction: the mean over rows (`out[0]`); MEAN over 0 rows is a shape error.
pub const MLCCE_REDUCTION_MEAN: u32 = 1;
/// Reduction: the sum over rows (`out[0]`).
pub const MLCCE_REDUCTION_SUM: u32 = 2;

/// A reduction code from C.
pub(crate) fn reduction(code: u32) -> Result<Reduction, Status> {
    match code {
        MLCCE_REDUCTION_NONE => Ok(Reduction::None),
        MLCCE_REDUCTION_MEAN => Ok(Reduction::Mean),
        MLCCE_REDUCTION_SUM => Ok(Reduction::Sum),
        _ => Err(Status::MLCCE_ERR_ARGUMENT),
    }
}

/// A static, NUL-terminated description of a status code (unknown codes
/// included). Never NULL; never to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn mlcce_status_str(status: i32) -> *const c_char {
    crate::error::status_text(status).as_ptr()
}

/// The library's version, "MAJOR.MINOR.PATCH" (the header's MLCCE_VERSION
/// is the version a program was compiled against; this is the one it runs
/// with). A static string; never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn mlcce_version() -> *const core::ffi::c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    match core::ffi::CStr::from_bytes_with_nul(V.as_bytes()) {
        Ok(c) => c.as_ptr(),
        Err(_) => c"".as_ptr(),
    }
}
