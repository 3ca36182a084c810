//! Trend assertions on a real run (issue 28's "done when", first part): a
//! memory store that keeps every record grows its RSS at ~16 MiB/s and
//! fails `rss.slope`, while the WAL under the same load (its records on
//! disk) passes; an open-loop writer at a fixed rate passes
//! `records_per_s.cv` and `drift` on both; trends are rows of
//! `results.csv` in their own units.

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
