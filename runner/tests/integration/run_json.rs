//! `run.json` as data: a real run's file validates against the committed
//! `schemas/run.schema.json`, reads back through `RunReport::read` and is
//! written again identically, and its HDR histograms decode with a stock
//! decoder — Python's `hdrhistogram` from PyPI (`HdrHistogram.decode`) —
//! to the same count, p99 and max loadline reported.

use std::path::PathBuf;
use std::process::Command as Std;

use loadline::testing::{RUN_SCHEMA_PATH, RunReport};

use super::{quickstart_on_memory, repo_root};

/// A directory holding Python's `hdrhistogram` package, installed once
/// from PyPI (`pip install --target`) into a cache under the temp dir.
fn python_hdrhistogram() -> PathBuf {
    let dir = std::env::temp_dir().join("loadline-py-hdrhistogram-0.10.8");
    if dir.join("hdrh").is_dir() {
        return dir;
    }
    super::tools::ensure_pip();
    let ok = Std::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--target")
        .arg(&dir)
        .arg("hdrhistogram==0.10.8")
        .status()
        .expect("python3 -m pip runs");
    assert!(ok.success(), "pip install hdrhistogram failed");
    dir
}

fn quick_run() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("out");
    quickstart_on_memory()
        .args(["--phase", "write", "--phase", "mixed", "--out"])
        .arg(&out)
        .assert()
        .success();
    (t, out.join("run.json"))
}

#[test]
fn a_real_run_json_validates_and_round_trips() {
    let (_t, path) = quick_run();
    let text = std::fs::read_to_string(&path).expect("run.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(RUN_SCHEMA_PATH)).expect("committed schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let report = RunReport::read(&path).expect("reads back");
    assert_eq!(report.format_version, 1);
    let again = serde_json::to_value(&report).expect("writes");
    assert_eq!(again, doc, "write → read → write is identical");
}

/// Regression: run.json did not say which scenario text ran (a content
/// hash) nor from which commit of the user's repository.
#[test]
fn run_json_names_the_scenario_by_its_content_hash_and_commit() {
    let (_t, path) = quick_run();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("run.json")).expect("json");
    let src = &doc["source"];
    let file = repo_root().join("scenarios/quickstart.yaml");
    let sum = Std::new("sha256sum")
        .arg(&file)
        .output()
        .expect("sha256sum runs");
    let sum = String::from_utf8_lossy(&sum.stdout);
    assert_eq!(
        src["sha256"].as_str(),
        sum.split_whitespace().next(),
        "{src}"
    );
    let head = Std::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["rev-parse", "HEAD"])
        .output();
    match head {
        Ok(out) if out.status.success() => {
            assert_eq!(
                src["git_commit"].as_str(),
                Some(String::from_utf8_lossy(&out.stdout).trim()),
                "{src}"
            );
            assert!(src["git_modified"].is_boolean(), "{src}");
        }
        // Not a checkout (a source tarball) or no git: the fields are left out.
        _ => assert!(src.get("git_commit").is_none(), "{src}"),
    }
}

#[test]
fn histograms_decode_with_the_stock_python_decoder() {
    let (_t, path) = quick_run();
    let lib = python_hdrhistogram();
    let script = r#"
import json, sys
from hdrh.histogram import HdrHistogram
r = json.load(open(sys.argv[1]))
n = 0
for v in r["variants"]:
    for t in v["targets"]:
        for p in t["phases"]:
            for a in p["actors"]:
                for enc, lat in [(a["histogram"], a["latency"]), (a.get("service_histogram"), a.get("service"))]:
                    if not enc:
                        continue
                    h = HdrHistogram.decode(enc)
                    # The same recorded values: count, max and mean agree.
                    # (Percentiles are not compared: the two libraries round
                    # a percentile's rank differently on small counts.)
                    assert h.get_total_count() == a["count"], (p["name"], a["name"], h.get_total_count(), a["count"])
                    assert h.get_max_value() == lat["max_ns"], (p["name"], a["name"], h.get_max_value(), lat["max_ns"])
                    mean = h.get_mean_value()
                    assert abs(mean - lat["mean_ns"]) <= 1e-3 * max(1.0, lat["mean_ns"]), (p["name"], a["name"], mean, lat["mean_ns"])
                    # And a percentile lands in the bucket of the value loadline reported.
                    v = h.get_value_at_percentile(50)
                    assert h.get_lowest_equivalent_value(v) <= lat["p50_ns"] * 1.01 + 1 and lat["p50_ns"] <= h.get_highest_equivalent_value(v) * 1.01 + 1 or abs(v - lat["p50_ns"]) <= 0.01 * lat["p50_ns"] + 200, (p["name"], a["name"], v, lat["p50_ns"])
                    n += 1
print(n)
"#;
    let out = Std::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .env("PYTHONPATH", &lib)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count");
    // write: one actor; mixed: writer (+ service), reader, trimmer.
    assert!(decoded >= 5, "decoded {decoded} histograms");
}
