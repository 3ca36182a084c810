//! The docs a newcomer navigates: the README stays a front page, every
//! chapter of the book under `docs/` is in its table of contents, and
//! every relative link and `#anchor` in the README, `ARCHITECTURE.md` and
//! the book reaches a file and a heading that exist (the link check `.ci/run`
//! relies on; it builds the book itself with mdBook).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::repo_root;

/// The markdown files whose links are checked.
fn documents() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    files.extend(chapters());
    files
}

/// The book's markdown sources, sorted.
fn chapters() -> Vec<PathBuf> {
    let dir = repo_root().join("docs/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// The text outside fenced code blocks and inline code spans, line by line.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans: every second piece between backticks.
        let kept: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        out.push(kept);
    }
    out
}

/// The targets of the inline links and images of `text` (`[t](target)`).
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    found
}

/// The ids GitHub and mdBook give the headings of `text`: lowercased,
/// letters, digits, `-` and `_` kept, spaces as `-`, the rest dropped.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        ids.insert(
            heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect(),
        );
    }
    ids
}

/// Problems with one link of `file`: a file that does not exist or an
/// anchor no heading of the target has.
fn check(file: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    };
    if !resolved.exists() {
        return Some(format!("{}: {target}: no such file", file.display()));
    }
    let anchor = anchor?;
    let text = std::fs::read_to_string(&resolved).ok()?;
    if resolved.extension().is_some_and(|x| x == "md") && !anchors(&text).contains(anchor) {
        return Some(format!(
            "{}: {target}: no heading has that id",
            file.display()
        ));
    }
    None
}

#[test]
fn every_relative_link_and_anchor_of_the_docs_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        for target in links(&text) {
            checked += 1;
            broken.extend(check(&file, &target));
        }
    }
    assert!(checked > 40, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_catches_a_missing_file_and_a_missing_heading() {
    let readme = repo_root().join("README.md");
    assert!(check(&readme, "docs/src/setup.md#build-time").is_none());
    assert!(check(&readme, "docs/src/no-such-chapter.md").is_some());
    assert!(check(&readme, "docs/src/setup.md#no-such-heading").is_some());
    assert_eq!(
        links("see [a](x.md) and `[b](y.md)`\n```\n[c](z.md)\n```\n![d](e.svg)"),
        ["x.md", "e.svg"]
    );
    assert!(
        anchors("## `--repeat N`: rounds with spread\n").contains("--repeat-n-rounds-with-spread")
    );
}

#[test]
fn every_chapter_is_in_the_books_table_of_contents() {
    let summary =
        std::fs::read_to_string(repo_root().join("docs/src/SUMMARY.md")).expect("SUMMARY.md");
    let listed: BTreeSet<String> = links(&summary).into_iter().collect();
    let on_disk: BTreeSet<String> = chapters()
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n != "SUMMARY.md")
        .collect();
    assert_eq!(listed, on_disk, "docs/src/SUMMARY.md and docs/src/*.md");
    let toml = std::fs::read_to_string(repo_root().join("docs/book.toml")).expect("book.toml");
    assert!(toml.contains("[book]"), "{toml}");
}

/// The README is a front page (what loadline is, the two commands, one
/// example, where to go next); the reference lives in the book. It had
/// grown to 1,289 lines with every section of the reference in it.
#[test]
fn the_readme_is_a_front_page() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let lines = readme.lines().count();
    assert!(
        lines <= 150,
        "README.md has {lines} lines: move reference text into docs/src"
    );
    for must in [
        "bash .ci/setup && cargo run --release --bin loadline -- run scenarios/quickstart.yaml",
        "cargo test --release --workspace",
        "```yaml\n# yaml-language-server",
        "docs/src/scenario-reference.md",
    ] {
        assert!(readme.contains(must), "README lacks {must:?}");
    }
}
