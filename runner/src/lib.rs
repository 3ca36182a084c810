//! loadline: a declarative, scenario-file test runner for storage workloads.
//!
//! A scenario (YAML) declares targets (the stores under test), payloads,
//! phases and assertions; loadline validates it, runs every phase against
//! every target, and writes CSV, JSON, JUnit and Markdown reports; its exit
//! code gates CI. The scenario format is in the book under `docs/`
//! (`docs/src/scenario-format.md`).
//!
//! # Your own store
//!
//! The public API is what a team needs to benchmark its own store with
//! the whole loadline command line:
//!
//! - [`store::Store`] and [`store::Session`]: the data path (opened once
//!   per target; one session per worker thread);
//! - [`store::StoreKind`]: one type naming a kind of store for scenario
//!   files, with its config type, checks, capabilities, statistics and
//!   `open`;
//! - [`App`]: the command line, with your kinds next to the built-in ones;
//! - [`store::conformance`]: the semantics every store must keep, checked
//!   in one call ([`store::conformance::check_kind`]);
//! - [`units`]: human units (`64MiB`, `5ms`) for config fields;
//! - [`serde`] and [`schemars`], re-exported: a kind's config derives
//!   their traits without the plug-in crate depending on them itself
//!   (add `#[serde(crate = "loadline::serde")]` and
//!   `#[schemars(crate = "loadline::schemars")]`).
//!
//! ```no_run
//! use std::path::Path;
//! use loadline::schemars::JsonSchema;
//! use loadline::serde::{Deserialize, Serialize};
//! use loadline::store::{Capabilities, MemoryStore, StatDesc, Store, StoreError, StoreKind};
//!
//! /// Options of the `mine` kind.
//! #[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
//! #[serde(crate = "loadline::serde", deny_unknown_fields, rename_all = "snake_case")]
//! #[schemars(crate = "loadline::schemars")]
//! struct MineConfig {}
//!
//! struct Mine;
//!
//! impl StoreKind for Mine {
//!     const NAME: &'static str = "mine";
//!     const ABOUT: &'static str = "Our store.";
//!     type Config = MineConfig;
//!     fn capabilities(_: &MineConfig) -> Capabilities {
//!         Capabilities { log: true, ..Capabilities::NONE }
//!     }
//!     fn statistics() -> &'static [StatDesc] {
//!         &[]
//!     }
//!     fn open(_: &MineConfig, _: &Path) -> Result<Box<dyn Store>, StoreError> {
//!         Ok(Box::new(MemoryStore::new()))
//!     }
//! }
//!
//! fn main() {
//!     loadline::App::new().name("mine-bench").store::<Mine>().main()
//! }
//! ```
//!
//! Everything else is crate-private. One hidden module, `testing`, hands
//! loadline's own integration tests and benchmarks the few internals they
//! check (scenario loading, the generated schemas, run.json's types); it
//! is not API and may change at any time.

#![warn(unreachable_pub)]

mod app;
pub mod store;
pub mod units;

pub use app::App;
/// schemars, re-exported for store kinds' config types.
pub use schemars;
/// serde, re-exported for store kinds' config types.
pub use serde;

pub(crate) mod assertions;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod compare;
pub(crate) mod engine;
pub(crate) mod metrics;
pub(crate) mod report;
pub(crate) mod results;
pub(crate) mod scenario;
pub(crate) mod workload;

#[doc(hidden)]
pub mod testing;
