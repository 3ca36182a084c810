//! The `loadline` binary: parses the command line, calls the library, prints
//! the error chain and maps the result to a documented exit code.

use clap::Parser;
use loadline::cli::Cli;
use loadline::commands::{self, CliError};

fn main() {
    let cli = Cli::parse();
    let code = match commands::dispatch(cli) {
        Ok(exit) => exit as i32,
        Err(e) => {
            match &e {
                // Diagnostics were printed where they arose.
                CliError::Invalid(_) => {}
                other => {
                    let mut msg = format!("error: {other}");
                    let mut source = std::error::Error::source(other);
                    while let Some(s) = source {
                        msg.push_str(&format!(": {s}"));
                        source = s.source();
                    }
                    commands::eprint_error(&msg);
                }
            }
            e.exit() as i32
        }
    };
    std::process::exit(code);
}
