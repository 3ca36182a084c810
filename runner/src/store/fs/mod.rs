//! The file-system seam of the stores that keep files: every file and
//! directory operation goes through [`Io`] and [`IoFile`], so tests and the
//! engine's simulated power loss can replace the file system ([`SimFs`]).

mod sim;

#[cfg(test)]
pub(crate) use sim::FaultyIo;
pub use sim::SimFs;
pub(crate) use sim::{Io, IoFile, OpenMode, RealIo, read_exact_at, write_all_at, write_zeros};
