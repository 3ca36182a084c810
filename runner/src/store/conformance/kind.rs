//! [`check_kind`]: the whole suite for one store kind, as its capabilities
//! say, printing what it checked.

use std::path::Path;

use super::*;
use crate::store::kind::StoreKind;

/// Set in the environment of the child processes [`check_kind`] starts to
/// the directory the child writes to.
pub const CHILD_ENV: &str = "LOADLINE_CONFORMANCE_CHILD";
/// Simulated disks [`check_kind`]'s power-loss check tries.
pub const POWER_LOSS_TRIALS: u64 = 200;
/// Set (to `kv`) in the environment of a child that puts and deletes
/// rather than appends.
pub const CHILD_MODE_ENV: &str = "LOADLINE_CONFORMANCE_CHILD_MODE";
/// Crash cycles of [`check_kind`]'s kill -9 check (default 20; a soak run
/// may raise it).
pub const KILL_CYCLES_ENV: &str = "LOADLINE_CONFORMANCE_KILL_CYCLES";

/// Checks store kind `K`, opened with `config`, in one call: the log suite
/// ([`check_log_store`]) when the kind has [`Capabilities::log`], the
/// key-value suite ([`check_kv_store`]) when it has
/// [`Capabilities::kv`], what a crash phase asks of the kind
/// ([`check_crash_requests`]), and, when it is persistent and
/// [`Capabilities::crash_durable`], the kill -9 checks
/// ([`check_kill9_durability`] for a log, [`check_kv_kill9_durability`]
/// for key-value writes): child processes write until they are
/// SIGKILLed, and every acknowledged write must survive; and, when it has
/// [`Capabilities::power_loss`], the power-loss check
/// ([`check_power_loss`], [`POWER_LOSS_TRIALS`] seeds): every record
/// synced before the cut must survive a disk that reorders unsynced pages.
///
/// The children re-execute the running program. Call it from a `#[test]`
/// (the children run that test alone), or first thing in a program's
/// `main` (the children run `main` again): either way the call in the
/// child sees [`CHILD_ENV`], writes, and never returns.
///
/// ```no_run
/// use loadline::store::{MemoryKind, MemoryConfig, conformance};
///
/// #[test]
/// fn memory_conforms() {
///     conformance::check_kind::<MemoryKind>(&MemoryConfig::default());
/// }
/// ```
///
/// [`Capabilities::log`]: crate::store::Capabilities::log
/// [`Capabilities::kv`]: crate::store::Capabilities::kv
/// [`Capabilities::crash_durable`]: crate::store::Capabilities::crash_durable
/// [`Capabilities::power_loss`]: crate::store::Capabilities::power_loss
///
/// # Panics
///
/// On the first broken rule, naming it.
///
/// Returns what was checked, one line per part, and prints it to stderr
/// past the test harness's capture (so `cargo test` shows it on a pass).
pub fn check_kind<K: StoreKind>(config: &K::Config) -> Vec<String> {
    let open = |d: &Path| K::open(config, d);
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        if std::env::var(CHILD_MODE_ENV).as_deref() == Ok("kv") {
            crash_child_kv_writer(&open, Path::new(&dir));
        } else {
            crash_child_writer(&open, Path::new(&dir));
        }
        std::process::exit(0);
    }
    let caps = K::capabilities(config);
    let root = std::env::temp_dir().join(format!(
        "loadline-conformance-{}-{}-{}",
        K::NAME,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let kill_cycles: u64 = std::env::var(KILL_CYCLES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let exe = std::env::current_exe().expect("the running program");
    // Under libtest each test runs on a thread named after it.
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_owned);
    let spawn = |dir: &Path, kv: bool| {
        let mut cmd = std::process::Command::new(&exe);
        if let Some(t) = &test {
            cmd.args([
                t.as_str(),
                "--exact",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ]);
        }
        cmd.env(CHILD_ENV, dir)
            .env(CHILD_MODE_ENV, if kv { "kv" } else { "log" })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the kill -9 child")
    };
    let sim_dir = Path::new("/conformance");
    let open_simulated = |fs: &crate::store::SimFs| K::open_simulated(config, fs, sim_dir);
    let suite = Suite {
        open: &open,
        open_simulated: &open_simulated,
        capabilities: caps,
        kill_cycles,
        spawn: &spawn,
    };
    let results = run_suite(&suite, &root);
    let _ = std::fs::remove_dir_all(&root);
    if let Some(failed) = results.iter().find(|r| !r.passed()) {
        panic!("{}", failed.failure.as_deref().unwrap_or_default());
    }
    let mut checked: Vec<String> = results
        .iter()
        .filter(|r| r.name != "open")
        .map(|r| format!("{}: {}", r.name, r.detail))
        .collect();
    if !caps.crash_durable || !caps.persistent {
        checked.push(
            "kill -9 durability: not checked (the kind claims no `persistent` + `crash_durable`)"
                .to_owned(),
        );
    }
    print_checked(K::NAME, &checked);
    checked
}

/// Prints what [`check_kind`] checked to stderr directly, so a passing
/// test's output shows it (libtest captures `eprintln!`, not the stream).
fn print_checked(kind: &str, checked: &[String]) {
    use std::io::Write as _;
    let mut text = format!("conformance of store kind `{kind}`: passed\n");
    for c in checked {
        text.push_str(&format!("  ✓ {c}\n"));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
