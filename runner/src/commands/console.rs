//! What commands print: free text and diagnostics on stdout and stderr,
//! made safe under GitHub Actions (no line runs as a workflow command),
//! and the `--profile`/`--set` override list every command builds.

use std::io::Write;

use crate::scenario::diagnostic::Diagnostics;

/// Text as printed: under GitHub Actions, lines that would run as workflow
/// commands are defused (see [`crate::report::github::neutralize`]).
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if crate::report::github::under_actions() {
        crate::report::github::neutralize(text).into()
    } else {
        text.into()
    }
}

/// Writes free text to stderr; every line of it is safe under Actions.
fn eprint_text(text: &str) {
    let _ = write!(std::io::stderr().lock(), "{}", printable(text));
}

/// `--set` overrides with `--profile NAME` in front (as `profile=NAME`,
/// which the loader applies before every other override).
pub(crate) fn with_profile(overrides: &[String], profile: Option<&str>) -> Vec<String> {
    let mut all: Vec<String> = profile
        .map(|p| format!("profile={p}"))
        .into_iter()
        .collect();
    all.extend(overrides.iter().cloned());
    all
}

/// Prints an error chain line from `main`, safe under Actions.
pub(crate) fn eprint_error(msg: &str) {
    eprint_line(msg);
}

/// Writes one line to stderr (a newline is added), safe under Actions.
pub(crate) fn eprint_line(line: &str) {
    eprint_text(&format!("{line}\n"));
}

/// Writes free text to stdout; every line of it is safe under Actions.
pub(crate) fn print_text(text: &str) {
    let _ = write!(std::io::stdout().lock(), "{}", printable(text));
}

/// Prints diagnostics to stderr, plus GitHub annotations under Actions.
pub(crate) fn print_diagnostics(diags: &Diagnostics) {
    eprint_text(&diags.render());
    if crate::report::github::under_actions() {
        let mut out = std::io::stdout().lock();
        for d in &diags.0 {
            let _ = writeln!(out, "{}", crate::report::github::diagnostic_annotation(d));
        }
    }
}
