//! Fault-injection hooks of crash phases (`loadline run --crash-hook CMD
//! --after-crash-hook CMD`): shell commands run at a cycle's crash moment
//! and between reaping the crashed writer and reopening the store, so a
//! tool outside loadline — LazyFS, dm-flakey, a VM or a power switch — can
//! inject its fault where loadline's own SIGKILL falls.
//!
//! This module owns running one hook: `sh -c CMD` in a process group of its
//! own, with the cycle's context in its environment ([`HookContext`]),
//! waited for while watching the run's interrupt flag, its output captured
//! so a failure can quote its stderr. When each hook runs, and what a
//! child's death during the crash hook means, is `crash`'s business.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a running hook is polled for its end and for an interrupt.
const POLL: Duration = Duration::from_millis(20);

/// How much of a failed hook's stderr its error quotes (the end of it).
const STDERR_QUOTED: usize = 2000;

/// The hooks of a run's crash phases (`restart: crash` on a persistent
/// store, where a child process writes and is killed). Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CrashHooks {
    /// `--crash-hook`: run at each cycle's crash moment while the writers
    /// still write, before loadline's SIGKILL. It may crash the file system
    /// under them (their death during the hook is the expected crash).
    pub crash: Option<String>,
    /// `--after-crash-hook`: run after the writer process is reaped and
    /// before the store is reopened (e.g. drop a FUSE file system's
    /// unsynced data, or remount it after it crashed).
    pub after_crash: Option<String>,
}

impl CrashHooks {
    /// `--crash-hook` and `--after-crash-hook` as given.
    pub(crate) fn new(crash: &Option<String>, after_crash: &Option<String>) -> CrashHooks {
        CrashHooks {
            crash: crash.clone(),
            after_crash: after_crash.clone(),
        }
    }
}

/// Which hook runs; `LOADLINE_HOOK` in its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// `--crash-hook`.
    Crash,
    /// `--after-crash-hook`.
    AfterCrash,
}

impl HookPoint {
    /// The option's name without dashes, as `LOADLINE_HOOK` holds it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HookPoint::Crash => "crash-hook",
            HookPoint::AfterCrash => "after-crash-hook",
        }
    }
}

/// What a hook is told, through environment variables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HookContext<'a> {
    /// `LOADLINE_TARGET`: the target's name.
    pub target: &'a str,
    /// `LOADLINE_PHASE`: the phase's name.
    pub phase: &'a str,
    /// `LOADLINE_CYCLE`: the crash cycle, from 1.
    pub cycle: u64,
    /// `LOADLINE_DATA_DIR`: the target's data directory (absolute when
    /// loadline was given an absolute `--data-dir`).
    pub data_dir: &'a Path,
    /// `LOADLINE_CHILD_PID`: the writer process, for the crash hook (it is
    /// still running then); unset for the after-crash hook.
    pub child_pid: Option<u32>,
}

/// A hook that could not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HookError {
    /// `sh` could not be started, or the hook's output could not be read.
    #[error("--{} `{command}` could not be run: {source}", point.name())]
    Spawn {
        /// Which hook.
        point: HookPoint,
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The hook exited non-zero or was killed by a signal.
    #[error("--{} `{command}` failed ({status}){}", point.name(), quoted(stderr))]
    Failed {
        /// Which hook.
        point: HookPoint,
        /// The command line.
        command: String,
        /// How it ended.
        status: ExitStatus,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
}

fn quoted(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// Runs `command` with `sh -c` and waits for it. `Ok(true)` when it
/// succeeded; `Ok(false)` when `interrupt` was set meanwhile (the hook's
/// process group is then killed and reaped, and nothing is judged).
pub(crate) fn run(
    point: HookPoint,
    command: &str,
    ctx: &HookContext<'_>,
    interrupt: &AtomicBool,
) -> Result<bool, HookError> {
    let spawn_err = |source| HookError::Spawn {
        point,
        command: command.to_owned(),
        source,
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env("LOADLINE_HOOK", point.name())
        .env("LOADLINE_TARGET", ctx.target)
        .env("LOADLINE_PHASE", ctx.phase)
        .env("LOADLINE_CYCLE", ctx.cycle.to_string())
        .env("LOADLINE_DATA_DIR", ctx.data_dir)
        .env_remove("LOADLINE_CHILD_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pid) = ctx.child_pid {
        cmd.env("LOADLINE_CHILD_PID", pid.to_string());
    }
    // A group of its own: an interrupt kills whatever the hook started,
    // and a Ctrl-C meant for loadline does not reach it half-way.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(spawn_err)?;
    // Both pipes drained as the hook runs, so a chatty hook never blocks.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if interrupt.load(Ordering::Acquire) {
            kill_group(&mut child);
            let _ = child.wait();
            return Ok(false);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(POLL),
            Err(source) => {
                kill_group(&mut child);
                let _ = child.wait();
                return Err(spawn_err(source));
            }
        }
    };
    let _ = stdout.join();
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        return Ok(true);
    }
    let text = stderr.trim();
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= STDERR_QUOTED)
        .unwrap_or(text.len());
    Err(HookError::Failed {
        point,
        command: command.to_owned(),
        status,
        stderr: text[start..].to_owned(),
    })
}

/// Reads a pipe to its end on a thread of its own (lossy UTF-8).
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// SIGKILLs the hook's process group (the shell and what it started),
/// with the `kill` program: loadline has no `unsafe`.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(dir: &Path) -> HookContext<'_> {
        HookContext {
            target: "wal-batch",
            phase: "crash",
            cycle: 3,
            data_dir: dir,
            child_pid: Some(4242),
        }
    }

    #[test]
    fn a_hook_sees_the_cycle_in_its_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("env.txt");
        let cmd = format!(
            "echo \"$LOADLINE_HOOK $LOADLINE_TARGET $LOADLINE_PHASE $LOADLINE_CYCLE $LOADLINE_DATA_DIR $LOADLINE_CHILD_PID\" > {}",
            out.display()
        );
        let ok = run(
            HookPoint::Crash,
            &cmd,
            &ctx(dir.path()),
            &AtomicBool::new(false),
        )
        .expect("hook runs");
        assert!(ok);
        let seen = std::fs::read_to_string(&out).expect("hook wrote");
        assert_eq!(
            seen.trim(),
            format!("crash-hook wal-batch crash 3 {} 4242", dir.path().display())
        );
    }

    #[test]
    fn a_failing_hook_is_an_error_quoting_its_stderr() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = run(
            HookPoint::AfterCrash,
            "echo could not remount >&2; exit 7",
            &ctx(dir.path()),
            &AtomicBool::new(false),
        )
        .expect_err("exit 7 fails");
        let HookError::Failed { status, stderr, .. } = &e else {
            panic!("not a failure: {e}");
        };
        assert_eq!(status.code(), Some(7));
        assert_eq!(stderr, "could not remount");
        assert!(e.to_string().starts_with("--after-crash-hook `echo"), "{e}");
    }

    #[test]
    fn an_interrupt_kills_a_hook_and_what_it_started() {
        let dir = tempfile::tempdir().expect("tempdir");
        let interrupt = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&interrupt);
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            flag.store(true, Ordering::Release);
        });
        let t0 = std::time::Instant::now();
        let ok = run(
            HookPoint::Crash,
            "sleep 30; sleep 30",
            &ctx(dir.path()),
            &interrupt,
        )
        .expect("interrupted, not failed");
        setter.join().expect("setter");
        assert!(!ok);
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    }

    use std::sync::Arc;
}
