//! One running plug-in of the `external` kind: the child process, tied to
//! the thread that opened the store ([`crate::store::tied`]: a SIGKILL of
//! loadline's writer process SIGKILLs it too), its stdin and stdout, the
//! `hello` handshake, and request/reply calls with ids checked.
//!
//! Sessions of one target share the plug-in, and each may have several
//! requests in flight: [`Plugin::send`] writes a request line (under a
//! mutex, whole lines only) and registers its id; one reader thread reads
//! every reply line and files it under its id; [`Plugin::wait`] hands a
//! session the reply to one of its ids, in whatever order they came. A
//! line that is not a reply, or a reply to an id nobody asked, is filed
//! as an error under the oldest id in flight (the request most likely to
//! have caused it). [`Plugin::call`] is a send and a wait for that one id.
//! Its stderr goes to `plugin.log` in the target's directory. It owns the
//! process and the line exchange, not what the operations mean.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::protocol::{Capability, ErrorKind, HelloReply, Op, Reply, Request, StatOffer, VERSION};
use crate::store::api::StoreError;
use crate::store::tied::{self, Tied};

/// The file in the target's directory the plug-in's stderr goes to.
pub(crate) const LOG_FILE: &str = "plugin.log";
/// The file holding the running plug-in's pid.
const PID_FILE: &str = "plugin.pid";
/// How long a plug-in may take to exit after `close`.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// The plug-in's stdin and the next request id.
struct Writer {
    stdin: ChildStdin,
    next_id: u64,
}

/// A reply as filed by the reader thread: the reply, or why the line
/// filed under that id is not one.
pub(crate) type Filed = Result<Reply, String>;

/// What the reader thread shares with the waiting sessions.
#[derive(Default)]
struct Inbox {
    /// Ids sent and not yet answered.
    in_flight: BTreeSet<u64>,
    /// Answers not yet collected, by id.
    replies: HashMap<u64, Filed>,
    /// Set when the plug-in's stdout ended or failed: every later wait
    /// without a filed reply fails with it.
    broken: Option<String>,
}

/// The inbox and the condition signalled on every filed reply.
#[derive(Default)]
struct Shared {
    inbox: Mutex<Inbox>,
    filed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The operations whose timed replies are also counted one by one, in
/// the order of [`Counts::per_op`]: every data-path op.
pub(crate) const COUNTED_OPS: [&str; 9] = [
    "append", "read", "trim", "sync", "bounds", "put", "get", "delete", "scan",
];

/// Timed replies of one op and their summed `service_ns`.
#[derive(Debug, Default)]
pub(crate) struct OpCounts {
    /// Replies of the op that carried `service_ns`.
    pub(crate) timed: AtomicU64,
    /// The sum of their `service_ns`.
    pub(crate) service_ns: AtomicU64,
}

/// Counts of the data-path replies since the plug-in started (not
/// `hello`, `noop` and `close`).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Replies.
    pub(crate) requests: AtomicU64,
    /// Replies that carried `service_ns`.
    pub(crate) timed_requests: AtomicU64,
    /// The sum of their `service_ns`.
    pub(crate) service_ns: AtomicU64,
    /// The timed replies per op of [`COUNTED_OPS`].
    pub(crate) per_op: [OpCounts; COUNTED_OPS.len()],
}

impl Counts {
    /// Counts one reply of op `name` that carried `service_ns`, if any.
    fn count(&self, name: &str, service_ns: Option<u64>) {
        let Some(index) = COUNTED_OPS.iter().position(|&o| o == name) else {
            return;
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(ns) = service_ns {
            self.timed_requests.fetch_add(1, Ordering::Relaxed);
            self.service_ns.fetch_add(ns, Ordering::Relaxed);
            let op = &self.per_op[index];
            op.timed.fetch_add(1, Ordering::Relaxed);
            op.service_ns.fetch_add(ns, Ordering::Relaxed);
        }
    }
}

/// A running plug-in.
pub(crate) struct Plugin {
    child: Tied,
    writer: Mutex<Writer>,
    shared: Arc<Shared>,
    dir: PathBuf,
    /// The capabilities its `hello` reply offered.
    pub(crate) capabilities: Vec<Capability>,
    /// The statistics its `hello` reply offered.
    pub(crate) statistics: Vec<StatOffer>,
    /// What its replies said about themselves.
    pub(crate) counts: Counts,
}

fn protocol(op: &'static str, detail: String) -> StoreError {
    StoreError::Engine { op, detail }
}

impl Plugin {
    /// Starts `command` for the target in `dir` and exchanges `hello`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the program cannot start;
    /// [`StoreError::Engine`] when the handshake fails (with the end of
    /// `plugin.log`).
    pub(crate) fn start(
        command: &[String],
        options: &serde_json::Value,
        dir: &Path,
    ) -> Result<Plugin, StoreError> {
        let io = |op, path: &Path, source| StoreError::Io {
            op,
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create directory", dir, e))?;
        let Some((program, args)) = command.split_first() else {
            return Err(protocol("start plug-in", "`command` is empty".to_owned()));
        };
        sweep(dir, program);
        let log_path = dir.join(LOG_FILE);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io("open", &log_path, e))?;
        let mut cmd = tied::command(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let (child, (stdin, stdout)) = tied::spawn(cmd, "loadline-plugin-keeper")
            .map_err(|e| io("spawn", Path::new(program), e))?;
        let pid_path = dir.join(PID_FILE);
        std::fs::write(&pid_path, format!("{}\n", child.pid))
            .map_err(|e| io("write", &pid_path, e))?;
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(protocol("start plug-in", "no pipes".to_owned()));
        };
        let shared = Arc::new(Shared::default());
        let reader = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("loadline-plugin-reader".to_owned())
            .spawn(move || read_replies(stdout, &reader))
            .map_err(|e| io("spawn reader thread", dir, e))?;
        let mut plugin = Plugin {
            child,
            writer: Mutex::new(Writer { stdin, next_id: 0 }),
            shared,
            dir: dir.to_owned(),
            capabilities: Vec::new(),
            statistics: Vec::new(),
            counts: Counts::default(),
        };
        let hello: HelloReply = plugin
            .call(Op::Hello {
                version: VERSION,
                dir: dir.to_string_lossy().into_owned(),
                options: options.clone(),
            })
            .map_err(|e| plugin.with_log(e))?;
        if hello.version != VERSION {
            return Err(protocol(
                "hello",
                format!(
                    "the plug-in speaks protocol version {}, loadline {VERSION}",
                    hello.version
                ),
            ));
        }
        plugin.capabilities = hello.capabilities;
        plugin.statistics = hello.statistics;
        Ok(plugin)
    }

    /// Sends `op`, waits for its reply and decodes its `ok` as `T`.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), [`wait`](Self::wait) and
    /// [`decode`](Self::decode).
    pub(crate) fn call<T: DeserializeOwned>(&self, op: Op) -> Result<T, StoreError> {
        let name = op_name(&op);
        let id = self.send(op)?;
        match self.wait(|i| i == id, true) {
            Ok(Some((_, filed))) => self.decode(name, filed),
            Ok(None) => Err(protocol(name, "no reply".to_owned())),
            Err(broken) => Err(protocol(name, broken)),
        }
    }

    /// Writes `op` as one request line; returns its id. The id is in
    /// flight before the line is written, so its reply is always filed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when the line cannot be encoded or written
    /// (the plug-in is gone).
    pub(crate) fn send(&self, op: Op) -> Result<u64, StoreError> {
        let name = op_name(&op);
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let id = w.next_id;
        w.next_id += 1;
        let mut text = serde_json::to_vec(&Request { id, op })
            .map_err(|e| protocol(name, format!("encode: {e}")))?;
        text.push(b'\n');
        self.shared.lock().in_flight.insert(id);
        let written = w.stdin.write_all(&text).and_then(|()| w.stdin.flush());
        if let Err(e) = written {
            self.shared.lock().in_flight.remove(&id);
            return Err(protocol(name, format!("write to the plug-in: {e}")));
        }
        Ok(id)
    }

    /// The filed reply to one of the ids `mine` accepts: waits for one
    /// with `block`, else returns `Ok(None)` when none is filed yet.
    ///
    /// # Errors
    ///
    /// Why the plug-in's stdout ended (it exited, or a read failed) when
    /// no reply of `mine` is filed.
    pub(crate) fn wait(
        &self,
        mine: impl Fn(u64) -> bool,
        block: bool,
    ) -> Result<Option<(u64, Filed)>, String> {
        let mut inbox = self.shared.lock();
        loop {
            // Oldest first, when several are filed.
            if let Some(id) = inbox.replies.keys().copied().filter(|id| mine(*id)).min() {
                let filed = inbox.replies.remove(&id);
                return Ok(filed.map(|f| (id, f)));
            }
            if let Some(broken) = &inbox.broken {
                return Err(broken.clone());
            }
            if !block {
                return Ok(None);
            }
            inbox = self
                .shared
                .filed
                .wait(inbox)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Decodes a filed reply to an `op` request: its `ok` as `T`, or its
    /// error. Counts the data-path replies (not `hello`, `noop` and `close`).
    ///
    /// # Errors
    ///
    /// The reply's error (`unsupported` → [`StoreError::Unsupported`],
    /// `invalid` → [`StoreError::Invalid`], `engine` →
    /// [`StoreError::Engine`]); [`StoreError::Engine`] for a line that was
    /// not a reply, a reply to another id, or an `ok` of the wrong shape.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        name: &'static str,
        filed: Filed,
    ) -> Result<T, StoreError> {
        let reply = filed.map_err(|detail| protocol(name, detail))?;
        self.counts.count(name, reply.service_ns);
        match (reply.ok, reply.error) {
            (_, Some(e)) => Err(match e.kind {
                ErrorKind::Unsupported => StoreError::Unsupported {
                    op: name,
                    store: "external",
                },
                ErrorKind::Invalid => StoreError::Invalid {
                    op: name,
                    detail: e.message,
                },
                ErrorKind::Engine => StoreError::Engine {
                    op: name,
                    detail: e.message,
                },
            }),
            (Some(ok), None) => serde_json::from_value(ok)
                .map_err(|e| protocol(name, format!("unexpected `ok`: {e}"))),
            (None, None) => Err(protocol(
                name,
                "a reply with neither `ok` nor `error`".to_owned(),
            )),
        }
    }

    fn with_log(&self, e: StoreError) -> StoreError {
        let text = std::fs::read_to_string(self.dir.join(LOG_FILE)).unwrap_or_default();
        let mut tail: Vec<&str> = text.lines().rev().take(5).collect();
        tail.reverse();
        protocol(
            "start plug-in",
            format!("{e}; end of {LOG_FILE}: {}", tail.join(" | ")),
        )
    }

    /// Sends `close` and waits for the plug-in to exit, SIGKILLing it when
    /// it does not.
    ///
    /// # Errors
    ///
    /// The `close` reply's error, or a plug-in that would not exit.
    pub(crate) fn close(&self) -> Result<(), StoreError> {
        let closed = self.call::<serde_json::Value>(Op::Close).map(|_| ());
        let exited = self.child.wait_exit(CLOSE_WAIT) || self.child.kill_and_wait(CLOSE_WAIT);
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
        closed?;
        if exited {
            Ok(())
        } else {
            Err(protocol(
                "close",
                format!("plug-in pid {} did not exit", self.child.pid),
            ))
        }
    }

    /// SIGKILLs the plug-in (a store dropped without `close`).
    pub(crate) fn kill(&self) {
        let _ = self.child.kill_and_wait(CLOSE_WAIT);
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
    }
}

/// The reader thread: files every line of the plug-in's stdout under
/// the id it answers until stdout ends, then marks the inbox broken.
fn read_replies(stdout: ChildStdout, shared: &Shared) {
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        let read = stdout.read_line(&mut line);
        let mut inbox = shared.lock();
        match read {
            Ok(0) => {
                inbox.broken = Some("the plug-in closed its stdout (exited?)".to_owned());
            }
            Err(e) => inbox.broken = Some(format!("read from the plug-in: {e}")),
            Ok(_) => {
                let (id, filed) = match serde_json::from_str::<Reply>(&line) {
                    Ok(reply) if inbox.in_flight.remove(&reply.id) => (Some(reply.id), Ok(reply)),
                    Ok(reply) => {
                        let oldest = inbox.in_flight.pop_first();
                        let detail = match oldest {
                            Some(asked) => {
                                format!("reply to id {} when {asked} was asked", reply.id)
                            }
                            None => String::new(),
                        };
                        (oldest, Err(detail))
                    }
                    Err(e) => (
                        inbox.in_flight.pop_first(),
                        Err(format!("not a reply line ({e}): {}", line.trim_end())),
                    ),
                };
                // A line with nothing in flight to blame is dropped: no
                // request is waiting for it.
                if let Some(id) = id {
                    inbox.replies.insert(id, filed);
                }
            }
        }
        let done = inbox.broken.is_some();
        drop(inbox);
        shared.filed.notify_all();
        if done {
            return;
        }
    }
}

/// The name of `op` in messages.
pub(crate) fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Hello { .. } => "hello",
        Op::Append { .. } => "append",
        Op::Read { .. } => "read",
        Op::Trim { .. } => "trim",
        Op::Sync => "sync",
        Op::Bounds { .. } => "bounds",
        Op::Put { .. } => "put",
        Op::Get { .. } => "get",
        Op::Delete { .. } => "delete",
        Op::Scan { .. } => "scan",
        Op::Stats => "stats",
        Op::Noop => "noop",
        Op::Close => "close",
    }
}

/// Ends a plug-in a killed process left running for `dir` (only without
/// `setpriv`): its stdin is gone, so it should exit on its own; else it is
/// SIGKILLed after a grace period. A pid that now runs something whose
/// command line does not name `program` is left alone.
fn sweep(dir: &Path, program: &str) {
    let Some(pid) = std::fs::read_to_string(dir.join(PID_FILE))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return;
    };
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()))
            .is_some_and(|state| state != 'Z' && state != 'X')
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(program))
    };
    let grace = std::time::Instant::now() + Duration::from_millis(500);
    let deadline = grace + Duration::from_secs(5);
    while alive() && std::time::Instant::now() < deadline {
        if std::time::Instant::now() >= grace {
            let _ = tied::kill(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = std::fs::remove_file(dir.join(PID_FILE));
}
