//! `report.md` as GitHub shows it: rendered by `cmark-gfm`, GitHub's own
//! fork of cmark (Debian package `cmark-gfm`, installed by the test when
//! missing) with GitHub's extensions, then checked the way a reader sees
//! it (issue 27, item 5): every table is a table, no header cell is empty,
//! no number is split from its unit where a column wraps, margins read as
//! margins, a trimmer's throughput is `–`, every chart image exists.

use std::path::Path;
use std::process::Command;

use super::quickstart_on_memory;
use super::tools;

/// `report.md` of `out` rendered as GitHub renders it.
fn render(out: &Path) -> String {
    tools::ensure(&["cmark-gfm"], &["cmark-gfm"]);
    let html = Command::new("cmark-gfm")
        .args(["-e", "table", "-e", "autolink", "-e", "strikethrough"])
        .args(["-e", "tagfilter", "--unsafe"])
        .arg(out.join("report.md"))
        .output()
        .expect("cmark-gfm runs");
    assert!(html.status.success(), "cmark-gfm failed: {html:?}");
    String::from_utf8(html.stdout).expect("utf-8 html")
}

/// The text between each `<open ...>` (or `<open>`) and `</close>`.
fn elements<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&format!("<{open}")) {
        let after = &rest[i + open.len() + 1..];
        // `<th` must not match `<thead`: the tag name ends here.
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let body = &after[after.find('>').expect("tag closes") + 1..];
        let end = body.find(&format!("</{close}>")).expect("element closes");
        out.push(&body[..end]);
        rest = &body[end..];
    }
    out
}

/// `s` without its tags, entities for `&`, `<`, `>` decoded.
fn text(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Markdown tables in `md` outside fenced code: runs of lines starting
/// with `|`.
fn markdown_tables(md: &str) -> usize {
    let (mut tables, mut in_table, mut fenced) = (0, false, false);
    for line in md.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        let row = !fenced && line.starts_with('|');
        if row && !in_table {
            tables += 1;
        }
        in_table = row;
    }
    tables
}

/// A number followed by an ordinary space and a unit: where GitHub's
/// column wraps, the unit lands on the next line ("94.0 / ms").
fn number_space_unit(cell: &str) -> Option<String> {
    const UNITS: &[&str] = &[
        "ns", "µs", "ms", "s", "B", "KiB", "MiB", "GiB", "k/s", "M/s", "/s", "%",
    ];
    let chars: Vec<char> = cell.chars().collect();
    for (i, w) in chars.windows(2).enumerate() {
        if w[0].is_ascii_digit() && w[1] == ' ' {
            let after: String = chars[i + 2..].iter().collect();
            if let Some(u) = UNITS.iter().find(|u| {
                after.starts_with(**u)
                    && !after[u.len()..].starts_with(|c: char| c.is_alphanumeric())
            }) {
                return Some(format!("{cell:?} (before {u:?})"));
            }
        }
    }
    None
}

/// A margin printed as a percentage of four or more digits (`+31009.2%`):
/// it reads as a ratio and should (`310× the threshold`).
fn huge_percentage(cell: &str) -> bool {
    cell.split(['(', ')', ' ']).any(|w| {
        let w = w.trim_start_matches(['+', '-', '−']);
        w.strip_suffix('%').is_some_and(|n| {
            n.split('.').next().is_some_and(|int| {
                int.len() >= 4 && int.chars().all(|c| c.is_ascii_digit() || c == ',')
            })
        })
    })
}

#[test]
fn report_md_reads_right_as_github_renders_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    quickstart_on_memory()
        .args(["--target", "wal", "--out"])
        .arg(&out)
        .assert()
        .success();
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    let html = render(&out);

    let tables = elements(&html, "table", "table");
    assert_eq!(
        tables.len(),
        markdown_tables(&md),
        "every markdown table renders as a table"
    );
    assert!(tables.len() >= 6, "{} tables", tables.len());
    let leaked: Vec<&str> = elements(&html, "p", "p")
        .into_iter()
        .filter(|p| text(p).trim_start().starts_with('|'))
        .collect();
    assert!(leaked.is_empty(), "table rows shown as text: {leaked:?}");

    let mut cells_seen = 0;
    for table in &tables {
        let headers: Vec<String> = elements(table, "th", "th").into_iter().map(text).collect();
        assert!(
            headers.iter().all(|h| !h.trim().is_empty()),
            "an empty header cell: {headers:?}"
        );
        for row in elements(table, "tr", "tr") {
            let cells: Vec<String> = elements(row, "td", "td").into_iter().map(text).collect();
            for cell in &cells {
                cells_seen += 1;
                assert_eq!(number_space_unit(cell), None, "wraps from its unit");
                assert!(!huge_percentage(cell), "a margin that is a ratio: {cell:?}");
            }
            if cells.first().is_some_and(|c| c == "trimmer") {
                let rate = headers
                    .iter()
                    .position(|h| h == "records/s")
                    .expect("a records/s column");
                assert_eq!(cells[rate], "–", "a trimmer moves no records: {cells:?}");
            }
        }
    }
    assert!(cells_seen > 100, "{cells_seen} cells");

    let images: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').expect("src closes")])
        .collect();
    assert!(!images.is_empty(), "the report shows its charts");
    for src in images {
        assert!(out.join(src).is_file(), "{src} is not in the run directory");
    }
    assert!(
        html.contains("<details>") && html.contains("<summary>"),
        "the resolved scenario folds"
    );
}

#[test]
fn the_checks_catch_what_github_readers_saw() {
    assert!(number_space_unit("94.0 ms").is_some());
    assert!(number_space_unit("1.21 M/s").is_some());
    assert_eq!(number_space_unit("94.0\u{a0}ms"), None);
    assert_eq!(number_space_unit("3 cycles"), None);
    assert!(huge_percentage("✅ 1.21 M/s (+31009.2%)"));
    assert!(!huge_percentage("✅ 11.6 µs (+100.0%)"));
    assert_eq!(markdown_tables("| a |\n|---|\n| 1 |\n\ntext\n| b |\n"), 2);
    assert_eq!(
        markdown_tables("```\n| not a table |\n```\n| a |\n|---|\n"),
        1
    );
    let html = "<table><thead><tr><th>a</th><th></th></tr></thead></table>";
    assert_eq!(elements(html, "th", "th"), ["a", ""]);
    assert_eq!(elements(html, "thead", "thead").len(), 1);
}
