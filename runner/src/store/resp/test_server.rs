//! Test fixture: a real `redis-server` on a free loopback port in a
//! temporary directory, stopped when dropped. Installs Debian's
//! `redis-server` with `apt-get` when the machine has none, so the tests
//! never depend on a CI script having done it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub(crate) struct TestServer {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub(crate) address: String,
    /// Its working directory (RDB and AOF files).
    pub(crate) dir: tempfile::TempDir,
}

/// Where `redis-server` is, installing it on first need.
pub(crate) fn redis_server() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let find = || {
        ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "redis-server"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .expect("run apt-get to install redis-server");
    assert!(status.success(), "apt-get install redis-server: {status}");
    find().expect("redis-server after apt-get install")
}

impl TestServer {
    /// Starts `redis-server` with extra `args` (e.g. `--appendonly yes`).
    pub(crate) fn start(args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = server_port();
        let child = spawn(dir.path(), port, args);
        let address = format!("127.0.0.1:{port}");
        wait_ready(&address);
        TestServer {
            child,
            address,
            dir,
        }
    }

    /// SIGKILLs the server and starts it again on the same port and
    /// directory (what a crash phase does to a started server).
    pub(crate) fn kill9_and_restart(&mut self, args: &[&str]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port: u16 = self
            .address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("port");
        self.child = spawn(self.dir.path(), port, args);
        wait_ready(&self.address);
    }
}

fn spawn(dir: &Path, port: u16, args: &[&str]) -> Child {
    Command::new(redis_server())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--daemonize", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

fn wait_ready(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = super::conn::Conn::connect(address, 0)
            && c.call(&[b"PING"], "ping").is_ok()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server at {address} did not answer PING within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port for a server that is restarted on the same port: outside
/// the kernel's ephemeral range (`ip_local_port_range`), so an outgoing
/// connection of another test cannot take it while the server is down.
/// Spread by process id and a counter so concurrent tests pick apart.
pub(crate) fn server_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, span) = (10_000u16, low.saturating_sub(10_000).max(1000));
    let seed = (std::process::id() % u32::from(span)) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = from + (seed.wrapping_add(n.wrapping_mul(97))) % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
