//! Measurement: per-worker HDR recorders, counters, process and store
//! statistics, the metric catalog and the serializable `RunReport`.

pub mod actor_metric;
pub mod catalog;
pub mod live;
pub mod live_trends;
pub mod memory;
pub mod phase_metric;
mod phase_report;
pub mod process;
pub mod progress;
pub mod provenance;
pub mod recorder;
pub mod report;
pub mod rollup;
pub mod samples;
pub mod series;
pub mod store_stats;
mod target_report;
pub mod timeline;
pub mod trend;
pub mod unit;
pub mod verdict;
