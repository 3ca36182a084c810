//! `loadline conform` end to end: the Python reference plug-in of
//! `scenarios/external.yaml` and the Rust one of
//! `scenarios/external-rust.yaml` pass the conformance suite and the
//! protocol rules (the JUnit file parses, one test case per check);
//! plug-ins that
//! break one protocol rule each (a stray stdout line, a wrong reply id)
//! fail with exit code 1 and a JUnit failure naming the rule.

use std::path::Path;

use super::repo_root;

/// The test cases of a JUnit file, read to the end with an XML parser:
/// (name, failure message if any).
fn testcases(xml: &str) -> Vec<(String, Option<String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases: Vec<(String, Option<String>)> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &[u8]| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute")
                    .into_owned()
            })
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => match e.name().as_ref() {
                b"testcase" => cases.push((attr(&e, b"name").expect("name"), None)),
                b"failure" => {
                    cases.last_mut().expect("inside a testcase").1 = attr(&e, b"message");
                }
                _ => {}
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML at {}: {e}", reader.buffer_position()),
        }
    }
    cases
}

fn conform(scenario: &Path, out: &Path) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("loadline")
        .expect("binary built")
        .current_dir(repo_root())
        .arg("conform")
        .arg(scenario)
        .args(["--kill-cycles", "3", "--out"])
        .arg(out)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
}

#[test]
fn the_python_plugin_conforms_and_the_junit_file_lists_every_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let assert = conform(Path::new("scenarios/external.yaml"), dir.path()).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("python: 14 of 14 checks passed\n"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    let cases = testcases(&xml);
    let names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    for check in [
        "log",
        "key-value",
        "kill -9 durability of appends",
        "kill -9 durability of puts and deletes",
        "protocol: handshake",
        "protocol: ids echoed",
        "protocol: pipelined requests",
        "protocol: unsupported",
        "protocol: noop",
        "protocol: statistics",
        "protocol: close",
        "protocol: clean stdout",
    ] {
        assert!(names.contains(&check), "{check} missing from {names:?}");
    }
    assert!(cases.iter().all(|(_, f)| f.is_none()), "{cases:?}");
}

/// A wrapper around the reference plug-in that breaks one rule: `stray`
/// prints a line before its second reply, `wrong-id` answers its fourth
/// request (after the handshake) with the id plus one.
const BROKEN: &str = r#"
import json, runpy, sys
store, mode = sys.argv[1], sys.argv[2]
real = sys.stdout
class Broken:
    n = 0
    def write(self, s):
        Broken.n += 1
        if mode == "stray" and Broken.n == 2:
            real.write("debug: store opened\n")
        if mode == "wrong-id" and Broken.n == 4:
            reply = json.loads(s)
            reply["id"] += 1
            s = json.dumps(reply) + "\n"
        return real.write(s)
    def flush(self):
        real.flush()
sys.stdout = Broken()
sys.argv = [store]
runpy.run_path(store, run_name="__main__")
"#;

fn broken_scenario(dir: &Path, mode: &str) -> std::path::PathBuf {
    let wrapper = dir.join("broken.py");
    std::fs::write(&wrapper, BROKEN).expect("write wrapper");
    let store = repo_root().join("examples/external/store.py");
    let yaml = format!(
        "version: 1\nname: broken\ntargets:\n  broken:\n    external:\n      command: [python3, {}, {}, {mode}]\n      capabilities: [log, kv]\npayloads:\n  p: {{ size: 16B }}\nphases:\n  - name: w\n    records: 10\n    actors: [{{ op: append, payload: p }}]\n",
        wrapper.display(),
        store.display()
    );
    let file = dir.join("broken.yaml");
    std::fs::write(&file, yaml).expect("write scenario");
    file
}

#[test]
fn a_plugin_breaking_a_protocol_rule_fails_naming_it() {
    for (mode, rule, seen) in [
        (
            "stray",
            "protocol: clean stdout",
            "clean stdout: the plug-in wrote 1 line(s) on stdout that are not replies; the first: `debug: store opened` (diagnostics go to stderr)",
        ),
        (
            "wrong-id",
            "protocol: ids echoed",
            "ids echoed: the reply to `bounds` with id 3 carried id 4",
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let scenario = broken_scenario(dir.path(), mode);
        let out = dir.path().join("out");
        let assert = conform(&scenario, &out).code(1);
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        assert!(
            stdout.contains(&format!("  ✗ {rule} — {seen}")),
            "{mode}: {stdout}"
        );
        let xml = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
        let cases = testcases(&xml);
        let failed = cases.iter().find(|(n, _)| n == rule).expect("rule's case");
        assert_eq!(failed.1.as_deref(), Some(seen), "{mode}: {cases:?}");
    }
}

/// The Rust reference plug-in (`examples/external/rust-store`), built by
/// cargo into this test's target directory (a no-op after `cargo test
/// --workspace`), passes too: `scenarios/external-rust.yaml` with its
/// command pointed at that directory.
#[test]
fn the_rust_plugin_conforms() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(cargo)
        .current_dir(repo_root())
        .args(["build", "--release", "-q", "-p", "loadline-external-store"])
        .status()
        .expect("run cargo");
    assert!(built.success(), "cargo build -p loadline-external-store");
    let exe = std::env::current_exe().expect("test binary");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/release/deps/..");
    let plugin = release.join("loadline-external-store");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(repo_root().join("scenarios/external-rust.yaml"))
        .expect("scenario");
    let shipped = "command: [target/release/loadline-external-store]";
    assert!(text.contains(shipped), "the scenario's command moved");
    let scenario = dir.path().join("external-rust.yaml");
    std::fs::write(
        &scenario,
        text.replace(shipped, &format!("command: [{}]", plugin.display())),
    )
    .expect("write scenario");
    let assert = conform(&scenario, &dir.path().join("out")).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("rust: 14 of 14 checks passed\n"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(dir.path().join("out/junit.xml")).expect("junit.xml");
    assert_eq!(testcases(&xml).len(), 14);
}
