//! Where runs come from: a run directory or its `run.json`, or a named
//! baseline kept in a baselines directory (`.loadline/baselines/` by
//! default: `<dir>/<name>/run.json`, which CI can cache or commit).
//!
//! Owns the lookup and the saving of baselines; parsing `run.json` is
//! `RunReport::read`'s.

use std::path::{Path, PathBuf};

use crate::metrics::report::{ReadError, RunReport};

/// The default baselines directory, relative to the working directory.
pub(crate) const DEFAULT_BASELINES_DIR: &str = ".loadline/baselines";

/// A run or baseline could not be found, read or saved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourceError {
    /// Neither a run directory, a `run.json`, nor a saved baseline.
    #[error(
        "{arg}: not a run directory, a run.json or a baseline saved in {} (saved: {})",
        dir.display(),
        if saved.is_empty() { "none".to_owned() } else { saved.join(", ") }
    )]
    NotFound {
        /// What was given.
        arg: String,
        /// The baselines directory searched.
        dir: PathBuf,
        /// The baselines it holds.
        saved: Vec<String>,
    },
    /// A path that exists but holds no `run.json`.
    #[error("{}: a directory without run.json (not a loadline run directory)", path.display())]
    NoRunJson {
        /// The directory.
        path: PathBuf,
    },
    /// `run.json` is unreadable or of another version.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A baseline name that is not one plain path component.
    #[error(
        "baseline name `{name}`: use 1–100 letters, digits, `_`, `-` and `.`, not starting with `.`"
    )]
    BadName {
        /// The name.
        name: String,
    },
    /// Saving failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Save {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads a run: `path` is a run directory (its `run.json` is read) or a
/// `run.json` file.
pub(crate) fn read_run(path: &Path) -> Result<RunReport, SourceError> {
    if path.is_dir() {
        let file = path.join("run.json");
        if !file.is_file() {
            return Err(SourceError::NoRunJson {
                path: path.to_path_buf(),
            });
        }
        return Ok(RunReport::read(&file)?);
    }
    Ok(RunReport::read(path)?)
}

/// A directory of named baselines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaselineStore {
    /// The directory (`<dir>/<name>/run.json`).
    pub dir: PathBuf,
}

fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl BaselineStore {
    /// The store in `dir` (default [`DEFAULT_BASELINES_DIR`]).
    pub(crate) fn new(dir: Option<&Path>) -> BaselineStore {
        BaselineStore {
            dir: dir.map_or_else(|| PathBuf::from(DEFAULT_BASELINES_DIR), Path::to_path_buf),
        }
    }

    /// The `run.json` of baseline `name`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("run.json")
    }

    /// The names of the saved baselines, sorted.
    pub(crate) fn saved(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("run.json").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names
    }

    /// Finds `arg`: an existing run directory or `run.json` first, else a
    /// saved baseline of that name. Returns where it was read and the run.
    pub(crate) fn resolve(&self, arg: &str) -> Result<(PathBuf, RunReport), SourceError> {
        let path = Path::new(arg);
        if path.exists() {
            return Ok((path.to_path_buf(), read_run(path)?));
        }
        if valid_name(arg) {
            let file = self.path(arg);
            if file.is_file() {
                let run = RunReport::read(&file)?;
                return Ok((file, run));
            }
        }
        Err(SourceError::NotFound {
            arg: arg.to_owned(),
            dir: self.dir.clone(),
            saved: self.saved(),
        })
    }

    /// Saves the `run.json` at `run_json` as baseline `name` (replacing
    /// one of that name atomically); returns where it went.
    pub(crate) fn save(&self, name: &str, run_json: &Path) -> Result<PathBuf, SourceError> {
        if !valid_name(name) {
            return Err(SourceError::BadName {
                name: name.to_owned(),
            });
        }
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).map_err(|source| SourceError::Save {
            op: "create",
            path: dir.clone(),
            source,
        })?;
        let bytes = std::fs::read(run_json).map_err(|source| SourceError::Save {
            op: "read",
            path: run_json.to_path_buf(),
            source,
        })?;
        let tmp = dir.join(format!(".run.json.{}", std::process::id()));
        let target = dir.join("run.json");
        std::fs::write(&tmp, bytes).map_err(|source| SourceError::Save {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &target).map_err(|source| SourceError::Save {
            op: "rename into place",
            path: target.clone(),
            source,
        })?;
        Ok(target)
    }

    /// Checks a name before a run, so a bad `--save-baseline` fails before
    /// anything runs.
    pub(crate) fn check_name(name: &str) -> Result<(), SourceError> {
        if valid_name(name) {
            Ok(())
        } else {
            Err(SourceError::BadName {
                name: name.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn baselines_are_saved_by_name_and_found_by_name_or_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run_dir = dir.path().join("run");
        std::fs::create_dir_all(&run_dir).expect("mkdir");
        let json = serde_json::to_string_pretty(&run_report(1)).expect("json");
        std::fs::write(run_dir.join("run.json"), &json).expect("write");
        let store = BaselineStore::new(Some(&dir.path().join("baselines")));
        let saved = store
            .save("main", &run_dir.join("run.json"))
            .expect("saved");
        assert_eq!(std::fs::read_to_string(&saved).expect("read"), json);
        assert_eq!(store.saved(), ["main"]);
        let (from, run) = store.resolve("main").expect("by name");
        assert_eq!(
            (from, run.scenario.as_str()),
            (saved, "wal-vs-rocksdb-append")
        );
        let by_path = run_dir.to_string_lossy().into_owned();
        assert!(store.resolve(&by_path).is_ok(), "a run directory");
        let err = store.resolve("nope").expect_err("missing").to_string();
        assert!(
            err.contains("nope: not a run directory") && err.contains("saved: main"),
            "{err}"
        );
        assert!(matches!(
            store.save("../up", &run_dir.join("run.json")),
            Err(SourceError::BadName { .. })
        ));
        assert!(matches!(
            read_run(dir.path()),
            Err(SourceError::NoRunJson { .. })
        ));
    }
}
