//! The live metrics endpoint (`loadline run --metrics-addr ADDR`): an HTTP
//! server on its own thread answering `GET /metrics` with the run's
//! [`Snapshot`] in the Prometheus text format (OpenMetrics, encoded by the
//! `prometheus-client` crate).
//!
//! Every series is named `loadline_…` and labelled `scenario`, `variant`,
//! `target`, `phase` and, per actor, `actor`: operations, records, bytes
//! and errors (counters), latency (a histogram in seconds), store
//! statistics of the running phase's store as it is now and the change of
//! each over every finished phase, the running phase and its progress, and
//! process CPU, RSS and jemalloc. The socket is bound before anything runs,
//! so a bad address is a usage error; a scrape reads the live state and
//! never blocks a worker (they publish a few times a second).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::metrics::live::{Labels, Live, Snapshot};
use crate::store::StatUnit;

/// The content type of the OpenMetrics text format `prometheus-client`
/// writes, served to clients that accept it (Prometheus does).
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic Prometheus text format (0.0.4), served
/// to every other client (`curl`, `promtool check metrics`).
pub(crate) const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram's buckets, seconds (1 µs … 10 s,
/// 1-2-5 steps; `+Inf` follows).
const LATENCY_BOUNDS_S: &[f64] = &[
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1,
    0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// The endpoint could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("--metrics-addr {addr}: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server thread could not be started.
    #[error("--metrics-addr {addr}: cannot start the server thread: {source}")]
    Thread {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A running endpoint; stops when dropped.
#[derive(Debug)]
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves `live` on a thread of its own.
    pub(crate) fn start(addr: SocketAddr, live: Arc<Live>) -> Result<MetricsServer, ServeError> {
        let listener =
            TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ServeError::Bind { addr, source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("loadline-metrics".to_owned())
            .spawn(move || accept_loop(&listener, &live, &flag))
            .map_err(|source| ServeError::Thread { addr, source })?;
        Ok(MetricsServer {
            addr: bound,
            stop,
            thread: Some(thread),
        })
    }

    /// The address served (the bound port when `:0` was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, live: &Live, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                // One request per connection, answered in turn: scrapes are
                // seconds apart, and a slow client times out.
                let _ = answer(stream, live);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn answer(mut stream: TcpStream, live: &Live) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let openmetrics = line
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("accept:"))
        .any(|l| l.contains("application/openmetrics-text"));
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => {
            let text = render(&live.snapshot());
            if openmetrics {
                ("200 OK", OPENMETRICS, text)
            } else {
                ("200 OK", TEXT_004, to_text_004(&text))
            }
        }
        ("GET", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "loadline: metrics at /metrics\n".to_owned(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found; metrics are at /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

type LabelSet = Vec<(String, String)>;

/// A family's labelled values.
type Rows = Vec<(LabelSet, Value)>;

/// One value of a series.
#[derive(Debug, Clone)]
enum Value {
    Number(f64),
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

/// A metric family built for one scrape: its type and every labelled value.
#[derive(Debug)]
struct Family {
    kind: MetricType,
    rows: Vec<(LabelSet, Value)>,
}

impl EncodeMetric for Family {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.rows {
            let mut e = encoder.encode_family(labels)?;
            match (self.kind, value) {
                (MetricType::Counter, Value::Number(v)) => {
                    e.encode_counter::<LabelSet, f64, f64>(v, None)?;
                }
                (_, Value::Number(v)) => e.encode_gauge(v)?,
                (
                    _,
                    Value::Histogram {
                        sum,
                        count,
                        buckets,
                    },
                ) => e.encode_histogram::<LabelSet>(*sum, *count, buckets, None)?,
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

fn labels(scenario: &str, l: &Labels, with_actor: bool) -> LabelSet {
    let mut v = vec![
        ("scenario".to_owned(), scenario.to_owned()),
        ("variant".to_owned(), l.variant.clone()),
        ("target".to_owned(), l.target.clone()),
        ("phase".to_owned(), l.phase.clone()),
    ];
    if with_actor {
        v.push(("actor".to_owned(), l.actor.clone()));
    }
    v
}

/// Latency buckets in ns into the histogram's fixed bounds (seconds).
fn histogram(latency: &[(u64, u64)]) -> Value {
    let mut counts = vec![0u64; LATENCY_BOUNDS_S.len() + 1];
    let (mut sum, mut count) = (0.0, 0u64);
    for (ns, n) in latency {
        let s = *ns as f64 / 1e9;
        sum += s * *n as f64;
        count += n;
        let i = LATENCY_BOUNDS_S
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(LATENCY_BOUNDS_S.len());
        counts[i] += n;
    }
    let buckets = LATENCY_BOUNDS_S
        .iter()
        .copied()
        .chain(std::iter::once(f64::MAX))
        .zip(counts)
        .collect();
    Value::Histogram {
        sum,
        count,
        buckets,
    }
}

/// A store statistic's name as a metric name part (`[a-z0-9_]`).
fn metric_name(stat: &str) -> String {
    stat.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The snapshot in the text format, every name prefixed `loadline_`.
pub(crate) fn render(snap: &Snapshot) -> String {
    let mut reg = Registry::with_prefix("loadline");
    let scenario = snap.scenario.as_str();
    actor_families(&mut reg, snap, scenario);
    store_families(&mut reg, snap, scenario);
    phase_families(&mut reg, snap, scenario);
    process_families(&mut reg, scenario);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
    out
}

/// Per actor: operations, records, payload bytes, errors and latency.
fn actor_families(reg: &mut Registry, snap: &Snapshot, scenario: &str) {
    let actor_counter = |f: &dyn Fn(&crate::metrics::live::ActorFigures) -> f64| Family {
        kind: MetricType::Counter,
        rows: snap
            .actors
            .iter()
            .map(|(l, a)| (labels(scenario, l, true), Value::Number(f(a))))
            .collect(),
    };
    reg.register(
        "ops",
        "Operations completed by an actor in a phase",
        actor_counter(&|a| a.ops as f64),
    );
    reg.register(
        "records",
        "Records appended, read or written by an actor in a phase",
        actor_counter(&|a| a.records as f64),
    );
    reg.register_with_unit(
        "payload",
        "Body bytes an actor processed in a phase",
        Unit::Bytes,
        actor_counter(&|a| a.bytes as f64),
    );
    reg.register(
        "errors",
        "Operations of an actor that failed",
        actor_counter(&|a| a.errors as f64),
    );
    reg.register_with_unit(
        "latency",
        "Operation latency of an actor in a phase (from the intended start under a rate); one interval behind while the phase runs",
        Unit::Seconds,
        Family {
            kind: MetricType::Histogram,
            rows: snap
                .actors
                .iter()
                .map(|(l, a)| (labels(scenario, l, true), histogram(&a.latency)))
                .collect(),
        },
    );
}

/// The running phase's store: its statistics, then what else it offers.
fn store_families(reg: &mut Registry, snap: &Snapshot, scenario: &str) {
    // Store statistics of the running phase's store, one family each.
    // A counter (it only grows while the store is open) is a Prometheus
    // counter, served as `…_total`, so `rate()` reads it and handles the
    // reset a crash phase's reopen makes; a level is a gauge.
    let mut by_stat: std::collections::BTreeMap<(String, bool), (StatUnit, Rows)> =
        std::collections::BTreeMap::new();
    for (l, name, v, unit, counter) in &snap.store {
        by_stat
            .entry((metric_name(name), *counter))
            .or_insert_with(|| (*unit, Vec::new()))
            .1
            .push((labels(scenario, l, false), Value::Number(*v)));
    }
    for ((name, counter), (unit, rows)) in by_stat {
        let help = format!(
            "Store statistic `{name}` ({}) of the running phase's store, as it is now ({})",
            match unit {
                StatUnit::Count => "count",
                StatUnit::Bytes => "bytes",
                StatUnit::Nanos => "ns",
                StatUnit::Micros => "µs",
                StatUnit::Ratio => "ratio",
            },
            if counter {
                "a counter since the store was opened; it starts again at a reopen"
            } else {
                "a level"
            }
        );
        reg.register(
            format!("store_{name}"),
            help,
            Family {
                kind: if counter {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                },
                rows,
            },
        );
    }
    // What else the store offers (RocksDB tickers, histograms, CF
    // properties), one family each.
    let mut families: std::collections::BTreeMap<&str, (&str, bool, Rows)> =
        std::collections::BTreeMap::new();
    for (l, s) in &snap.series {
        let mut ls = labels(scenario, l, false);
        ls.extend(s.labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        families
            .entry(s.family)
            .or_insert_with(|| (s.help, s.counter, Vec::new()))
            .2
            .push((ls, Value::Number(s.value)));
    }
    for (family, (help, counter, rows)) in families {
        reg.register(
            format!("store_{}", metric_name(family)),
            help,
            Family {
                kind: if counter {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                },
                rows,
            },
        );
    }
}

/// Phases: the finished phases' store changes, the running phase's
/// progress, how many finished, and the trends so far.
fn phase_families(reg: &mut Registry, snap: &Snapshot, scenario: &str) {
    reg.register(
        "phase_store_change",
        "Change of a store statistic over a finished phase (counters), or its value at the phase's end (levels); label `stat`",
        Family {
            kind: MetricType::Gauge,
            rows: snap
                .store_phase
                .iter()
                .map(|(l, stat, v)| {
                    let mut ls = labels(scenario, l, false);
                    ls.push(("stat".to_owned(), stat.clone()));
                    (ls, Value::Number(*v))
                })
                .collect(),
        },
    );
    let running = |f: &dyn Fn(f64, f64) -> f64| Family {
        kind: MetricType::Gauge,
        rows: snap
            .running
            .iter()
            .map(|(l, elapsed, progress)| {
                (
                    labels(scenario, l, false),
                    Value::Number(f(*elapsed, *progress)),
                )
            })
            .collect(),
    };
    reg.register(
        "phase_running",
        "1 for the phase running now",
        running(&|_, _| 1.0),
    );
    reg.register_with_unit(
        "phase_elapsed",
        "Time since the running phase started",
        Unit::Seconds,
        running(&|e, _| e),
    );
    reg.register(
        "phase_progress_ratio",
        "Progress of the running phase, 0 to 1: of its records or its duration, whichever is further",
        running(&|_, p| p),
    );
    reg.register(
        "phases_finished",
        "Phases finished so far, on every target",
        Family {
            kind: MetricType::Counter,
            rows: vec![(
                vec![("scenario".to_owned(), scenario.to_owned())],
                Value::Number(snap.phases_finished as f64),
            )],
        },
    );
    reg.register(
        "trend",
        "A trend of the running (or last) phase so far, as the report computes it: series `records_per_s` (records/s), `p99` (ns) or `process.rss` (bytes); trend `slope` (the series' unit per minute), `drift` and `cv` (ratios), `worst` (the series' unit)",
        Family {
            kind: MetricType::Gauge,
            rows: snap
                .trends
                .iter()
                .map(|(l, t)| {
                    let mut set = labels(scenario, l, !t.actor.is_empty());
                    set.push(("series".to_owned(), t.series.clone()));
                    set.push(("trend".to_owned(), t.trend.to_owned()));
                    (set, Value::Number(t.value))
                })
                .collect(),
        },
    );
}

/// OpenMetrics text as the classic Prometheus text format (0.0.4): a
/// counter family is named with its `_total` suffix there (OpenMetrics
/// names the family without it), and `# UNIT` and `# EOF` do not exist.
/// Samples, gauges and histograms are written the same in both.
pub(crate) fn to_text_004(openmetrics: &str) -> String {
    let counters: std::collections::BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn process_families(reg: &mut Registry, scenario: &str) {
    let sample = crate::metrics::process::phase_delta(
        crate::metrics::process::Sample::default(),
        crate::metrics::process::sample(),
        0,
    );
    let one = |kind: MetricType, v: f64| Family {
        kind,
        rows: vec![(
            vec![("scenario".to_owned(), scenario.to_owned())],
            Value::Number(v),
        )],
    };
    reg.register_with_unit(
        "process_cpu_user",
        "User CPU time of the loadline process",
        Unit::Seconds,
        one(MetricType::Counter, sample.cpu_user_ns as f64 / 1e9),
    );
    reg.register_with_unit(
        "process_cpu_system",
        "System CPU time of the loadline process",
        Unit::Seconds,
        one(MetricType::Counter, sample.cpu_sys_ns as f64 / 1e9),
    );
    reg.register_with_unit(
        "process_resident_memory",
        "Resident set size of the loadline process (VmRSS)",
        Unit::Bytes,
        one(MetricType::Gauge, sample.rss_bytes as f64),
    );
    if let Some(m) = sample.memory {
        for (name, help, v) in [
            (
                "allocated",
                "Bytes allocated and not freed",
                m.allocated_bytes,
            ),
            ("active", "Bytes in active pages", m.active_bytes),
            (
                "resident",
                "Bytes in resident pages jemalloc maps",
                m.resident_bytes,
            ),
            (
                "mapped",
                "Bytes in chunks jemalloc has mapped",
                m.mapped_bytes,
            ),
            (
                "retained",
                "Bytes of virtual memory jemalloc retains",
                m.retained_bytes,
            ),
        ] {
            reg.register_with_unit(
                format!("jemalloc_{name}"),
                format!("jemalloc stats.{name}: {help} (the whole process, RocksDB included)"),
                Unit::Bytes,
                one(MetricType::Gauge, v as f64),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::live::ActorFigures;

    #[test]
    fn a_snapshot_renders_labelled_loadline_series() {
        let l = Labels {
            variant: String::new(),
            target: "log".into(),
            phase: "write".into(),
            actor: "append".into(),
        };
        let snap = Snapshot {
            scenario: "s".into(),
            actors: vec![(
                l.clone(),
                ActorFigures {
                    ops: 10,
                    records: 100,
                    bytes: 6400,
                    errors: 0,
                    latency: vec![(1_500, 9), (3_000_000, 1)],
                },
            )],
            store: vec![
                (l.clone(), "fsyncs".into(), 7.0, StatUnit::Count, true),
                (l.clone(), "files_l0".into(), 3.0, StatUnit::Count, false),
            ],
            series: vec![],
            store_phase: vec![],
            running: Some((l, 1.5, 0.25)),
            phases_finished: 1,
            trends: vec![(
                Labels {
                    variant: String::new(),
                    target: "log".to_owned(),
                    phase: "write".to_owned(),
                    actor: "append".to_owned(),
                },
                crate::metrics::live_trends::LiveTrend {
                    actor: "append".to_owned(),
                    series: "p99".to_owned(),
                    trend: "slope",
                    value: 1500.0,
                },
            )],
        };
        let text = render(&snap);
        assert!(
            text.contains(
                r#"loadline_records_total{scenario="s",variant="",target="log",phase="write",actor="append"} 100"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"loadline_latency_seconds_bucket{le="0.000002",scenario="s",variant="",target="log",phase="write",actor="append"} 9"#),
            "{text}"
        );
        assert!(
            text.contains(r#"loadline_latency_seconds_bucket{le="+Inf",scenario="s",variant="",target="log",phase="write",actor="append"} 10"#),
            "{text}"
        );
        assert!(text.contains(r#"loadline_latency_seconds_count{scenario="s",variant="",target="log",phase="write",actor="append"} 10"#), "{text}");
        // Regression: cumulative store counters were gauges without
        // `_total`, and the shipped dashboard `rate()`d them.
        assert!(
            text.contains(
                r#"loadline_store_fsyncs_total{scenario="s",variant="",target="log",phase="write"} 7"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"loadline_store_files_l0{scenario="s",variant="",target="log",phase="write"} 3"#
            ),
            "{text}"
        );
        assert!(text.contains("loadline_phase_progress_ratio{"), "{text}");
        assert!(
            text.contains(r#"loadline_trend{scenario="s",variant="",target="log",phase="write",actor="append",series="p99",trend="slope"} 1500"#),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
        let classic = to_text_004(&text);
        assert!(
            classic.contains("# TYPE loadline_records_total counter\n"),
            "{classic}"
        );
        assert!(
            classic.contains("# TYPE loadline_store_fsyncs_total counter\n")
                || classic.contains("# TYPE loadline_store_fsyncs counter\n"),
            "{classic}"
        );
        assert!(
            classic.contains("# TYPE loadline_store_files_l0 gauge\n"),
            "{classic}"
        );
        assert!(
            classic.contains("# HELP loadline_records_total Records"),
            "{classic}"
        );
        assert!(
            !classic.contains("# EOF") && !classic.contains("# UNIT"),
            "{classic}"
        );
    }
}
