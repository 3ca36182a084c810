//! Results read back and compared: the comparable cells of a run
//! (`cells`, the one place that knows how rounds are stored), what a
//! comparison gates on (`gate`: the scenario's `gate:` section and the
//! cells no number of rounds can judge), the statistics of a change
//! (`stats`: exact rank tests, distribution-free intervals, the
//! Benjamini–Hochberg step-up), the judgement of the gated cells together
//! (`judge`), the comparison of two runs and its verdict
//! (`diff`), and where runs and named baselines are found on disk
//! (`source`).
//!
//! It does not write files or print (see `report::compare`).

pub mod cells;
pub mod diff;
pub mod gate;
pub mod judge;
pub mod source;
pub mod stats;

pub use cells::{CellKey, cells};
pub use diff::{CompareOptions, Comparison, Thresholds, Verdict, compare};
pub use gate::{Gate, GateSpec};
pub use source::{BaselineStore, SourceError};
pub use stats::Design;
