//! Scenario diagnostics: one problem in a scenario file, located by file,
//! line, column and YAML path, with what was expected, what was found and a
//! suggestion; rendered for humans (source line and caret) or as JSON.
//!
//! Owns the [`Diagnostic`] value and its rendering, plus "did you mean"
//! suggestions. Does not decide what is an error: the loader, the schema
//! check and validation do.

use serde::Serialize;
use std::fmt::Write as _;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The scenario cannot run.
    Error,
    /// The scenario runs, but probably not as intended.
    Warning,
}

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The scenario file, as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The YAML path, e.g. `phases[2].actors[0].batch` (empty for the document).
    pub path: String,
    /// What is wrong, lowercase.
    pub message: String,
    /// What was expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// A suggestion, e.g. "did you mean `segment_size`?".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The offending source line (without its newline).
    #[serde(skip)]
    pub source_line: Option<String>,
    /// Width of the caret underline, in characters (at least 1).
    #[serde(skip)]
    pub width: usize,
}

impl Diagnostic {
    /// Renders the diagnostic for a terminal: header, location, source line
    /// with a caret, then the path, expectation, finding and help.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", self.message);
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{}:{}", self.file, self.line, self.column);
        if let Some(src) = &self.source_line {
            // Long lines (minified or generated YAML) show a window around the column.
            const WINDOW: usize = 100;
            let chars: Vec<char> = src
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            let col = self.column.saturating_sub(1);
            let start = if chars.len() > WINDOW && col > WINDOW / 2 {
                col - WINDOW / 2
            } else {
                0
            };
            let end = (start + WINDOW).min(chars.len());
            let mut shown: String = chars[start..end].iter().collect();
            let mut lead = " ".repeat(col - start);
            if start > 0 {
                shown = format!("…{shown}");
                lead.push(' ');
            }
            if end < chars.len() {
                shown.push('…');
            }
            let width = self.width.max(1).min(end.saturating_sub(col).max(1));
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{} | {}", self.line, shown.trim_end());
            let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
        }
        if !self.path.is_empty() {
            let _ = writeln!(out, "{pad} = path: {}", self.path);
        }
        if let Some(e) = &self.expected {
            let _ = writeln!(out, "{pad} = expected: {e}");
        }
        if let Some(f) = &self.found {
            let _ = writeln!(out, "{pad} = found: {f}");
        }
        if let Some(h) = &self.help {
            let _ = writeln!(out, "{pad} = help: {h}");
        }
        out
    }
}

pub(crate) use crate::store::did_you_mean;

/// Formats a list of names as "`a`, `b` or `c`".
pub(crate) fn one_of<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Every diagnostic of one or more files, in source order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Renders all diagnostics, separated by blank lines, with a summary
    /// line per file that has errors (`a.yaml: 2 errors found`), in the
    /// order the files first appear: each count stands next to its own file.
    pub fn render(&self) -> String {
        let mut out: Vec<String> = self.0.iter().map(Diagnostic::render).collect();
        for (file, errors) in self.errors_per_file() {
            out.push(format!(
                "{file}: {errors} error{} found\n",
                if errors == 1 { "" } else { "s" }
            ));
        }
        out.join("\n")
    }

    /// The error count of each file that has errors, in first-seen order.
    fn errors_per_file(&self) -> Vec<(&str, usize)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for d in self.0.iter().filter(|d| d.severity == Severity::Error) {
            match counts.iter_mut().find(|(f, _)| *f == d.file) {
                Some((_, n)) => *n += 1,
                None => counts.push((d.file.as_str(), 1)),
            }
        }
        counts
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["segment_size", "sync", "sync_interval", "preallocate"];
        assert_eq!(did_you_mean("segmnt_size", keys), Some("segment_size"));
        assert_eq!(did_you_mean("sync_intervall", keys), Some("sync_interval"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(
            did_you_mean("apend", ["append", "read", "trim"]),
            Some("append")
        );
    }

    fn diag(file: &str, severity: Severity) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_owned(),
            line: 1,
            column: 1,
            path: String::new(),
            message: "m".to_owned(),
            expected: None,
            found: None,
            help: None,
            source_line: None,
            width: 1,
        }
    }

    /// Regression: `validate ok.yaml bad.yaml` printed the error count next
    /// to the first diagnostic's file (a warning of the valid one).
    #[test]
    fn each_error_count_stands_next_to_its_own_file() {
        let d = Diagnostics(vec![
            diag("ok.yaml", Severity::Warning),
            diag("bad.yaml", Severity::Error),
            diag("bad.yaml", Severity::Error),
            diag("worse.yaml", Severity::Error),
        ]);
        let text = d.render();
        assert!(text.contains("bad.yaml: 2 errors found\n"), "{text}");
        assert!(text.contains("worse.yaml: 1 error found\n"), "{text}");
        assert!(!text.contains("ok.yaml: "), "{text}");
    }

    #[test]
    fn lists_read_naturally() {
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
