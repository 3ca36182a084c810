//! Measurement: per-worker HDR recorders, counters, process and store
//! statistics, the metric catalog and the serializable `RunReport`.

pub(crate) mod actor_metric;
pub(crate) mod catalog;
pub(crate) mod live;
pub(crate) mod live_trends;
pub(crate) mod memory;
pub(crate) mod phase_metric;
mod phase_report;
pub(crate) mod process;
pub(crate) mod progress;
pub(crate) mod provenance;
pub(crate) mod recorder;
pub(crate) mod report;
pub(crate) mod rollup;
pub(crate) mod samples;
pub(crate) mod series;
pub(crate) mod store_stats;
mod target_report;
pub(crate) mod timeline;
pub(crate) mod trend;
pub(crate) mod unit;
pub(crate) mod verdict;
