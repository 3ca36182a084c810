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

pub use ab::ab;
pub use compare::compare;
pub use conform::conform;
pub use crash_child::crash_child;
pub use explain::explain;
pub use merge::merge;
pub use new_store::new_store;
pub use payload::payload;
pub use run::run;
pub use schema::schema;
pub use validate::validate;

pub use console::eprint_error;
pub(crate) use console::{eprint_line, print_diagnostics, print_text, with_profile};
pub use dispatch::dispatch;
pub use exit::{CliError, Exit};
