//! The file-system seam of the stores that keep files: every file and
//! directory operation the WAL performs goes through [`Io`] and [`IoFile`],
//! so tests and the engine's simulated power loss can replace the file
//! system. It owns no store logic: no formats, no policies.
//!
//! | file | owns |
//! |---|---|
//! | `seam` | the [`Io`] and [`IoFile`] traits and whole-write/read loops |
//! | `real` | [`RealIo`]: `std::fs` plus `fallocate` and `sync_file_range` |
//! | `map` | [`Mapped`]: read-only memory maps of files (`unsafe`: the map) |
//! | `sim` | [`SimFs`]: the simulated file system that loses power |
//! | `faulty` | `FaultyIo` (tests): injected EIO, ENOSPC, short writes |

#[cfg(test)]
mod faulty;
mod map;
mod real;
mod seam;
mod sim;

#[cfg(test)]
pub(crate) use faulty::FaultyIo;
pub(crate) use map::Mapped;
pub(crate) use real::RealIo;
pub(crate) use seam::{Io, IoFile, OpenMode, read_exact_at, write_all_at, write_zeros};
pub use sim::SimFs;
