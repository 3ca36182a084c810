//! The live metrics endpoint against a real Prometheus: Debian's
//! `prometheus` package (installed by the test with `apt-get` when missing) scrapes a running `loadline run --metrics-addr`, its
//! HTTP API is asked for a loadline series, and `promtool check metrics`
//! lints a scrape; the run then restarts its stores cleanly (the endpoint
//! must not hold on to a store the engine needs to itself). And: an address that cannot be bound is a usage error
//! (exit 2) naming it, before anything runs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `prometheus` and `promtool` on the PATH, installed from Debian's
/// package when missing.
fn ensure_prometheus() {
    super::tools::ensure(&["prometheus", "promtool"], &["prometheus"]);
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `GET path` on 127.0.0.1:`port` with `accept`; the status line and body.
fn get(port: u16, path: &str, accept: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

/// Polls `f` every 200 ms until it gives a value or `limit` passes.
fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

fn scenario(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("live.yaml");
    std::fs::write(
        &path,
        "version: 1\nname: live\nseed: 3\ntargets:\n  lsm: { rocksdb: {} }\n  mem: { memory: {} }\n  log: { wal: { sync: never } }\npayloads:\n  p: { size: 128B, pool: 64 }\nphases:\n  - name: write\n    duration: 5s\n    actors:\n      - { op: append, batch: 10, payload: p, rate: 2k/s }\n      - { op: read, from: tail, lag: 100 }\n  - name: reopen\n    restart: clean\n",
    )
    .expect("scenario written");
    path
}

/// Kills a child on drop, so a failed assertion leaves no process behind.
struct Reaped(std::process::Child);
impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_a_running_loadline_and_promtool_passes_the_scrape() {
    ensure_prometheus();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path());
    let (port, prom_port) = (free_port(), free_port());
    let run = Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .args(["run", "--quiet", "--interval", "250ms", "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadline starts");
    let mut run = Reaped(run);

    // A scrape in the classic text format while the RocksDB target runs
    // (first), with its tickers, histograms and properties, linted by promtool.
    let body = wait_for(Duration::from_secs(30), || {
        let (status, body) = get(port, "/metrics", "*/*")?;
        (status.contains("200")
            && body.contains("loadline_records_total{")
            && body.contains("loadline_store_rocksdb_ticker_total{")
            && body.contains("loadline_store_rocksdb_distribution{")
            && body.contains(r#"series="p99",trend="slope"}"#))
        .then_some(body)
    })
    .expect("loadline serves /metrics while it runs");
    assert!(body.contains(r#"phase="write",actor="append"}"#), "{body}");
    assert!(body.contains("loadline_latency_seconds_bucket{"), "{body}");
    // Issue 28: the running phase's trends, live.
    assert!(
        body.contains(r#"actor="append",series="records_per_s",trend="cv"}"#),
        "{body}"
    );
    assert!(
        body.contains(r#"phase="write",series="process.rss",trend="worst"}"#),
        "{body}"
    );
    assert!(
        body.contains("loadline_store_stall_micros_total{"),
        "{body}"
    );
    assert!(
        body.contains(r#"property="rocksdb.num-files-at-level0"}"#),
        "{body}"
    );
    assert!(
        body.contains("loadline_store_rocksdb_distribution{"),
        "{body}"
    );
    let scrape = dir.path().join("scrape.txt");
    std::fs::write(&scrape, &body).expect("scrape saved");
    let lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&scrape).expect("scrape"))
        .output()
        .expect("promtool runs");
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}\n{body}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    // The OpenMetrics form for clients that ask for it.
    let (_, om) = get(
        port,
        "/metrics",
        "application/openmetrics-text; version=1.0.0",
    )
    .expect("scrape");
    assert!(om.trim_end().ends_with("# EOF"), "{om}");

    // A real Prometheus scraping it every 500 ms.
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\nscrape_configs:\n  - job_name: loadline\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .expect("config written");
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let _prometheus = Reaped(prometheus);
    let query = "/api/v1/query?query=loadline_records_total%7Bphase%3D%22write%22%2Cactor%3D%22append%22%7D";
    let answer = wait_for(Duration::from_secs(30), || {
        let (status, body) = get(prom_port, query, "application/json")?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let result = v["data"]["result"].as_array()?;
        (status.contains("200") && !result.is_empty()).then_some(v)
    })
    .expect("Prometheus's API returns the scraped loadline series");
    let series = &answer["data"]["result"][0];
    assert_eq!(series["metric"]["scenario"], "live", "{answer}");
    assert_eq!(series["metric"]["job"], "loadline", "{answer}");
    let value: f64 = series["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("a sample value");
    assert!(value > 0.0, "records so far: {answer}");

    // Every query of the shipped Grafana dashboard is valid PromQL to this
    // Prometheus (Grafana's variables replaced as Grafana would).
    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::repo_root().join("examples/grafana/loadline-dashboard.json"))
            .expect("dashboard"),
    )
    .expect("dashboard is JSON");
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            // `rate()` only of counters (`…_total`, a histogram's
            // `…_bucket`): a gauge's rate is meaningless and misses resets.
            for arg in t["expr"].as_str().expect("expr").split("rate(").skip(1) {
                let name: String = arg
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    name.ends_with("_total") || name.ends_with("_bucket"),
                    "the dashboard rate()s `{name}`, which is not a counter"
                );
            }
            let expr = t["expr"]
                .as_str()
                .expect("expr")
                .replace("$__rate_interval", "2s")
                .replace("$scenario", ".*")
                .replace("$target", ".*");
            let encoded: String = expr
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let (_, body) = get(
                prom_port,
                &format!("/api/v1/query?query={encoded}"),
                "application/json",
            )
            .expect("prometheus answers");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["status"], "success", "{expr}: {body}");
            queries += 1;
        }
    }
    assert!(queries >= 10);

    let status = wait_for(Duration::from_secs(60), || run.0.try_wait().ok().flatten())
        .expect("the run ends");
    assert!(status.success(), "loadline exit {status:?}");
}

#[test]
fn an_address_in_use_is_a_usage_error_before_anything_runs() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path());
    let out = dir.path().join("out");
    let assert = assert_cmd::Command::cargo_bin("loadline")
        .expect("binary")
        .args(["run", "--quiet", "--metrics-addr"])
        .arg(addr.to_string())
        .arg("--out")
        .arg(&out)
        .arg(&file)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("--metrics-addr {addr}: cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(!out.join("run.json").exists(), "nothing ran");
}
