//! loadline's one integration test binary: a module per area.

mod architecture;
mod charts;
mod cli;
mod compare;
mod conform;
mod crash;
mod crash_hooks;
mod docs;
mod editor;
mod external;
mod fixtures;
mod gfm;
mod junit;
mod limits;
mod out_of_process;
mod outputs;
mod payload;
mod prometheus;
mod resp;
mod results;
mod run;
mod run_json;
mod safety;
mod schema;
mod seeds;
mod settle;
mod signals;
mod soak;
mod timeline;
mod tools;
mod trends;

use std::path::{Path, PathBuf};

/// `loadline run scenarios/quickstart.yaml --quiet --target mem` from the
/// repository root: the quick real run the output tests inspect (add
/// `--phase`, `--set`, `--out`).
pub fn quickstart_on_memory() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root()).args([
        "run",
        "scenarios/quickstart.yaml",
        "--quiet",
        "--target",
        "mem",
    ]);
    cmd
}

/// The repository root (the workspace around `runner/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ has a parent")
        .to_path_buf()
}

/// The `.yaml` files directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The schema a scenario's modeline names, resolved against its directory.
pub fn modeline_schema(file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(file).ok()?;
    let rel = text
        .lines()
        .next()?
        .strip_prefix("# yaml-language-server: $schema=")?;
    let dir = file.parent()?;
    std::fs::canonicalize(dir.join(rel.trim())).ok()
}

/// True when the scenario's modeline names plain loadline's schema (the
/// others use kinds of a binary built on loadline, e.g. `loadline-stores`).
fn for_plain_loadline(file: &Path) -> bool {
    let root = std::fs::canonicalize(repo_root().join("schemas/scenario.schema.json")).ok();
    modeline_schema(file).is_none() || modeline_schema(file) == root
}

/// Every shipped scenario for plain `loadline`: the `.yaml` files under
/// `scenarios/` and `examples/` (except `examples/ci/` and `examples/k8s/`,
/// which hold CI workflows and Kubernetes manifests) whose modeline names `schemas/scenario.schema.json`.
pub fn shipped_scenarios() -> Vec<PathBuf> {
    all_scenarios()
        .into_iter()
        .filter(|f| for_plain_loadline(f))
        .collect()
}

/// Every shipped scenario for a binary with plug-in store kinds: its
/// modeline names that binary's schema (`examples/stores/schemas/`).
pub fn plug_in_scenarios() -> Vec<PathBuf> {
    all_scenarios()
        .into_iter()
        .filter(|f| !for_plain_loadline(f))
        .collect()
}

fn all_scenarios() -> Vec<PathBuf> {
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
                    if !p.ends_with("examples/ci") && !p.ends_with("examples/k8s") {
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
