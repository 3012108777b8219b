//! The one error type of the safe API, and the batch reduction.

use core::fmt;

/// Why a call failed. Every fallible function returns one of these; none of
/// them panics.
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Shape => "inconsistent shape or buffer length",
            Error::Label => "label not 0, 1 or 255 (or soft target outside [0, 1])",
            Error::NonFinite => "NaN or infinite logit",
            Error::Index => "index out of range or not strictly increasing",
            Error::Argument => "invalid argument value",
        })
    }
}

impl core::error::Error for Error {}

/// How per-row losses are combined. The gradient is always that of the
/// reduced loss ([`Reduction::None`]: each row's own gradient).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// One loss per row: the output buffer holds `rows` values.
    None,
    /// The mean over rows (an error for zero rows): one value.
    Mean,
    /// The sum over rows: one value.
    Sum,
}

impl Reduction {
    /// The number of output values for `rows` rows.
    pub const fn outputs(self, rows: usize) -> usize {
        match self {
            Reduction::None => rows,
            Reduction::Mean | Reduction::Sum => 1,
        }
    }

    /// The factor applied to each row's gradient.
    pub(crate) fn grad_scale(self, rows: usize) -> Result<f32, Error> {
        match self {
            Reduction::Mean if rows == 0 => Err(Error::Shape),
            Reduction::Mean => Ok((1.0f64 / rows as f64) as f32),
            Reduction::None | Reduction::Sum => Ok(1.0),
        }
    }
}

/// The shape of a batch: `rows` rows of `classes` logits each, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Number of rows (samples).
    pub rows: usize,
    /// Number of classes per row.
    pub classes: usize,
}

impl Shape {
    /// A shape of `rows` rows of `classes` classes.
    pub const fn new(rows: usize, classes: usize) -> Self {
        Shape { rows, classes }
    }

    /// `rows * classes`, or [`Error::Shape`] when it overflows.
    pub const fn cells(self) -> Result<usize, Error> {
        match self.rows.checked_mul(self.classes) {
            Some(n) => Ok(n),
            None => Err(Error::Shape),
        }
    }

    /// Checks that a buffer of `len` elements holds exactly this shape.
    pub(crate) fn check_len(self, len: usize) -> Result<(), Error> {
        if self.cells()? == len { Ok(()) } else { Err(Error::Shape) }
    }
}
