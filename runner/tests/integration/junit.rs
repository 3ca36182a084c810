//! `junit.xml` checked by a real consumer's rules: the Jenkins JUnit XSD
//! (`junit-10.xsd`, as shipped in pytest's source distribution on PyPI),
//! validated with libxml2's `xmllint` (installed by the test when missing). The schema is extended by exactly the
//! two test-case attributes GitHub's JUnit reporters read and the schema
//! predates, `file` and `line` (pytest's xunit1 family writes the same).

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use super::{quickstart_on_memory, repo_root};

const PYTEST: &str = "pytest==8.3.5";
const MEMBER: &str = "pytest-8.3.5/testing/example_scripts/junit-10.xsd";

/// The Jenkins XSD: `LOADLINE_JUNIT_XSD`, else fetched once from PyPI
/// (`pip download`) into a cache under the system temp directory.
fn jenkins_xsd() -> PathBuf {
    if let Some(p) = std::env::var_os("LOADLINE_JUNIT_XSD") {
        return PathBuf::from(p);
    }
    let cache = std::env::temp_dir().join("loadline-junit-xsd");
    let xsd = cache.join(MEMBER);
    if xsd.is_file() {
        return xsd;
    }
    std::fs::create_dir_all(&cache).expect("cache dir");
    super::tools::ensure_pip();
    let ok = Std::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
        ])
        .arg(PYTEST)
        .arg("-d")
        .arg(&cache)
        .status()
        .expect("python3 -m pip runs");
    assert!(ok.success(), "pip download {PYTEST} failed");
    let tarball = cache.join("pytest-8.3.5.tar.gz");
    let ok = Std::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&cache)
        .arg(MEMBER)
        .status()
        .expect("tar runs");
    assert!(ok.success() && xsd.is_file(), "{MEMBER} not in {tarball:?}");
    xsd
}

/// The XSD with `file` and `line` allowed on `<testcase>`.
fn extended(xsd: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(xsd).expect("read xsd");
    let anchor = r#"<xs:attribute name="classname" type="xs:string"/>"#;
    assert_eq!(text.matches(anchor).count(), 1, "the schema changed shape");
    let text = text.replace(
        anchor,
        &format!(
            r#"{anchor}<xs:attribute name="file" type="xs:string"/><xs:attribute name="line" type="xs:string"/>"#
        ),
    );
    let out = dir.join("junit-10-file-line.xsd");
    std::fs::write(&out, text).expect("write xsd");
    out
}

/// `xmllint --noout --schema schema xml`, with Debian's `libxml2-utils`
/// installed first when `xmllint` is missing.
fn xmllint(schema: &Path, xml: &Path) -> std::process::Output {
    super::tools::ensure(&["xmllint"], &["libxml2-utils"]);
    Std::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(xml)
        .output()
        .expect("xmllint runs")
}

#[test]
fn junit_validates_against_the_jenkins_schema() {
    let t = tempfile::tempdir().expect("tempdir");
    let schema = extended(&jenkins_xsd(), t.path());
    // Passing, failing and not-applicable cases (phases left out).
    let out = t.path().join("out");
    quickstart_on_memory()
        .args([
            "--phase",
            "write",
            "--set",
            "assertions.0=write.append.p99 < 1ns",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(1);
    let junit = out.join("junit.xml");
    let lint = xmllint(&schema, &junit);
    assert!(
        lint.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&lint.stderr),
        std::fs::read_to_string(&junit).unwrap_or_default()
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    // The failing case points at its line in the scenario (assertions[0]).
    let line = std::fs::read_to_string(repo_root().join("scenarios/quickstart.yaml"))
        .expect("quickstart")
        .lines()
        .position(|l| l.trim_start().starts_with("- write.append.p99"))
        .expect("the first assertion")
        + 1;
    assert!(
        xml.contains(&format!(
            r#"file="scenarios/quickstart.yaml" line="{line}""#
        )),
        "{xml}"
    );
    // And the unextended schema finds nothing else to object to.
    let stripped: String = xml
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("<testcase ") {
                strip_attr(&strip_attr(l, "file"), "line")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let plain = t.path().join("plain.xml");
    std::fs::write(&plain, stripped).expect("write");
    let lint = xmllint(&jenkins_xsd(), &plain);
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn failed_assertions_are_annotated_on_their_line_under_actions() {
    let t = tempfile::tempdir().expect("tempdir");
    let out = quickstart_on_memory()
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .args([
            "--phase",
            "write",
            "--set",
            "assertions.1=write.append.records_per_s >= 1G",
            "--out",
        ])
        .arg(t.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = std::fs::read_to_string(repo_root().join("scenarios/quickstart.yaml"))
        .expect("quickstart")
        .lines()
        .position(|l| l.trim_start().starts_with("- write.append.records_per_s"))
        .expect("the second assertion")
        + 1;
    assert!(
        stdout.contains(&format!(
            "::error file=scenarios/quickstart.yaml,line={line},title=assertion failed on mem::write.append.records_per_s >= 1G"
        )),
        "{stdout}"
    );
}

/// `line` without its ` name="…"` attribute.
fn strip_attr(line: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    match line.find(&key) {
        Some(at) => {
            let rest = &line[at + key.len()..];
            let end = rest.find('"').map_or(rest.len(), |e| e + 1);
            format!("{}{}", &line[..at], &rest[end..])
        }
        None => line.to_owned(),
    }
}
