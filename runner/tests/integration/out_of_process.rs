//! Out-of-process targets take part in everything other targets do (issue
//! 26, item 6): a scenario with the Python reference plug-in (`external`)
//! and a `redis-server` loadline starts (`resp`) runs with `--repeat 2`
//! while the live endpoint is scraped, writes both targets' timelines,
//! runs as two shards that `merge` puts back together, and `compare`s
//! against a second run cell by cell.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::repo_root;
use super::resp::{ensure_redis_server, server_port};

/// The scenario, with the plug-in's path absolute and the server on `port`.
fn scenario(dir: &Path, port: u16) -> PathBuf {
    let store = repo_root().join("examples/external/store.py");
    let text = format!(
        r#"version: 1
name: out-of-process
seed: 5
targets:
  python:
    external:
      command: [python3, "{store}"]
      capabilities: [log, kv, persistent, crash_durable]
  redis:
    resp:
      address: 127.0.0.1:{port}
      server:
        command: [redis-server, --port, "{port}", --bind, 127.0.0.1, --dir, "{{dir}}", --save, "", --appendonly, "no"]
        ready: 30s
payloads:
  p: {{ size: 128B, pool: 32 }}
phases:
  - name: write
    duration: 1500ms
    interval: 250ms
    actors:
      - {{ op: append, batch: 10, payload: p }}
      - {{ op: put, payload: p, keys: {{ space: 1k }} }}
assertions:
  - write.append.records_per_s > 10
"#,
        store = store.display()
    );
    let path = dir.join("out-of-process.yaml");
    std::fs::write(&path, text).expect("scenario written");
    path
}

fn loadline() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("loadline").expect("binary built")
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
        .expect("json")
}

/// The target names of a run.json's first variant.
fn targets(run: &serde_json::Value) -> Vec<String> {
    run["variants"][0]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

/// `GET /metrics` on 127.0.0.1:`port`: the body of a 200 answer.
fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

#[test]
fn external_and_resp_targets_repeat_stream_timelines_shard_merge_and_compare() {
    ensure_redis_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario(dir.path(), server_port());
    let metrics_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    // --repeat 2 with the live endpoint, scraped until both targets'
    // records were served.
    let base = dir.path().join("base");
    let child = Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .args(["run", "--quiet", "--repeat", "2", "--metrics-addr"])
        .arg(format!("127.0.0.1:{metrics_port}"))
        .arg("--out")
        .arg(&base)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadline starts");
    let mut seen: Vec<&str> = Vec::new();
    let end = Instant::now() + Duration::from_secs(120);
    while seen.len() < 2 && Instant::now() < end {
        if let Some(body) = scrape(metrics_port) {
            for t in ["python", "redis"] {
                let served = body.lines().any(|l| {
                    l.starts_with("loadline_records_total{")
                        && l.contains(&format!("target=\"{t}\""))
                });
                if served && !seen.contains(&t) {
                    seen.push(t);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("loadline ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    seen.sort_unstable();
    assert_eq!(seen, ["python", "redis"], "/metrics served both targets");
    let run = run_json(&base);
    assert_eq!(run["repeat"]["rounds"], 2);
    assert_eq!(run["repeat"]["completed"], 2);
    let mut names = targets(&run);
    names.sort();
    assert_eq!(names, ["python", "redis"]);
    let timeline = std::fs::read_to_string(base.join("timeline.csv")).expect("timeline.csv");
    for t in ["python", "redis"] {
        assert!(
            timeline
                .lines()
                .filter(|l| l.contains(&format!(",{t},")))
                .count()
                >= 4,
            "several intervals of {t} in timeline.csv:\n{timeline}"
        );
    }

    // Two shards, merged: both targets, each from its own shard.
    let mut shard_dirs = Vec::new();
    for i in 1..=2 {
        let out = dir.path().join(format!("shard-{i}"));
        loadline()
            .args(["run", "--quiet", "--shard", &format!("{i}/2"), "--out"])
            .arg(&out)
            .arg(&file)
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        assert_eq!(targets(&run_json(&out)).len(), 1, "one cell per shard");
        shard_dirs.push(out);
    }
    let merged = dir.path().join("merged");
    loadline()
        .arg("merge")
        .args(&shard_dirs)
        .arg("--out")
        .arg(&merged)
        .arg("--quiet")
        .assert()
        .success();
    let mut names = targets(&run_json(&merged));
    names.sort();
    assert_eq!(names, ["python", "redis"]);

    // A second repeated run compared with the first: judged, not refused
    // (exit 0 or 1, never 2 or 3), with cells of both targets.
    let new = dir.path().join("new");
    loadline()
        .args(["run", "--quiet", "--repeat", "2", "--out"])
        .arg(&new)
        .arg(&file)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let cmp = dir.path().join("cmp");
    let code = loadline()
        .arg("compare")
        .arg(&base)
        .arg(&new)
        .arg("--out")
        .arg(&cmp)
        .arg("--quiet")
        .output()
        .expect("compare runs")
        .status
        .code();
    assert!(matches!(code, Some(0 | 1)), "compare exit {code:?}");
    let csv = std::fs::read_to_string(cmp.join("compare.csv")).expect("compare.csv");
    for t in ["python", "redis"] {
        assert!(
            csv.lines()
                .any(|l| l.contains(&format!(",{t},")) && l.contains("records_per_s")),
            "{t}'s throughput is compared:\n{csv}"
        );
    }
}
