//! Raw pointers to slices, with every check C callers need.

use core::mem::size_of;

use super::Status;

/// The bytes a buffer of `len` `T`s spans, as an address range.
#[derive(Clone, Copy)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    pub(crate) fn of<T>(ptr: *const T, len: usize) -> Span {
        let start = ptr as usize;
        Span { start, end: start.wrapping_add(len.wrapping_mul(size_of::<T>())) }
    }

    pub(crate) fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Checks a pointer to `len` elements: NULL only if `len == 0`, aligned, and
/// small enough to be a Rust slice.
pub(crate) fn check<T>(ptr: *const T, len: usize) -> Result<(), Status> {
    if len == 0 {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(Status::MLCCE_ERR_NULL_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(Status::MLCCE_ERR_ARGUMENT);
    }
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize && (ptr as usize).checked_add(bytes).is_some() => Ok(()),
        _ => Err(Status::MLCCE_ERR_SHAPE),
    }
}

/// Fails with `MLCCE_ERR_ARGUMENT` if any output overlaps any other buffer.
pub(crate) fn disjoint(outputs: &[Span], inputs: &[Span]) -> Result<(), Status> {
    let mut rest = outputs;
    while let [o, later @ ..] = rest {
        rest = later;
        let clash = inputs.iter().any(|b| o.overlaps(*b)) || later.iter().any(|b| o.overlaps(*b));
        if clash {
            return Err(Status::MLCCE_ERR_ARGUMENT);
        }
    }
    Ok(())
}

/// # Safety
/// `ptr` passed [`check`] for `len`, and addresses `len` readable `T`s that
/// no one writes for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: non-NULL, aligned and at most isize::MAX bytes (checked by
        // `check`); readable and unaliased by writes per this fn's contract.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
/// `ptr` passed [`check`] for `len`, and addresses `len` writable `T`s that
/// no other reference reaches for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: non-NULL, aligned and at most isize::MAX bytes (checked by
        // `check`); exclusive per this fn's contract (callers check overlaps).
        unsafe { core::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// Evaluates a `Result<T, Status>`, returning the status on error.
macro_rules! try_status {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
}
pub(crate) use try_status;
