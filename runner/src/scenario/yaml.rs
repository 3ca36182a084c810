//! Parsing a scenario file: YAML events → a JSON value plus the
//! [`LocIndex`] from every JSON pointer to its line and column.
//!
//! Owns everything about YAML syntax: the parser (saphyr-parser, which keeps
//! spans), YAML 1.2 core-schema scalar resolution, duplicate keys, aliases
//! with an expansion budget (alias bombs), a nesting limit (deep documents),
//! tags, multi-document files and empty files. It does not know the
//! scenario format: the schema check and validation do.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::{Map, Number, Value};

use super::diagnostic::Diagnostic;
use super::load::{LocIndex, Located, MAX_DEPTH, MAX_NODES, Source, Span, escape_segment};

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: String,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        pointer: String,
        anchor: usize,
        /// The key read, waiting for its value.
        key: Option<(String, Span)>,
        /// Where each key was first seen, for duplicate-key errors.
        seen: HashMap<String, usize>,
    },
}

struct Builder<'s> {
    src: &'s Source,
    index: LocIndex,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    stack: Vec<Frame>,
    root: Option<Value>,
    errors: Vec<Diagnostic>,
}

fn span_of(span: &saphyr_parser::Span, src: &Source) -> Span {
    let start = span.start;
    let end = span.end;
    let width = if end.line() == start.line() {
        end.index().saturating_sub(start.index())
    } else {
        src.line(start.line())
            .map_or(1, |l| l.chars().count().saturating_sub(start.col()))
    };
    Span {
        line: start.line(),
        col: start.col() + 1,
        width: width.max(1),
    }
}

/// Resolves a plain scalar by the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(u) = u64::from_str_radix(hex, 16)
    {
        return Value::Number(u.into());
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(u) = u64::from_str_radix(oct, 8)
    {
        return Value::Number(u.into());
    }
    let looks_float = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|b| b.is_ascii_digit());
    if looks_float
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

impl Builder<'_> {
    fn error(&mut self, span: Span, path: &str, message: impl Into<String>) -> Box<Diagnostic> {
        Box::new(self.src.diagnostic(span, path, message))
    }

    /// YAML tags (`!wal`) cannot be described by the schema: refused.
    fn tag_error(&mut self, span: Span, path: &str, tag: &saphyr_parser::Tag) -> Box<Diagnostic> {
        let mut d = self.error(
            span,
            path,
            format!(
                "tags such as `{}{}` are not supported in scenario files",
                tag.handle, tag.suffix
            ),
        );
        d.help =
            Some("write a store kind as a key instead, e.g. `wal: { sync: batch }`".to_owned());
        d
    }

    /// Where the next value goes: its pointer, human path and key span.
    fn next_slot(&mut self) -> (String, String, Option<Span>) {
        match self.stack.last() {
            None => (String::new(), String::new(), None),
            Some(Frame::Seq { items, pointer, .. }) => {
                let i = items.len();
                let parent = self
                    .index
                    .get(pointer)
                    .map(|l| l.path.clone())
                    .unwrap_or_default();
                (format!("{pointer}/{i}"), format!("{parent}[{i}]"), None)
            }
            Some(Frame::Map { pointer, key, .. }) => {
                let (k, span) = key.clone().unwrap_or_default_key();
                let parent = self
                    .index
                    .get(pointer)
                    .map(|l| l.path.clone())
                    .unwrap_or_default();
                let path = if parent.is_empty() {
                    k.clone()
                } else {
                    format!("{parent}.{k}")
                };
                (
                    format!("{pointer}/{}", escape_segment(&k)),
                    path,
                    Some(span),
                )
            }
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Attaches a finished value to its parent.
    fn attach(&mut self, value: Value, anchor: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes += 1;
        if anchor > 0 {
            let n = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), n));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some((k, _)) = key.take() {
                    map.insert(k, value);
                }
            }
        }
        Ok(())
    }

    fn key(&mut self, text: String, span: Span) -> Result<(), Box<Diagnostic>> {
        let Some(Frame::Map { pointer, seen, .. }) = self.stack.last_mut() else {
            return Ok(());
        };
        let pointer = pointer.clone();
        let first = seen.get(&text).copied();
        if first.is_none() {
            seen.insert(text.clone(), span.line);
        }
        if let Some(first) = first {
            let parent = self
                .index
                .get(&pointer)
                .map(|l| l.path.clone())
                .unwrap_or_default();
            let path = if parent.is_empty() {
                text.clone()
            } else {
                format!("{parent}.{text}")
            };
            let mut d = self.error(span, &path, format!("duplicate key `{text}`"));
            d.help = Some(format!(
                "`{text}` is already defined at line {first}; remove one of them"
            ));
            // Keep going so later problems are reported too: the later value wins.
            self.errors.push(*d);
        }
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = Some((text, span));
        }
        Ok(())
    }

    fn event(
        &mut self,
        event: Event<'_>,
        raw: &saphyr_parser::Span,
    ) -> Result<bool, Box<Diagnostic>> {
        let span = span_of(raw, self.src);
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                if self.root.is_some() {
                    return Err(self.error(
                        span,
                        "",
                        "a scenario file holds one YAML document, this is a second one",
                    ));
                }
            }
            Event::DocumentEnd => {}
            Event::Alias(id) => {
                let (pointer, path, key) = self.next_slot();
                if self.expecting_key() {
                    return Err(self.error(span, &path, "an alias cannot be a mapping key here"));
                }
                let Some((value, n)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(span, &path, "alias to an unknown anchor"));
                };
                self.nodes += n;
                if self.nodes > MAX_NODES {
                    let mut d = self.error(
                        span,
                        &path,
                        "aliases expand the document beyond the node limit",
                    );
                    d.expected = Some(format!("at most {MAX_NODES} nodes after alias expansion"));
                    d.help = Some(
                        "this looks like an alias bomb (\"billion laughs\"); write the values out"
                            .to_owned(),
                    );
                    return Err(d);
                }
                self.index.nodes.insert(
                    pointer,
                    Located {
                        key,
                        value: span,
                        path,
                        plain: None,
                    },
                );
                self.nodes -= 1; // attach counts one
                self.attach(value, 0)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag {
                    let (_, path, _) = self.next_slot();
                    return Err(self.tag_error(span, &path, &tag));
                }
                if self.expecting_key() {
                    return self.key(text.into_owned(), span).map(|()| false);
                }
                let (pointer, path, key) = self.next_slot();
                let (value, plain) = if style == ScalarStyle::Plain {
                    (resolve_plain(&text), Some(text.into_owned()))
                } else {
                    (Value::String(text.into_owned()), None)
                };
                self.index.nodes.insert(
                    pointer,
                    Located {
                        key,
                        value: span,
                        path,
                        plain,
                    },
                );
                self.attach(value, anchor)?;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let (Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)) = event
                else {
                    return Ok(false);
                };
                let (pointer, path, key) = self.next_slot();
                if self.expecting_key() {
                    return Err(self.error(
                        span,
                        &path,
                        "a mapping key must be a plain name, not a list or mapping",
                    ));
                }
                if let Some(tag) = tag {
                    return Err(self.tag_error(span, &path, &tag));
                }
                if self.stack.len() >= MAX_DEPTH {
                    let mut d = self.error(span, &path, "the document nests too deeply");
                    d.expected = Some(format!("at most {MAX_DEPTH} levels of nesting"));
                    return Err(d);
                }
                self.index.nodes.insert(
                    pointer.clone(),
                    Located {
                        key,
                        value: span,
                        path,
                        plain: None,
                    },
                );
                self.stack.push(if is_map {
                    Frame::Map {
                        map: Map::new(),
                        pointer,
                        anchor,
                        key: None,
                        seen: HashMap::new(),
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        pointer,
                        anchor,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    None => return Ok(false),
                };
                self.attach(value, anchor)?;
            }
        }
        Ok(false)
    }
}

trait DefaultKey {
    fn unwrap_or_default_key(self) -> (String, Span);
}

impl DefaultKey for Option<(String, Span)> {
    fn unwrap_or_default_key(self) -> (String, Span) {
        self.unwrap_or_else(|| {
            (
                String::new(),
                Span {
                    line: 1,
                    col: 1,
                    width: 1,
                },
            )
        })
    }
}

fn scan_error(src: &Source, e: &ScanError) -> Diagnostic {
    let m = e.marker();
    let span = Span {
        line: m.line().max(1),
        col: m.col() + 1,
        width: 1,
    };
    if e.info().contains("recursion limit") {
        let mut d = src.diagnostic(span, "", "the document nests too deeply");
        d.expected = Some(format!("at most {MAX_DEPTH} levels of nesting"));
        return d;
    }
    let mut d = src.diagnostic(span, "", format!("invalid YAML: {}", e.info()));
    let line = src.line(span.line).unwrap_or_default();
    let prev = src.line(span.line.saturating_sub(1)).unwrap_or_default();
    if line.contains('\t') || prev.contains('\t') {
        d.help = Some("YAML does not allow tabs for indentation; indent with spaces".to_owned());
    } else if e.info().contains("flow") || e.info().contains("did not find expected ',' or") {
        // The parser notices a missing `}` where it gives up, often lines
        // later; point at the bracket that was never closed instead.
        if let Some((line, col, open)) = unclosed_opener(&src.text, span.line, span.col) {
            let close = if open == '{' { '}' } else { ']' };
            let mut opened = src.diagnostic(
                Span {
                    line,
                    col,
                    width: 1,
                },
                "",
                format!("invalid YAML: this `{open}` is never closed"),
            );
            opened.expected = Some(format!("a `{close}` closing it"));
            opened.help = Some(format!(
                "the parser gave up at line {}, column {}: {}",
                span.line,
                span.col,
                e.info()
            ));
            return opened;
        }
        d.help = Some(
            "a `{` or `[` is not closed; check the brackets of this flow collection".to_owned(),
        );
    }
    d
}

/// The last `{` or `[` before (`line`, `col`) that no bracket closes, as
/// 1-based (line, column, bracket). Skips quoted strings and comments; a
/// quote only opens a string where a YAML token can start, so `don't` in a
/// plain scalar is not taken for one.
fn unclosed_opener(text: &str, line: usize, col: usize) -> Option<(usize, usize, char)> {
    let mut open: Vec<(usize, usize, char)> = Vec::new();
    for (i, l) in text.lines().enumerate().take(line) {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (j, c) in l.chars().enumerate() {
            if i + 1 == line && j + 1 >= col {
                break;
            }
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '#' if prev.is_whitespace() => break,
                    '"' | '\'' if matches!(prev, ' ' | '\t' | '{' | '[' | ',' | ':') => {
                        quote = Some(c);
                    }
                    '{' | '[' => open.push((i + 1, j + 1, c)),
                    '}' | ']' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            prev = c;
        }
    }
    open.pop()
}

/// Parses `src` into a JSON value and a location index. Structural problems
/// (syntax, duplicate keys, limits) are returned as diagnostics; only the
/// first syntax error can be reported, since the parser cannot recover.
pub(crate) fn parse(src: &Source) -> Result<(Value, LocIndex), Vec<Diagnostic>> {
    let mut b = Builder {
        src,
        index: LocIndex::default(),
        anchors: HashMap::new(),
        nodes: 0,
        stack: Vec::new(),
        root: None,
        errors: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&src.text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                b.errors.push(scan_error(src, &e));
                return Err(b.errors);
            }
            Some(Ok((event, span))) => match b.event(event, &span) {
                Ok(true) => break,
                Ok(false) => {}
                Err(d) => {
                    b.errors.push(*d);
                    return Err(b.errors);
                }
            },
        }
    }
    if !b.errors.is_empty() {
        return Err(b.errors);
    }
    match b.root {
        None | Some(Value::Null) => {
            let mut d = src.diagnostic(
                Span {
                    line: 1,
                    col: 1,
                    width: 1,
                },
                "",
                "scenario file is empty",
            );
            d.expected =
                Some("a mapping with `version`, `name`, `targets` and `phases`".to_owned());
            d.help = Some("start from `scenarios/quickstart.yaml`".to_owned());
            Err(vec![d])
        }
        Some(root) => {
            b.index.nodes.entry(String::new()).or_insert(Located {
                key: None,
                value: Span {
                    line: 1,
                    col: 1,
                    width: 1,
                },
                path: String::new(),
                plain: None,
            });
            Ok((root, b.index))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            name: "t.yaml".to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn an_unclosed_bracket_is_found_where_it_opens() {
        let text = "a: 1\nb: { x: 1, y: '}' # }\nc: [1, 2]\nd: 3\n";
        assert_eq!(unclosed_opener(text, 5, 1), Some((2, 4, '{')));
        assert_eq!(unclosed_opener("a: [1, {b: 2}]\n", 2, 1), None);
        assert_eq!(unclosed_opener("a: don't [x\n", 2, 1), Some((1, 10, '[')));
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let (v, _) = parse(&src(
            "a: 1\nb: 1.5\nc: true\nd: no\ne: '1'\nf: 5_000_000\ng: ~\nh: 4KiB\n",
        ))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": 1.5, "c": true, "d": "no", "e": "1", "f": "5_000_000", "g": null, "h": "4KiB"})
        );
    }

    #[test]
    fn locations_are_one_based_and_point_at_keys_and_values() {
        let (_, idx) = parse(&src("name: x\nphases:\n  - name: w\n    batch: 10\n")).unwrap();
        let l = idx.get("/phases/0/batch").unwrap();
        assert_eq!(l.path, "phases[0].batch");
        assert_eq!(
            l.key.unwrap(),
            Span {
                line: 4,
                col: 5,
                width: 5
            }
        );
        assert_eq!((l.value.line, l.value.col, l.value.width), (4, 12, 2));
        assert_eq!(
            idx.find("/phases/0/batch/zz").unwrap().path,
            "phases[0].batch"
        );
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let e = parse(&src("a: 1\nb: 2\na: 3\n")).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].line, e[0].column), (3, 1));
        assert!(e[0].help.as_deref().unwrap().contains("line 1"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_rejected_quickly() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = (b'a' + i - 1) as char;
            let cur = (b'a' + i) as char;
            bomb.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let started = std::time::Instant::now();
        let e = parse(&src(&bomb)).unwrap_err();
        assert!(e[0].message.contains("node limit"), "{}", e[0].message);
        let deep = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse(&src(&deep)).unwrap_err();
        assert!(
            e[0].message.contains("too deeply") || e[0].message.contains("recursion"),
            "{}",
            e[0].message
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn empty_and_non_utf8_files_are_explained() {
        assert!(parse(&src("")).unwrap_err()[0].message.contains("empty"));
        assert!(
            parse(&src("# only a comment\n")).unwrap_err()[0]
                .message
                .contains("empty")
        );
        let d =
            *super::super::load::decode("x.yaml", b"name: ok\nbad: \xff\n".to_vec()).unwrap_err();
        assert_eq!((d.line, d.column), (2, 6));
    }
}
