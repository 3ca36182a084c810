//! What loadline's own integration tests, benchmarks and the example
//! plug-in crate's tests reach inside the library for: loading a scenario
//! as the command line does, the generated schemas and their committed
//! paths, the run.json wire types, and the latency recorder the
//! measurement benchmark times.
//!
//! Not API: hidden from the docs and free to change with any release. A
//! store plug-in needs only [`crate::store`], [`crate::units`] and
//! [`crate::App`].

pub use crate::metrics::recorder::{Recorder, decode as decode_histogram};
pub use crate::metrics::report::{RUN_SCHEMA_PATH, RunReport, VariantReport};
pub use crate::scenario::load::Source;
pub use crate::scenario::schema::{
    SCHEMA_DRAFT07_PATH, SCHEMA_PATH, render as render_schema, scenario_schema,
    scenario_schema_draft07,
};
pub use crate::scenario::schema_doc::{REFERENCE_PATH, reference as schema_reference};
pub use crate::scenario::{load_file, load_source};
