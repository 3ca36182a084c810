//! Trend assertions on a real run (issue 28's "done when", first part): a
//! memory store that keeps every record grows its RSS at ~16 MiB/s and
//! fails `rss.slope`, while the WAL under the same load (its records on
//! disk) passes; an open-loop writer at a fixed rate passes
//! `records_per_s.cv` and `drift` on both; trends are rows of
//! `results.csv` in their own units; and `compare` judges a trend like any
//! metric — a change that turns a flat RSS into a slope is a regression.

const SCENARIO: &str = "version: 1
name: trends
seed: 11
targets:
  mem: { memory: {} }
  wal: { wal: { sync: never } }
payloads:
  p: { size: 4KiB, pool: 64 }
phases:
  - name: soak
    duration: 6s
    actors:
      - { name: writer, op: append, batch: 4, payload: p, rate: 1k/s }
assertions:
  - soak.process.rss.slope < 200MiB/min
  - soak.writer.records_per_s.cv < 25%
  - soak.writer.records_per_s.drift > -25%
";

#[test]
fn a_growing_heap_fails_its_slope_and_a_steady_writer_passes_cv_and_drift() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("trends.yaml");
    std::fs::write(&file, SCENARIO).expect("scenario");
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary")
        .args(["run", "--quiet", "--interval", "250ms", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .code(1);
    let csv = std::fs::read_to_string(out.join("assertions.csv")).expect("assertions.csv");
    let verdict = |target: &str, metric: &str| {
        csv.lines()
            .find(|l| l.contains(&format!(",{target},")) && l.contains(metric))
            .unwrap_or_else(|| panic!("no row for {target} {metric} in\n{csv}"))
            .to_owned()
    };
    let mem = verdict("mem", "rss.slope");
    let wal = verdict("wal", "rss.slope");
    assert!(mem.contains(",fail,"), "{mem}");
    assert!(wal.contains(",pass,"), "{wal}");
    for target in ["mem", "wal"] {
        for metric in ["records_per_s.cv", "records_per_s.drift"] {
            let row = verdict(target, metric);
            assert!(row.contains(",pass,"), "{row}");
        }
    }
    // 24 intervals of 250 ms: trends are listed among the measured metrics.
    let results = std::fs::read_to_string(out.join("results.csv")).expect("results.csv");
    for (metric, unit) in [
        ("process,rss.slope", "bytes_per_min"),
        ("writer,records_per_s.slope", "per_s_per_min"),
        ("writer,records_per_s.drift", "ratio"),
        ("writer,p99.worst", "ns"),
    ] {
        assert!(
            results
                .lines()
                .any(|l| l.contains(metric) && l.ends_with(unit)),
            "{metric} [{unit}] missing from\n{results}"
        );
    }
}

/// One target named `store` of `kind`, 3 s at 1k records/s of 4 KiB in
/// 100 ms intervals (30 points, enough for trends to be listed).
fn rss_scenario(dir: &std::path::Path, name: &str, kind: &str) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &file,
        format!(
            "version: 1\nname: rss\nseed: 11\ninterval: 100ms\ntargets:\n  store: {{ {kind} }}\npayloads:\n  p: {{ size: 4KiB, pool: 64 }}\nphases:\n  - name: soak\n    duration: 3s\n    actors:\n      - {{ name: writer, op: append, batch: 4, payload: p, rate: 1k/s }}\n"
        ),
    )
    .expect("scenario");
    file
}

/// Guards issue 28 item 4: the same workload on a store that keeps every
/// record in memory (the "PR") against the WAL (the "base"): `compare`
/// gated on `rss.slope` reports the slope as a regression and exits 1.
#[test]
fn compare_calls_a_flat_rss_turned_into_a_slope_a_regression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut outs = Vec::new();
    for (name, kind) in [("base", "wal: { sync: never }"), ("new", "memory: {}")] {
        let out = dir.path().join(name);
        assert_cmd::Command::cargo_bin("loadline")
            .expect("binary")
            .args(["run", "--quiet", "--repeat", "5", "--out"])
            .arg(&out)
            .arg(rss_scenario(dir.path(), name, kind))
            .assert()
            .success();
        outs.push(out);
    }
    let compared = assert_cmd::Command::cargo_bin("loadline")
        .expect("binary")
        .arg("compare")
        .args(&outs)
        .args(["--metric", "rss.slope"])
        .env_remove("GITHUB_ACTIONS")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&compared.get_output().stdout).into_owned();
    assert!(text.contains("REGRESSION"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("✗ soak.process.rss.slope") && l.contains("MiB/min")),
        "{text}"
    );
}
