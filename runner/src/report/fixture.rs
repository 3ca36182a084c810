//! A fixed `RunReport` for the report tests, and the sample a `--template`
//! is rendered against before a run (`check_template`): two targets, a warmup and two
//! measured phases (the second with an open-loop actor and service time),
//! three assertions per target (pass, fail, not applicable), and an
//! optional second matrix variant. Timings, paths and host details are
//! fixed, so snapshots are stable.

use std::collections::BTreeMap;

use crate::metrics::catalog::MetricUnit;
use crate::metrics::report::{
    ActorReport, Environment, IntervalReport, Latency, MemoryStats, PayloadReport, PhaseProcess,
    PhaseReport, PhaseSample, PhaseStats, ProcessStats, RunReport, RunStatus, TargetReport,
    VariantReport,
};
use crate::metrics::verdict::{AssertionResult, Verdict};
use crate::store::StoreStats;

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

fn latency(p50_us: u64, scale: u64) -> Latency {
    let p50 = p50_us * US * scale / 10;
    Latency {
        mean_ns: p50 as f64 * 1.3,
        p50_ns: p50,
        p90_ns: p50 * 2,
        p99_ns: p50 * 5,
        p999_ns: p50 * 12,
        p9999_ns: p50 * 30,
        max_ns: p50 * 80,
    }
}

fn actor(name: &str, records_per_s: f64, lat: Latency, service: Option<Latency>) -> ActorReport {
    let duration_ns = 10_000 * MS;
    let records = (records_per_s * 10.0) as u64;
    ActorReport {
        name: name.to_owned(),
        op: "append".to_owned(),
        workers: 8,
        rate_per_s: service.map(|_| 5_000.0),
        count: records / 10,
        records,
        bytes: records * 512,
        errors: 0,
        late: if service.is_some() { 17 } else { 0 },
        hits: None,
        duration_ns,
        records_per_s,
        batches_per_s: records_per_s / 10.0,
        bytes_per_s: records_per_s * 512.0,
        latency: lat,
        service,
        histogram: "HISTFAAAAB54nJNpmSzMwMDAxgABzFCaEUoz2X+AsQEAE1QBzw==".to_owned(),
        service_histogram: service
            .map(|_| "HISTFAAAAB54nJNpmSzMwMDAxgABzFCaEUoz2X+AsQEAE1QBzw==".to_owned()),
        first_error: None,
        timeline: Vec::new(),
    }
}

/// Three intervals (1 s, 1 s, 0.5 s) with real histograms: `ops` ops each
/// at `base_ns`, one slow op in the second (a stall).
fn timeline(ops: u64, base_ns: u64) -> Vec<IntervalReport> {
    (0..3u64)
        .map(|i| {
            let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("static bounds");
            let n = if i == 2 { ops / 2 } else { ops };
            h.saturating_record_n(base_ns, n.saturating_sub(1));
            h.saturating_record(if i == 1 { base_ns * 40 } else { base_ns * 2 });
            IntervalReport {
                t_s: i as f64,
                duration_s: if i == 2 { 0.5 } else { 1.0 },
                ops: n,
                records: n * 10,
                bytes: n * 5_120,
                errors: 0,
                p50_ns: h.value_at_quantile(0.5),
                p99_ns: h.value_at_quantile(0.99),
                max_ns: h.max(),
                histogram: crate::metrics::recorder::encode(&h),
            }
        })
        .collect()
}

fn process(scale: u64) -> PhaseProcess {
    PhaseProcess {
        cpu_user_ns: 900 * MS * scale / 10,
        cpu_sys_ns: 300 * MS * scale / 10,
        cpu_utilisation: 1.2 * scale as f64 / 10.0,
        rss_bytes: 80 << 20,
        memory: Some(MemoryStats {
            allocated_bytes: 40 << 20,
            active_bytes: 44 << 20,
            resident_bytes: 50 << 20,
            mapped_bytes: 60 << 20,
            retained_bytes: 8 << 20,
        }),
    }
}

fn phase(name: &str, warmup: bool, actors: Vec<ActorReport>, ended_by: &str) -> PhaseReport {
    PhaseReport {
        name: name.to_owned(),
        warmup,
        duration_ns: 10_000 * MS,
        ended_by: ended_by.to_owned(),
        actors,
        metrics: BTreeMap::new(),
        stats: PhaseStats::default(),
        began_cold: false,
    }
}

/// `scale` is in tenths: 10 = as measured, 20 = twice as slow.
fn target(name: &str, kind: &str, scale: u64, stats: &[(&str, f64)]) -> TargetReport {
    let tput = 1_000_000.0 * 10.0 / scale as f64;
    TargetReport {
        name: name.to_owned(),
        kind: kind.to_owned(),
        software: (kind == "rocksdb").then(|| "RocksDB 11.8.1".to_owned()),
        store_units: BTreeMap::new(),
        phases: vec![
            phase(
                "warmup",
                true,
                vec![actor("append", tput * 0.9, latency(100, scale), None)],
                "duration",
            ),
            {
                let mut a = actor("append", tput, latency(100, scale), None);
                a.timeline = timeline(1_000, 100 * US * scale / 10);
                let mut p = phase("write", false, vec![a], "records");
                let store: BTreeMap<String, f64> = stats
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), *v / 2.0))
                    .collect();
                p.stats = PhaseStats {
                    store: store.clone(),
                    process: Some(process(scale)),
                    timeline: (0..3u64)
                        .map(|i| PhaseSample {
                            t_s: i as f64,
                            duration_s: if i == 2 { 0.5 } else { 1.0 },
                            store: store.iter().map(|(k, v)| (k.clone(), v / 3.0)).collect(),
                            process: process(scale),
                        })
                        .collect(),
                };
                p
            },
            phase(
                "mixed",
                false,
                vec![actor(
                    "writer",
                    51_000.0 - scale as f64 * 100.0,
                    latency(300, scale),
                    Some(latency(80, scale)),
                )],
                "duration",
            ),
        ],
        store: StoreStats {
            values: stats.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            appendix: None,
        },
        process: ProcessStats {
            cpu_user_ns: 12_300 * MS * scale / 10,
            cpu_sys_ns: 4_560 * MS * scale / 10,
            peak_rss_bytes: 96 << 20,
            rss_bytes: 80 << 20,
            memory: process(scale).memory,
            disk_read_bytes: 0,
            disk_write_bytes: 5_120 << 20,
        },
        error: None,
        spread: BTreeMap::new(),
    }
}

fn result(
    text: &str,
    target: &str,
    variant: &str,
    observed: Option<f64>,
    threshold: f64,
    unit: MetricUnit,
    margin: Option<f64>,
) -> AssertionResult {
    let verdict = match (observed, margin) {
        (None, _) => Verdict::NotApplicable,
        (Some(_), Some(m)) if m < 0.0 => Verdict::Fail,
        _ => Verdict::Pass,
    };
    AssertionResult {
        assertion: text.to_owned(),
        target: target.to_owned(),
        variant: variant.to_owned(),
        observed,
        threshold,
        unit,
        verdict,
        margin,
        // The assertions' lines in the (imagined) scenario file.
        line: Some(match text.split('.').next() {
            Some("write") => 21,
            Some("mixed") => 22,
            _ => 23,
        }),
        right: None,
        reason: None,
    }
}

fn variant(label: &str, settings: Vec<(String, serde_json::Value)>, slow: u64) -> VariantReport {
    let targets = vec![
        target(
            "wal-group-commit",
            "wal",
            10 + slow,
            &[
                ("fsyncs", 41_200.0),
                ("segments_sealed", 79.0),
                ("torn_tail_bytes", 0.0),
            ],
        ),
        target(
            "rocksdb-sync",
            "rocksdb",
            20 + slow,
            &[
                ("stall_micros", 0.0),
                ("compaction_bytes", 3.2e9),
                ("write_amplification", 2.31),
            ],
        ),
    ];
    let mut assertions = Vec::new();
    for t in &targets {
        let write = &t.phases[1].actors[0];
        let mixed = &t.phases[2].actors[0];
        let p99 = write.latency.p99_ns as f64;
        assertions.push(result(
            "write.append.p99 < 10ms",
            &t.name,
            label,
            Some(p99),
            1e7,
            MetricUnit::Nanos,
            Some((1e7 - p99) / 1e7),
        ));
        let rps = mixed.records_per_s;
        assertions.push(result(
            "mixed.writer.records_per_s >= 50k",
            &t.name,
            label,
            Some(rps),
            5e4,
            MetricUnit::PerSecond,
            Some((rps - 5e4) / 5e4),
        ));
        let stall = t.store.values.get("stall_micros").copied();
        assertions.push(result(
            "target.store.stall_micros == 0",
            &t.name,
            label,
            stall,
            0.0,
            MetricUnit::Micros,
            None,
        ));
    }
    VariantReport {
        label: label.to_owned(),
        settings,
        resolved: serde_json::json!({
            "version": 1,
            "name": "wal-vs-rocksdb-append",
            "seed": 42,
            "targets": {
                "wal-group-commit": { "wal": { "segment_size": "64MiB", "sync": "batch", "sync_interval": "1ms" } },
                "rocksdb-sync": { "rocksdb": { "sync": true, "compression": "zstd" } }
            },
            "phases": [
                { "name": "warmup", "warmup": true, "duration": "5s" },
                { "name": "write", "records": 100_000 },
                { "name": "mixed", "duration": "10s" }
            ],
            "assertions": ["write.append.p99 < 10ms", "mixed.writer.records_per_s >= 50k", "target.store.stall_micros == 0"]
        }),
        payloads: vec![
            PayloadReport {
                name: "small".to_owned(),
                requested_entropy: 0.8,
                zstd_ratio: 0.81,
                lz4_ratio: 0.84,
                sample_bytes: 1 << 20,
                memory_bytes: 5 << 20,
                warning: None,
            },
            PayloadReport {
                name: "zeros".to_owned(),
                requested_entropy: 0.5,
                zstd_ratio: 0.02,
                lz4_ratio: 0.03,
                sample_bytes: 1 << 20,
                memory_bytes: 1 << 20,
                warning: Some("requested entropy 0.5 but zstd compresses to 0.02".to_owned()),
            },
        ],
        targets,
        assertions,
    }
}

/// The fixture; `variants` is 1 (no matrix) or 2 (a `batch` dimension).
pub(crate) fn run_report(variants: usize) -> RunReport {
    let variants = if variants == 1 {
        vec![variant("", vec![], 0)]
    } else {
        vec![
            variant(
                "batch=10",
                vec![(
                    "phases.write.actors.0.batch".to_owned(),
                    serde_json::json!(10),
                )],
                0,
            ),
            variant(
                "batch=100",
                vec![(
                    "phases.write.actors.0.batch".to_owned(),
                    serde_json::json!(100),
                )],
                5,
            ),
        ]
    };
    RunReport {
        format_version: crate::metrics::report::RUN_FORMAT_VERSION,
        loadline_version: "0.1.0 (abc1234)".to_owned(),
        scenario: "wal-vs-rocksdb-append".to_owned(),
        description: Some("512-byte records in batches of 10 across 8 streams".to_owned()),
        file: "scenarios/wal-vs-rocksdb.yaml".to_owned(),
        seed: 42,
        started_at: "2026-11-02T10:00:00Z".to_owned(),
        finished_at: Some("2026-11-02T10:01:05Z".to_owned()),
        status: RunStatus::Complete,
        error: None,
        stopped_by: None,
        environment: Environment {
            hostname: "bench-1".to_owned(),
            kernel: "6.8.0-45-generic".to_owned(),
            os: "Ubuntu 24.04".to_owned(),
            cpu_model: "AMD EPYC 7B13".to_owned(),
            cores: 2,
            memory_bytes: 8 << 30,
            rustc: "rustc 1.90.0".to_owned(),
            filesystem: "ext4".to_owned(),
            data_dir: "/tmp/loadline-data".to_owned(),
        },
        variants,
        repeat: None,
        shard: None,
        only_phases: Vec::new(),
        only_targets: Vec::new(),
        merged_from: Vec::new(),
        source: None,
    }
}
