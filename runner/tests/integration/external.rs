//! The `external` kind end to end: `loadline run scenarios/external.yaml`
//! from the repository root runs the Python reference plug-in through
//! KV, log and crash phases; the crash phase SIGKILLs the writers and the
//! plug-in they started, and every acknowledged record is back.

use super::repo_root;

#[test]
fn external_yaml_passes_with_the_python_plugin_killed_in_its_crash_phase() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary built")
        .current_dir(repo_root())
        .arg("run")
        .arg("scenarios/external.yaml")
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    let phases = run["variants"][0]["targets"][0]["phases"]
        .as_array()
        .expect("phases");
    let crash = phases
        .iter()
        .find(|p| p["name"] == "crash")
        .expect("crash phase");
    assert_eq!(crash["metrics"]["cycles"], 3.0);
    assert_eq!(crash["metrics"]["lost_records"], 0.0);
    assert!(
        crash["metrics"]["acknowledged_records"]
            .as_f64()
            .expect("acked")
            > 0.0,
        "the writers were acknowledged before the kills"
    );
}
