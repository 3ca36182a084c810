//! A crash cycle in a child process (`crash` on a persistent store): the
//! parent re-executes loadline as `loadline __crash-child`, reads every
//! acknowledgement the child streams over its stdout, SIGKILLs it at the
//! moment and reaps it; [`child_main`] is the child's side.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::context::{CrashRun, Crashed, NO_TIMELINE, deadline, hook_context, hook_err, spawn_err};
use super::process::ChildGuard;
use crate::engine::acks::{AckSink, AckState, AckingStore, KvEvent, Message};
use crate::engine::hooks::{self, HookPoint};
use crate::engine::phase::{self, PhaseRun};
use crate::engine::pools::Pools;
use crate::engine::worker::Control;
use crate::scenario::model::{Phase, Scenario, Target};
use crate::store::{self, StoreError};

/// The hidden subcommand a crash child runs.
pub(crate) const CHILD_SUBCOMMAND: &str = "__crash-child";

/// How the parent polls while writers run (interrupt, deadline).
const POLL: Duration = Duration::from_millis(20);

/// Events the pipe reader sends to the cycle's loop.
enum Event {
    Ready,
    Limit,
    Done,
    Eof(Option<std::io::Error>),
}

/// The child's copy of the scenario: the resolved document without its
/// matrix (the values of this variant are already in it), as JSON.
fn child_document(scenario: &Scenario) -> String {
    let mut doc = scenario.resolved.clone();
    if let Some(o) = doc.as_object_mut() {
        o.remove("matrix");
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// True when `status` is a death by SIGINT, SIGTERM or SIGHUP — what a
/// terminal, `timeout`, `docker stop` or systemd sends to stop a run.
fn killed_by_stop_signal(status: &ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        matches!(
            status.signal(),
            Some(libc::SIGINT | libc::SIGTERM | libc::SIGHUP)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        false
    }
}

/// How long a child's death by a stop signal waits for the same signal to
/// reach this process's handler (it is delivered to both at once, but the
/// handler sets the flag from the runtime's thread, later than the pipe
/// reports the child's end).
const STOP_SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// Waits up to [`STOP_SIGNAL_GRACE`] for `interrupt`; true if it was set.
fn interrupt_follows(interrupt: &AtomicBool) -> bool {
    let until = Instant::now() + STOP_SIGNAL_GRACE;
    while Instant::now() < until {
        if interrupt.load(Ordering::Acquire) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    interrupt.load(Ordering::Acquire)
}

fn child_err(detail: String) -> StoreError {
    StoreError::Invalid {
        op: "crash child",
        detail,
    }
}

/// Runs one cycle's writers in a child process and kills it at the moment.
/// `Ok(None)` when interrupted (the child is killed and reaped all the same).
pub(super) fn child_cycle(run: &CrashRun<'_>, cycle: u64) -> Result<Option<Crashed>, StoreError> {
    let mut cmd = Command::new(&run.child.program);
    cmd.args(&run.child.prefix)
        .arg(CHILD_SUBCOMMAND)
        .arg("--file")
        .arg(&run.scenario.file)
        .arg("--target")
        .arg(&run.target.name)
        .arg("--phase")
        .arg(&run.phase.name)
        .arg("--seed")
        .arg(run.seed.to_string())
        .arg("--data")
        .arg(run.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A process group of its own: a Ctrl-C in a terminal (or `timeout`)
    // signals the whole foreground group, and a child that died of it
    // would look like a failed phase. Only the parent decides when the
    // child dies; it still exits on its own when the parent does (stdin).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|source| StoreError::Io {
        op: "start crash child",
        path: run.child.program.clone(),
        source,
    })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut guard = ChildGuard::new(child);
    let doc = child_document(run.scenario);
    if let Some(stdin) = guard.stdin() {
        // A child that died at once shows up below as an early end of stream.
        let _ = write!(stdin, "{}\n{doc}", doc.len()).and_then(|()| stdin.flush());
    }
    let (tx, rx) = mpsc::channel();
    let after_records = run.restart.after_records;
    let progress = Arc::clone(&run.progress);
    let reader = std::thread::Builder::new().name("loadline-crash-acks".to_owned());
    let reader = reader.spawn(move || {
        let mut acks = Vec::new();
        let mut kv = Vec::new();
        let mut writes = 0u64;
        let Some(out) = stdout else {
            let _ = tx.send(Event::Eof(None));
            return (acks, kv);
        };
        let mut r = std::io::BufReader::with_capacity(64 << 10, out);
        let mut limit_sent = false;
        loop {
            match Message::read_from(&mut r) {
                Ok(Some(Message::Ready)) => {
                    let _ = tx.send(Event::Ready);
                }
                Ok(Some(Message::Done)) => {
                    let _ = tx.send(Event::Done);
                }
                Ok(Some(m @ (Message::Ack(_) | Message::Kv(_)))) => {
                    match m {
                        Message::Ack(a) => {
                            acks.push(a);
                            writes += 1;
                        }
                        Message::Kv(e) => {
                            if let KvEvent::Acked { count, .. } = &e {
                                writes += count;
                            }
                            kv.push(e);
                        }
                        _ => {}
                    }
                    progress[0].records.store(writes, Ordering::Relaxed);
                    if !limit_sent && after_records.is_some_and(|n| writes >= n) {
                        limit_sent = true;
                        let _ = tx.send(Event::Limit);
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Event::Eof(None));
                    return (acks, kv);
                }
                Err(e) => {
                    let _ = tx.send(Event::Eof(Some(e)));
                    return (acks, kv);
                }
            }
        }
    });
    let reader = reader.map_err(|source| spawn_err("loadline-crash-acks", source))?;
    let errors = std::thread::Builder::new()
        .name("loadline-crash-stderr".to_owned())
        .spawn(move || {
            let mut text = String::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_string(&mut text);
            }
            text
        })
        .map_err(|source| spawn_err("loadline-crash-stderr", source))?;
    let limit = deadline(run, cycle);
    let mut ready_at: Option<Instant> = None;
    let mut died: Option<Option<std::io::Error>> = None;
    let mut interrupted = false;
    loop {
        if run.interrupt.load(Ordering::Acquire) {
            interrupted = true;
            break;
        }
        let wait = match (ready_at, limit) {
            (Some(t0), Some(d)) => {
                let left = d.saturating_sub(t0.elapsed());
                if left.is_zero() {
                    break;
                }
                left.min(POLL)
            }
            _ => POLL,
        };
        match rx.recv_timeout(wait) {
            Ok(Event::Ready) => ready_at = Some(Instant::now()),
            Ok(Event::Limit | Event::Done) => break,
            Ok(Event::Eof(e)) => {
                died = Some(e);
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                died = Some(None);
                break;
            }
        }
    }
    // The crash hook runs while the writers still write: it may fault or
    // crash their file system, and their death meanwhile is the crash.
    let mut hook_failed = None;
    if !interrupted
        && died.is_none()
        && let Some(cmd) = &run.hooks.crash
    {
        let ctx = hook_context(run, cycle, Some(guard.id()));
        match hooks::run(HookPoint::Crash, cmd, &ctx, run.interrupt) {
            Ok(true) => {}
            Ok(false) => interrupted = true,
            Err(e) => hook_failed = Some(hook_err(e)),
        }
    }
    let status = guard.kill();
    let (acks, kv) = reader
        .join()
        .map_err(|_| child_err("the pipe reader panicked".to_owned()))?;
    let stderr_text = errors.join().unwrap_or_default();
    if interrupted {
        return Ok(None);
    }
    if let Some(e) = hook_failed {
        return Err(e);
    }
    if died.is_some()
        && status.as_ref().is_ok_and(killed_by_stop_signal)
        && interrupt_follows(run.interrupt)
    {
        // Signalled along with us (e.g. systemd stops the whole cgroup):
        // the child's death is the interrupt, not a finding of the phase.
        return Ok(None);
    }
    if let Some(e) = died {
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        let mut detail = format!("the child ended before it was killed ({status})");
        if let Some(e) = e {
            detail.push_str(&format!("; reading its acknowledgements: {e}"));
        }
        let text = stderr_text.trim();
        if !text.is_empty() {
            detail.push_str(": ");
            detail.push_str(text);
        }
        return Err(child_err(detail));
    }
    Ok(Some(Crashed {
        acks,
        kv,
        written: None,
    }))
}

/// The crash child's work, inside `loadline __crash-child`: opens the store
/// in `dir`, runs the phase's actors with every acknowledgement streamed to
/// `out`, then waits to be killed. Returns only on error.
pub(crate) fn child_main(
    scenario: &Scenario,
    target: &Target,
    phase: &Phase,
    seed: u64,
    dir: &Path,
    out: Box<dyn Write + Send>,
) -> Result<std::convert::Infallible, StoreError> {
    let (pools, _) = Pools::prepare(scenario, seed, &[phase.name.as_str()]).map_err(|e| {
        StoreError::Invalid {
            op: "prepare payloads",
            detail: e.to_string(),
        }
    })?;
    let store = store::open(&target.kind, dir)?;
    let state = AckState::new(AckSink::Pipe(Mutex::new(out)));
    let acking = AckingStore::new(store.as_ref(), Arc::clone(&state));
    let pipe_err = |source| StoreError::Io {
        op: "write to the parent",
        path: PathBuf::from("stdout"),
        source,
    };
    state.send(&Message::Ready).map_err(pipe_err)?;
    let progress: Arc<Vec<crate::metrics::progress::Progress>> = Arc::new(
        (0..phase::worker_count(phase))
            .map(|_| crate::metrics::progress::Progress::default())
            .collect(),
    );
    phase::run(&PhaseRun {
        seed,
        target: &target.name,
        phase,
        pools: &pools,
        store: &acking,
        control: Arc::new(Control::default()),
        progress,
        interval: NO_TIMELINE,
        kind: None,
        stream: None,
    })
    .map_err(phase::PhaseError::into_store_error)?;
    state.send(&Message::Done).map_err(pipe_err)?;
    // Crash, not close: the parent kills this process now.
    loop {
        std::thread::park();
    }
}
