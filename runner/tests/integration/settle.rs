//! `settle` on a phase end to end (issue 28 item 3): after a fill that
//! leaves RocksDB flushing and compacting, the next phase waits until the
//! store is quiescent — a non-zero `settle.wait`, no compaction debt left
//! — while a memory store settles at once; and a store that cannot settle
//! (automatic compactions off) times out: the run stops with an error
//! under the default `on_timeout: fail`, and under `measure` the phase
//! runs with `settle.timed_out` = 1 for an assertion to catch.

use std::path::Path;

/// A fill of 32 MiB of random keys into 256 KiB memtables with one
/// background job: the flushes and compactions it leaves take a while
/// after it ends. (Appends would not do: their keys are sequential, so
/// RocksDB moves their files down without rewriting them.)
fn scenario(extra_options: &str, settle: &str, assertions: &str) -> String {
    format!(
        "version: 1
name: settle
seed: 7
targets:
  rocks:
    rocksdb:
      write_buffer_size: 256KiB
      max_background_jobs: 1
      level0_file_num_compaction_trigger: 2
      compression: none
      options: {{ {extra_options} }}
  mem: {{ memory: {{}} }}
payloads:
  p: {{ size: 1KiB, pool: 64 }}
phases:
  - name: fill
    records: 32768
    actors:
      - {{ name: writer, op: put, batch: 64, payload: p, keys: {{ space: 1M, distribution: uniform }} }}
  - name: read
    settle: {settle}
    records: 2048
    actors:
      - {{ name: reader, op: get, keys: {{ space: 1M }} }}
assertions:
{assertions}"
    )
}

fn run(dir: &Path, yaml: &str) -> (Option<i32>, String, serde_json::Value) {
    let file = dir.join("settle.yaml");
    std::fs::write(&file, yaml).expect("scenario");
    let out = dir.join("out");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .expect("run loadline");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = std::fs::read_to_string(out.join("run.json")).unwrap_or_default();
    let run = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
    (o.status.code(), stderr, run)
}

/// Phase `read`'s metric `name` on target `target`.
fn metric(run: &serde_json::Value, target: &str, name: &str) -> Option<f64> {
    let t = run["variants"][0]["targets"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == target)?;
    let p = t["phases"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == "read")?;
    p["metrics"][name]
        .as_f64()
        .or_else(|| p["stats"]["store"][name].as_f64())
}

#[test]
fn a_phase_after_a_fill_waits_for_rocksdb_to_settle_and_starts_without_debt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr, run) = run(
        dir.path(),
        &scenario(
            "",
            "{ timeout: 2m }",
            "  - read.settle.timed_out == 0\n  - read.settle.debt_left == 0\n",
        ),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let wait = metric(&run, "rocks", "settle.wait").expect("rocks settle.wait");
    // At least one poll of 10 ms: the store was busy when first asked.
    assert!(
        wait >= 10e6,
        "the fill left flushes and compactions behind: waited {wait} ns"
    );
    assert_eq!(metric(&run, "rocks", "settle.debt_left"), Some(0.0));
    // Reads add no debt: the phase ended with none either.
    assert_eq!(
        metric(&run, "rocks", "pending_compaction_bytes"),
        Some(0.0),
        "{run:#}"
    );
    // A store without background work is quiescent at once (asked once,
    // no sleep of 10 ms).
    let mem = metric(&run, "mem", "settle.wait").expect("mem settle.wait");
    assert!(mem < 10e6, "memory waited {mem} ns");
    assert_eq!(metric(&run, "mem", "settle.timed_out"), Some(0.0));
    // results.csv carries the wait like any phase metric.
    let csv = std::fs::read_to_string(dir.path().join("out/results.csv")).expect("csv");
    assert!(
        csv.lines()
            .any(|l| l.contains(",rocks,") && l.contains("settle.wait")),
        "{csv}"
    );
}

#[test]
fn a_store_that_never_settles_times_out_and_stops_the_run_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr, run) = run(
        dir.path(),
        &scenario(
            "disable_auto_compactions: \"true\"",
            "{ timeout: 300ms }",
            "  - fill.writer.records > 0\n",
        ),
    );
    assert_eq!(code, Some(3), "a store error's exit code: {stderr}");
    assert!(
        stderr.contains("phase `read`: the store did not settle within 300ms")
            && stderr.contains("debt left"),
        "{stderr}"
    );
    assert!(stderr.contains("on_timeout: measure"), "{stderr}");
    // The fill finished and is kept; the phase that could not settle is not.
    assert!(metric(&run, "rocks", "settle.wait").is_none(), "{run:#}");
}

#[test]
fn under_on_timeout_measure_the_phase_runs_and_its_timeout_is_assertable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr, run) = run(
        dir.path(),
        &scenario(
            "disable_auto_compactions: \"true\"",
            "{ timeout: 300ms, on_timeout: measure }",
            "  - read.settle.timed_out == 0\n",
        ),
    );
    assert_eq!(code, Some(1), "the assertion fails: {stderr}");
    assert_eq!(metric(&run, "rocks", "settle.timed_out"), Some(1.0));
    let wait = metric(&run, "rocks", "settle.wait").expect("wait");
    assert!((300e6..2e9).contains(&wait), "{wait}");
    assert!(metric(&run, "rocks", "settle.debt_left").expect("left") > 0.0);
    // The phase measured anyway.
    assert!(run.to_string().contains("\"reader\""));
    assert!(
        stderr.contains("did not settle within 300ms") && stderr.contains("measuring anyway"),
        "{stderr}"
    );
}

#[test]
fn settle_metrics_of_a_phase_without_settle_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("s.yaml");
    let yaml = scenario("", "{}", "  - read.settle.wait < 1s\n").replace("    settle: {}\n", "");
    std::fs::write(&file, yaml).expect("scenario");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .arg("validate")
        .arg(&file)
        .output()
        .expect("validate");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "`settle.wait` exists only for phases with a `settle`: add `settle: {}` to phase `read`"
        ),
        "{err}"
    );
    // With the settle, the same assertion is valid.
    std::fs::write(&file, scenario("", "{}", "  - read.settle.wait < 1s\n")).expect("scenario");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .arg("validate")
        .arg(&file)
        .output()
        .expect("validate");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
