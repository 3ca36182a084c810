//! A raw line client for the protocol rules (`rules`): starts a plug-in
//! the way the kind does (tied to this thread, stderr to `plugin.log`),
//! writes any JSON line (several before reading, ops the protocol lacks),
//! and reads its stdout on a thread, so a plug-in that never answers is a
//! timeout, not a hang. Lines that are not replies are kept aside for the
//! "clean stdout" rule and skipped. It judges nothing.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::plugin::LOG_FILE;
use super::protocol::Reply;
use crate::store::tied::{self, Tied};

/// How long a reply may take.
pub(super) const REPLY_WAIT: Duration = Duration::from_secs(10);

/// A plug-in started for the rules.
pub(super) struct Probe {
    child: Tied,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// stdout lines that were not replies, in order.
    pub(super) stray: Vec<String>,
}

impl Probe {
    /// Starts `command` with its stderr appended to `plugin.log` in `dir`.
    pub(super) fn start(command: &[String], dir: &Path) -> Result<Probe, String> {
        let Some((program, args)) = command.split_first() else {
            return Err("`command` is empty".to_owned());
        };
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(LOG_FILE))
            .map_err(|e| format!("open {LOG_FILE}: {e}"))?;
        let mut cmd = tied::command(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let (child, (stdin, stdout)) = tied::spawn(cmd, "loadline-probe-keeper")
            .map_err(|e| format!("start `{program}`: {e}"))?;
        let Some(stdout) = stdout else {
            return Err("no stdout pipe".to_owned());
        };
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("loadline-probe-stdout".to_owned())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| format!("start the stdout reader: {e}"))?;
        Ok(Probe {
            child,
            stdin,
            lines,
            stray: Vec::new(),
        })
    }

    /// Writes `requests`, one line each, in one write.
    pub(super) fn send(&mut self, requests: &[serde_json::Value]) -> Result<(), String> {
        let mut text = Vec::new();
        for r in requests {
            text.extend(r.to_string().into_bytes());
            text.push(b'\n');
        }
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        stdin
            .write_all(&text)
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("write to the plug-in: {e}"))
    }

    /// The next reply line, skipping (and keeping) lines that are not one.
    pub(super) fn reply(&mut self) -> Result<Reply, String> {
        let deadline = Instant::now() + REPLY_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no reply within {}s", REPLY_WAIT.as_secs()));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the plug-in closed its stdout (exited?)".to_owned());
                }
            };
            match serde_json::from_str::<Reply>(&line) {
                Ok(r) => return Ok(r),
                Err(_) => self.stray.push(line),
            }
        }
    }

    /// Closes stdin, then waits for the plug-in to exit; returns its exit
    /// status and every line it wrote meanwhile. SIGKILLs it after
    /// [`REPLY_WAIT`].
    pub(super) fn finish(mut self) -> (Option<String>, Vec<String>) {
        drop(self.stdin.take());
        let deadline = Instant::now() + REPLY_WAIT;
        let mut status = None;
        while status.is_none() && Instant::now() < deadline {
            status = self.child.try_exit();
            if status.is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if status.is_none() {
            let _ = self.child.kill_and_wait(REPLY_WAIT);
        }
        let mut after = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            after.push(line);
        }
        (status, after)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill_and_wait(REPLY_WAIT);
        }
    }
}
