//! Results as data (issue 13 items 2 and 5): `--repeat` rounds report the
//! median with every round's value beside it; `--shard I/N` runs and
//! `loadline merge` put back exactly what the unsharded run writes, cell
//! for cell (timings aside); merge refuses inputs that do not belong
//! together, naming what differs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use loadline::testing::{RUN_SCHEMA_PATH, RunReport};

use super::repo_root;

/// Two variants × three targets (two memory, one WAL), a writing and a
/// reading phase, deterministic record counts.
const SCENARIO: &str = "version: 1
name: sharded
seed: 7
targets:
  a: { memory: {} }
  b: { memory: {} }
  c: { wal: { sync: never } }
payloads:
  p: { size: 128B, pool: 64 }
phases:
  - name: write
    records: 20k
    actors: [{ op: append, batch: 4, payload: p }]
  - name: read
    records: 5k
    actors: [{ op: read, from: head }]
assertions:
  - write.append.records == 20k
  - read.read.records >= 5k
  - write.append.p99 < 10s
matrix:
  payloads.p.size: [64B, 256B]
";

fn scenario(dir: &Path) -> PathBuf {
    let file = dir.join("sharded.yaml");
    std::fs::write(&file, SCENARIO).expect("write scenario");
    file
}

/// The scenario without its matrix (one variant).
fn single(dir: &Path) -> PathBuf {
    let file = dir.join("single.yaml");
    let text = SCENARIO.split("matrix:").next().expect("text");
    std::fs::write(&file, text).expect("write scenario");
    file
}

fn loadline(args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary built")
        .args(args)
        .assert()
}

fn run(file: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        file.to_str().expect("utf-8"),
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    loadline(&args).success();
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

/// Metrics that do not depend on timing.
const EXACT: &[&str] = &["count", "records", "bytes", "errors"];

/// `results.csv` as (variant, target, phase, actor, metric, unit) → value,
/// the value kept only for metrics that do not depend on timing.
fn cells(out: &Path) -> BTreeMap<Vec<String>, Option<String>> {
    csv_rows(&out.join("results.csv"))
        .into_iter()
        .map(|r| {
            // r[0] is the run id, which differs between runs.
            let key = vec![
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
                r[7].clone(),
            ];
            let exact = r[3] != "target" && EXACT.contains(&r[5].as_str());
            (key, exact.then(|| r[6].clone()))
        })
        .collect()
}

fn junit_cases(out: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    xml.split("<testcase ")
        .skip(1)
        .map(|c| {
            let name = c.split("name=\"").nth(1).unwrap_or_default();
            name.split('"').next().unwrap_or_default().to_owned()
        })
        .collect()
}

fn headings(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("report.md"))
        .expect("report.md")
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Guards issue 13 item 5: shards 1/3, 2/3 and 3/3 merged are the full
/// run, cell for cell: the same results.csv cells (with the same values
/// where they do not depend on timing), the same assertions and verdicts,
/// JUnit cases, report sections and run.json shape.
#[test]
fn merge_of_three_shards_equals_the_full_run_cell_for_cell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path());
    let full = dir.path().join("full");
    run(&file, &full, &[]);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let out = dir.path().join(format!("shard-{i}"));
        run(&file, &out, &["--shard", &format!("{i}/3")]);
        let r = RunReport::read(&out.join("run.json")).expect("shard run.json");
        let shard = r.shard.expect("a shard says so");
        assert_eq!((shard.index, shard.count), (i, 3));
        assert_eq!(
            shard.cells.len(),
            2,
            "6 cells over 3 shards: {:?}",
            shard.cells
        );
        shards.push(out);
    }
    let merged = dir.path().join("merged");
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(shards.iter().map(|p| p.to_str().expect("utf-8")));
    args.extend(["--out", merged.to_str().expect("utf-8"), "--quiet"]);
    loadline(&args).success();

    let (want, got) = (cells(&full), cells(&merged));
    assert_eq!(want.len(), got.len());
    assert_eq!(want, got, "results.csv cell for cell");
    let verdicts = |out: &Path| -> Vec<Vec<String>> {
        csv_rows(&out.join("assertions.csv"))
            .into_iter()
            .map(|r| vec![r[1].clone(), r[2].clone(), r[5].clone(), r[9].clone()])
            .collect()
    };
    assert_eq!(verdicts(&full), verdicts(&merged));
    assert_eq!(
        verdicts(&full).len(),
        18,
        "3 assertions x 3 targets x 2 variants"
    );
    assert_eq!(junit_cases(&full), junit_cases(&merged));
    assert_eq!(headings(&full), headings(&merged));

    let (a, b) = (
        RunReport::read(&full.join("run.json")).expect("full"),
        RunReport::read(&merged.join("run.json")).expect("merged"),
    );
    assert!(b.shard.is_none());
    assert_eq!(b.merged_from.len(), 3);
    for (va, vb) in a.variants.iter().zip(&b.variants) {
        assert_eq!(va.label, vb.label);
        assert_eq!(va.resolved, vb.resolved);
        let names = |v: &loadline::testing::VariantReport| -> Vec<String> {
            v.targets.iter().map(|t| t.name.clone()).collect()
        };
        assert_eq!(names(va), names(vb), "targets in file order");
        for (ta, tb) in va.targets.iter().zip(&vb.targets) {
            assert!(tb.spread.is_empty(), "one measurement per cell: no rounds");
            let pa: Vec<&str> = ta.phases.iter().map(|p| p.name.as_str()).collect();
            let pb: Vec<&str> = tb.phases.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(pa, pb);
        }
        let lines = |v: &loadline::testing::VariantReport| -> Vec<Option<usize>> {
            v.assertions.iter().map(|x| x.line).collect()
        };
        assert_eq!(lines(va), lines(vb), "assertion lines of the scenario file");
    }
}

/// Guards issue 13 item 5: shards of other runs are refused, naming the
/// files and what differs, and a missing shard names its cells.
#[test]
fn merge_refuses_other_seeds_and_missing_shards_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path());
    let s1 = dir.path().join("s1");
    let s2 = dir.path().join("s2");
    let other = dir.path().join("other");
    run(&file, &s1, &["--shard", "1/3", "--phase", "write"]);
    run(&file, &s2, &["--shard", "2/3", "--phase", "write"]);
    run(
        &file,
        &other,
        &["--shard", "3/3", "--phase", "write", "--seed", "8"],
    );
    let out = dir.path().join("merged");
    let p = |x: &Path| x.to_str().expect("utf-8").to_owned();
    let assert = loadline(&["merge", &p(&s1), &p(&s2), &p(&other), "--out", &p(&out)]).code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains("different seeds (`7` and `8`)") && err.contains("other/run.json"),
        "{err}"
    );
    let assert = loadline(&["merge", &p(&s1), &p(&s2), "--out", &p(&out)]).code(2);
    let err = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        err.contains("the inputs are shards, but no input holds `c` [size=64B], `c` [size=256B]"),
        "{err}"
    );
    assert!(!out.join("run.json").exists(), "nothing written");
}

/// Guards issue 13 item 2: three rounds keep every round's value beside
/// the median, rotate the target order, add the histograms, validate
/// against the committed schema, and say in every output that the median
/// is judged; merging two repeated runs adds their rounds.
#[test]
fn three_rounds_report_the_median_with_every_rounds_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = single(dir.path());
    let out = dir.path().join("rounds");
    let assert = assert_cmd::Command::cargo_bin("loadline")
        .expect("binary")
        .args(["run", file.to_str().expect("utf-8"), "--repeat", "3"])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let console = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        console.contains("3 of 3 rounds, target order rotated")
            && console.contains("; median of 3, range "),
        "{console}"
    );

    let text = std::fs::read_to_string(out.join("run.json")).expect("run.json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(RUN_SCHEMA_PATH)).expect("schema"),
    )
    .expect("schema json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("run.json parses");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");

    let r = RunReport::read(&out.join("run.json")).expect("reads back");
    let repeat = r.repeat.clone().expect("rounds recorded");
    assert_eq!((repeat.rounds, repeat.completed), (3, 3));
    assert_eq!(
        repeat.orders,
        [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    );
    for t in &r.variants[0].targets {
        let records = &t.spread["write.append.records"];
        assert_eq!(records.values, [20_000.0; 3], "{}", t.name);
        let p99 = &t.spread["write.append.p99"];
        assert_eq!(p99.values.len(), 3);
        assert!(p99.min <= p99.median && p99.median <= p99.max);
        assert_eq!(t.phases[0].actors[0].latency.p99_ns as f64, p99.median);
        let h = loadline::testing::decode_histogram(&t.phases[0].actors[0].histogram)
            .expect("histogram decodes");
        assert_eq!(h.len(), 3 * 5_000, "the three rounds' 5,000 appends each");
    }
    let rows = csv_rows(&out.join("results.csv"));
    let header = csv::Reader::from_path(out.join("results.csv"))
        .expect("csv")
        .headers()
        .expect("header")
        .clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "run_id", "variant", "target", "phase", "actor", "metric", "value", "unit", "min",
            "max", "ci_low", "ci_high", "ci_level", "rounds"
        ]
    );
    assert!(
        rows.iter().all(|r| r[13] == "3"),
        "every metric over 3 rounds"
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("## Rounds") && md.contains("**assertions are judged on the same values**"),
        "{md}"
    );

    // Two runs of one round each, merged: two rounds.
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for o in [&one, &two] {
        run(&file, o, &["--target", "a"]);
    }
    let merged = dir.path().join("both");
    loadline(&[
        "merge",
        one.to_str().expect("utf-8"),
        two.to_str().expect("utf-8"),
        "--out",
        merged.to_str().expect("utf-8"),
        "--quiet",
    ])
    .success();
    let m = RunReport::read(&merged.join("run.json")).expect("merged");
    assert_eq!(m.repeat.as_ref().map(|x| x.rounds), Some(2));
    assert_eq!(
        m.variants[0].targets[0].spread["write.append.records"].values,
        [20_000.0, 20_000.0]
    );
}

/// `--repeat 1` writes what a run always wrote: no spread columns, no
/// `repeat` or `spread` in run.json.
#[test]
fn one_round_output_is_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path());
    let out = dir.path().join("one");
    run(
        &file,
        &out,
        &["--repeat", "1", "--target", "a", "--phase", "write"],
    );
    let header = csv::Reader::from_path(out.join("results.csv"))
        .expect("csv")
        .headers()
        .expect("header")
        .clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "run_id", "variant", "target", "phase", "actor", "metric", "value", "unit"
        ]
    );
    let text = std::fs::read_to_string(out.join("run.json")).expect("run.json");
    assert!(!text.contains("\"repeat\"") && !text.contains("\"spread\""));
    assert!(
        !std::fs::read_to_string(out.join("report.md"))
            .expect("md")
            .contains("## Rounds")
    );
}
