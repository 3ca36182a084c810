//! `loadline compare` and `run --baseline`/`--save-baseline` end to end
//! through the binary: exit codes 0 (two runs of one config), 1 (a WAL
//! that fdatasyncs every append against one that does not, its regressions
//! first), a statistic on one side only listed (never exit 2), and exit 2,
//! printed once, only for runs that cannot be matched (other phases); the
//! files `--out` writes, and relational assertions in every output.

use std::path::Path;

use assert_cmd::Command;

use super::repo_root;

fn loadline() -> Command {
    let mut cmd = Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root()).env_remove("GITHUB_ACTIONS");
    cmd
}

/// One WAL target under `sync`, 3 k appends of 512 B one at a time.
fn wal_scenario(dir: &Path, sync: &str) -> std::path::PathBuf {
    let path = dir.join(format!("wal-{sync}.yaml"));
    std::fs::write(
        &path,
        format!(
            "version: 1\nname: wal-append\nseed: 1\ntargets:\n  wal:\n    wal: {{ sync: {sync} }}\npayloads:\n  p:\n    size: 512B\n    pool: 64\nphases:\n  - name: write\n    records: 3k\n    duration: 20s\n    actors:\n      - {{ op: append, batch: 1, payload: p }}\n"
        ),
    )
    .expect("write scenario");
    path
}

/// Five rounds: the fewest with which a rank test can decide (3 against
/// 3 can never be more certain than p = 0.1).
const ROUNDS: [&str; 2] = ["--repeat", "5"];

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    loadline()
        .arg("run")
        .arg(scenario)
        .arg("--quiet")
        .args(ROUNDS)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

/// One round.
fn run1(scenario: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    loadline()
        .arg("run")
        .arg(scenario)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

/// On this 2-core VM shared with compilers, two runs of one config can
/// differ by far more than 10 % between runs (rounds within a run cannot
/// see it), so the gate here is throughput and median latency beyond 50 %;
/// an fdatasync per append (≈ 130 µs against ≈ 1 µs) is far beyond.
const GATE: [&str; 6] = [
    "--threshold",
    "50%",
    "--metric",
    "records_per_s",
    "--metric",
    "p50",
];

#[test]
fn compare_exits_0_on_one_config_1_on_fdatasync_per_append_2_only_on_other_phases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let never = wal_scenario(dir.path(), "never");
    let always = wal_scenario(dir.path(), "always");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    run(&never, &a, &[]).success();
    run(&never, &b, &[]).success();
    run(&always, &c, &[]).success();

    let same = loadline()
        .args(["compare"])
        .arg(&a)
        .arg(&b)
        .args(GATE)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&same.get_output().stdout).into_owned();
    assert!(!text.contains("regressions ("), "{text}");
    assert!(
        text.lines().any(|l| l == "PASS" || l == "INCONCLUSIVE"),
        "{text}"
    );

    let out = dir.path().join("cmp");
    let slower = loadline()
        .args(["compare"])
        .arg(a.join("run.json"))
        .arg(&c)
        .args(GATE)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&slower.get_output().stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    // The verdict and the regressions open the report.
    assert!(lines[1].starts_with("REGRESSION — "), "{text}");
    assert_eq!(
        lines[2..4],
        [
            "regressions (throughput, p99, the rest; largest first):",
            "  wal"
        ],
        "{text}"
    );
    // Throughput first, then (no p99 gated here) the median.
    for (line, cell) in lines[4..6]
        .iter()
        .zip(["write.append.records_per_s", "write.append.p50"])
    {
        assert!(
            line.contains(&format!("✗ {cell} ")),
            "{cell} not among the first regressions: {text}"
        );
    }
    // A statistic only the synced WAL keeps is listed, not an error.
    assert!(lines.iter().any(|l| l.starts_with("only in ")), "{text}");
    assert!(lines.contains(&"REGRESSION"), "{text}");
    let md = std::fs::read_to_string(out.join("compare.md")).expect("compare.md");
    assert!(md.contains("❌ REGRESSION"), "{md}");
    assert!(md.find("## Regressions") < md.find("<details>"), "{md}");
    let csv = std::fs::read_to_string(out.join("compare.csv")).expect("compare.csv");
    assert!(
        csv.lines()
            .any(|l| l.starts_with(",wal,write,append,p50,ns,lower,") && l.contains(",regression,")),
        "{csv}"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<failure").count(), 2, "{junit}");

    // Under GitHub Actions: an annotation per regressed cell, the report in the step summary.
    let summary = dir.path().join("summary.md");
    let actions = loadline()
        .args(["compare", "--quiet"])
        .arg(&a)
        .arg(&c)
        .args(GATE)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&actions.get_output().stdout).into_owned();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("::error title=regression on wal::write.append."))
            .count(),
        2,
        "{text}"
    );
    let md = std::fs::read_to_string(&summary).expect("step summary");
    assert!(
        md.contains("❌ REGRESSION") && md.contains("`write.append.p50`"),
        "{md}"
    );

    // Other phases: the runs cannot be matched, said once on stderr.
    let other = dir.path().join("other.yaml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&never)
            .expect("read")
            .replace("name: write", "name: load"),
    )
    .expect("write");
    let d = dir.path().join("d");
    loadline()
        .arg("run")
        .arg(&other)
        .args(["--quiet", "--out"])
        .arg(&d)
        .assert()
        .success();
    let unmatched = loadline()
        .args(["compare"])
        .arg(&a)
        .arg(&d)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&unmatched.get_output().stderr).into_owned();
    assert_eq!(err.matches("error").count(), 1, "printed once: {err}");
    assert!(
        err.ends_with(
            "the runs measured different phases: only in base: `write`; only in new: `load`\n"
        ),
        "{err}"
    );
    let missing = loadline()
        .args(["compare", "no/such/run"])
        .arg(&a)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(err.contains("no/such/run: not a run directory"), "{err}");
}

#[test]
fn run_saves_a_named_baseline_and_gates_on_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let never = wal_scenario(dir.path(), "never");
    let always = wal_scenario(dir.path(), "always");
    let baselines = dir.path().join("baselines");
    let b = baselines.to_str().expect("utf-8 path");
    run(
        &never,
        &dir.path().join("a"),
        &["--save-baseline", "main", "--baselines-dir", b],
    )
    .success();
    assert!(baselines.join("main/run.json").is_file());
    let out = dir.path().join("c");
    let mut args = vec!["--baseline", "main", "--baselines-dir", b];
    args.extend(GATE);
    run(&always, &out, &args).code(1);
    let md = std::fs::read_to_string(out.join("compare/compare.md")).expect("compare.md");
    assert!(md.contains("`write.append.p50`"), "{md}");
    // A baseline that does not exist: nothing runs.
    let none = dir.path().join("none");
    let missing = run(&never, &none, &["--baseline", "nope", "--baselines-dir", b]).code(2);
    let err = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(
        err.contains("--baseline: nope: not a run directory") && err.contains("saved: main"),
        "{err}"
    );
    assert!(!none.join("run.json").exists());
}

#[test]
fn relational_assertions_show_both_sides_in_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rel.yaml");
    std::fs::write(
        &path,
        "version: 1\nname: rel\nseed: 1\ntargets:\n  fast:\n    memory: {}\n  slow:\n    wal: { sync: always }\npayloads:\n  p:\n    size: 512B\n    pool: 64\nphases:\n  - name: write\n    records: 2k\n    actors:\n      - { op: append, payload: p }\nassertions:\n  - write.append.records_per_s >= 2x target slow on fast\n  - write.append.records_per_s >= 1000000x target slow on fast\n  - write.append.p99 <= 1000x baseline\n",
    )
    .expect("write");
    let a = dir.path().join("a");
    // The second assertion fails: exit 1. Without --baseline the third is n/a.
    run1(&path, &a, &[]).code(1);
    let csv = std::fs::read_to_string(a.join("assertions.csv")).expect("assertions.csv");
    assert!(
        csv.lines().any(|l| l.contains(">= 2x target slow on fast")
            && l.contains(",pass,")
            && l.contains("write.append.records_per_s of target slow,")),
        "{csv}"
    );
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains("1000x baseline") && l.contains("not_applicable"))
            .count(),
        2,
        "{csv}"
    );
    let junit = std::fs::read_to_string(a.join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("threshold: 1000000 × write.append.records_per_s of target slow = "),
        "{junit}"
    );
    let md = std::fs::read_to_string(a.join("report.md")).expect("report.md");
    assert!(md.contains(" vs 2 × "), "{md}");
    // bencher.json: one benchmark per actor, Bencher's latency and throughput measures.
    let bmf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(a.join("bencher.json")).expect("bencher.json"),
    )
    .expect("json");
    for target in ["fast", "slow"] {
        let b = &bmf[format!("rel/{target}/write/append")];
        assert!(
            b["latency"]["value"].as_f64().is_some_and(|v| v > 0.0),
            "{bmf}"
        );
        assert!(
            b["latency-p99"]["value"].as_f64().is_some_and(|v| v > 0.0),
            "{bmf}"
        );
        assert!(
            b["throughput"]["value"].as_f64().is_some_and(|v| v > 0.0),
            "{bmf}"
        );
    }
    // With the run itself as the baseline, the third passes on both targets.
    let b = dir.path().join("b");
    run1(
        &path,
        &b,
        &[
            "--baseline",
            a.to_str().expect("utf-8"),
            "--metric",
            "count",
        ],
    )
    .code(1);
    let csv = std::fs::read_to_string(b.join("assertions.csv")).expect("assertions.csv");
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains("1000x baseline") && l.contains(",pass,"))
            .count(),
        2,
        "{csv}"
    );
}

/// Regression: `ab` printed the rounds' validation warnings once per run
/// (a 10-pair `ab` repeated the memory store's crash warning 20 times).
/// The same text is shown once; a failed round still shows its own.
#[test]
fn ab_shows_a_warning_once_over_its_rounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("warn.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nname: ab-warn\nseed: 1\ntargets: { mem: { memory: {} } }\npayloads: { p: { size: 64B, pool: 16 } }\nphases:\n  - { name: fill, records: 100, actors: [ { op: append } ] }\n  - { name: read, records: 100, cache: cold, actors: [ { op: read, from: head } ] }\nassertions: [ fill.append.records == 100 ]\n",
    )
    .expect("write scenario");
    let out = loadline()
        .args(["ab", "--rounds", "2", "--out"])
        .arg(dir.path().join("ab"))
        .arg(&scenario)
        .output()
        .expect("ab runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {stderr}",
        out.status
    );
    assert_eq!(
        stderr.matches("keeps no files").count(),
        1,
        "the warning once over 4 runs: {stderr}"
    );
    assert!(stderr.contains("ab: pair 2/2"), "{stderr}");
    // A round that fails shows what it printed.
    let out = loadline()
        .args([
            "ab",
            "--rounds",
            "2",
            "--new-set",
            "phases.fill.records=oops",
            "--out",
        ])
        .arg(dir.path().join("ab2"))
        .arg(&scenario)
        .output()
        .expect("ab runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("round 1 of the new side"), "{stderr}");
    assert!(stderr.contains("oops"), "its own error is shown: {stderr}");
}
