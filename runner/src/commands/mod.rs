//! Thin glue between the CLI and the library: one function per subcommand,
//! each returning an [`Exit`] or a [`CliError`] that `main` maps to a
//! documented exit code.

mod ab;
mod compare;
mod conform;
mod console;
mod crash_child;
mod dispatch;
mod exit;
mod explain;
mod merge;
mod new_store;
mod payload;
mod run;
mod schema;
mod subscribers;
mod validate;

pub(crate) use ab::ab;
pub(crate) use compare::compare;
pub(crate) use conform::conform;
pub(crate) use crash_child::crash_child;
pub(crate) use explain::explain;
pub(crate) use merge::merge;
pub(crate) use new_store::new_store;
pub(crate) use payload::payload;
pub(crate) use run::run;
pub(crate) use schema::schema;
pub(crate) use validate::validate;

pub(crate) use console::eprint_error;
pub(crate) use console::{eprint_line, print_diagnostics, print_text, with_profile};
pub(crate) use dispatch::dispatch;
pub(crate) use exit::{CliError, Exit};
