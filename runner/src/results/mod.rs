//! Results as data: the report builder that assembles a `RunReport` from
//! the engine's events, folds `--repeat` rounds into medians with their
//! spread, picks a shard's cells, and merges run directories (`merge`).
//!
//! It owns how a report is put together, not how it is measured (the
//! engine and `metrics`) or written (`report`).

pub(crate) mod builder;
pub(crate) mod fold;
pub(crate) mod judge;
pub(crate) mod merge;
pub(crate) mod shard;
pub(crate) mod stack;
pub(crate) mod stats;
