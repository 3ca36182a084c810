//! loadline's one integration test binary: a module per area.

mod cli;
mod crash;
mod fixtures;
mod junit;
mod limits;
mod outputs;
mod payload;
mod run;
mod safety;
mod schema;
mod signals;

use std::path::{Path, PathBuf};

/// The repository root (the workspace around `runner/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ has a parent")
        .to_path_buf()
}

/// Every `.yaml` file under `scenarios/` and `examples/` (except
/// `examples/ci/`, which holds CI workflow files, not scenarios).
pub fn shipped_scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["scenarios", "examples"] {
        let mut stack = vec![repo_root().join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if !p.ends_with("examples/ci") {
                        stack.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}
