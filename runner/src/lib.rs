//! loadline: a declarative, scenario-file test runner for storage workloads.
//!
//! A scenario (YAML) declares targets, payloads, phases and assertions; this
//! crate validates it, runs every phase against every target, and writes
//! CSV, JSON, JUnit and Markdown reports. See `shared/DESIGN.md` for the
//! architecture and the README for the scenario format.

pub mod assertions;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod store;
pub mod workload;
