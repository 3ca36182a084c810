//! The engine: runs every phase of every variant against every target,
//! `--repeat` rounds of it with the target order rotated between rounds,
//! on the cells `--target` and `--shard` select, and tells an
//! [`Observer`] each step as an [`Event`]. It holds no report: the report
//! builder subscribes and assembles one (see `results::builder`).
//!
//! This is loadline's only async code: tokio orchestrates phases, the
//! phase deadline, stop signals (`signals`: SIGINT, SIGTERM, SIGHUP) and
//! progress ticks, while workers run on OS threads (`worker`, started
//! together behind a `gate`) and never touch the runtime. Every thread is
//! spawned fallibly: one the OS refuses stops the run with
//! [`EngineError::Thread`], never a panic or a hang. The engine never
//! formats text; outputs subscribe through [`Observer`].

pub(crate) mod acks;
mod cache;
pub(crate) mod crash;
pub(crate) mod datadir;
mod drive;
mod error;
pub(crate) mod events;
pub(crate) mod gate;
pub(crate) mod hooks;
mod options;
pub(crate) mod phase;
mod pipelined;
#[cfg(test)]
mod pipelined_tests;
pub(crate) mod pools;
mod run;
pub(crate) mod schedule;
pub(crate) mod select;
mod settle;
pub(crate) mod signals;
pub(crate) mod soak;
mod target;
pub(crate) mod verify;
pub(crate) mod verify_kv;
pub(crate) mod worker;

pub(crate) use datadir::file_name_part;
pub(crate) use error::EngineError;
pub(crate) use events::{Ending, Event, Observer, ObserverError};
pub(crate) use options::RunOptions;
pub(crate) use run::run;
pub(crate) use select::CellFilter;
