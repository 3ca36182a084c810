//! Timelines and per-phase statistics from a real run (issue 14's
//! "done when"): a 3 s mixed phase with `--interval 250ms` has at least 10
//! intervals per actor on every target, whose records add up to the
//! actor's totals in `run.json`, `timeline.csv` and the `.hlog` files; a
//! phase of 25,000 records after a warmup has `write.store.records ==
//! 25000`, and target totals leave the warmup out.

use std::collections::BTreeMap;

const SCENARIO: &str = "version: 1
name: timeline
seed: 5
targets:
  mem: { memory: {} }
  log: { wal: { sync: never } }
  lsm: { rocksdb: {} }
payloads:
  p: { size: 256B, pool: 64 }
phases:
  - name: warm
    warmup: true
    records: 10_000
    actors: [{ op: append, batch: 10, payload: p }]
  - name: write
    records: 25_000
    actors: [{ op: append, batch: 10, payload: p, workers: 2 }]
  - name: mixed
    duration: 3s
    actors:
      - { name: writer, op: append, batch: 10, payload: p, rate: 2k/s }
      - { name: reader, op: read, from: tail, lag: 100 }
assertions:
  - write.store.records == 25000
  - write.store.user_bytes == 6400000
  - mixed.process.cpu_utilisation < 64
";

#[test]
fn intervals_add_up_to_the_totals_and_store_statistics_are_per_phase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("timeline.yaml");
    std::fs::write(&file, SCENARIO).expect("scenario");
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary")
        .args(["run", "--quiet", "--interval", "250ms", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .code(0);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).expect("run.json"))
            .expect("json");
    let csv = std::fs::read_to_string(out.join("timeline.csv")).expect("timeline.csv");
    // (target, phase, actor) → records over the csv's intervals.
    let mut csv_records: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut csv_store: Vec<String> = Vec::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        // f[0] is the run id.
        if f[4] == "store" {
            csv_store.push(format!("{}.{}", f[2], f[6]));
        }
        if f[6] == "records" && f[4] != "store" {
            *csv_records
                .entry((f[2].to_owned(), f[3].to_owned(), f[4].to_owned()))
                .or_default() += f[7].parse::<f64>().expect("number");
        }
    }
    let targets = run["variants"][0]["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 3);
    for t in targets {
        let name = t["name"].as_str().expect("name");
        let phases = t["phases"].as_array().expect("phases");
        let mixed = phases.iter().find(|p| p["name"] == "mixed").expect("mixed");
        for a in mixed["actors"].as_array().expect("actors") {
            let tl = a["timeline"].as_array().expect("a timeline");
            assert!(
                tl.len() >= 10,
                "{name} {}: {} intervals",
                a["name"],
                tl.len()
            );
            for key in ["records", "ops", "bytes", "errors"] {
                let sum: u64 = tl.iter().map(|i| i[key].as_u64().expect("count")).sum();
                let total = a[if key == "ops" { "count" } else { key }]
                    .as_u64()
                    .expect("total");
                assert_eq!(sum, total, "{name} {} {key}", a["name"]);
            }
            let actor = a["name"].as_str().expect("actor");
            assert_eq!(
                csv_records[&(name.to_owned(), "mixed".to_owned(), actor.to_owned())],
                a["records"].as_f64().expect("records"),
                "timeline.csv adds up too"
            );
            let hlog = std::fs::read_to_string(out.join(format!("{name}.mixed.{actor}.hlog")))
                .expect("an interval log per actor");
            let intervals = hlog
                .lines()
                .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
                .count();
            assert_eq!(
                intervals,
                tl.len(),
                "{name} {actor}: one histogram per interval"
            );
        }
        let write = phases.iter().find(|p| p["name"] == "write").expect("write");
        let samples = write["stats"]["timeline"].as_array().expect("samples");
        assert!(!samples.is_empty());
        let process = &write["stats"]["process"];
        assert!(process["rss_bytes"].as_u64().expect("rss") > 0);
        assert!(
            process["memory"]["allocated_bytes"]
                .as_u64()
                .expect("jemalloc")
                > 0,
            "{process}"
        );
        if name != "lsm" {
            assert_eq!(write["stats"]["store"]["records"], 25_000.0, "{name}");
            // Totals leave the warmup's 10,000 out.
            let measured: u64 = phases
                .iter()
                .filter(|p| p["warmup"] == false)
                .flat_map(|p| p["actors"].as_array().expect("actors"))
                .filter(|a| a["op"] == "append")
                .map(|a| a["records"].as_u64().expect("records"))
                .sum();
            assert_eq!(
                t["store"]["values"]["records"].as_f64(),
                Some(measured as f64),
                "{name}"
            );
        } else {
            assert_eq!(write["stats"]["store"]["user_bytes"], 6_400_000.0);
            for stat in [
                "stall_micros",
                "pending_compaction_bytes",
                "files_l0",
                "memtable_bytes",
                "write_stopped",
            ] {
                assert!(
                    csv_store.contains(&format!("lsm.{stat}")),
                    "lsm {stat} sampled per interval"
                );
            }
        }
    }
    let assertions = std::fs::read_to_string(out.join("assertions.csv")).expect("assertions");
    assert!(
        assertions.contains(
            "mem,write,store.records,write.store.records == 25000,25000,25000,count,pass"
        ),
        "{assertions}"
    );
}
