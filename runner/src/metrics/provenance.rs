//! Where a run's scenario came from, for `run.json`: the SHA-256 of the
//! file's bytes (what `sha256sum FILE` prints, so two runs of the same
//! text can be told apart from two runs of an edited file under the same
//! name) and, when the file sits in a git checkout, the commit checked out
//! there and whether the file differs from it.
//!
//! Owns reading those facts; the [`ScenarioSource`] wire type lives in
//! `report`. Asks `git` (when it is installed) and nothing else; a missing
//! `git` or a file outside a checkout leaves the git fields out.

use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::report::ScenarioSource;

/// The source facts of the scenario file `path`, whose bytes are `bytes`
/// (as read, before `--set` overrides and profiles).
pub(crate) fn scenario_source(path: &Path, bytes: &[u8]) -> ScenarioSource {
    let sha256 = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (git_commit, git_modified) = match git_facts(path) {
        Some((commit, modified)) => (Some(commit), Some(modified)),
        None => (None, None),
    };
    ScenarioSource {
        sha256,
        git_commit,
        git_modified,
    }
}

/// The commit checked out in the repository holding `path`, and whether
/// the file differs from it (modified, or not tracked).
fn git_facts(path: &Path) -> Option<(String, bool)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name()?;
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--verify", "--quiet", "HEAD"])?;
    if commit.is_empty() {
        return None;
    }
    let status = git(&[
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--",
        &name.to_string_lossy(),
    ])?;
    Some((commit, !status.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_of_the_bytes() {
        // FIPS 180-2's "abc" test vector.
        let s = scenario_source(Path::new("/nonexistent/dir/a.yaml"), b"abc");
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            (s.git_commit, s.git_modified),
            (None, None),
            "not in a checkout"
        );
    }
}
