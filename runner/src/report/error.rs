//! [`ReportError`]: everything that can go wrong while writing an output.
//! Messages are lowercase and name the file and the cause.

use std::path::PathBuf;

/// A report could not be written (or a custom template not loaded).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    /// Creating, writing or renaming an output file failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Write {
        /// What failed: `create the directory`, `write`, `rename into place` …
        op: &'static str,
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing a CSV row failed.
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// The CSV error.
        source: csv::Error,
    },
    /// Serializing `run.json` failed.
    #[error("cannot write {}: {source}", path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The serde_json error.
        source: serde_json::Error,
    },
    /// Serializing `junit.xml` failed.
    #[error("cannot write {}: {source}", path.display())]
    Junit {
        /// The JUnit file.
        path: PathBuf,
        /// The quick-junit error.
        source: quick_junit::SerializeError,
    },
    /// A `--template` file could not be read.
    #[error("cannot read template {}: {source}", path.display())]
    ReadTemplate {
        /// The template file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template failed to compile or render (syntax error, undefined
    /// variable under strict mode, failing filter). The minijinja error
    /// names the template and line.
    #[error("cannot render {} with template {template}: {source}", path.display())]
    Template {
        /// The output file (or `template` itself when compiling).
        path: PathBuf,
        /// The template's name (`report.md.j2` or the `--template` path).
        template: String,
        /// The minijinja error.
        source: minijinja::Error,
    },
    /// The resolved scenario could not be shown as YAML.
    #[error("cannot render the resolved scenario as yaml for {}: {source}", path.display())]
    Yaml {
        /// The output file.
        path: PathBuf,
        /// The serde_yaml error.
        source: serde_yaml::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw chart {}: {message}", path.display())]
    Chart {
        /// The SVG file.
        path: PathBuf,
        /// plotters' error.
        message: String,
    },
}
