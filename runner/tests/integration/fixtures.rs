//! The bad-input corpus: every file under `tests/fixtures/invalid/` must be
//! rejected, and its rendered diagnostics are pinned by a snapshot (file,
//! line, column, YAML path, expectation, caret and suggestion).

use std::path::Path;
use std::time::{Duration, Instant};

use loadline::testing as scenario;

fn fixtures() -> Vec<std::path::PathBuf> {
    crate::yaml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid"))
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        fixtures().len() >= 30,
        "the issue asks for at least 30 invalid fixtures"
    );
}

#[test]
fn every_invalid_fixture_is_rejected_with_a_pinned_message() {
    // Relative paths keep the snapshots independent of the checkout location.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cd to runner/");
    for path in fixtures() {
        let name = path
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let rel = Path::new("tests/fixtures/invalid").join(path.file_name().expect("file name"));
        let started = Instant::now();
        let result = scenario::load_file(&rel, &[]);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name}: validation took {:?}",
            started.elapsed()
        );
        let diags = match result {
            Ok(_) => panic!("{name}: an invalid fixture validated"),
            Err(d) => d,
        };
        assert!(diags.has_errors(), "{name}: no error");
        for d in &diags.0 {
            assert!(
                d.line >= 1 && d.column >= 1,
                "{name}: location {}:{}",
                d.line,
                d.column
            );
            assert!(
                !d.message.starts_with(char::is_uppercase),
                "{name}: messages are lowercase: {}",
                d.message
            );
        }
        // The machine's available memory differs from run to run.
        insta::with_settings!({filters => vec![
            (r"[0-9.]+ [KMGT]iB of memory available", "[available] of memory available"),
            (r"at most [0-9.]+ [KMGT]iB in payload", "at most [available] in payload"),
        ]}, {
            insta::assert_snapshot!(name, diags.render());
        });
    }
}

#[test]
fn json_diagnostics_carry_the_same_locations() {
    let rel =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/unknown-key-typo.yaml");
    let diags = scenario::load_file(&rel, &[]).expect_err("invalid");
    let json = serde_json::to_value(&diags.0).expect("serializes");
    let first = &json[0];
    assert_eq!(first["line"], 8);
    assert_eq!(first["column"], 7);
    assert_eq!(first["path"], "targets.log.wal.segmnt_size");
    assert_eq!(first["help"], "did you mean `segment_size`?");
}

/// Guards issue 16 ("validation is staged"): a file holding one error of
/// every validation stage — schema (unknown key, bad unit), reference
/// (undefined payload), semantic (duplicate phase name), store kind (a
/// record larger than a WAL segment), assertion (unknown actor) and matrix
/// (a key the payload does not have) — reports all of them in one run, each
/// at its own line; none hides the others.
#[test]
fn errors_of_every_stage_are_reported_at_once() {
    let rel = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/invalid/every-stage-at-once.yaml");
    let diags = scenario::load_file(&rel, &[]).expect_err("invalid");
    let found: Vec<(usize, &str)> = diags
        .0
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    for (line, message) in [
        (6, "unknown key `preallocte`"),
        (10, "unknown size unit `parsecs`"),
        (15, "undefined payload `smal`"),
        (16, "duplicate phase name `write`"),
        (
            19,
            "a batch of `append` can be larger than a wal segment holds",
        ),
        (22, "phase `write` has no actor or metric `apend`"),
        (24, "unknown key `colour`"),
    ] {
        assert!(
            found
                .iter()
                .any(|(l, m)| *l == line && m.starts_with(message)),
            "no `{message}` at line {line}: {found:#?}"
        );
    }
}
