//! The shape of a batch and how its rows' losses are reduced.

use crate::Error;

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
