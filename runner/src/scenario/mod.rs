//! Scenario files: loading YAML with line and column, checking it against
//! the generated JSON Schema, validating it into checked `model` types, and
//! expanding the matrix into variants.
//!
//! The pipeline ([`load_file`], [`Loader`]) is in `loader`; the wire types
//! in `spec`, the checked ones in `model`.

pub(crate) mod budget;
mod check;
mod check_messages;
pub(crate) mod diagnostic;
pub(crate) mod load;
mod loader;
pub(crate) mod matrix;
pub(crate) mod model;
mod overrides;
mod repair;
pub(crate) mod schema;
pub(crate) mod schema_doc;
pub(crate) mod spec;
mod spec_settle;
mod validate;
pub(crate) mod yaml;

pub(crate) use crate::units;

#[cfg(test)]
pub(crate) use loader::test_variants;
pub(crate) use loader::{Loaded, Loader};
pub use loader::{load_file, load_source};
