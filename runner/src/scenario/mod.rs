//! Scenario files: loading YAML with line and column, checking it against
//! the generated JSON Schema, validating it into checked `model` types, and
//! expanding the matrix into variants.
//!
//! The pipeline ([`load_file`], [`Loader`]) is in `loader`; the wire types
//! in `spec`, the checked ones in `model`.

pub mod budget;
mod check;
mod check_messages;
pub mod diagnostic;
pub mod load;
mod loader;
pub mod matrix;
pub mod model;
mod overrides;
mod repair;
pub mod schema;
pub mod schema_doc;
pub mod spec;
mod spec_settle;
mod validate;
pub mod yaml;

pub use crate::units;

#[cfg(test)]
pub(crate) use loader::test_variants;
pub use loader::{Loaded, Loader, load_file, load_source};
