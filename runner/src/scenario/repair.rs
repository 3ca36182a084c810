//! What is left of a document the schema refused, so that semantic and
//! reference validation can still run and every error of a file is
//! reported in one go.
//!
//! Owns [`repair`], which removes each value the schema check reported
//! (an unknown key, a value of the wrong type, unit or range, a target of
//! an unknown kind, …) and, when that leaves its holder invalid (a missing
//! required key), the holder too, until the schema accepts what is left;
//! and [`Repair`], the record of what was removed. Validation of the
//! repaired document asks [`Repair::hides`] before it reports a problem, so
//! a consequence of a removal (a phase that "never ends" because its bad
//! `records` is gone, an "undefined payload" whose definition had a bad
//! size) is not reported beside the error that caused it. Removed list
//! items shift the items after them; [`Repair::original`] maps a pointer of
//! the repaired document back to the file's, so locations stay exact.
//! The messages themselves are `check`'s and `validate`'s.

use std::collections::{BTreeSet, HashMap};

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::load::escape_segment;

/// Most removal passes before giving up (each pass removes every value the
/// schema refused; a pass that leaves a holder invalid needs another).
const MAX_PASSES: usize = 16;

/// What [`repair`] removed from a document, in the file's coordinates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Repair {
    /// JSON pointers (of the file) of the values removed or replaced.
    pruned: Vec<String>,
    /// For each list (pointer of the file), the indices removed from it.
    removed: HashMap<String, BTreeSet<usize>>,
    /// Names of whole targets removed (references to them are not reported).
    targets: Vec<String>,
    /// Names of whole payloads removed.
    payloads: Vec<String>,
    /// Metric prefixes (`phase.`, `phase.actor.`) of removed phases and actors.
    metric_prefixes: Vec<String>,
}

impl Repair {
    /// True when nothing was removed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pruned.is_empty()
    }

    /// The pointer in the file of `pointer`, a pointer in the repaired
    /// document (list items after a removed one have moved up).
    pub(crate) fn original(&self, pointer: &str) -> String {
        if self.removed.is_empty() {
            return pointer.to_owned();
        }
        let mut out = String::new();
        for seg in pointer.split('/').skip(1) {
            let mapped = match (self.removed.get(&out), seg.parse::<usize>()) {
                (Some(gone), Ok(n)) => (0..)
                    .filter(|i| !gone.contains(i))
                    .nth(n)
                    .map_or_else(|| seg.to_owned(), |i: usize| i.to_string()),
                _ => seg.to_owned(),
            };
            out.push('/');
            out.push_str(&mapped);
        }
        out
    }

    /// Whether a problem found in the repaired document, at `pointer` (the
    /// file's), with `message`, is a consequence of a removal: it sits at,
    /// under or above a removed value, inside the phase of a removed actor,
    /// refers to a removed target or payload, or is an assertion on a
    /// removed phase or actor. `assertion` is the assertion's text when
    /// `pointer` is one.
    pub(crate) fn hides(&self, pointer: &str, message: &str, assertion: Option<&str>) -> bool {
        let under = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
        for p in &self.pruned {
            if under(pointer, p) || under(p, pointer) {
                return true;
            }
            // A removed actor: its phase's own checks of its actors (a
            // crash phase needs a writer, …), not the other actors'.
            if let Some((phase, rest)) = p.rsplit_once("/actors/")
                && rest.parse::<usize>().is_ok()
                && under(pointer, phase)
                && !pointer.starts_with(&format!("{phase}/actors/"))
            {
                return true;
            }
        }
        let names = |names: &[String], what: &str| {
            names
                .iter()
                .any(|n| message.contains(&format!("undefined {what} `{n}`")))
        };
        if names(&self.targets, "target") || names(&self.payloads, "payload") {
            return true;
        }
        if !self.payloads.is_empty() && message.contains("needs a `payload`") {
            return true;
        }
        if let Some(text) = assertion {
            let metric = text.trim_start();
            if self.metric_prefixes.iter().any(|p| metric.starts_with(p)) {
                return true;
            }
            if !self.targets.is_empty() && metric.starts_with("target.") {
                return true;
            }
        }
        false
    }
}

/// Removes from `doc` every value `validator` refuses, and holders left
/// invalid by that, until the schema accepts the rest; `base` is a repair
/// already applied to `doc` (a matrix variant of a repaired file). Returns
/// the repaired document, or `None` where what is left cannot be read as a
/// scenario at all (the document is not a mapping, or passes do not
/// converge).
pub(crate) fn repair(
    doc: &Value,
    validator: &jsonschema::Validator,
    base: &Repair,
) -> Option<(Value, Repair)> {
    let original_doc = doc;
    let mut doc = doc.clone();
    let mut rep = base.clone();
    for _ in 0..MAX_PASSES {
        let mut targets: Vec<String> = Vec::new();
        let mut root_missing: Vec<String> = Vec::new();
        for err in validator.iter_errors(&doc) {
            collect(&err, &mut targets, &mut root_missing);
        }
        if targets.is_empty() && root_missing.is_empty() {
            return Some((doc, rep));
        }
        if targets.iter().any(String::is_empty) || !doc.is_object() {
            return None;
        }
        // A required top-level key that is missing gets a stand-in, so the
        // rest can be checked; problems with the stand-in are hidden.
        for key in root_missing {
            let stand_in = match key.as_str() {
                "version" => Value::from(1),
                "name" => Value::from("scenario"),
                "targets" => Value::Object(serde_json::Map::new()),
                "phases" => Value::Array(Vec::new()),
                _ => return None,
            };
            if let Some(obj) = doc.as_object_mut() {
                obj.insert(key.clone(), stand_in);
            }
            rep.pruned.push(format!("/{}", escape_segment(&key)));
        }
        // Outermost first: a value under another removed one goes with it.
        targets.sort();
        targets.dedup();
        let mut outer: Vec<String> = Vec::new();
        for t in targets {
            if !outer
                .iter()
                .any(|o| t == *o || t.starts_with(&format!("{o}/")))
            {
                outer.push(t);
            }
        }
        // Later list items first, so earlier pointers stay valid.
        outer.sort_by_key(|p| std::cmp::Reverse(segments(p)));
        for t in outer {
            let orig = rep.original(&t);
            note_entity(&mut rep, original_doc, &orig);
            let (parent, last) = t.rsplit_once('/').unwrap_or(("", &t));
            let key = last.replace("~1", "/").replace("~0", "~");
            match doc.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < items.len()
                    {
                        items.remove(i);
                        let oparent = rep.original(parent);
                        if let Some(oi) = orig.rsplit('/').next().and_then(|s| s.parse().ok()) {
                            rep.removed.entry(oparent).or_default().insert(oi);
                        }
                    }
                }
                _ => return None,
            }
            rep.pruned.push(orig);
        }
    }
    None
}

/// The pointers to remove for one schema error: the unknown keys of an
/// `additionalProperties` error; inside a `oneOf` (a store kind, a size
/// shape), the errors of the branch that reaches deepest into the value,
/// when they lie below it (so `wal: { segmnt_size: … }` loses the key, not
/// the target); otherwise the value itself. A required key missing at the
/// top level goes to `root_missing`.
fn collect(err: &ValidationError<'_>, out: &mut Vec<String>, root_missing: &mut Vec<String>) {
    let at = err.instance_path().as_str().to_owned();
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(
                unexpected
                    .iter()
                    .map(|k| format!("{at}/{}", escape_segment(k))),
            );
        }
        ValidationErrorKind::Required { property } if at.is_empty() => {
            root_missing.push(property.as_str().unwrap_or_default().to_owned());
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let depth = |errs: &Vec<ValidationError<'static>>| {
                errs.iter()
                    .map(|e| e.instance_path().as_str().matches('/').count())
                    .min()
                    .unwrap_or(0)
            };
            // A branch that failed only on the value's type (`null` of an
            // optional field, a string where a mapping is meant) says
            // nothing about what inside the value is wrong.
            let telling = |errs: &Vec<ValidationError<'static>>| {
                errs.iter()
                    .any(|e| !matches!(e.kind(), ValidationErrorKind::Type { .. }))
            };
            let own = at.matches('/').count();
            match context
                .iter()
                .filter(|e| !e.is_empty())
                .max_by_key(|e| (depth(e), telling(e)))
            {
                Some(best) if depth(best) > own || telling(best) => {
                    for e in best {
                        collect(e, out, root_missing);
                    }
                }
                _ => out.push(at),
            }
        }
        _ => out.push(at),
    }
}

/// Pointer segments, list indices compared as numbers.
fn segments(pointer: &str) -> Vec<(u64, String)> {
    pointer
        .split('/')
        .map(|s| match s.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, s.to_owned()),
        })
        .collect()
}

/// Records the names of a whole target, payload, phase or actor removed at
/// `orig` (a pointer of the file), read from `file`, the document as read.
fn note_entity(rep: &mut Repair, file: &Value, orig: &str) {
    let segs: Vec<&str> = orig.split('/').skip(1).collect();
    let unescape = |s: &str| s.replace("~1", "/").replace("~0", "~");
    let phase_name = |i: &str| {
        file.pointer(&format!("/phases/{i}/name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match segs.as_slice() {
        ["targets", name] => rep.targets.push(unescape(name)),
        ["payloads", name] => rep.payloads.push(unescape(name)),
        ["phases", i] => {
            if let Some(n) = phase_name(i) {
                rep.metric_prefixes.push(format!("{n}."));
            }
        }
        ["phases", i, "actors", j] => {
            let actor = file.pointer(&format!("/phases/{i}/actors/{j}"));
            let name = actor
                .and_then(|a| a.get("name").or_else(|| a.get("op")))
                .and_then(Value::as_str);
            if let (Some(p), Some(a)) = (phase_name(i), name) {
                rep.metric_prefixes.push(format!("{p}.{a}."));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_maps_pointers_past_removed_list_items() {
        let mut rep = Repair::default();
        rep.removed
            .insert("/phases".to_owned(), BTreeSet::from([0, 2]));
        assert_eq!(rep.original("/phases/0/name"), "/phases/1/name");
        assert_eq!(rep.original("/phases/1"), "/phases/3");
        assert_eq!(rep.original("/targets/0"), "/targets/0");
    }

    #[test]
    fn hides_consequences_of_a_removal_and_nothing_else() {
        let rep = Repair {
            pruned: vec![
                "/phases/0/records".to_owned(),
                "/phases/1/actors/0".to_owned(),
            ],
            payloads: vec!["p".to_owned()],
            metric_prefixes: vec!["w2.append.".to_owned()],
            ..Repair::default()
        };
        assert!(rep.hides("/phases/0", "phase `w` never ends", None));
        assert!(rep.hides("/phases/1/restart", "a crash phase needs a writer", None));
        assert!(rep.hides("/phases/3/actors/0/payload", "undefined payload `p`", None));
        assert!(rep.hides("/assertions/1", "x", Some("w2.append.p99 < 1ms")));
        assert!(!rep.hides("/phases/2/actors/0/payload", "undefined payload `q`", None));
        assert!(!rep.hides("/phases/1/actors/1/batch", "a batch of `append` …", None));
        assert!(!rep.hides("/assertions/0", "x", Some("w.append.p99 < 1ms")));
    }
}
