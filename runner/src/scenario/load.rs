//! A scenario file's text and locations: [`Source`] (bytes → UTF-8, with
//! the limits a file must keep), [`Span`] and [`LocIndex`], the index from
//! every JSON pointer to its line and column that every diagnostic uses.
//! Parsing the YAML into a value and an index is `yaml`'s.

use std::collections::HashMap;

use super::diagnostic::{Diagnostic, Severity};

/// Deepest nesting accepted; scenarios need about 6 levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to through aliases.
pub(crate) const MAX_NODES: usize = 100_000;
/// Largest scenario file accepted.
pub(crate) const MAX_BYTES: usize = 8 << 20;

/// A scenario file's name (as the user gave it) and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given on the command line (used in messages).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// A 1-based position and the width of what sits there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Width in characters (at least 1, within the line).
    pub width: usize,
}

/// Where one node of the document is: its key (for map entries) and value.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The key of a map entry.
    pub key: Option<Span>,
    /// The value.
    pub value: Span,
    /// Human path, e.g. `phases[2].actors[0].batch`.
    pub path: String,
    /// For plain scalars, the text as written (to explain YAML 1.1 booleans).
    pub plain: Option<String>,
}

/// JSON pointer → location of every node of the document.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocIndex {
    pub(super) nodes: HashMap<String, Located>,
}

impl LocIndex {
    /// The node at `pointer`, or the nearest ancestor that has a location
    /// (nodes produced by an alias are located at the alias).
    pub(crate) fn find(&self, pointer: &str) -> Option<&Located> {
        let mut p = pointer;
        loop {
            if let Some(l) = self.nodes.get(p) {
                return Some(l);
            }
            if p.is_empty() {
                return None;
            }
            p = p.rfind('/').map_or("", |i| &p[..i]);
        }
    }

    /// The node at exactly `pointer`.
    pub(crate) fn get(&self, pointer: &str) -> Option<&Located> {
        self.nodes.get(pointer)
    }

    /// Keys of the mapping at `pointer` (unescaped), sorted.
    pub(crate) fn child_keys(&self, pointer: &str) -> Vec<String> {
        let prefix = format!("{pointer}/");
        let mut keys: Vec<String> = self
            .nodes
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(|k| k.replace("~1", "/").replace("~0", "~"))
            .collect();
        keys.sort();
        keys
    }

    /// Makes `pointer` and everything below it resolve to `to` (used when a
    /// matrix value or an override replaces a subtree).
    pub(crate) fn redirect(&mut self, pointer: &str, to: Located) {
        let prefix = format!("{pointer}/");
        self.nodes
            .retain(|k, _| k != pointer && !k.starts_with(&prefix));
        self.nodes.insert(pointer.to_owned(), to);
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Turns a JSON pointer into a human path when no index entry exists.
pub(crate) fn human_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

impl Source {
    /// The text of 1-based `line`.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }

    /// Builds a diagnostic at `span`.
    pub fn diagnostic(&self, span: Span, path: &str, message: impl Into<String>) -> Diagnostic {
        let source_line = self.line(span.line).map(str::to_owned);
        let max_width = source_line
            .as_deref()
            .map_or(1, |l| l.chars().count().saturating_sub(span.col - 1).max(1));
        Diagnostic {
            severity: Severity::Error,
            file: self.name.clone(),
            line: span.line,
            column: span.col,
            path: path.to_owned(),
            message: message.into(),
            expected: None,
            found: None,
            help: None,
            source_line,
            width: span.width.clamp(1, max_width),
        }
    }
}

/// Decodes file bytes, pointing at the first invalid byte.
pub(crate) fn decode(name: &str, bytes: Vec<u8>) -> Result<Source, Box<Diagnostic>> {
    if bytes.len() > MAX_BYTES {
        let src = Source {
            name: name.to_owned(),
            text: String::new(),
        };
        let mut d = src.diagnostic(
            Span {
                line: 1,
                col: 1,
                width: 1,
            },
            "",
            "scenario file is too large",
        );
        d.found = Some(format!("more than {MAX_BYTES} bytes"));
        d.expected = Some(format!("at most {MAX_BYTES} bytes"));
        return Err(Box::new(d));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            // Windows editors start UTF-8 files with a byte-order mark; it
            // is not part of the document (YAML 1.2 allows it there).
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(Source {
                name: name.to_owned(),
                text,
            })
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let before = String::from_utf8_lossy(&bytes[..valid]);
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let src = Source {
                name: name.to_owned(),
                text,
            };
            let mut d = src.diagnostic(
                Span {
                    line,
                    col,
                    width: 1,
                },
                "",
                "scenario file is not valid UTF-8",
            );
            d.found = Some(format!("byte 0x{:02x} at offset {valid}", bytes[valid]));
            d.expected = Some("UTF-8 text".to_owned());
            Err(Box::new(d))
        }
    }
}
/// The span and human path of `pointer` in `index` (the key's span when
/// `key`); line 1 with the pointer's path when it is not in the file.
pub(crate) fn locate(index: &LocIndex, pointer: &str, key: bool) -> (Span, String) {
    match index.find(pointer) {
        Some(l) => (
            if key {
                l.key.unwrap_or(l.value)
            } else {
                l.value
            },
            l.path.clone(),
        ),
        None => (
            Span {
                line: 1,
                col: 1,
                width: 1,
            },
            human_path(pointer),
        ),
    }
}
