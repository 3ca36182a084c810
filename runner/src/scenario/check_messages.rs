//! The messages of the structural check: for each kind of schema error
//! (an unknown key, a missing one, a wrong type, an unknown value, keys
//! where none are allowed, a tagged choice with no known tag), the located
//! [`Diagnostic`] saying what was expected, what was found and what was
//! probably meant. `check.rs` decides which applies.

use jsonschema::error::TypeKind;
use serde_json::Value;

use super::diagnostic::{Diagnostic, did_you_mean, one_of};
use super::load::{LocIndex, Source, escape_segment, human_path};

pub(super) fn describe(v: &Value) -> String {
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

pub(super) fn type_name(kind: &TypeKind) -> String {
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

/// Where a schema error points in the file.
pub(super) struct Site<'a> {
    /// Its JSON pointer.
    pub(super) pointer: &'a str,
    /// The path as diagnostics name it (`phases[0].actors[1]`).
    pub(super) path: &'a str,
    /// The value's span.
    pub(super) span: super::load::Span,
    /// The key's span (the value's when there is no key).
    pub(super) key: super::load::Span,
    /// The plain scalar as written, if it is one.
    pub(super) plain: &'a str,
}

/// "unknown key `key`" under the mapping at `at`, with the keys it allows
/// and a suggestion.
pub(super) fn unknown_key(
    src: &Source,
    index: &LocIndex,
    at: &Site<'_>,
    key: &str,
    allowed: &[String],
) -> Diagnostic {
    let child = format!("{}/{}", at.pointer, escape_segment(key));
    let loc = index.get(&child);
    let key_span = loc.and_then(|l| l.key).unwrap_or(at.span);
    let child_path = loc.map_or_else(|| human_path(&child), |l| l.path.clone());
    let mut d = src.diagnostic(key_span, &child_path, format!("unknown key `{key}`"));
    d.found = Some(format!("`{key}`"));
    if !allowed.is_empty() {
        let context = if at.path.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{}`", at.path)
        };
        d.expected = Some(format!("a key of {context}: {}", one_of(allowed)));
    }
    if let Some(m) = did_you_mean(key, allowed.iter().map(String::as_str)) {
        d.help = Some(format!("did you mean `{m}`?"));
    }
    d
}

/// "missing required key `name`", with a near key as the suggestion.
pub(super) fn missing_key(
    src: &Source,
    at: &Site<'_>,
    instance: &Value,
    property: &Value,
) -> Diagnostic {
    let name = property.as_str().unwrap_or_default();
    let mut d = src.diagnostic(at.key, at.path, format!("missing required key `{name}`"));
    let holder = if at.path.is_empty() {
        "the scenario".to_owned()
    } else {
        format!("`{}`", at.path)
    };
    d.expected = Some(format!("{holder} to have the key `{name}`"));
    if let Some(obj) = instance.as_object() {
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        if let Some(near) = keys.iter().find(|k| did_you_mean(k, [name]).is_some()) {
            d.help = Some(format!("`{near}` is close: did you mean `{name}`?"));
        }
    }
    d
}

/// "wrong type for `field`", with help for YAML 1.1 booleans, whole
/// numbers too large to count, fractions and an empty mapping.
pub(super) fn wrong_type(
    src: &Source,
    at: &Site<'_>,
    instance: &Value,
    kind: &TypeKind,
) -> Diagnostic {
    let expected = type_name(kind);
    let mut d = src.diagnostic(
        at.span,
        at.path,
        format!("wrong type for `{}`", last_name(at.path)),
    );
    d.expected = Some(expected.clone());
    d.found = Some(describe(instance));
    let plain = at.plain;
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
    d
}

/// Keys under a mapping that allows none (`memory: { x: 1 }`). jsonschema
/// reports such a key at the mapping's path with the key's value as the
/// instance, so every key there is unknown.
pub(super) fn keys_where_none_allowed(
    src: &Source,
    index: &LocIndex,
    at: &Site<'_>,
    instance: &Value,
    out: &mut Vec<Diagnostic>,
) {
    let holder = at.pointer;
    let keys = index.child_keys(holder);
    if keys.is_empty() {
        let mut d = src.diagnostic(
            at.span,
            at.path,
            format!("nothing is allowed at `{}`", at.path),
        );
        d.found = Some(describe(instance));
        out.push(d);
    }
    for key in keys {
        let child = format!("{holder}/{}", escape_segment(&key));
        let loc = index.get(&child);
        let key_span = loc.and_then(|l| l.key).unwrap_or(at.span);
        let child_path = loc.map_or_else(|| human_path(&child), |l| l.path.clone());
        let mut d = src.diagnostic(key_span, &child_path, format!("unknown key `{key}`"));
        d.found = Some(format!("`{key}`"));
        d.expected = Some(format!(
            "no keys under `{}` (write `{{}}`)",
            human_path(holder)
        ));
        out.push(d);
    }
}

/// "unknown value `x` for `field`", the allowed values, and a suggestion.
pub(super) fn unknown_value(
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

pub(super) fn last_name(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    if tail.ends_with(']') && !tail.starts_with('[') {
        tail.split('[').next().unwrap_or(tail)
    } else {
        tail
    }
}

/// The value span and path at `pointer`, or the document's first column
/// (with the pointer as a path) where nothing is located.
pub(super) fn value_at(index: &LocIndex, pointer: &str) -> (super::load::Span, String) {
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

/// A mapping under a tagged choice with none of its tags: empty, or an
/// unknown kind (a store kind not in this build says which feature).
pub(super) fn untagged_mapping(
    src: &Source,
    index: &LocIndex,
    pointer: &str,
    instance: &Value,
    tags: &[&str],
) -> Diagnostic {
    let (span, path) = value_at(index, pointer);
    let found: Vec<&str> = instance
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let Some(&first) = found.first() else {
        let mut d = src.diagnostic(
            span,
            &path,
            format!("`{}` is an empty mapping", last_name(&path)),
        );
        d.expected = Some(format!("exactly one of {}", one_of(tags)));
        return d;
    };
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
    d.expected = Some(format!("exactly one of {}", one_of(tags)));
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
    d
}

/// How to get a built-in kind whose cargo feature is off.
pub(crate) fn feature_help(feature: &str) -> String {
    format!(
        "build loadline with `--features {feature}`, or depend on it with its default features (a plug-in crate: `loadline = {{ …, features = [\"{feature}\"] }}`)"
    )
}
