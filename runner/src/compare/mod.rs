//! Results read back and compared: the comparable cells of a run
//! (`cells`, the one place that knows how rounds are stored), the
//! statistics of a change (`stats`: medians, seeded bootstrap), the
//! comparison of two runs (`diff`), and where runs and named baselines are
//! found on disk (`source`).
//!
//! It does not write files or print (see `report::compare`).

pub mod cells;
pub mod diff;
pub mod source;
pub mod stats;

pub use cells::{CellKey, MetricCell, cells};
pub use diff::{Change, CompareOptions, Comparison, Status, Thresholds, compare};
pub use source::{BaselineStore, SourceError};
