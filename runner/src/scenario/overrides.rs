//! A scenario file's overrides, applied to its document before the schema
//! sees it: the selected profile's (`--profile NAME` or `profile:`) first,
//! then every `--set path=value`, each located for its diagnostics.

use serde_json::Value;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::load::{self, Source, Span, locate};
use super::{matrix, yaml};

/// Applies the selected profile's overrides to `doc`, locating each at its
/// entry under `profiles:`; then drops `profile`, so a document passed on
/// (the crash child's) is not overridden twice.
pub(super) fn apply_profile(
    source: &Source,
    doc: &mut Value,
    index: &mut load::LocIndex,
    overrides: &[String],
    diags: &mut Vec<Diagnostic>,
) {
    let from_cli = overrides
        .iter()
        .rev()
        .find_map(|o| o.split_once('=').filter(|(k, _)| k.trim() == "profile"))
        .map(|(_, v)| v.trim().to_owned());
    let from_file = doc
        .get("profile")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(name) = from_cli.clone().or(from_file) else {
        return;
    };
    let profiles = doc
        .get("profiles")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(entries) = profiles.get(&name).and_then(Value::as_object).cloned() else {
        let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
        let mut d = if from_cli.is_some() {
            let text = format!("profile={name}");
            let src = Source {
                name: "--profile".to_owned(),
                text: text.clone(),
            };
            src.diagnostic(
                Span {
                    line: 1,
                    col: 1,
                    width: text.chars().count(),
                },
                "",
                format!("unknown profile `{name}`"),
            )
        } else {
            let (span, path) = locate(index, "/profile", false);
            source.diagnostic(span, &path, format!("unknown profile `{name}`"))
        };
        d.expected = Some(if names.is_empty() {
            "a profile defined under `profiles:` (this file defines none)".to_owned()
        } else {
            format!("one of {}", super::diagnostic::one_of(&names))
        });
        d.help = super::diagnostic::did_you_mean(&name, names.iter().copied())
            .map(|m| format!("did you mean `{m}`?"));
        diags.push(d);
        return;
    };
    for (key, value) in entries {
        let eptr = format!(
            "/profiles/{}/{}",
            load::escape_segment(&name),
            load::escape_segment(&key)
        );
        match matrix::resolve(doc, &key) {
            Ok(pointer) if pointer.starts_with("/profile") || pointer.starts_with("/matrix") => {
                let (span, path) = locate(index, &eptr, true);
                diags.push(source.diagnostic(
                    span,
                    &path,
                    format!("profile `{name}` cannot set `{key}`"),
                ));
            }
            Ok(pointer) => {
                matrix::set(doc, &pointer, value);
                // Problems with the value point at the profile's entry.
                if let Some(l) = index.get(&eptr) {
                    let mut l = l.clone();
                    l.path = load::human_path(&pointer);
                    index.redirect(&pointer, l);
                }
            }
            Err(e) => {
                let (span, path) = locate(index, &eptr, true);
                let mut d = source.diagnostic(span, &path, e);
                d.expected = Some("a dotted path to a field, as for `--set`".to_owned());
                diags.push(d);
            }
        }
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("profile");
    }
}

/// The `--set` overrides applied to a document: where each landed.
pub(super) struct Overrides {
    /// (human path, override as written) of each applied override.
    pub(super) overridden: Vec<(String, String)>,
    /// (JSON pointer, override as written) of each applied override.
    pub(super) pointers: Vec<(String, String)>,
}

impl Overrides {
    /// `ds` as the final diagnostics, each at a path an override set
    /// saying the value comes from `--set`.
    pub(super) fn explain(&self, mut ds: Vec<Diagnostic>) -> Diagnostics {
        for d in &mut ds {
            if let Some((_, o)) = self
                .overridden
                .iter()
                .find(|(p, _)| d.path == *p || d.path.starts_with(&format!("{p}.")))
            {
                let note = format!("the value comes from `--set {o}`");
                d.help = Some(
                    d.help
                        .take()
                        .map_or(note.clone(), |h| format!("{h}; {note}")),
                );
            }
        }
        Diagnostics(ds)
    }
}

/// Applies the `--set path=value` overrides (but `profile`, applied
/// before) to `doc`; a malformed one or an unknown path is a diagnostic
/// located on a pseudo-source line of its own.
pub(super) fn apply_overrides(
    doc: &mut Value,
    index: &load::LocIndex,
    overrides: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Overrides {
    let mut set = Overrides {
        overridden: Vec::new(),
        pointers: Vec::new(),
    };
    for o in overrides {
        let set_src = Source {
            name: "--set".to_owned(),
            text: o.clone(),
        };
        if o.split_once('=')
            .is_some_and(|(k, _)| k.trim() == "profile")
        {
            continue; // applied above, before every other override
        }
        let Some((key, value)) = o.split_once('=') else {
            let mut d = set_src.diagnostic(
                Span {
                    line: 1,
                    col: 1,
                    width: o.chars().count(),
                },
                "",
                "an override is `path=value`",
            );
            d.expected = Some("e.g. `--set phases.write.records=1M`".to_owned());
            diags.push(d);
            continue;
        };
        match matrix::resolve(doc, key.trim()) {
            Ok(pointer) => {
                let value = yaml::parse(&Source {
                    name: "--set".to_owned(),
                    text: value.to_owned(),
                })
                .map(|(v, _)| v)
                .unwrap_or_else(|_| Value::String(value.to_owned()));
                matrix::set(doc, &pointer, value);
                set.pointers.push((pointer.clone(), o.clone()));
                let path = index
                    .get(&pointer)
                    .map_or_else(|| load::human_path(&pointer), |l| l.path.clone());
                set.overridden.push((path, o.clone()));
            }
            Err(e) => {
                let d = set_src.diagnostic(
                    Span {
                        line: 1,
                        col: 1,
                        width: key.chars().count().max(1),
                    },
                    key,
                    e,
                );
                diags.push(d);
            }
        }
    }
    set
}
