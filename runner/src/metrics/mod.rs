//! Measurement: per-worker HDR recorders, counters, process and store
//! statistics, and the metric catalog.

pub mod catalog;
