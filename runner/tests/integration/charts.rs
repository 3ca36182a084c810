//! The report's SVG charts and the console of a real run (issue 14 items
//! 4 and 5): `report.md` links SVG files beside it that are well-formed
//! SVG with a line per target; off a terminal, stderr has one line per
//! phase per target and stdout a table per phase before the verdict.

use crate::{quickstart_on_memory, repo_root};

/// The `![alt](file)` image links of a Markdown text.
fn image_links(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = md;
    while let Some(start) = rest.find("![") {
        rest = &rest[start + 2..];
        let Some(mid) = rest.find("](") else { break };
        let alt = rest[..mid].to_owned();
        rest = &rest[mid + 2..];
        let Some(end) = rest.find(')') else { break };
        out.push((alt, rest[..end].to_owned()));
        rest = &rest[end..];
    }
    out
}

/// Reads `svg` to the end with an XML parser: its root element's name
/// and the number of `polyline` elements.
fn parse_svg(svg: &str) -> (String, usize) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut root, mut polylines) = (String::new(), 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if root.is_empty() {
                    root = name.clone();
                }
                polylines += usize::from(name == "polyline");
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML at {}: {e}", reader.buffer_position()),
        }
    }
    (root, polylines)
}

#[test]
fn report_md_links_svg_charts_beside_it_that_parse() {
    let out = tempfile::tempdir().expect("tempdir");
    quickstart_on_memory()
        .args([
            "--target", "wal", "--phase", "write", "--phase", "mixed", "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let md = std::fs::read_to_string(out.path().join("report.md")).expect("report.md");
    let links = image_links(&md);
    let files: Vec<&str> = links.iter().map(|(_, f)| f.as_str()).collect();
    let spectra = [
        "latency-write-append.svg",
        "latency-mixed-writer.svg",
        "latency-mixed-reader.svg",
        "latency-mixed-trimmer.svg",
    ];
    let latency: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| f.starts_with("latency-"))
        .collect();
    assert_eq!(latency, spectra, "{md}");
    // Every phase and actor also has its timeline, right after its spectrum.
    for s in spectra {
        let timeline = s.replacen("latency-", "timeline-", 1);
        let at = files.iter().position(|f| *f == s).expect("spectrum linked");
        assert_eq!(files.get(at + 1), Some(&timeline.as_str()), "{md}");
    }
    assert!(!md.contains("```mermaid"), "no Mermaid charts left");
    for (alt, file) in &links {
        let svg = std::fs::read_to_string(out.path().join(file)).expect("the linked file exists");
        let (root, polylines) = parse_svg(&svg);
        assert_eq!(root, "svg", "{file}");
        assert!(svg.contains(alt.as_str()), "{file} is titled `{alt}`");
        for target in ["mem", "wal"] {
            // A spectrum's legend gives each line's operation count.
            let entry = if file.starts_with("latency-") {
                format!("\n{target} (n = ")
            } else {
                format!("\n{target}\n")
            };
            assert!(svg.contains(&entry), "{file}: legend entry {target}");
        }
        if file.starts_with("latency-") {
            assert!(svg.contains("99.99%"), "{file}: the percentile axis");
        } else {
            assert!(
                svg.contains("seconds since the phase started"),
                "{file}: the time axis"
            );
        }
        assert!(polylines >= 2, "{file}: a line per target");
    }
    // The assertions on charted metrics are drawn as thresholds.
    let writer = std::fs::read_to_string(out.path().join("latency-mixed-writer.svg")).expect("svg");
    assert!(
        writer.contains("mixed.writer.p99 &lt; 1s"),
        "threshold line"
    );
    assert!(
        writer.contains("mem · service time"),
        "service time under a rate"
    );
}

#[test]
fn off_a_terminal_each_phase_prints_a_line_and_the_summary_tables_come_before_the_verdict() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = assert_cmd::Command::cargo_bin("loadline")
        .expect("binary built")
        .current_dir(repo_root())
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--target",
            "mem",
            "--target",
            "wal",
            "--phase",
            "write",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for target in ["mem", "wal"] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{target} · write: ")))
            .unwrap_or_else(|| panic!("no phase line for {target}: {stderr}"));
        assert!(
            line.contains("(ended by records) — append ")
                && line.contains(" records/s, p50 ")
                && line.contains(", p99 ")
                && line.ends_with(", 0 errors"),
            "{line}"
        );
    }
    let table = stdout
        .find("phase write\n  actor   target  records/s")
        .expect(&stdout);
    let verdict = stdout.find("\nPASS: ").expect(&stdout);
    assert!(table < verdict, "{stdout}");
    assert!(
        stdout.contains("\n  append  mem   ") && stdout.contains("\n  append  wal   "),
        "{stdout}"
    );
}
