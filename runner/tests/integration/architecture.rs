//! The architecture, kept: reads `runner/src` and fails when a module
//! imports a layer above its own, when files import each other in a
//! cycle, when a `mod.rs` holds more than declarations and re-exports, or
//! when a file passes [`MAX_LINES`] lines of non-test code.
//!
//! The layer order is written once, in [`LAYERS`], with the reason for
//! each; `ARCHITECTURE.md` draws the same picture. What the code does not
//! meet yet is listed in [`KNOWN_LONG_FILES`], [`KNOWN_MOD_RS_WITH_LOGIC`]
//! and [`KNOWN_CYCLES`]: those lists may only shrink — an entry that no
//! longer applies fails the test too, so it is removed when it is paid.
//!
//! What counts as an import: every `crate::…`, `super::…` and `self::…`
//! path outside comments and outside `#[cfg(test)]` code (tests may use
//! fixtures from any layer), with `{…}` groups expanded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `runner/src`, bottom up: a folder (or top-level file) may
/// import its own layer's code and every layer below, never one above.
/// Folders on one rank are independent of each other.
const LAYERS: &[(usize, &str, &str)] = &[
    (
        0,
        "units",
        "human units, parsed and printed: used by every layer",
    ),
    (
        1,
        "store",
        "the Store/Session API, the built-in stores and conformance: public API, knows nothing of scenarios",
    ),
    (
        2,
        "metrics",
        "recorders, the metric catalog and the run.json wire types: what is measured and how it is written down",
    ),
    (
        2,
        "workload",
        "seeded payloads, keys and random streams: what is written",
    ),
    (
        3,
        "assertions",
        "the assertion expression language: parsed, not judged",
    ),
    (
        3,
        "compare",
        "statistics of two runs' cells: compare's arithmetic, no I/O",
    ),
    (
        4,
        "scenario",
        "YAML in, checked model out: spec, schema, validation, matrix",
    ),
    (4, "cli", "the command line's argument types"),
    (
        5,
        "engine",
        "runs a checked scenario and emits events; never formats text",
    ),
    (
        6,
        "results",
        "assembles, folds, merges and judges RunReports from events",
    ),
    (
        7,
        "report",
        "every output, each a subscriber or a function of a RunReport",
    ),
    (
        8,
        "commands",
        "one function per subcommand: glue of the layers below",
    ),
    (9, "app", "the public App builder (plug-in binaries)"),
    (9, "lib", "the crate root: declarations only"),
    (
        9,
        "testing",
        "re-exports for loadline's own tests and benchmarks: hidden, not API",
    ),
    (9, "main", "the binary: parse, call, map to an exit code"),
];

/// The longest a non-test file may be (lines before its `#[cfg(test)]`).
const MAX_LINES: usize = 600;

/// Files over [`MAX_LINES`] today, to be split (issue 24, item 9).
const KNOWN_LONG_FILES: &[&str] = &[];

/// The longest a non-test function may be, from its `fn` line to its
/// closing brace.
const MAX_FN_LINES: usize = 150;

/// Functions over [`MAX_FN_LINES`] today (`file:function`), to be broken
/// into named steps (issue 24, item 9). This list may only shrink.
const KNOWN_LONG_FUNCTIONS: &[&str] = &[
    "engine/crash/child.rs:child_cycle",
    "engine/crash/run.rs:cycles",
    "report/charts/plot.rs:draw",
    "report/markdown/variant.rs:variant_view",
];

/// `mod.rs` files that still carry logic (issue 24, item 9).
const KNOWN_MOD_RS_WITH_LOGIC: &[&str] = &[];

/// File-level import cycles today, each as its sorted modules (issue 24,
/// item 6: inside the WAL).
const KNOWN_CYCLES: &[&[&str]] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// One source file: its path under `src`, module path and non-test code.
struct File {
    rel: String,
    module: Vec<String>,
    is_mod_rs: bool,
    code: String,
    /// The non-test text as written (comments and literals included).
    text: String,
}

fn files() -> Vec<File> {
    let root = src();
    let mut paths = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                paths.push(path);
            }
        }
    }
    let test_files = test_only_files(&root, &paths);
    let mut out = Vec::new();
    for path in paths {
        let rel = path
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if test_files.contains(&rel) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut module: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_owned)
            .collect();
        let is_mod_rs = module.last().is_some_and(|m| m == "mod");
        if is_mod_rs {
            module.pop();
        }
        out.push(File {
            rel,
            module,
            is_mod_rs,
            code: strip_comments(non_test(&text)),
            text: non_test(&text).to_owned(),
        });
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// Files declared `#[cfg(test)] mod x;` by their parent (e.g. `wal/tests.rs`).
fn test_only_files(root: &Path, paths: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(path).expect("read source");
        let dir = path.parent().expect("parent");
        let own_dir = match path.file_stem().and_then(|s| s.to_str()) {
            Some("mod") | Some("lib") | Some("main") => dir.to_path_buf(),
            Some(stem) => dir.join(stem),
            None => continue,
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] == "#[cfg(test)]"
                && let Some(name) = pair[1]
                    .strip_prefix("mod ")
                    .or_else(|| pair[1].strip_prefix("pub(crate) mod "))
                    .and_then(|r| r.strip_suffix(';'))
            {
                for candidate in [
                    own_dir.join(format!("{name}.rs")),
                    own_dir.join(name).join("mod.rs"),
                ] {
                    if let Ok(rel) = candidate.strip_prefix(root) {
                        out.insert(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
        }
    }
    out
}

/// The text before the first `#[cfg(test)]` item that is a module.
fn non_test(text: &str) -> &str {
    let mut at = 0;
    while let Some(i) = text[at..].find("#[cfg(test)]") {
        let start = at + i;
        let rest = text[start + "#[cfg(test)]".len()..].trim_start();
        if rest.starts_with("mod ") || rest.starts_with("pub(crate) mod ") {
            return &text[..start];
        }
        at = start + 1;
    }
    text
}

/// `text` without `//` comments (doc comments included: their links are
/// not imports).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal ("http://") cuts the line
            // early; no import path follows a string on the same line.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting at a `crate::`, `super::` or `self::` in `code`,
/// with `{…}` groups expanded: `crate::{a::b, c}` → `crate::a::b`, `crate::c`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary {
            for head in ["crate::", "super::", "self::"] {
                if bytes[i..].starts_with(head.as_bytes()) {
                    let (mut found, _) = group_paths(code, i);
                    out.append(&mut found);
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

/// The paths of the path expression starting at `at`, and where it ends.
fn group_paths(code: &str, at: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let mut prefix: Vec<String> = Vec::new();
    let mut i = at;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'{' {
            let mut all = Vec::new();
            i += 1;
            loop {
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return (all, i + 1);
                }
                let (inner, next) = group_paths(code, i);
                for p in inner {
                    let mut full = prefix.clone();
                    full.extend(p);
                    all.push(full);
                }
                if next <= i {
                    return (all, i + 1);
                }
                i = next;
            }
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if start == i {
            return (vec![prefix], i);
        }
        prefix.push(code[start..i].to_owned());
        if bytes[i..].starts_with(b"::") {
            i += 2;
        } else {
            // `as name`, `;`, `(`, `<`…: the path ends here.
            return (vec![prefix], i);
        }
    }
}

/// The module a path used in `from` names: `crate::`, `super::` and
/// `self::` resolved, cut to the longest prefix that is a source file.
fn resolve(from: &File, path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") | Some("super") => {
            // A file `a/b.rs` is module a::b; its `self` is a::b. A
            // `mod.rs` is its folder's module.
            from.module.clone()
        }
        _ => return None,
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        base.pop();
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    (1..=base.len())
        .rev()
        .map(|k| base[..k].to_vec())
        .find(|m| modules.contains(m))
}

fn layer_of(module: &[String]) -> Option<(usize, &'static str)> {
    let top = module.first().map_or("lib", String::as_str);
    LAYERS
        .iter()
        .find(|(_, name, _)| *name == top)
        .map(|(rank, name, _)| (*rank, *name))
}

/// (importing module, imported module) for every import between two files.
fn edges(files: &[File]) -> BTreeSet<(Vec<String>, Vec<String>)> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut out = BTreeSet::new();
    for f in files {
        for p in paths(&f.code) {
            if let Some(to) = resolve(f, &p, &modules)
                && to != f.module
            {
                out.insert((f.module.clone(), to));
            }
        }
    }
    out
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

#[test]
fn every_folder_and_top_level_file_has_a_layer() {
    let mut missing = BTreeSet::new();
    for f in files() {
        if layer_of(&f.module).is_none() {
            missing.insert(f.module.first().cloned().unwrap_or_default());
        }
    }
    assert!(
        missing.is_empty(),
        "add these to LAYERS (tests/integration/architecture.rs) and ARCHITECTURE.md: {missing:?}"
    );
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (from, to) in edges(&files()) {
        let (Some((rf, lf)), Some((rt, lt))) = (layer_of(&from), layer_of(&to)) else {
            continue;
        };
        if lf != lt && rf <= rt {
            upward.push(format!(
                "{} (layer {rf}, {lf}) imports {} (layer {rt}, {lt})",
                name(&from),
                name(&to)
            ));
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layer order (see LAYERS and ARCHITECTURE.md):\n{}",
        upward.join("\n")
    );
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeSet<(Vec<String>, Vec<String>)>) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    struct State<'a> {
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(
        v: &'a Vec<String>,
        g: &BTreeMap<&'a Vec<String>, Vec<&'a Vec<String>>>,
        s: &mut State<'a>,
    ) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for &w in &g[v] {
            if !s.index.contains_key(w) {
                visit(w, g, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(name(w));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&Vec<String>> = graph.keys().copied().collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(v, &graph, &mut s);
        }
    }
    s.out.sort();
    s.out
}

#[test]
fn no_files_import_each_other_in_a_cycle() {
    let found = cycles(&edges(&files()));
    let known: Vec<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    let new: Vec<&Vec<String>> = found
        .iter()
        .filter(|c| !known.iter().any(|k| c.iter().all(|m| k.contains(m))))
        .collect();
    assert!(new.is_empty(), "import cycles between files: {new:?}");
    let paid: Vec<&Vec<String>> = known.iter().filter(|k| !found.contains(k)).collect();
    assert!(
        paid.is_empty(),
        "these cycles changed or are gone: update KNOWN_CYCLES: {paid:?} (found {found:?})"
    );
}

#[test]
fn mod_rs_files_only_declare_and_reexport() {
    let mut with_logic = BTreeSet::new();
    for f in files().iter().filter(|f| f.is_mod_rs) {
        let logic = f.code.lines().map(str::trim).any(|l| {
            [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "impl ",
                "impl<",
                "struct ",
                "pub struct ",
                "enum ",
                "pub enum ",
                "pub(crate) struct ",
                "pub(crate) enum ",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        });
        if logic {
            with_logic.insert(f.rel.clone());
        }
    }
    let known: BTreeSet<String> = KNOWN_MOD_RS_WITH_LOGIC
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let new: Vec<&String> = with_logic.difference(&known).collect();
    assert!(
        new.is_empty(),
        "mod.rs files with logic (move it to a named file): {new:?}"
    );
    let paid: Vec<&String> = known.difference(&with_logic).collect();
    assert!(
        paid.is_empty(),
        "no longer carry logic: remove from KNOWN_MOD_RS_WITH_LOGIC: {paid:?}"
    );
}

#[test]
fn no_file_passes_the_line_limit() {
    let mut long = BTreeMap::new();
    for f in files() {
        let n = f.code.lines().count();
        if n > MAX_LINES {
            long.insert(f.rel.clone(), n);
        }
    }
    assert_only_known(
        &long,
        KNOWN_LONG_FILES,
        &format!("files over {MAX_LINES} lines of non-test code (split them)"),
        &format!("now within {MAX_LINES} lines: remove from KNOWN_LONG_FILES"),
    );
}

/// Everything in `long` (name → lines) is listed in `known`, and every
/// listed name is still in `long`: the list may only shrink.
fn assert_only_known(long: &BTreeMap<String, usize>, known: &[&str], over: &str, paid_off: &str) {
    let known: BTreeSet<String> = known.iter().map(|s| (*s).to_owned()).collect();
    let new: Vec<String> = long
        .iter()
        .filter(|(f, _)| !known.contains(*f))
        .map(|(f, n)| format!("{f}: {n} lines"))
        .collect();
    assert!(new.is_empty(), "{over}: {new:?}");
    let paid: Vec<&String> = known.iter().filter(|f| !long.contains_key(*f)).collect();
    assert!(paid.is_empty(), "{paid_off}: {paid:?}");
}

#[test]
fn the_path_reader_expands_groups_and_resolves_super() {
    let p = paths("use crate::{a::{b, c::D}, e};\nlet x = super::f::g(1);");
    let want: Vec<Vec<String>> = [
        &["crate", "a", "b"][..],
        &["crate", "a", "c", "D"],
        &["crate", "e"],
        &["super", "f", "g"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    assert_eq!(p, want);
    let f = File {
        rel: "x/y.rs".into(),
        module: vec!["x".into(), "y".into()],
        is_mod_rs: false,
        code: String::new(),
        text: String::new(),
    };
    let modules: BTreeSet<Vec<String>> =
        [vec!["x".to_owned()], vec!["x".to_owned(), "f".to_owned()]]
            .into_iter()
            .collect();
    assert_eq!(
        resolve(&f, &want[3], &modules),
        Some(vec!["x".to_owned(), "f".to_owned()])
    );
    assert_eq!(strip_comments("a // crate::b\n/// [x](crate::c)"), "a \n");
}

/// `text` with the insides of comments, string and char literals blanked
/// (newlines kept), so braces and `fn` in them do not count.
fn blank_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = text[body..]
                    .find(&close)
                    .map_or(b.len(), |n| body + n + close.len());
                blank(&mut out, body, end.saturating_sub(close.len()).max(body));
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('{', '\n', '\''), not a lifetime ('a).
                let len = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| n + 3)
                } else {
                    text[i + 1..]
                        .chars()
                        .next()
                        .map(char::len_utf8)
                        .filter(|&n| b.get(i + 1 + n) == Some(&b'\''))
                        .map(|n| n + 2)
                };
                match len {
                    Some(n) => {
                        blank(&mut out, i + 1, i + n - 1);
                        i += n;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every function in `text` with its line count, `fn` line to closing
/// brace (declarations without a body are skipped).
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let code = blank_literals(text);
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = fn_name(lines[i]) else {
            i += 1;
            continue;
        };
        let (mut depth, mut opened, mut j) = (0i64, false, i);
        'scan: while j < lines.len() {
            for c in lines[j].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    ';' if !opened => break 'scan,
                    _ => {}
                }
                if opened && depth == 0 {
                    break 'scan;
                }
            }
            j += 1;
        }
        if opened {
            out.push((name, j - i + 1));
            // Nested functions are counted inside their parent.
            i = j + 1;
        } else {
            i = j + 1;
        }
    }
    out
}

/// The function a line declares: `fn name` after visibility and
/// qualifiers.
fn fn_name(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    loop {
        let before = rest;
        for q in ["pub ", "async ", "const ", "unsafe ", "extern \"C\" "] {
            rest = rest.strip_prefix(q).unwrap_or(rest);
        }
        if let Some(r) = rest.strip_prefix("pub(")
            && let Some(close) = r.find(") ")
        {
            rest = &r[close + 2..];
        }
        if rest == before {
            break;
        }
    }
    let r = rest.strip_prefix("fn ")?;
    let name: String = r
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn no_function_passes_the_line_limit() {
    let mut long = BTreeMap::new();
    for f in files() {
        for (name, n) in function_lengths(&f.text) {
            if n > MAX_FN_LINES {
                long.insert(format!("{}:{name}", f.rel), n);
            }
        }
    }
    assert_only_known(
        &long,
        KNOWN_LONG_FUNCTIONS,
        &format!("functions over {MAX_FN_LINES} lines (break them into named steps)"),
        &format!("now within {MAX_FN_LINES} lines: remove from KNOWN_LONG_FUNCTIONS"),
    );
}

#[test]
fn the_function_scanner_skips_literals_and_comments() {
    let text = "fn a() {\n    let s = \"}}}\";\n    let c = '}';\n    // }\n    /* } */\n    let r = r#\"}\"#;\n    x.map(|v: &'static str| v)\n}\n\npub(crate) async fn b(x: u8) -> u8 {\n    x\n}\nfn decl();\n";
    assert_eq!(
        function_lengths(text),
        vec![("a".to_owned(), 8), ("b".to_owned(), 3)]
    );
}
