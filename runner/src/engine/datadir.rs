//! Directories a run owns: each target's data directory and the output
//! directory. loadline deletes only what it created and never shares a
//! directory with another run.
//!
//! A target data directory carries a marker file, [`MARKER`], written when
//! loadline creates (or adopts an empty) directory. The marker is also the
//! directory's lock: the run holds an exclusive `flock` on it for its whole
//! lifetime, with its pid written inside, so a second run on the same
//! directory is refused with the holder's pid instead of deleting a live
//! log. A directory that is not empty and has no marker belongs to someone
//! else and is refused, never deleted. The output directory gets a lock
//! file, [`OUT_LOCK`], the same way.
//!
//! The lock is `flock(2)` (through `std::fs::File::try_lock`): the kernel
//! releases it when the process dies, so a killed run leaves no stale lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Marker (and lock) file in every data directory loadline created.
pub(crate) const MARKER: &str = ".loadline-data";
/// Lock file in a run's output directory.
pub(crate) const OUT_LOCK: &str = ".loadline-lock";

/// A data or output directory that could not be claimed, cleared or removed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirError {
    /// A file-system operation failed.
    #[error("{}: {op}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`create`, `lock`, `remove` …).
        op: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The directory holds files and was not created by loadline.
    #[error(
        "data directory {} is not empty and was not created by loadline (it has no `{MARKER}` marker); \
         loadline deletes only directories it created: choose another --data-dir, or empty or remove this one",
        path.display()
    )]
    Foreign {
        /// The directory.
        path: PathBuf,
    },
    /// Another process holds the directory's lock.
    #[error(
        "{} is in use by another loadline run (pid {pid}); wait for it to finish or choose another directory",
        path.display()
    )]
    Locked {
        /// The directory.
        path: PathBuf,
        /// The holder's pid, as it wrote it (`unknown` if unreadable).
        pid: String,
    },
    /// The path exists and is not a directory.
    #[error("{} exists and is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The data directory is a symbolic link: loadline deletes what is in
    /// a data directory, so it does not follow a link to one.
    #[error(
        "data directory {} is a symbolic link (to {}); loadline deletes what is in a data directory and does not follow links to one: pass the directory it points to",
        path.display(),
        target.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// `--reuse-data` found data of another store kind.
    #[error(
        "data directory {} holds `{found}` data, not `{expected}`: --reuse-data reopens a target's own kept data",
        path.display()
    )]
    KindMismatch {
        /// The directory.
        path: PathBuf,
        /// The target's kind.
        expected: String,
        /// The kind the marker names.
        found: String,
    },
}

/// What a run does with a data directory that already holds loadline data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Delete its contents: every target starts from an empty directory.
    Fresh,
    /// Open what is there (`--reuse-data`).
    Existing,
}

/// A locked data directory owned by this run.
#[derive(Debug)]
pub(crate) struct OwnedDir {
    path: PathBuf,
    /// The open marker file: holding it holds the lock.
    _lock: File,
}

impl OwnedDir {
    /// Creates `path` (or adopts it when empty, or when it carries
    /// loadline's marker), locks it, and, under [`Reuse::Fresh`], deletes
    /// what an earlier run left in it. `kind` is the target's store kind,
    /// recorded in the marker and checked under [`Reuse::Existing`].
    pub(crate) fn claim(path: &Path, kind: &str, reuse: Reuse) -> Result<OwnedDir, DirError> {
        let io = |op, source| DirError::Io {
            path: path.to_path_buf(),
            op,
            source,
        };
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(DirError::Symlink {
                    path: path.to_path_buf(),
                    target: fs::read_link(path).unwrap_or_default(),
                });
            }
            Ok(m) if !m.is_dir() => {
                return Err(DirError::NotADirectory {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(path).map_err(|e| io("create", e))?;
            }
            Err(e) => return Err(io("inspect", e)),
        }
        let marker_path = path.join(MARKER);
        let had_marker = marker_path.exists();
        if !had_marker && !is_empty(path).map_err(|e| io("list", e))? {
            return Err(DirError::Foreign {
                path: path.to_path_buf(),
            });
        }
        let (mut marker, previous) = lock(path, &marker_path)?;
        if reuse == Reuse::Existing
            && had_marker
            && let Some(found) = field(&previous, "kind")
            && found != kind
        {
            return Err(DirError::KindMismatch {
                path: path.to_path_buf(),
                expected: kind.to_owned(),
                found: found.to_owned(),
            });
        }
        let text = format!(
            "loadline data directory: loadline deletes what is in it at the start of a run \
             (unless --reuse-data) and at the end (unless --keep-data or --reuse-data).\n\
             pid: {}\nkind: {kind}\n",
            std::process::id()
        );
        rewrite(&mut marker, &text).map_err(|e| DirError::Io {
            path: marker_path.clone(),
            op: "write",
            source: e,
        })?;
        let owned = OwnedDir {
            path: path.to_path_buf(),
            _lock: marker,
        };
        if reuse == Reuse::Fresh {
            owned.clear()?;
        }
        Ok(owned)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes everything in the directory but its marker.
    pub(crate) fn clear(&self) -> Result<(), DirError> {
        let entries = fs::read_dir(&self.path).map_err(|source| DirError::Io {
            path: self.path.clone(),
            op: "list",
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| DirError::Io {
                path: self.path.clone(),
                op: "list",
                source,
            })?;
            if entry.file_name() == MARKER {
                continue;
            }
            let p = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let removed = if is_dir {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            removed.map_err(|source| DirError::Io {
                path: p,
                op: "remove",
                source,
            })?;
        }
        Ok(())
    }

    /// Deletes the directory with everything in it, releasing the lock.
    pub(crate) fn remove(self) -> Result<(), DirError> {
        self.clear()?;
        let marker = self.path.join(MARKER);
        fs::remove_file(&marker).map_err(|source| DirError::Io {
            path: marker,
            op: "remove",
            source,
        })?;
        fs::remove_dir(&self.path).map_err(|source| DirError::Io {
            path: self.path.clone(),
            op: "remove",
            source,
        })
        // `self._lock` closes here: the lock is released after the
        // directory is gone, so no other run can claim a half-deleted one.
    }
}

/// A locked output directory; the lock lasts as long as the value, and
/// the lock file is removed when it ends, so a finished run directory holds
/// its results only.
#[derive(Debug)]
pub(crate) struct OutLock {
    path: PathBuf,
    _file: File,
}

impl Drop for OutLock {
    fn drop(&mut self) {
        // Unlinked while still locked: a run that opened the file meanwhile
        // finds it unlinked and retries on a new one (see `lock`).
        let _ = fs::remove_file(&self.path);
    }
}

impl OutLock {
    /// Creates `dir` if needed and locks it for this run.
    pub(crate) fn acquire(dir: &Path) -> Result<OutLock, DirError> {
        match fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(DirError::NotADirectory {
                    path: dir.to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(_) => fs::create_dir_all(dir).map_err(|source| DirError::Io {
                path: dir.to_path_buf(),
                op: "create",
                source,
            })?,
        }
        let path = dir.join(OUT_LOCK);
        let (mut file, _) = lock(dir, &path)?;
        rewrite(&mut file, &format!("pid: {}\n", std::process::id())).map_err(|source| {
            DirError::Io {
                path: path.clone(),
                op: "write",
                source,
            }
        })?;
        Ok(OutLock { path, _file: file })
    }
}

/// Opens (creating) `file` and takes its exclusive lock without waiting;
/// returns it with its previous contents. Retries when the file was
/// replaced or unlinked between opening and locking (another run removing
/// its directory), so the lock held is always on the file at `file`.
fn lock(dir: &Path, file: &Path) -> Result<(File, String), DirError> {
    let io = |op, source| DirError::Io {
        path: file.to_path_buf(),
        op,
        source,
    };
    for _ in 0..16 {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(file)
            .map_err(|e| io("open", e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = f.read_to_string(&mut text);
                return Err(DirError::Locked {
                    path: dir.to_path_buf(),
                    pid: field(&text, "pid").unwrap_or("unknown").to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        let held = f.metadata().map_err(|e| io("inspect", e))?;
        match fs::metadata(file) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                let mut text = String::new();
                let _ = f.read_to_string(&mut text);
                return Ok((f, text));
            }
            // Unlinked or replaced after we opened it: try the new file.
            _ => {
                if !dir.exists() {
                    fs::create_dir_all(dir).map_err(|e| io("create", e))?;
                }
            }
        }
    }
    Err(io(
        "lock",
        io::Error::other("the lock file kept being replaced"),
    ))
}

fn rewrite(f: &mut File, text: &str) -> io::Result<()> {
    f.set_len(0)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

/// `value` of a `key: value` line.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

fn is_empty(dir: &Path) -> io::Result<bool> {
    Ok(fs::read_dir(dir)?.next().is_none())
}

/// A file-name part made of `s`: letters, digits, `-` and `_` kept, the
/// rest `_` (target data directories, `.hlog` files).
pub(crate) fn file_name_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn a_foreign_file_in_the_data_dir_survives_and_is_refused() {
        let t = tmp();
        let dir = t.path().join("wal");
        fs::create_dir(&dir).expect("mkdir");
        fs::write(dir.join("thesis.tex"), b"years of work").expect("write");
        let err = OwnedDir::claim(&dir, "wal", Reuse::Fresh).expect_err("foreign");
        assert!(matches!(err, DirError::Foreign { .. }), "{err}");
        assert_eq!(
            fs::read(dir.join("thesis.tex")).expect("still there"),
            b"years of work"
        );
    }

    #[test]
    fn an_empty_or_missing_dir_is_created_and_marked() {
        let (missing, empty) = (tmp(), tmp());
        for dir in [
            missing.path().join("new/nested"),
            empty.path().to_path_buf(),
        ] {
            let owned = OwnedDir::claim(&dir, "memory", Reuse::Fresh).expect("claim");
            let marker = fs::read_to_string(dir.join(MARKER)).expect("marker");
            assert!(marker.contains(&format!("pid: {}", std::process::id())));
            assert!(marker.contains("kind: memory"));
            drop(owned);
        }
    }

    #[test]
    fn a_second_claim_is_refused_with_the_holders_pid() {
        let t = tmp();
        let dir = t.path().join("rocks");
        let first = OwnedDir::claim(&dir, "rocksdb", Reuse::Fresh).expect("claim");
        fs::write(dir.join("000001.sst"), b"live").expect("write");
        let err = OwnedDir::claim(&dir, "rocksdb", Reuse::Fresh).expect_err("locked");
        match &err {
            DirError::Locked { pid, .. } => assert_eq!(pid, &std::process::id().to_string()),
            other => panic!("expected Locked, got {other}"),
        }
        assert!(dir.join("000001.sst").exists(), "the live data survived");
        drop(first);
        // Released: a fresh claim now clears the old run's data.
        let again = OwnedDir::claim(&dir, "rocksdb", Reuse::Fresh).expect("claim");
        assert!(!dir.join("000001.sst").exists());
        assert!(dir.join(MARKER).exists());
        again.remove().expect("remove");
        assert!(!dir.exists());
    }

    #[test]
    fn reuse_keeps_the_data_and_checks_the_kind() {
        let t = tmp();
        let dir = t.path().join("log");
        let owned = OwnedDir::claim(&dir, "wal", Reuse::Fresh).expect("claim");
        fs::write(dir.join("00000001.seg"), b"records").expect("write");
        drop(owned);
        let reused = OwnedDir::claim(&dir, "wal", Reuse::Existing).expect("reuse");
        assert_eq!(
            fs::read(dir.join("00000001.seg")).expect("kept"),
            b"records"
        );
        drop(reused);
        let err = OwnedDir::claim(&dir, "rocksdb", Reuse::Existing).expect_err("kind");
        assert!(matches!(err, DirError::KindMismatch { .. }), "{err}");
    }

    #[test]
    fn a_file_where_the_dir_should_be_is_refused() {
        let t = tmp();
        let p = t.path().join("f");
        fs::write(&p, b"x").expect("write");
        let err = OwnedDir::claim(&p, "wal", Reuse::Fresh).expect_err("file");
        assert!(matches!(err, DirError::NotADirectory { .. }), "{err}");
        assert!(p.exists());
    }

    #[test]
    fn an_output_dir_is_locked_once() {
        let t = tmp();
        let out = t.path().join("out");
        let lock = OutLock::acquire(&out).expect("lock");
        let err = OutLock::acquire(&out).expect_err("second");
        assert!(matches!(err, DirError::Locked { .. }), "{err}");
        drop(lock);
        let again = OutLock::acquire(&out).expect("released");
        drop(again);
        // Guards issue 25: the lock file stayed in finished run directories.
        assert!(!out.join(OUT_LOCK).exists(), "the lock file is removed");
        assert!(out.is_dir(), "the directory stays");
    }

    /// Guards issue 25: a data directory that is a symbolic link said "is
    /// not a directory"; it says it is a link, and names its target.
    #[test]
    fn a_symlinked_data_dir_is_refused_as_a_link() {
        let t = tmp();
        let real = t.path().join("real");
        fs::create_dir(&real).expect("mkdir");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let err = OwnedDir::claim(&link, "wal", Reuse::Fresh).expect_err("link");
        assert!(matches!(err, DirError::Symlink { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("symbolic link") && text.contains("real"),
            "{text}"
        );
    }
}
