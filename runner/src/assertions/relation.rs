//! The right side and the scope of an assertion, as written: a constant
//! (`10ms`), or a factor times a reference to another metric, target,
//! variant or the baseline (`2x target rocksdb`, `3x active.read.bytes_per_s`,
//! `8x variant workers=1`, `1.1x baseline`), followed by scope clauses
//! (`on wal, rocksdb`, `where workers=16`).
//!
//! ```text
//! assertion := <metric> <op> <right> [on <target>, …] [where <key>=<value>[|<value>…], …]
//! right     := <value> | [<factor> x] <reference>
//! reference := <metric> [of <cell>] | <cell>
//! cell      := baseline | target <name> [variant <key>=<value>, …] | variant <key>=<value>, … [target <name>]
//! ```
//!
//! Owns the syntax only, with byte offsets into the assertion text for
//! located errors. Whether a metric, target or matrix setting exists is
//! decided by `scenario::validate`; what the parts mean at evaluation is
//! `judge`'s.

use super::expr::AssertionError;

/// A word of the text with its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    /// The word.
    pub text: String,
    /// Byte offset in the assertion text.
    pub at: usize,
}

impl Word {
    fn len(&self) -> usize {
        self.text.len().max(1)
    }
}

/// `key=value` (or `key=a|b`) in a variant reference or a `where` clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawSetting {
    /// The matrix key as written (its last part, as in variant labels, or the whole path).
    pub key: Word,
    /// The accepted values (one in a reference; alternatives in a scope).
    pub values: Vec<String>,
}

/// The cell a reference points at, as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawCell {
    /// `baseline`.
    pub baseline: bool,
    /// `target NAME`.
    pub target: Option<Word>,
    /// `variant key=value, …`.
    pub variant: Vec<RawSetting>,
}

impl RawCell {
    /// True when the reference names no other cell (same target and variant).
    pub(crate) fn is_same(&self) -> bool {
        !self.baseline && self.target.is_none() && self.variant.is_empty()
    }
}

/// The right side as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawRight {
    /// A constant in the metric's unit.
    Value {
        /// The value text.
        text: String,
        /// Byte offset.
        at: usize,
    },
    /// `factor × reference`.
    Reference {
        /// The factor (1 when none is written).
        factor: f64,
        /// The metric referred to (`None`: the left side's metric).
        metric: Option<Word>,
        /// The cell referred to.
        cell: RawCell,
        /// The reference as written, factor included (`2x target rocksdb`).
        text: String,
    },
}

/// Scope clauses as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawScope {
    /// `on NAME, …`: only these targets.
    pub targets: Vec<Word>,
    /// `where key=value, …`: only variants with these settings.
    pub variants: Vec<RawSetting>,
}

/// The right side and scope of an assertion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawTail {
    /// The right side.
    pub right: RawRight,
    /// Its scope.
    pub scope: RawScope,
}

const SCOPE_WORDS: &[&str] = &["on", "where"];
const CELL_WORDS: &[&str] = &["baseline", "target", "variant"];

fn error(message: impl Into<String>, at: usize, len: usize) -> AssertionError {
    AssertionError {
        message: message.into(),
        at,
        len: len.max(1),
        expected: None,
        help: None,
    }
}

/// Splits `text[from..]` into words at whitespace and commas (a comma
/// only separates list items).
fn words(text: &str, from: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text[from..].char_indices() {
        let i = from + i;
        if c.is_whitespace() || c == ',' {
            if let Some(s) = start.take() {
                out.push(Word {
                    text: text[s..i].to_owned(),
                    at: s,
                });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(Word {
            text: text[s..].to_owned(),
            at: s,
        });
    }
    out
}

/// A positive finite number (`2`, `1.5`, `0.5`).
fn number(text: &str) -> Option<f64> {
    text.replace('_', "")
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
}

/// The factor a word (or two) start with: `2x`, `1.5×`, `2 x`, `2 *`.
/// Returns the factor and how many words it took.
fn factor(ws: &[Word]) -> Option<(f64, usize)> {
    let first = ws.first()?;
    for suffix in ['x', '×', '*'] {
        if let Some(n) = first.text.strip_suffix(suffix).and_then(number) {
            return Some((n, 1));
        }
    }
    let n = number(&first.text)?;
    let second = ws.get(1)?;
    ["x", "×", "*"]
        .contains(&second.text.as_str())
        .then_some((n, 2))
}

fn setting(w: &Word, alternatives: bool) -> Result<RawSetting, AssertionError> {
    let shape = if alternatives {
        "`key=value` (or `key=a|b`), e.g. `workers=16`"
    } else {
        "`key=value`, e.g. `workers=1`"
    };
    let not_a_setting = || {
        let mut e = error(
            format!("`{}` is not a matrix setting", w.text),
            w.at,
            w.len(),
        );
        e.expected = Some(shape.to_owned());
        e
    };
    let Some((k, v)) = w.text.split_once('=') else {
        return Err(not_a_setting());
    };
    let values: Vec<String> = v.split('|').map(str::to_owned).collect();
    if k.is_empty() || values.iter().any(String::is_empty) || (!alternatives && values.len() > 1) {
        return Err(not_a_setting());
    }
    Ok(RawSetting {
        key: Word {
            text: k.to_owned(),
            at: w.at,
        },
        values,
    })
}

/// Parses the cell words after `of` (or the whole reference).
fn cell(ws: &[Word], text: &str) -> Result<RawCell, AssertionError> {
    let mut c = RawCell::default();
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        match w.text.as_str() {
            "baseline" if i == 0 && ws.len() == 1 => {
                c.baseline = true;
                i += 1;
            }
            "baseline" => {
                let mut e = error(
                    "`baseline` stands alone: it is the same target and variant in the baseline run",
                    w.at,
                    w.len(),
                );
                e.expected = Some("`… of baseline` or `1.1x baseline`".to_owned());
                return Err(e);
            }
            "target" if c.target.is_none() => {
                let Some(name) = ws
                    .get(i + 1)
                    .filter(|n| !CELL_WORDS.contains(&n.text.as_str()))
                else {
                    let mut e = error("`target` needs a target name", w.at, w.len());
                    e.expected = Some("`target <name>`, e.g. `target rocksdb`".to_owned());
                    return Err(e);
                };
                c.target = Some(name.clone());
                i += 2;
            }
            "variant" if c.variant.is_empty() => {
                let mut j = i + 1;
                while j < ws.len() && ws[j].text.contains('=') {
                    c.variant.push(setting(&ws[j], false)?);
                    j += 1;
                }
                if c.variant.is_empty() {
                    let mut e = error("`variant` needs a matrix setting", w.at, w.len());
                    e.expected =
                        Some("`variant <key>=<value>`, e.g. `variant workers=1`".to_owned());
                    return Err(e);
                }
                i = j;
            }
            _ => {
                let mut e = error(
                    format!("unexpected `{}` in the reference", w.text),
                    w.at,
                    text.len().saturating_sub(w.at),
                );
                e.expected = Some(
                    "`baseline`, `target <name>` or `variant <key>=<value>` (each once)".to_owned(),
                );
                return Err(e);
            }
        }
    }
    Ok(c)
}

fn reference(ws: &[Word], text: &str) -> Result<(Option<Word>, RawCell), AssertionError> {
    let Some(first) = ws.first() else {
        return Err(error("a reference is missing", text.len(), 1));
    };
    if CELL_WORDS.contains(&first.text.as_str()) {
        return Ok((None, cell(ws, text)?));
    }
    let metric = first.clone();
    match ws.get(1) {
        None => Ok((Some(metric), RawCell::default())),
        Some(of) if of.text == "of" => {
            if ws.len() == 2 {
                let mut e = error(
                    "`of` needs a target, variant or `baseline`",
                    of.at,
                    of.len(),
                );
                e.expected = Some(
                    "`of target <name>`, `of variant <key>=<value>` or `of baseline`".to_owned(),
                );
                return Err(e);
            }
            Ok((Some(metric), cell(&ws[2..], text)?))
        }
        Some(other) => {
            let mut e = error(
                format!(
                    "unexpected `{}` after the metric `{}`",
                    other.text, metric.text
                ),
                other.at,
                other.len(),
            );
            e.expected = Some(
                "`of target <name>`, `of variant <key>=<value>`, `of baseline`, `on <target>` or `where <key>=<value>`"
                    .to_owned(),
            );
            Err(e)
        }
    }
}

fn scope(ws: &[Word]) -> Result<RawScope, AssertionError> {
    let mut s = RawScope::default();
    let mut i = 0;
    while i < ws.len() {
        let kw = &ws[i];
        let end = ws[i + 1..]
            .iter()
            .position(|w| SCOPE_WORDS.contains(&w.text.as_str()))
            .map_or(ws.len(), |p| i + 1 + p);
        let items = &ws[i + 1..end];
        if items.is_empty() {
            let mut e = error(
                format!("`{}` needs at least one item", kw.text),
                kw.at,
                kw.len(),
            );
            e.expected = Some(if kw.text == "on" {
                "`on <target>, …`, e.g. `on wal`".to_owned()
            } else {
                "`where <key>=<value>, …`, e.g. `where workers=16`".to_owned()
            });
            return Err(e);
        }
        if kw.text == "on" {
            s.targets.extend(items.iter().cloned());
        } else {
            for w in items {
                s.variants.push(setting(w, true)?);
            }
        }
        i = end;
    }
    Ok(s)
}

/// Parses what follows the operator (`text[at..]`): the right side and the
/// scope clauses.
pub(crate) fn parse_tail(text: &str, at: usize) -> Result<RawTail, AssertionError> {
    let ws = words(text, at);
    let split = ws
        .iter()
        .position(|w| SCOPE_WORDS.contains(&w.text.as_str()))
        .unwrap_or(ws.len());
    let (right, rest) = ws.split_at(split);
    let Some(first) = right.first() else {
        let mut e = error("assertion has nothing before its scope", at, 1);
        e.expected = Some("a value or a reference before `on`/`where`".to_owned());
        return Err(e);
    };
    let last = &right[right.len() - 1];
    let right_text = text[first.at..last.at + last.text.len()].to_owned();
    let right = match factor(right) {
        Some((f, used)) => {
            let refs = &right[used..];
            if refs.is_empty() {
                let mut e = error(
                    format!("the factor `{right_text}` multiplies nothing"),
                    first.at,
                    right_text.len(),
                );
                e.expected = Some(
                    "`<factor>x <reference>`, e.g. `2x target rocksdb` or `1.1x baseline`"
                        .to_owned(),
                );
                return Err(e);
            }
            let (metric, cell) = reference(refs, text)?;
            RawRight::Reference {
                factor: f,
                metric,
                cell,
                text: right_text,
            }
        }
        None if first
            .text
            .trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
        {
            RawRight::Value {
                text: right_text,
                at: first.at,
            }
        }
        None => {
            let (metric, cell) = reference(right, text)?;
            RawRight::Reference {
                factor: 1.0,
                metric,
                cell,
                text: right_text,
            }
        }
    };
    Ok(RawTail {
        right,
        scope: scope(rest)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(text: &str) -> RawTail {
        let op = text.find(['<', '>', '=']).expect("operator");
        let after = op + text[op..].find(' ').expect("space");
        parse_tail(text, after).unwrap_or_else(|e| panic!("{text}: {}", e.message))
    }

    fn reference_of(t: &RawTail) -> (f64, Option<&str>, &RawCell) {
        match &t.right {
            RawRight::Reference {
                factor,
                metric,
                cell,
                ..
            } => (*factor, metric.as_ref().map(|w| w.text.as_str()), cell),
            RawRight::Value { .. } => panic!("a reference"),
        }
    }

    #[test]
    fn a_constant_keeps_its_text_and_scope_follows() {
        let t = tail("write.append.p99 < 10ms on wal, rocksdb where batch=10|100");
        assert_eq!(
            t.right,
            RawRight::Value {
                text: "10ms".into(),
                at: 19
            }
        );
        let names: Vec<&str> = t.scope.targets.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(names, ["wal", "rocksdb"]);
        assert_eq!(t.scope.variants[0].key.text, "batch");
        assert_eq!(t.scope.variants[0].values, ["10", "100"]);
    }

    #[test]
    fn factors_are_written_many_ways() {
        for text in [
            "w.a.records_per_s >= 2x target rocksdb",
            "w.a.records_per_s >= 2 x target rocksdb",
            "w.a.records_per_s >= 2× target rocksdb",
            "w.a.records_per_s >= 2 * target rocksdb",
        ] {
            let t = tail(text);
            let (f, m, c) = reference_of(&t);
            assert_eq!((f, m), (2.0, None), "{text}");
            assert_eq!(c.target.as_ref().map(|w| w.text.as_str()), Some("rocksdb"));
        }
        let t = tail("w.a.p99 <= 1.1x baseline");
        let (f, _, c) = reference_of(&t);
        assert!((f - 1.1).abs() < 1e-12 && c.baseline);
    }

    #[test]
    fn references_name_metrics_targets_and_variants() {
        let t = tail("sealed.read.bytes_per_s >= 3x active.read.bytes_per_s");
        let (_, m, c) = reference_of(&t);
        assert_eq!(m, Some("active.read.bytes_per_s"));
        assert!(c.is_same());
        let t = tail(
            "w.a.records_per_s >= 8x w.a.records_per_s of variant workers=1 target wal where workers=16",
        );
        let (f, m, c) = reference_of(&t);
        assert_eq!((f, m), (8.0, Some("w.a.records_per_s")));
        assert_eq!(c.variant[0].values, ["1"]);
        assert_eq!(c.target.as_ref().map(|w| w.text.as_str()), Some("wal"));
        assert_eq!(t.scope.variants[0].values, ["16"]);
        let t = tail("w.a.p99 <= w.a.p99 of baseline");
        assert!(reference_of(&t).2.baseline);
    }

    #[test]
    fn mistakes_point_at_themselves() {
        let text = "w.a.p99 <= 2x";
        let e = parse_tail(text, 11).unwrap_err();
        assert!(e.message.contains("multiplies nothing"), "{}", e.message);
        let text = "w.a.p99 <= 2x target";
        let e = parse_tail(text, 11).unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (14, "`target` needs a target name")
        );
        let text = "w.a.p99 <= w.b.p99 off baseline";
        let e = parse_tail(text, 11).unwrap_err();
        assert_eq!(e.at, 19);
        let text = "w.a.p99 < 10ms on";
        let e = parse_tail(text, 10).unwrap_err();
        assert_eq!(e.at, 15);
        let text = "w.a.p99 < 10ms where workers";
        let e = parse_tail(text, 10).unwrap_err();
        assert!(e.message.contains("not a matrix setting"));
        let text = "w.a.p99 <= 2x variant workers=1|2";
        assert!(parse_tail(text, 11).is_err(), "one value in a reference");
        let text = "w.a.p99 <= 2x baseline target wal";
        assert!(parse_tail(text, 11).is_err());
    }
}
