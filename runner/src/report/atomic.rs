//! Atomic replacement of a *set* of files — one generation of a run's
//! outputs — so `results.csv`, `run.json` and the others always describe
//! the same phases, also after a SIGKILL or a failed write.
//!
//! [`GenerationWriter`] writes every file of a generation whole into a
//! fresh hidden directory (`.generation-PID-N/`) and syncs it; the
//! generation is then committed by one atomic rename: the symlink
//! `.current` is replaced by one pointing at the new directory, and each
//! output (`results.csv` …) is a symlink to `.current/results.csv`. No
//! reader and no kill can see two generations mixed. When the run ends,
//! the last generation's files are moved over the symlinks (each move
//! swaps a link to generation N for the file of generation N, so the view
//! never changes) and the hidden entries are removed: a finished run
//! leaves plain files. A run killed mid-way leaves the symlinks, which
//! resolve inside the directory (copy or archive it whole). A failed
//! write (disk full) removes the new directory and leaves the previous
//! generation committed.
//!
//! Where symlinks cannot be made (a file system without them), it falls
//! back to [`write_generation`]: temporaries beside the files, renamed
//! over them one after the other, which leaves a window of a few renames
//! between the first and the last file (kept to microseconds, see there).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ReportError;

/// One output file of a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputFile {
    /// Where it goes.
    pub path: PathBuf,
    /// Its whole contents.
    pub contents: Vec<u8>,
}

/// The temporary sibling of `path`: `.name.tmp` in the same directory, so
/// the rename never crosses file systems.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// The second link that keeps `path`'s current file alive across the
/// renames: `.name.old` beside it.
fn old_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.old"))
}

/// Writes `contents` to `tmp` and syncs it (so a power loss after the
/// rename cannot leave an empty file).
fn write_synced(tmp: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(tmp)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Replaces every file of `files` as one generation by renaming synced
/// temporaries over them, in order (the fallback where symlinks cannot be
/// made); returns the bytes written. Creates parent directories when
/// missing.
///
/// The window between two renames (POSIX has no atomic rename of several
/// files) is kept to microseconds by holding a second link to each file
/// being replaced (`.NAME.old`) across the renames: without it, each
/// rename frees the replaced file's blocks, and on ext4 that waits for the
/// journal — the renames took 12 ms (p50) here, about as long as writing
/// the files, and a SIGKILL left `results.csv` a generation ahead of
/// `run.json` in 17 of 60 kills (0 of 60 with the links; 1 of 24 on a
/// machine loaded to 5 runnable threads per core, where a kill can land
/// while the process is preempted between two renames).
///
/// # Errors
/// The first failure, naming the file; every temporary file is removed
/// and no file of the generation has been replaced.
pub(crate) fn write_generation(files: &[OutputFile]) -> Result<u64, ReportError> {
    let mut written: Vec<PathBuf> = Vec::with_capacity(files.len());
    let cleanup = |written: &[PathBuf]| {
        for tmp in written {
            let _ = fs::remove_file(tmp);
        }
    };
    let mut bytes = 0u64;
    for f in files {
        let err = |op, source| ReportError::Write {
            op,
            path: f.path.clone(),
            source,
        };
        if let Some(dir) = f.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = fs::create_dir_all(dir)
        {
            cleanup(&written);
            return Err(ReportError::Write {
                op: "create the output directory",
                path: dir.to_path_buf(),
                source: e,
            });
        }
        let tmp = tmp_path(&f.path);
        // Pushed before writing, so a half-written temporary is removed too.
        written.push(tmp.clone());
        if let Err(e) = write_synced(&tmp, &f.contents) {
            cleanup(&written);
            return Err(err("write", e));
        }
        bytes += f.contents.len() as u64;
    }
    // Best effort: a file system without hard links only loses the speed.
    let mut held: Vec<PathBuf> = Vec::new();
    for f in files {
        let old = old_path(&f.path);
        let _ = fs::remove_file(&old);
        if fs::hard_link(&f.path, &old).is_ok() {
            held.push(old);
        }
    }
    let release = |held: &[PathBuf]| {
        for old in held {
            let _ = fs::remove_file(old);
        }
    };
    for (i, f) in files.iter().enumerate() {
        if let Err(source) = fs::rename(&written[i], &f.path) {
            cleanup(&written[i..]);
            release(&held);
            return Err(ReportError::Write {
                op: "rename into place",
                path: f.path.clone(),
                source,
            });
        }
    }
    // Make the renames themselves durable.
    let mut dirs: Vec<&Path> = files
        .iter()
        .filter_map(|f| f.path.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    dirs.dedup();
    for d in dirs {
        if let Ok(dir) = fs::File::open(d) {
            let _ = dir.sync_all();
        }
    }
    release(&held);
    Ok(bytes)
}

/// The symlink that names the committed generation.
const CURRENT: &str = ".current";
/// The prefix of generation directories.
const GENERATION_PREFIX: &str = ".generation-";

/// Writes the generations of one run directory (see the module docs).
#[derive(Debug)]
pub(crate) struct GenerationWriter {
    /// The run directory every output file lives in.
    dir: PathBuf,
    /// The number of the next generation.
    next: u64,
    /// The committed generation's directory name, once there is one.
    current: Option<String>,
    /// The generation committed before it (kept one generation longer).
    previous: Option<String>,
    /// False once symlinks turned out not to work here: fall back.
    linked: bool,
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl GenerationWriter {
    /// A writer for the run directory `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        GenerationWriter {
            dir: dir.to_path_buf(),
            next: 1,
            current: None,
            previous: None,
            linked: cfg!(unix),
        }
    }

    /// The name of generation `n`'s directory.
    fn generation_name(n: u64) -> String {
        format!("{GENERATION_PREFIX}{}-{n}", std::process::id())
    }

    /// Writes `files` (all in the run directory) as one generation; with
    /// `last`, the run is over and plain files are left. Returns the bytes
    /// written.
    ///
    /// # Errors
    /// The first failure, naming the file; the previous generation stays
    /// committed and nothing of this one is left behind.
    pub(crate) fn write(&mut self, files: &[OutputFile], last: bool) -> Result<u64, ReportError> {
        let in_dir = files
            .iter()
            .all(|f| f.path.parent() == Some(self.dir.as_path()));
        if !self.linked || !in_dir {
            return write_generation(files);
        }
        let err = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Write { op, path, source }
        };
        fs::create_dir_all(&self.dir).map_err(err("create the output directory", &self.dir))?;
        let name = Self::generation_name(self.next);
        self.next += 1;
        let generation = self.dir.join(&name);
        let _ = fs::remove_dir_all(&generation);
        fs::create_dir(&generation).map_err(err("create the generation directory", &generation))?;
        let mut bytes = 0u64;
        for f in files {
            let mut written = write_synced(&generation.join(file_name(&f.path)), &f.contents);
            if written.is_err()
                && let Some(previous) = self.previous.take()
            {
                // Out of space, perhaps: the generation kept for readers
                // is the one thing that may go. Try once more without it.
                let _ = fs::remove_dir_all(self.dir.join(previous));
                written = write_synced(&generation.join(file_name(&f.path)), &f.contents);
            }
            if let Err(e) = written {
                let _ = fs::remove_dir_all(&generation);
                return Err(err("write", &f.path)(e));
            }
            bytes += f.contents.len() as u64;
        }
        sync_dir(&generation);
        match self.commit(&name, files) {
            Ok(()) => {}
            Err(CommitError::NoSymlinks) if self.current.is_none() => {
                // Symlinks do not work here: fall back for this and every
                // later generation.
                let _ = fs::remove_dir_all(&generation);
                self.linked = false;
                return write_generation(files);
            }
            Err(CommitError::NoSymlinks) => {
                let _ = fs::remove_dir_all(&generation);
                return Err(err("link", &self.dir.join(CURRENT))(std::io::Error::other(
                    "symbolic links stopped working",
                )));
            }
            Err(CommitError::Io(path, e)) => {
                let _ = fs::remove_dir_all(&generation);
                return Err(err("commit", &path)(e));
            }
        }
        self.previous = self.current.replace(name.clone());
        if last {
            self.flatten(&name, files)?;
            self.remove_old(false);
        } else {
            self.remove_old(true);
        }
        sync_dir(&self.dir);
        Ok(bytes)
    }

    /// Makes every output a symlink into `.current` if it is not yet, then
    /// points `.current` at generation `name` (one atomic rename).
    #[cfg(unix)]
    fn commit(&self, name: &str, files: &[OutputFile]) -> Result<(), CommitError> {
        use std::os::unix::fs::symlink;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e| CommitError::Io(path, e)
        };
        let tmp = self.dir.join(format!("{CURRENT}.tmp"));
        let _ = fs::remove_file(&tmp);
        if let Err(e) = symlink(name, &tmp) {
            return Err(
                if e.kind() == std::io::ErrorKind::Unsupported
                    || e.raw_os_error() == Some(libc::EPERM)
                    || e.raw_os_error() == Some(libc::EOPNOTSUPP)
                {
                    CommitError::NoSymlinks
                } else {
                    CommitError::Io(tmp, e)
                },
            );
        }
        // Every output becomes a link into `.current` before `.current`
        // names this generation: the first time, the links dangle (the
        // outputs read as absent) until the one rename below makes them
        // all appear at once, so a kill between two links never leaves
        // `results.csv` without `run.json`.
        for f in files {
            let file = file_name(&f.path);
            let target = Path::new(CURRENT).join(&file);
            if fs::read_link(&f.path).is_ok_and(|t| t == target) {
                continue;
            }
            let link = self.dir.join(format!(".{file}.link"));
            let _ = fs::remove_file(&link);
            symlink(&target, &link).map_err(io(&link))?;
            fs::rename(&link, &f.path).map_err(io(&f.path))?;
        }
        let current = self.dir.join(CURRENT);
        fs::rename(&tmp, &current).map_err(io(&current))?;
        Ok(())
    }

    #[cfg(not(unix))]
    fn commit(&self, _name: &str, _files: &[OutputFile]) -> Result<(), CommitError> {
        Err(CommitError::NoSymlinks)
    }

    /// Moves the files of generation `name` over their symlinks (each
    /// rename swaps a link into generation `name` for its own file, so the
    /// view never changes), then drops `.current`.
    fn flatten(&self, name: &str, files: &[OutputFile]) -> Result<(), ReportError> {
        let generation = self.dir.join(name);
        for f in files {
            fs::rename(generation.join(file_name(&f.path)), &f.path).map_err(|source| {
                ReportError::Write {
                    op: "rename into place",
                    path: f.path.clone(),
                    source,
                }
            })?;
        }
        let _ = fs::remove_file(self.dir.join(CURRENT));
        Ok(())
    }

    /// Removes generation directories: with `keep`, all but the committed
    /// one and the one before it (a reader that resolved `.current` a
    /// moment ago may still be opening a file there); else all of them.
    fn remove_old(&self, keep: bool) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !n.starts_with(GENERATION_PREFIX) {
                continue;
            }
            let kept = keep
                && (self.current.as_deref() == Some(n.as_str())
                    || self.previous.as_deref() == Some(n.as_str()));
            if !kept {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Why a commit failed.
enum CommitError {
    /// The file system does not make symlinks.
    NoSymlinks,
    /// Another failure, with the path involved.
    Io(PathBuf, std::io::Error),
}

/// Syncs a directory so the entries made in it are durable (best effort).
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: PathBuf, text: &str) -> OutputFile {
        OutputFile {
            path,
            contents: text.as_bytes().to_vec(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_every_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("sub/a.txt"), dir.path().join("sub/b.txt"));
        write_generation(&[file(a.clone(), "first, longer"), file(b.clone(), "one")]).unwrap();
        let n = write_generation(&[file(a.clone(), "second"), file(b.clone(), "two")]).unwrap();
        assert_eq!(n, 9);
        assert_eq!(fs::read_to_string(&a).unwrap(), "second");
        assert_eq!(fs::read_to_string(&b).unwrap(), "two");
        assert_eq!(names(&dir.path().join("sub")), ["a.txt", "b.txt"]);
    }

    /// Guards issue 18 item 11: when one file of a generation cannot be
    /// written (here the disk is "full": its temporary is `/dev/full`), no
    /// file is replaced — the earlier files of the generation do not run
    /// ahead of the later ones — and no temporary file is left behind.
    #[test]
    fn a_failed_write_replaces_nothing_and_removes_every_temporary() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
        write_generation(&[file(a.clone(), "gen 1"), file(b.clone(), "gen 1")]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/full", tmp_path(&b)).unwrap();
        let err = write_generation(&[file(a.clone(), "gen 2"), file(b.clone(), "gen 2")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot write ") && err.contains("b.json"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(&a).unwrap(),
            "gen 1",
            "a is not ahead of b"
        );
        assert_eq!(fs::read_to_string(&b).unwrap(), "gen 1");
        assert_eq!(names(dir.path()), ["a.csv", "b.json"], "no temporary left");
    }

    fn hidden(dir: &Path) -> Vec<String> {
        names(dir)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// A run killed while its first generation is being linked must not
    /// leave one output readable without the others. The commit is cut
    /// short where a kill could cut it — the second output's link cannot
    /// be made — and, unlike `write`, nothing cleans up after it: the links
    /// are made before `.current` names the generation, so every output is
    /// still absent.
    #[cfg(unix)]
    #[test]
    fn a_first_commit_cut_short_while_linking_shows_no_output_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
        let generation = dir.path().join("gen-1");
        fs::create_dir(&generation).unwrap();
        fs::write(generation.join("a.csv"), "gen 1").unwrap();
        fs::write(generation.join("b.json"), "gen 1").unwrap();
        // A directory where b's link is made: the symlink fails (EEXIST).
        fs::create_dir_all(dir.path().join(".b.json.link/occupied")).unwrap();
        let w = GenerationWriter::new(dir.path());
        let files = [file(a.clone(), "gen 1"), file(b.clone(), "gen 1")];
        assert!(w.commit("gen-1", &files).is_err());
        assert!(
            fs::read_to_string(&a).is_err(),
            "a.csv must not be readable while b.json is absent"
        );
        assert!(fs::read_to_string(&b).is_err());
    }

    /// Guards issue 18 item 11: a generation is committed by one rename,
    /// so every output shows the same generation at every moment; a
    /// finished run leaves plain files and no hidden entries.
    #[cfg(unix)]
    #[test]
    fn linked_generations_switch_at_once_and_the_last_leaves_plain_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
        let mut w = GenerationWriter::new(dir.path());
        for g in 1..=4 {
            let text = format!("gen {g}");
            w.write(&[file(a.clone(), &text), file(b.clone(), &text)], false)
                .unwrap();
            assert!(fs::symlink_metadata(&a).unwrap().file_type().is_symlink());
            assert_eq!(fs::read_to_string(&a).unwrap(), text);
            assert_eq!(fs::read_to_string(&b).unwrap(), text);
            let generations = hidden(dir.path())
                .into_iter()
                .filter(|n| n.starts_with(GENERATION_PREFIX))
                .count();
            assert!(generations <= 2, "gen {g}: {:?}", names(dir.path()));
        }
        w.write(&[file(a.clone(), "last"), file(b.clone(), "last")], true)
            .unwrap();
        assert!(fs::symlink_metadata(&a).unwrap().file_type().is_file());
        assert_eq!(fs::read_to_string(&b).unwrap(), "last");
        assert_eq!(names(dir.path()), ["a.csv", "b.json"]);
    }

    /// Guards issue 18 item 11: a generation that cannot be written (here
    /// a file name the file system refuses) leaves the previous one
    /// committed and nothing of itself.
    #[cfg(unix)]
    #[test]
    fn a_failed_linked_generation_leaves_the_previous_one_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
        let mut w = GenerationWriter::new(dir.path());
        w.write(&[file(a.clone(), "gen 1"), file(b.clone(), "gen 1")], false)
            .unwrap();
        let before = hidden(dir.path());
        let long = dir.path().join("x".repeat(300));
        let err = w
            .write(
                &[
                    file(a.clone(), "gen 2"),
                    file(b.clone(), "gen 2"),
                    file(long, "x"),
                ],
                false,
            )
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot write "), "{err}");
        assert_eq!(fs::read_to_string(&a).unwrap(), "gen 1");
        assert_eq!(fs::read_to_string(&b).unwrap(), "gen 1");
        assert_eq!(
            hidden(dir.path()),
            before,
            "nothing of the failed generation"
        );
    }

    #[test]
    fn errors_name_the_operation_and_the_path() {
        // Guards issue 18 item 15: the error says what failed, not only where.
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let err = write_generation(&[file(blocker.join("out.csv"), "x")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot create the output directory ") && err.contains("/file:"),
            "{err}"
        );
    }
}
