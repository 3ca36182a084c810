//! The structural check: runs a parsed document through the generated JSON
//! Schema and turns every schema error into a located [`Diagnostic`] that
//! says what was expected, what was found, and what was probably meant.
//!
//! Owns the translation of `jsonschema` errors (unknown keys, types, enums,
//! unit patterns, ranges, `oneOf` choices) into user language. Semantic
//! rules (references, names, capabilities) live in `validate`.

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, paths::LocationSegment};
use serde_json::Value;

use super::check_messages::{
    Site, describe, keys_where_none_allowed, last_name, missing_key, unknown_key, unknown_value,
    untagged_mapping, value_at, wrong_type,
};
use super::diagnostic::Diagnostic;
use super::load::{LocIndex, Source, human_path};
use super::units;

/// Checks `doc` against the scenario schema (`schema`, compiled as
/// `validator`); returns every problem found.
pub(crate) fn check(
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
    let at = Site {
        pointer: &pointer,
        path: &path,
        span,
        key: located.and_then(|l| l.key).unwrap_or(span),
        plain: located.and_then(|l| l.plain.as_deref()).unwrap_or_default(),
    };
    let instance = err.instance();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed: Vec<String> = schema_at(schema, err)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            for key in unexpected {
                out.push(unknown_key(src, index, &at, key, &allowed));
            }
        }
        ValidationErrorKind::Required { property } => {
            out.push(missing_key(src, &at, instance, property));
        }
        ValidationErrorKind::Type { kind } => out.push(wrong_type(src, &at, instance, kind)),
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
        ValidationErrorKind::FalseSchema => keys_where_none_allowed(src, index, &at, instance, out),
        _ => {
            let mut d = src.diagnostic(span, &path, err.to_string());
            d.found = Some(describe(instance));
            out.push(d);
        }
    }
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
        out.push(untagged_mapping(src, index, &pointer, instance, &tags));
        return;
    }
    if let Some(best) = best_branch(context, &pointer) {
        for e in best {
            convert(e, schema, src, index, out);
        }
        return;
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

/// The branch whose errors explain a value that matched none: the one
/// reaching deepest into the value, then preferring errors other than a
/// plain type mismatch, then the fewest errors; `None` when the best is
/// only a type mismatch of the value itself (its shape is then wrong).
fn best_branch<'c>(
    context: &'c [Vec<ValidationError<'static>>],
    pointer: &str,
) -> Option<&'c Vec<ValidationError<'static>>> {
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
    let best = context
        .iter()
        .filter(|e| !e.is_empty())
        .max_by_key(|e| score(e))?;
    let plain_type_only = best
        .iter()
        .all(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
        && best.iter().all(|e| e.instance_path().as_str() == pointer);
    (!plain_type_only).then_some(best)
}
