//! Human units: parsed from scenario files (`512B`, `5ms`, `50k/s`, `5M`)
//! and printed for people (`4.0 MiB`, `1.23 ms`, `49.9 k/s`).
//!
//! The bottom layer: imports nothing else of loadline, so every other
//! layer (validation, the engine, every report) may use it.

pub(crate) mod human;
mod text;

pub use text::*;
