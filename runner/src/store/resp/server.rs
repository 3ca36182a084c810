//! A server loadline starts for a `resp` target (`server: { command,
//! ready }`): started when the store opens, ready when it answers `PING`,
//! shut down (`SHUTDOWN`) when the store closes, and **SIGKILLed with the
//! process that started it**.
//!
//! The last point is what makes `restart: crash` kill -9 the server: the
//! crash phase's writers run in a child process that opens the store and
//! so starts the server, tied to it ([`crate::store::tied`]): when the
//! child is SIGKILLed the kernel SIGKILLs the server at the same moment.
//! The parent's reopen starts the server again on the same directory and
//! times spawn → ready. Without `setpriv`, a server left running by a
//! killed process is SIGKILLed by the next open instead (its pid is in
//! `server.pid`).
//!
//! It owns the server process; it does not know the data path.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::conn::Conn;
use crate::store::api::StoreError;
use crate::store::tied::{self, Tied};
use crate::units::HumanDuration;

/// A server for loadline to start, per target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ServerConfig {
    /// The server's command line, program first, e.g. `[redis-server,
    /// --port, "6390", --dir, "{dir}", --appendonly, "yes", --appendfsync,
    /// always]`; it must listen on the target's `address`. `{dir}` in an
    /// argument becomes the target's data directory, so the server's files
    /// live (and survive restarts) where the target's do. Its output goes
    /// to `server.log` there.
    pub command: Vec<String>,
    /// The longest wait, after starting the server, for it to answer
    /// `PING` (loading its data included). Default `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<HumanDuration>,
}

/// The file in the target's directory holding the running server's pid.
const PID_FILE: &str = "server.pid";
/// The file in the target's directory the server's output goes to.
const LOG_FILE: &str = "server.log";
/// How long a clean `SHUTDOWN` may take before the server is SIGKILLed.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

/// A running server.
pub(crate) struct Server {
    /// The server process.
    child: Tied,
    dir: PathBuf,
    address: String,
}

fn failed(detail: String) -> StoreError {
    StoreError::Engine {
        op: "start server",
        detail,
    }
}

impl Server {
    /// Starts `config`'s command for the target in `dir` and waits until
    /// `address` answers `PING`. A server an earlier (killed) process left
    /// running for this directory is SIGKILLed first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the command cannot start;
    /// [`StoreError::Engine`] when it exits or is not ready in time (with
    /// the end of `server.log`).
    pub(crate) fn start(
        config: &ServerConfig,
        dir: &Path,
        address: &str,
    ) -> Result<Server, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
        sweep(dir, config);
        wait_port_free(address, PORT_WAIT);
        let Some((program, args)) = config.command.split_first() else {
            return Err(failed("`server.command` is empty".to_owned()));
        };
        let dir_text = dir.to_string_lossy();
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir_text)).collect();
        let log_path = dir.join(LOG_FILE);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| StoreError::io("open", &log_path, e))?;
        let err_log = log
            .try_clone()
            .map_err(|e| StoreError::io("open", &log_path, e))?;
        let mut cmd = tied::command(program);
        cmd.args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log);
        let (child, _) = tied::spawn(cmd, "loadline-server-keeper")
            .map_err(|e| StoreError::io("spawn", Path::new(program), e))?;
        let pid = child.pid;
        let pid_path = dir.join(PID_FILE);
        std::fs::write(&pid_path, format!("{pid}\n"))
            .map_err(|e| StoreError::io("write", &pid_path, e))?;
        let server = Server {
            child,
            dir: dir.to_owned(),
            address: address.to_owned(),
        };
        let timeout = config.ready.map_or(Duration::from_secs(30), |d| d.0);
        server.wait_ready(timeout)?;
        Ok(server)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_exit() {
                return Err(failed(format!(
                    "the server exited before it was ready ({status}); {}",
                    self.log_tail()
                )));
            }
            // A server loading its data answers `-LOADING`: not ready.
            if let Ok(mut c) = Conn::connect(&self.address, 0)
                && c.call(&[b"PING"], "ping").is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = tied::kill(self.child.pid);
                return Err(failed(format!(
                    "{} did not answer PING within {timeout:?}; {}",
                    self.address,
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join(LOG_FILE)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        let tail: Vec<&str> = lines.into_iter().rev().collect();
        format!("end of {}: {}", LOG_FILE, tail.join(" | "))
    }

    /// Shuts the server down cleanly (`SHUTDOWN`, which lets Redis finish
    /// its AOF), SIGKILLing it when it does not exit in time.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when the server neither exits nor dies.
    pub(crate) fn stop(self) -> Result<(), StoreError> {
        if let Ok(mut c) = Conn::connect(&self.address, 0) {
            // The server closes the connection instead of answering.
            let _ = c.call(&[b"SHUTDOWN"], "shutdown");
        }
        let exited = self.child.wait_exit(SHUTDOWN_WAIT) || self.child.kill_and_wait(SHUTDOWN_WAIT);
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
        if exited {
            Ok(())
        } else {
            Err(StoreError::Engine {
                op: "stop server",
                detail: format!("pid {} did not exit", self.child.pid),
            })
        }
    }
}

/// The longest wait for a loopback port a dying server still holds.
const PORT_WAIT: Duration = Duration::from_secs(5);

/// Waits until nothing listens on `address` when it is a loopback
/// address, at most `limit`: a server SIGKILLed a moment ago may hold its
/// listening socket for a while after its process looks gone, and a new
/// server on the same port would exit with "Address already in use".
/// Past `limit` the server is started anyway and its own error is shown.
fn wait_port_free(address: &str, limit: Duration) {
    let Ok(addr) = address.parse::<std::net::SocketAddr>() else {
        return;
    };
    if !addr.ip().is_loopback() {
        return;
    }
    let deadline = Instant::now() + limit;
    // `bind` sets SO_REUSEADDR: TIME_WAIT connections do not count, a
    // listener does.
    while std::net::TcpListener::bind(addr).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// True while `pid` runs (exists and is not a zombie) the program of
/// `config` (so a reused pid is left alone).
fn running(pid: u32, config: &ServerConfig) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    if !matches!(state, Some(s) if s != 'Z' && s != 'X') {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if cmdline.is_empty() {
        // Dying: the kernel has released its memory (so no command line)
        // but not yet its files, the listening socket among them.
        return true;
    }
    let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let program = config
        .command
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A server may rewrite its title (`redis-server 127.0.0.1:6390`).
    !program.is_empty() && String::from_utf8_lossy(first).contains(&program)
}

/// Ends a server that a killed process left running for `dir`: its parent
/// death signal may still be on its way (wait a little), else SIGKILL it.
fn sweep(dir: &Path, config: &ServerConfig) {
    let Some(pid) = std::fs::read_to_string(dir.join(PID_FILE))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let grace = Instant::now() + Duration::from_millis(200);
    while running(pid, config) && Instant::now() < deadline {
        if Instant::now() >= grace {
            let _ = tied::kill(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = std::fs::remove_file(dir.join(PID_FILE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_loopback_port_is_waited_for_until_its_listener_closes() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = held.local_addr().expect("addr").to_string();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        let start = Instant::now();
        wait_port_free(&address, Duration::from_secs(30));
        let waited = start.elapsed();
        release.join().expect("release");
        assert!(
            waited >= Duration::from_millis(150),
            "returned while held: {waited:?}"
        );
        assert!(std::net::TcpListener::bind(address.as_str()).is_ok());
    }

    #[test]
    fn a_port_never_freed_is_waited_for_at_most_the_limit() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = held.local_addr().expect("addr").to_string();
        let start = Instant::now();
        wait_port_free(&address, Duration::from_millis(100));
        assert!(start.elapsed() >= Duration::from_millis(100));
        drop(held);
    }

    #[test]
    fn a_remote_or_named_address_is_not_waited_for() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = held.local_addr().expect("addr").port();
        let start = Instant::now();
        wait_port_free(&format!("localhost:{port}"), Duration::from_secs(30));
        wait_port_free(&format!("192.0.2.1:{port}"), Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(30));
    }
}
