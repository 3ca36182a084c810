//! [`App`]: loadline's whole command line as a library, with the store
//! kinds of the binary that builds it. `loadline` itself is
//! `App::new().main()`; a binary with its own kinds adds them with
//! [`App::store`].

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::commands::{self, CliError};
use crate::scenario::Loader;
use crate::store::{Registry, StoreKind};

/// The loadline command line (validate, explain, run, payload, schema,
/// completions) over a list of store kinds: the built-in ones and those
/// added with [`App::store`].
///
/// ```no_run
/// # use loadline::store::MemoryKind as MyKind;
/// fn main() {
///     loadline::App::new().name("my-bench").store::<MyKind>().main()
/// }
/// ```
///
/// Everything follows from the kinds: `schema --write` writes a schema
/// whose `targets` accept them (editor completion included), validation
/// checks their configs and capabilities, and crash phases re-execute the
/// running binary, so plug-in kinds are crashed like built-in ones.
#[derive(Debug, Clone)]
pub struct App {
    registry: Registry,
    name: &'static str,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    /// The command line of plain `loadline`: the built-in kinds (`wal`,
    /// `rocksdb`, `memory`).
    pub fn new() -> App {
        App {
            registry: Registry::builtin(),
            name: "loadline",
        }
    }

    /// Adds store kind `K` after those already listed.
    ///
    /// # Panics
    ///
    /// When a kind called [`K::NAME`](StoreKind::NAME) is already listed
    /// (a programming error, found on the first run).
    #[must_use]
    pub fn store<K: StoreKind>(self) -> App {
        let registry = match self.registry.with::<K>() {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        App { registry, ..self }
    }

    /// Names the binary in help, usage and shell completions (default
    /// `loadline`).
    #[must_use]
    pub fn name(self, name: &'static str) -> App {
        App { name, ..self }
    }

    /// The names of the store kinds scenarios can use, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.registry.names()
    }

    /// The scenario JSON Schema (draft 2020-12) with these kinds, as
    /// `schema --write` writes it.
    pub fn schema(&self) -> serde_json::Value {
        crate::scenario::schema::scenario_schema_for(&self.registry)
    }

    /// Parses `args` (the first is the program name), runs the command,
    /// prints its output and errors, and returns the documented exit code
    /// (0 passed, 1 an assertion failed, 2 invalid input, 3 a store or I/O
    /// error, 130 interrupted).
    pub fn run<I, T>(&self, args: I) -> i32
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let cmd = Cli::command().name(self.name).bin_name(self.name);
        let matches = match cmd.try_get_matches_from(args) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return e.exit_code();
            }
        };
        let cli = match Cli::from_arg_matches(&matches) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return e.exit_code();
            }
        };
        let loader = Loader::new(self.registry.clone());
        match commands::dispatch(cli, &loader, self.name) {
            Ok(exit) => exit as i32,
            Err(e) => {
                // Invalid scenarios' diagnostics were printed where they arose.
                if !matches!(e, CliError::Invalid(_)) {
                    let mut msg = format!("error: {e}");
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        // Errors that already say their cause are not
                        // told twice.
                        let cause = s.to_string();
                        if !msg.contains(&cause) {
                            msg.push_str(&format!(": {cause}"));
                        }
                        source = s.source();
                    }
                    commands::eprint_error(&msg);
                }
                e.exit() as i32
            }
        }
    }

    /// Runs the command line of this process and exits with its code.
    pub fn main(self) -> ! {
        let code = self.run(std::env::args_os());
        std::process::exit(code)
    }
}
