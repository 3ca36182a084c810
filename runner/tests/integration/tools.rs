//! The real tools the consumer tests check loadline's outputs with
//! (`xmllint`, `prometheus`/`promtool`, Python's `pip`), installed by the
//! tests themselves when the machine lacks them, so the README's test
//! command passes on a fresh machine with only Rust installed — not only
//! under `.ci/run`. Debian and Ubuntu packages through `apt-get` (with
//! `sudo` when not root), as `.ci/setup` installs the build's own.

use std::process::{Command, Stdio};
use std::sync::Mutex;

/// One installer at a time: tests run in parallel and `apt-get` holds a
/// lock a second `apt-get` fails on.
static APT: Mutex<()> = Mutex::new(());

/// Wait (up to 10 minutes) for a lock another process holds — another
/// test binary, or a fresh machine's unattended upgrades — rather than
/// fail on it.
const WAIT: &str = "-o DPkg::Lock::Timeout=600";

/// True when `bin` is on the PATH.
pub fn have(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `bins` on the PATH: when any is missing, installs `packages` with
/// `apt-get` (saying so on stderr), then checks again.
pub fn ensure(bins: &[&str], packages: &[&str]) {
    ensure_with(
        || bins.iter().all(|b| have(b)),
        packages,
        &format!("{bins:?}"),
    );
    for b in bins {
        assert!(have(b), "{b} still missing after installing {packages:?}");
    }
}

/// `python3 -m pip` runs: when it does not, installs Debian's `python3-pip`.
pub fn ensure_pip() {
    let pip = || {
        Command::new("python3")
            .args(["-m", "pip", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ensure_with(pip, &["python3", "python3-pip"], "python3 -m pip");
    assert!(
        pip(),
        "python3 -m pip still fails after installing python3-pip"
    );
}

/// Runs `apt-get install packages` unless `present()` holds (checked again
/// under the lock: another test may have installed them meanwhile).
fn ensure_with(present: impl Fn() -> bool, packages: &[&str], what: &str) {
    if present() {
        return;
    }
    let _one = APT.lock().unwrap_or_else(|e| e.into_inner());
    if present() {
        return;
    }
    eprintln!("test set-up: {what} missing, installing {packages:?} with apt-get");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = if root { "" } else { "sudo " };
    let script = format!(
        "{sudo}apt-get {WAIT} update -qq && {sudo}env DEBIAN_FRONTEND=noninteractive apt-get {WAIT} install -y -qq --no-install-recommends {}",
        packages.join(" ")
    );
    let ok = Command::new("sh")
        .args(["-c", &script])
        .status()
        .expect("sh runs apt-get");
    assert!(
        ok.success(),
        "`{script}` failed: install {packages:?} to run this test"
    );
}
