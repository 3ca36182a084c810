//! Results as data: the report builder that assembles a `RunReport` from
//! the engine's events, folds `--repeat` rounds into medians with their
//! spread, picks a shard's cells, and merges run directories (`merge`).
//!
//! It owns how a report is put together, not how it is measured (the
//! engine and `metrics`) or written (`report`).

pub mod builder;
pub mod fold;
pub mod judge;
pub mod merge;
pub mod shard;
pub mod stats;
