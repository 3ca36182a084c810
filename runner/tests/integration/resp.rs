//! The `resp` kind end to end: `loadline run scenarios/redis.yaml` starts
//! its own `redis-server`, and the crash phase SIGKILLs the writers and
//! that server under `appendfsync always`; every assertion holds,
//! `crash.lost_records == 0` among them. The scenario runs on a free port
//! instead of its 6390 so parallel tests never collide.

use super::repo_root;

/// Installs Debian's `redis-server` when the machine has none.
pub(super) fn ensure_redis_server() {
    if std::path::Path::new("/usr/bin/redis-server").exists() {
        return;
    }
    let status = std::process::Command::new("apt-get")
        .args(["install", "-y", "-q", "redis-server"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .expect("run apt-get to install redis-server");
    assert!(status.success(), "apt-get install redis-server: {status}");
}

#[test]
fn redis_yaml_passes_with_a_server_loadline_starts_and_kills() {
    ensure_redis_server();
    let port = server_port().to_string();
    let text = std::fs::read_to_string(repo_root().join("scenarios/redis.yaml"))
        .expect("scenarios/redis.yaml");
    assert_eq!(
        text.matches("6390").count(),
        3,
        "the port in description, address and command"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("redis.yaml");
    std::fs::write(&scenario, text.replace("6390", &port)).expect("write");
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary built")
        .arg("run")
        .arg(&scenario)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    let crash = run["variants"][0]["targets"][0]["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["name"] == "crash")
        .expect("crash phase");
    assert_eq!(crash["metrics"]["cycles"], 3.0);
    assert_eq!(crash["metrics"]["lost_records"], 0.0);
    assert!(
        crash["metrics"]["acknowledged_records"]
            .as_f64()
            .expect("acked")
            > 0.0
    );
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "the server loadline started is stopped at the end"
    );
}

/// A free port for a server that is restarted on the same port: outside
/// the kernel's ephemeral range (`ip_local_port_range`), so an outgoing
/// connection of another test cannot take it while the server is down.
/// Spread by process id and a counter so concurrent tests pick apart.
pub(super) fn server_port() -> u16 {
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
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
