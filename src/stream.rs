//! One row's two log-sum-exp states: the result of every dense kernel, and a
//! streaming accumulator for logits that arrive chunk by chunk.
//!
//! ```
//! use mlcce::Stream;
//! let logits = [0.9f32, 0.1, 0.8, 0.3];
//! let labels = [1u8, 0, 1, 0];
//! let (mut a, mut b) = (Stream::new(), Stream::new());
//! b.update(&logits[2..], &labels[2..])?;
//! a.update(&logits[..2], &labels[..2])?;
//! a.merge(&b)?;
//! let whole = mlcce::row_loss(&logits, &labels)?;
//! assert!((a.loss() - whole).abs() <= 1e-6 * whole);
//! # Ok::<(), mlcce::Error>(())
//! ```

use crate::kernel::{self, Isa, Job};
use crate::{Error, Stream};

/// A row part's state as a job for the dispatcher.
struct State<'a>(&'a [f32], &'a [u8]);

impl Job for State<'_> {
    type Out = Result<Stream, Error>;
    #[inline(always)]
    fn run<S: Isa<N>, const N: usize>(self) -> Self::Out {
        kernel::row_state::<S, N>(self.0, kernel::Dense::new(self.1))
    }
}

impl Stream {
    /// Appends the next `logits.len()` classes of the row. On error the state
    /// is left exactly as it was.
    pub fn update(&mut self, logits: &[f32], labels: &[u8]) -> Result<(), Error> {
        self.check()?;
        if logits.len() != labels.len() {
            return Err(Error::Shape);
        }
        let part = kernel::run(State(logits, labels))?;
        *self = self.merged(part);
        Ok(())
    }

    /// Adds another, disjoint part of the same row. On error (a state whose
    /// fields were not produced by this library) nothing changes.
    pub fn merge(&mut self, other: &Stream) -> Result<(), Error> {
        self.check()?;
        other.check()?;
        *self = self.merged(*other);
        Ok(())
    }
}
