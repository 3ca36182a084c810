//! Child processes tied to the thread that started them: a store that runs
//! a program (the `resp` kind's `server`, the `external` kind's plug-in)
//! starts it here, so that when a crash phase SIGKILLs loadline's writer
//! process, the kernel SIGKILLs the program at the same moment.
//!
//! The program is started through util-linux's `setpriv --pdeathsig KILL`
//! (loadline has no `unsafe`, so no `prctl` of its own). A parent death
//! signal fires when the *thread* that started the child ends, so a keeper
//! thread starts it and lives exactly as long as the child, reporting its
//! exit. Without `setpriv` the program is started directly (and a killed
//! writer leaves it running; callers sweep it by pid).
//!
//! It owns starting, watching and killing a process; not what it does.

use std::io;
use std::process::{ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

/// util-linux's `setpriv`, which sets the parent death signal and execs.
const SETPRIV: &str = "/usr/bin/setpriv";

/// A running child, its exit reported by its keeper thread.
pub(crate) struct Tied {
    /// The child's pid.
    pub(crate) pid: u32,
    /// The keeper thread's report of the exit (in a mutex: stores are
    /// shared between threads).
    exited: Mutex<mpsc::Receiver<io::Result<ExitStatus>>>,
}

/// The pipes of a child started with piped stdin and stdout.
pub(crate) type Pipes = (Option<ChildStdin>, Option<ChildStdout>);

/// A command running `program` with the parent death signal SIGKILL.
pub(crate) fn command(program: &str) -> Command {
    if std::path::Path::new(SETPRIV).exists() {
        let mut c = Command::new(SETPRIV);
        c.args(["--pdeathsig", "KILL", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts `cmd` on a keeper thread named `name`; returns the child and
/// whichever of its stdin and stdout were piped.
///
/// # Errors
///
/// When the keeper thread or the program cannot start.
pub(crate) fn spawn(mut cmd: Command, name: &str) -> io::Result<(Tied, Pipes)> {
    let (started_tx, started_rx) = mpsc::channel();
    let (exited_tx, exited) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let pipes = (child.stdin.take(), child.stdout.take());
                let _ = started_tx.send(Ok((child.id(), pipes)));
                let _ = exited_tx.send(child.wait());
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        })?;
    let (pid, pipes) = started_rx
        .recv()
        .map_err(|_| io::Error::other("the keeper thread ended"))??;
    Ok((
        Tied {
            pid,
            exited: Mutex::new(exited),
        },
        pipes,
    ))
}

impl Tied {
    fn exited(&self) -> MutexGuard<'_, mpsc::Receiver<io::Result<ExitStatus>>> {
        self.exited.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The exit status, when the child has exited.
    pub(crate) fn try_exit(&self) -> Option<String> {
        self.exited()
            .try_recv()
            .ok()
            .map(|s| s.map_or_else(|e| e.to_string(), |s| s.to_string()))
    }

    /// Waits up to `timeout` for the child to exit; true when it did.
    pub(crate) fn wait_exit(&self, timeout: Duration) -> bool {
        self.exited().recv_timeout(timeout).is_ok()
    }

    /// SIGKILLs the child and waits up to `timeout` for it; true when it
    /// is gone.
    pub(crate) fn kill_and_wait(&self, timeout: Duration) -> bool {
        kill(self.pid).is_ok() && self.wait_exit(timeout)
    }
}

/// SIGKILLs `pid` (with the `kill` program: loadline has no `unsafe`).
pub(crate) fn kill(pid: u32) -> io::Result<ExitStatus> {
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
}
