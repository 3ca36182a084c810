//! The structural check: runs a parsed document through the generated JSON
//! Schema and turns every schema error into a located [`Diagnostic`] that
//! says what was expected, what was found, and what was probably meant.
//!
//! Owns the translation of `jsonschema` errors (unknown keys, types, enums,
//! unit patterns, ranges, `oneOf` choices) into user language. Semantic
//! rules (references, names, capabilities) live in `validate`.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, paths::LocationSegment};
use serde_json::Value;

use super::diagnostic::{Diagnostic, did_you_mean, one_of};
use super::load::{LocIndex, Source, escape_segment, human_path};
use super::units;

/// Checks `doc` against the scenario schema (`schema`, compiled as
/// `validator`); returns every problem found.
pub fn check(
    src: &Source,
    doc: &Value,
    index: &LocIndex,
    schema: &Value,
    validator: &jsonschema::Validator,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for err in validator.iter_errors(doc) {
        convert(&err, schema, src, index, &mut out);
    }
    out.sort_by_key(|d| (d.line, d.column));
    out.dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
    out
}

fn pointer_of(err: &ValidationError<'_>) -> String {
    err.instance_path().as_str().to_owned()
}

/// Follows an evaluation path through the schema, resolving local `$ref`s,
/// and returns the schema object that holds the failing keyword.
fn schema_at<'a>(schema: &'a Value, err: &ValidationError<'_>) -> Option<&'a Value> {
    let mut node = schema;
    let segments: Vec<String> = err
        .evaluation_path()
        .segments()
        .map(|s| match s {
            LocationSegment::Property(p) => p.into_owned(),
            LocationSegment::Index(i) => i.to_string(),
        })
        .collect();
    // The last segment is the failing keyword itself.
    let parents = segments.len().saturating_sub(1);
    for seg in &segments[..parents] {
        if seg == "$ref" {
            node = resolve_ref(schema, node)?;
            continue;
        }
        node = match node {
            Value::Object(o) => o.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    if node.get("$ref").is_some() && node.get("properties").is_none() {
        node = resolve_ref(schema, node)?;
    }
    Some(node)
}

fn resolve_ref<'a>(schema: &'a Value, node: &Value) -> Option<&'a Value> {
    let r = node.get("$ref")?.as_str()?;
    let pointer = r.strip_prefix('#')?;
    schema.pointer(pointer)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string `{s}`"),
        Value::Array(a) => format!(
            "a list of {} item{}",
            a.len(),
            if a.len() == 1 { "" } else { "s" }
        ),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().map(String::as_str).take(4).collect();
            format!("a mapping with keys {}", one_of(&keys))
        }
    }
}

fn type_name(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "integer" => "an integer".to_owned(),
        "number" => "a number".to_owned(),
        "string" => "a string".to_owned(),
        "boolean" => "a boolean (`true` or `false`)".to_owned(),
        "null" => "nothing".to_owned(),
        other => other.to_owned(),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(ts) => {
            let names: Vec<String> = ts
                .iter()
                .filter(|t| t.to_string() != "null")
                .map(|t| name(&t))
                .collect();
            names.join(" or ")
        }
    }
}

fn convert(
    err: &ValidationError<'_>,
    schema: &Value,
    src: &Source,
    index: &LocIndex,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = pointer_of(err);
    let located = index.find(&pointer);
    let path = located
        .filter(|l| index.get(&pointer).is_some() || l.path.is_empty())
        .map_or_else(|| human_path(&pointer), |l| l.path.clone());
    let span = located.map_or(
        super::load::Span {
            line: 1,
            col: 1,
            width: 1,
        },
        |l| l.value,
    );
    let instance = err.instance();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let holder = schema_at(schema, err);
            let allowed: Vec<String> = holder
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            for key in unexpected {
                let child = format!("{pointer}/{}", escape_segment(key));
                let loc = index.get(&child);
                let key_span = loc.and_then(|l| l.key).unwrap_or(span);
                let child_path = loc.map_or_else(|| human_path(&child), |l| l.path.clone());
                let mut d = src.diagnostic(key_span, &child_path, format!("unknown key `{key}`"));
                d.found = Some(format!("`{key}`"));
                if !allowed.is_empty() {
                    let context = if path.is_empty() {
                        "the top level".to_owned()
                    } else {
                        format!("`{path}`")
                    };
                    d.expected = Some(format!("a key of {context}: {}", one_of(&allowed)));
                }
                if let Some(m) = did_you_mean(key, allowed.iter().map(String::as_str)) {
                    d.help = Some(format!("did you mean `{m}`?"));
                }
                out.push(d);
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let key_span = located.and_then(|l| l.key).unwrap_or(span);
            let mut d = src.diagnostic(key_span, &path, format!("missing required key `{name}`"));
            let holder = if path.is_empty() {
                "the scenario".to_owned()
            } else {
                format!("`{path}`")
            };
            d.expected = Some(format!("{holder} to have the key `{name}`"));
            if let Some(obj) = instance.as_object() {
                let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
                if let Some(near) = keys.iter().find(|k| did_you_mean(k, [name]).is_some()) {
                    d.help = Some(format!("`{near}` is close: did you mean `{name}`?"));
                }
            }
            out.push(d);
        }
        ValidationErrorKind::Type { kind } => {
            let expected = type_name(kind);
            let mut d = src.diagnostic(
                span,
                &path,
                format!("wrong type for `{}`", last_name(&path)),
            );
            d.expected = Some(expected.clone());
            d.found = Some(describe(instance));
            let plain = located.and_then(|l| l.plain.as_deref()).unwrap_or_default();
            if expected.contains("boolean")
                && matches!(
                    plain.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                )
            {
                d.help = Some(format!(
                    "`{plain}` is a string in YAML 1.2 (it was a boolean in YAML 1.1); write `{}`",
                    matches!(plain.to_ascii_lowercase().as_str(), "yes" | "on" | "y")
                ));
            } else if expected.contains("integer")
                && instance
                    .as_f64()
                    .is_some_and(|x| x.fract() == 0.0 && x.abs() >= 1.8e19)
            {
                // YAML reads a whole number past u64 as a float.
                d.found = Some("a whole number too large to count".to_owned());
                d.help = Some(format!("write at most {} (or use a unit: `10M`)", u64::MAX));
            } else if expected.contains("integer") && instance.is_number() {
                d.help = Some("write a whole number".to_owned());
            } else if expected.contains("mapping") && instance.is_null() {
                d.help = Some("write `{}` for a mapping with no keys".to_owned());
            }
            out.push(d);
        }
        ValidationErrorKind::Enum { options } => {
            let names: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            out.push(unknown_value(src, span, &path, instance, &names));
        }
        ValidationErrorKind::Pattern { pattern } => {
            let text = instance.as_str().unwrap_or_default();
            let detail = units::reparse_by_pattern(pattern, text)
                .unwrap_or_else(|| format!("`{text}` does not match `{pattern}`"));
            let mut d = src.diagnostic(span, &path, detail);
            d.expected = Some(
                units::pattern_expectation(pattern)
                    .map_or_else(|| format!("a match of `{pattern}`"), str::to_owned),
            );
            d.found = Some(describe(instance));
            out.push(d);
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit }
        | ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let (word, op) = match err.kind() {
                ValidationErrorKind::Minimum { .. } => ("small", ">="),
                ValidationErrorKind::ExclusiveMinimum { .. } => ("small", ">"),
                ValidationErrorKind::Maximum { .. } => ("large", "<="),
                _ => ("large", "<"),
            };
            let mut d =
                src.diagnostic(span, &path, format!("`{}` is too {word}", last_name(&path)));
            d.expected = Some(format!("a value {op} {limit}"));
            d.found = Some(describe(instance));
            out.push(d);
        }
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
            let min = matches!(err.kind(), ValidationErrorKind::MinItems { .. });
            let n = instance.as_array().map_or(0, Vec::len);
            let mut d = src.diagnostic(
                span,
                &path,
                format!("`{}` has {} items", last_name(&path), n),
            );
            d.expected = Some(format!(
                "{} {limit} item{}",
                if min { "at least" } else { "at most" },
                if *limit == 1 { "" } else { "s" }
            ));
            out.push(d);
        }
        ValidationErrorKind::MinLength { .. } => {
            let mut d = src.diagnostic(
                span,
                &path,
                format!("`{}` must not be empty", last_name(&path)),
            );
            d.expected = Some("a non-empty string".to_owned());
            out.push(d);
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            one_of_not_valid(err, context, schema, src, index, out);
        }
        ValidationErrorKind::FalseSchema => {
            // Keys under a mapping that allows none (`memory: { x: 1 }`).
            // jsonschema reports such a key at the mapping's path with the
            // key's value as the instance, so every key there is unknown.
            let holder = pointer.clone();
            let keys = index.child_keys(&holder);
            if keys.is_empty() {
                let mut d = src.diagnostic(span, &path, format!("nothing is allowed at `{path}`"));
                d.found = Some(describe(instance));
                out.push(d);
            }
            for key in keys {
                let child = format!("{holder}/{}", escape_segment(&key));
                let loc = index.get(&child);
                let key_span = loc.and_then(|l| l.key).unwrap_or(span);
                let child_path = loc.map_or_else(|| human_path(&child), |l| l.path.clone());
                let mut d = src.diagnostic(key_span, &child_path, format!("unknown key `{key}`"));
                d.found = Some(format!("`{key}`"));
                d.expected = Some(format!(
                    "no keys under `{}` (write `{{}}`)",
                    human_path(&holder)
                ));
                out.push(d);
            }
        }
        _ => {
            let mut d = src.diagnostic(span, &path, err.to_string());
            d.found = Some(describe(instance));
            out.push(d);
        }
    }
}

/// "unknown value `x` for `field`", the allowed values, and a suggestion.
fn unknown_value(
    src: &Source,
    span: super::load::Span,
    path: &str,
    instance: &Value,
    allowed: &[String],
) -> Diagnostic {
    let found = instance
        .as_str()
        .map_or_else(|| instance.to_string(), str::to_owned);
    let mut d = src.diagnostic(
        span,
        path,
        format!("unknown value `{found}` for `{}`", last_name(path)),
    );
    d.expected = Some(format!("one of {}", one_of(allowed)));
    d.found = Some(describe(instance));
    if let Some(m) = did_you_mean(&found, allowed.iter().map(String::as_str)) {
        d.help = Some(format!("did you mean `{m}`?"));
    }
    d
}

fn last_name(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    if tail.ends_with(']') && !tail.starts_with('[') {
        tail.split('[').next().unwrap_or(tail)
    } else {
        tail
    }
}

/// The value span and path at `pointer`, or the document's first column
/// (with the pointer as a path) where nothing is located.
fn value_at(index: &LocIndex, pointer: &str) -> (super::load::Span, String) {
    index.find(pointer).map_or(
        (
            super::load::Span {
                line: 1,
                col: 1,
                width: 1,
            },
            human_path(pointer),
        ),
        |l| (l.value, l.path.clone()),
    )
}

/// Picks the `oneOf` branch the user most plausibly meant and reports its
/// errors. An externally tagged choice (every branch requires a different
/// single key) becomes "unknown kind `x`, expected one of …".
fn one_of_not_valid(
    err: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
    schema: &Value,
    src: &Source,
    index: &LocIndex,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = pointer_of(err);
    let instance = err.instance();
    // Branch tags: branches that are objects requiring exactly one key.
    let holder = schema_at(schema, err);
    let branches: Vec<&Value> = holder
        .and_then(|h| h.get("oneOf").or_else(|| h.get("anyOf")))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|b| {
                    if b.get("$ref").is_some() {
                        resolve_ref(schema, b).unwrap_or(b)
                    } else {
                        b
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // A documented enum: every branch is a `const`.
    let consts: Vec<String> = branches
        .iter()
        .filter_map(|b| {
            b.get("const")
                .or_else(|| b.get("enum").and_then(|e| e.get(0)))
        })
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    if !branches.is_empty() && consts.len() == branches.len() {
        let (span, path) = value_at(index, &pointer);
        out.push(unknown_value(src, span, &path, instance, &consts));
        return;
    }
    let tags: Vec<&str> = branches
        .iter()
        .filter_map(|b| {
            let req = b.get("required")?.as_array()?;
            (req.len() == 1 && b.get("additionalProperties") == Some(&Value::Bool(false)))
                .then(|| req[0].as_str())
                .flatten()
        })
        .collect();
    // Branches a mapping could match: a choice such as `size` also has a
    // string branch (`512B`), which does not make its mappings untagged.
    let object_branches = branches
        .iter()
        .filter(|b| {
            b.get("type").and_then(Value::as_str) == Some("object") || b.get("required").is_some()
        })
        .count();
    if let Some(obj) = instance.as_object()
        && !tags.is_empty()
        && !obj.keys().any(|k| tags.contains(&k.as_str()))
        && tags.len() == object_branches
    {
        if obj.is_empty() {
            let (span, path) = value_at(index, &pointer);
            let mut d = src.diagnostic(
                span,
                &path,
                format!("`{}` is an empty mapping", last_name(&path)),
            );
            d.expected = Some(format!("exactly one of {}", one_of(&tags)));
            out.push(d);
            return;
        }
        let (span, path) = value_at(index, &pointer);
        let found: Vec<&str> = obj.keys().map(String::as_str).collect();
        let first = found.first().copied().unwrap_or_default();
        let key_span = index
            .get(&format!("{pointer}/{}", escape_segment(first)))
            .and_then(|l| l.key)
            .unwrap_or(span);
        // Under `targets`, the choice is the store kind.
        let what = if pointer.starts_with("/targets/") {
            "store kind"
        } else {
            "kind"
        };
        let mut d = src.diagnostic(
            key_span,
            &path,
            format!("unknown {what} `{first}` for `{}`", last_name(&path)),
        );
        d.expected = Some(format!("exactly one of {}", one_of(&tags)));
        d.found = Some(describe(instance));
        if let Some(m) = did_you_mean(first, tags.iter().copied()) {
            d.help = Some(format!("did you mean `{m}`?"));
        }
        if what == "store kind"
            && let Some(feature) = crate::store::missing_feature(first)
        {
            d.message = format!(
                "store kind `{first}` is not in this build: loadline's `{feature}` feature is off"
            );
            d.help = Some(feature_help(feature));
        }
        out.push(d);
        return;
    }
    // Otherwise: the branch whose errors reach deepest into the value, then
    // prefers errors other than a plain type mismatch, then fewest errors.
    let score = |errs: &Vec<ValidationError<'static>>| {
        let depth = errs
            .iter()
            .map(|e| e.instance_path().as_str().matches('/').count())
            .max()
            .unwrap_or(0);
        let non_type = errs
            .iter()
            .any(|e| !matches!(e.kind(), ValidationErrorKind::Type { .. }));
        (depth, non_type, usize::MAX - errs.len())
    };
    if let Some(best) = context
        .iter()
        .filter(|e| !e.is_empty())
        .max_by_key(|e| score(e))
    {
        let plain_type_only = best
            .iter()
            .all(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
            && best.iter().all(|e| e.instance_path().as_str() == pointer);
        if !plain_type_only {
            for e in best {
                convert(e, schema, src, index, out);
            }
            return;
        }
    }
    let (span, path) = value_at(index, &pointer);
    let mut d = src.diagnostic(
        span,
        &path,
        format!("`{}` has the wrong shape", last_name(&path)),
    );
    let shapes: Vec<String> = branches
        .iter()
        .filter_map(|b| {
            b.get("description")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    d.expected = Some(if shapes.is_empty() {
        holder
            .and_then(|h| h.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("another shape")
            .to_owned()
    } else {
        shapes.join("; or ")
    });
    d.found = Some(describe(instance));
    out.push(d);
}

/// How to get a built-in kind whose cargo feature is off.
pub(crate) fn feature_help(feature: &str) -> String {
    format!(
        "build loadline with `--features {feature}`, or depend on it with its default features (a plug-in crate: `loadline = {{ …, features = [\"{feature}\"] }}`)"
    )
}
