//! The committed schema is current, every shipped scenario passes an
//! independent validator (the `jsonschema` crate on a document parsed by
//! serde_yaml, not loadline's loader) and loadline's own loader, and starts
//! with the editor modeline.

use loadline::testing::{
    SCHEMA_DRAFT07_PATH, SCHEMA_PATH, render_schema as render, scenario_schema,
    scenario_schema_draft07,
};

use super::{modeline_schema, plug_in_scenarios, repo_root, shipped_scenarios};

#[test]
fn committed_schema_is_current() {
    for (rel, generated) in [
        (SCHEMA_PATH, scenario_schema()),
        (SCHEMA_DRAFT07_PATH, scenario_schema_draft07()),
    ] {
        let path = repo_root().join(rel);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == render(&generated),
            "{rel} is stale or missing; regenerate it from the repository root with:\n\n    cargo run --release --bin loadline -- schema --write\n"
        );
    }
}

/// The book's scenario reference is rendered from the schema, so it
/// cannot drift from the code: a field added to the spec types and not
/// regenerated fails here.
#[test]
fn committed_scenario_reference_is_current() {
    let rel = loadline::testing::REFERENCE_PATH;
    let committed = std::fs::read_to_string(repo_root().join(rel)).unwrap_or_default();
    assert!(
        committed == loadline::testing::schema_reference(&scenario_schema()),
        "{rel} is stale or missing; regenerate it from the repository root with:\n\n    cargo run --release --bin loadline -- schema --write\n"
    );
}

#[test]
fn committed_run_schema_is_current() {
    let path = repo_root().join(loadline::testing::RUN_SCHEMA_PATH);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == render(&loadline::testing::RunReport::schema()),
        "schemas/run.schema.json is stale or missing; regenerate it from the repository root with:\n\n    cargo run --release --bin loadline -- schema --write\n"
    );
}

#[test]
fn committed_external_protocol_schema_is_current() {
    use loadline::store::external::protocol::{PROTOCOL_SCHEMA_PATH, schema};
    let committed =
        std::fs::read_to_string(repo_root().join(PROTOCOL_SCHEMA_PATH)).unwrap_or_default();
    assert!(
        committed == render(&schema()),
        "{PROTOCOL_SCHEMA_PATH} is stale or missing; regenerate it from the repository root with:\n\n    cargo run --release --bin loadline -- schema --write\n"
    );
}

/// Every line of the trace in the protocol's specification is a message
/// the committed protocol schema accepts, and a request with an unknown
/// field or op is refused.
#[test]
fn the_protocol_specs_trace_validates_against_its_schema() {
    use loadline::store::external::protocol::PROTOCOL_SCHEMA_PATH;
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(PROTOCOL_SCHEMA_PATH)).expect("schema"),
    )
    .expect("json");
    let v = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let spec = std::fs::read_to_string(repo_root().join("docs/src/external-protocol.md"))
        .expect("docs/src/external-protocol.md");
    let lines: Vec<&str> = spec
        .lines()
        .filter_map(|l| l.strip_prefix("> ").or_else(|| l.strip_prefix("< ")))
        .collect();
    assert!(lines.len() >= 10, "the spec has a trace");
    for line in lines {
        let msg: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(v.is_valid(&msg), "the schema refuses the spec's {line}");
    }
    for bad in [
        r#"{"id":1,"op":"sync","extra":1}"#,
        r#"{"id":1,"op":"fly"}"#,
        r#"{"id":1,"op":"append","stream":0}"#,
    ] {
        let msg: serde_json::Value = serde_json::from_str(bad).expect("json");
        assert!(!v.is_valid(&msg), "the schema accepts {bad}");
    }
}

#[test]
fn every_shipped_scenario_validates_against_the_committed_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(SCHEMA_PATH)).expect("schema committed"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let files = shipped_scenarios();
    assert!(!files.is_empty(), "no scenarios found");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("# yaml-language-server: $schema=")
                && first.ends_with("schemas/scenario.schema.json"),
            "{} must start with the schema modeline, found {first:?}",
            file.display()
        );
        let doc: serde_json::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} fails the schema: {errors:#?}",
            file.display()
        );
        if let Err(d) = loadline::testing::load_file(&file, &[]) {
            panic!(
                "{} fails loadline's validation:\n{}",
                file.display(),
                d.render()
            );
        }
    }
}

/// Scenarios for `loadline-stores` (plug-in kinds) validate against the
/// schema their modeline names, which that binary writes; plain loadline
/// refuses their plug-in kinds with a located "unknown store kind" that
/// lists the kinds it has.
#[test]
fn plug_in_scenarios_validate_against_their_schema_and_plain_loadline_refuses_them() {
    let files = plug_in_scenarios();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("scenarios/embedded-stores.yaml")),
        "{files:?}"
    );
    for file in files {
        let schema_file = modeline_schema(&file).expect("modeline names a schema file");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&schema_file).expect("schema"))
                .expect("schema is JSON");
        let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
        let text = std::fs::read_to_string(&file).expect("readable");
        let doc: serde_json::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
        let d = loadline::testing::load_file(&file, &[]).expect_err("plain loadline refuses");
        let fjall =
            d.0.iter()
                .find(|d| d.message == "unknown store kind `fjall` for `fjall`")
                .unwrap_or_else(|| panic!("{}", d.render()));
        assert!(fjall.line > 1, "located: {}", d.render());
        assert_eq!(
            fjall.expected.as_deref(),
            Some("exactly one of `wal`, `rocksdb`, `memory`, `resp` or `external`")
        );
    }
}

/// The README's format example is a scenario a reader would copy: it must
/// validate, and a typo in it must be caught with a suggestion.
#[test]
fn the_readme_example_validates_and_a_typo_in_it_is_caught() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let start = readme
        .find("```yaml\n# yaml-language-server")
        .expect("README has the format example")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("closed block");
    let example = &readme[start..end];
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("example.yaml");
    std::fs::write(&file, example).expect("write");
    if let Err(d) = loadline::testing::load_file(&file, &[]) {
        panic!("the README example fails validation:\n{}", d.render());
    }
    std::fs::write(&file, example.replace("segment_size", "segmnt_size")).expect("write");
    let d = loadline::testing::load_file(&file, &[]).expect_err("typo caught");
    assert!(
        d.render().contains("did you mean `segment_size`?"),
        "{}",
        d.render()
    );
}

/// Every field of the format is in the book's scenario guide, whose
/// tables say what each is for (the generated reference lists them too).
#[test]
fn the_scenario_guide_documents_every_field() {
    let readme =
        std::fs::read_to_string(repo_root().join("docs/src/scenario-format.md")).expect("guide");
    let schema = scenario_schema();
    let mut missing = Vec::new();
    let mut visit = |props: &serde_json::Map<String, serde_json::Value>| {
        for name in props.keys() {
            if !readme.contains(&format!("`{name}`")) {
                missing.push(name.clone());
            }
        }
    };
    if let Some(p) = schema["properties"].as_object() {
        visit(p);
    }
    for def in schema["$defs"].as_object().expect("defs").values() {
        if let Some(p) = def["properties"].as_object() {
            visit(p);
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/src/scenario-format.md does not document: {missing:?}"
    );
}
