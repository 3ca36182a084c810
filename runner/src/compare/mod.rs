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

pub(crate) mod cells;
pub(crate) mod diff;
pub(crate) mod gate;
pub(crate) mod judge;
pub(crate) mod source;
pub(crate) mod stats;

pub(crate) use cells::{CellKey, cells};
pub(crate) use diff::{CompareOptions, Comparison, Thresholds, Verdict, compare};
pub(crate) use gate::{Gate, GateSpec};
pub(crate) use source::{BaselineStore, SourceError};
pub(crate) use stats::Design;
