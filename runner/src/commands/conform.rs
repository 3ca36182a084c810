//! `loadline conform <scenario>`: the conformance suite
//! ([`run_suite`](crate::store::conformance::run_suite)) run against a
//! scenario's targets as their capabilities allow, then each kind's own
//! rules ([`TargetKind::conformance_rules`]: an `external` plug-in's
//! protocol rules); every check printed and, with `--out`, written to
//! `junit.xml`.
//!
//! The kill -9 checks' child writers are this command again, re-executed
//! with [`CHILD_ENV`] set: the child opens the same target and writes
//! until it is killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{CliError, Exit, eprint_line, print_diagnostics, print_text};
use crate::cli::ConformArgs;
use crate::report::conform::{ConformedTarget, console, junit_xml};
use crate::scenario::Loader;
use crate::scenario::diagnostic::Diagnostics;
use crate::scenario::model::Target;
use crate::store::conformance::{
    CHILD_ENV, CHILD_MODE_ENV, Suite, crash_child_kv_writer, crash_child_writer, run_suite,
};
use crate::store::{SimFs, StoreError};

/// The JUnit file `--out` gets.
const JUNIT_XML: &str = "junit.xml";

/// Checks the scenario's targets; exit 0 when every check passed, 1 when
/// one failed.
pub(crate) fn conform(args: &ConformArgs, loader: &Loader) -> Result<Exit, CliError> {
    let loaded = loader
        .load_file(&args.file, &[])
        .map_err(CliError::Invalid)?;
    if !loaded.warnings.is_empty() {
        print_diagnostics(&Diagnostics(loaded.warnings.clone()));
    }
    let Some(scenario) = loaded.variants.first() else {
        return Err(CliError::Usage("the scenario has no variant".to_owned()));
    };
    let targets: Vec<&Target> = match &args.target {
        None => scenario.targets.iter().collect(),
        Some(name) => {
            let t = scenario
                .targets
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        scenario.targets.iter().map(|t| t.name.as_str()).collect();
                    CliError::Usage(format!(
                        "no target `{name}` in {} (targets: {})",
                        args.file.display(),
                        names.join(", ")
                    ))
                })?;
            vec![t]
        }
    };
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        return child(targets[0], Path::new(&dir));
    }
    let root = std::env::temp_dir().join(format!("loadline-conform-{}", std::process::id()));
    // A broken rule is a check's failure, printed with it: not a second
    // copy from the default panic hook.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut conformed = Vec::new();
    for t in &targets {
        print_text(&format!(
            "conform: target `{}` ({}: {})\n",
            t.name,
            t.kind.name(),
            t.kind.describe()
        ));
        let dir = root.join(&t.name);
        let results = check_target(args, t, &dir);
        let c = ConformedTarget {
            name: t.name.clone(),
            store: format!("{}: {}", t.kind.name(), t.kind.describe()),
            results,
        };
        print_text(&console(&c));
        conformed.push(c);
    }
    std::panic::set_hook(hook);
    let failed = conformed
        .iter()
        .any(|c| c.results.iter().any(|r| !r.passed()));
    if failed {
        eprint_line(&format!(
            "conform: data kept in {} (each target's plugin.log, when it has one)",
            root.display()
        ));
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    if let Some(out) = &args.out {
        write_junit(out, &args.file, &conformed)?;
    }
    Ok(if failed {
        Exit::AssertionFailed
    } else {
        Exit::Ok
    })
}

/// The suite and the kind's rules for one target, in `dir`.
fn check_target(
    args: &ConformArgs,
    t: &Target,
    dir: &Path,
) -> Vec<crate::store::conformance::CheckResult> {
    let kind = &t.kind;
    let open = |d: &Path| kind.open(d);
    let sim_dir = Path::new("/conformance");
    let open_simulated = |fs: &SimFs| kind.open_simulated(fs, sim_dir);
    let spawn = |d: &Path, kv: bool| spawn_child(args, &t.name, d, kv);
    let suite = Suite {
        open: &open,
        open_simulated: &open_simulated,
        capabilities: kind.capabilities(),
        kill_cycles: args.kill_cycles,
        spawn: &spawn,
    };
    let mut results = run_suite(&suite, &dir.join("suite"));
    results.extend(kind.conformance_rules(&dir.join("rules")));
    results
}

/// A kill -9 child writer: this command again, on target `target`.
fn spawn_child(args: &ConformArgs, target: &str, dir: &Path, kv: bool) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the running program: {e}"));
    Command::new(exe)
        .arg("conform")
        .arg(&args.file)
        .args(["--target", target])
        .env(CHILD_ENV, dir)
        .env(CHILD_MODE_ENV, if kv { "kv" } else { "log" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn the kill -9 child: {e}"))
}

/// The child half of a kill -9 check: writes to `target` in `dir` until
/// killed.
fn child(target: &Target, dir: &Path) -> Result<Exit, CliError> {
    let open = |d: &Path| target.kind.open(d);
    if std::env::var(CHILD_MODE_ENV).as_deref() == Ok("kv") {
        crash_child_kv_writer(&open, dir);
    } else {
        crash_child_writer(&open, dir);
    }
    Err(CliError::Store(StoreError::Engine {
        op: "conform child",
        detail: "the writer stopped before it was killed".to_owned(),
    }))
}

fn write_junit(out: &Path, file: &Path, conformed: &[ConformedTarget]) -> Result<(), CliError> {
    let io = |op, path: PathBuf| move |source| CliError::Io { op, path, source };
    std::fs::create_dir_all(out).map_err(io("create", out.to_owned()))?;
    let path = out.join(JUNIT_XML);
    let xml = junit_xml(&file.display().to_string(), conformed, &path)?;
    std::fs::write(&path, xml).map_err(io("write", path.clone()))?;
    print_text(&format!("conform: wrote {}\n", path.display()));
    Ok(())
}
