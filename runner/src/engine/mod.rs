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

pub mod acks;
mod cache;
pub mod crash;
pub mod datadir;
mod drive;
mod error;
pub mod events;
pub mod gate;
pub mod hooks;
mod options;
pub mod phase;
pub mod pools;
mod run;
pub mod schedule;
pub mod select;
mod settle;
pub mod signals;
pub mod soak;
mod target;
pub mod verify;
pub mod verify_kv;
pub mod worker;

pub(crate) use datadir::file_name_part;
pub use error::EngineError;
pub use events::{Ending, Event, Observer, ObserverError};
pub use options::RunOptions;
pub use run::run;
pub use select::CellFilter;
