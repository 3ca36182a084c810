//! The validation context: where diagnostics are collected and located
//! (pointer to line and column), the name rule every element shares and
//! the shortest timeline interval.

use std::time::Duration;

use crate::scenario::diagnostic::{Diagnostic, Severity};
use crate::scenario::load::{LocIndex, Source, Span};
use crate::scenario::repair::Repair;
use crate::store::Registry;

/// What every validation step reads (the registry, the source and its
/// locations, the schema stage's repairs) and where it adds diagnostics.
pub(super) struct Ctx<'a> {
    pub(super) registry: &'a Registry,
    pub(super) src: &'a Source,
    pub(super) index: &'a LocIndex,
    pub(super) diags: Vec<Diagnostic>,
    /// What the schema stage removed from the document validated here;
    /// problems that are consequences of a removal are not reported.
    pub(super) repair: &'a Repair,
    /// Problems hidden as such consequences (kept so `push` can hand one out).
    pub(super) hidden: Vec<Diagnostic>,
}

impl Ctx<'_> {
    pub(super) fn locate(&self, pointer: &str, key: bool) -> (Span, String) {
        let pointer = &self.repair.original(pointer);
        match self.index.find(pointer) {
            Some(l) => {
                let exact = self.index.get(pointer).is_some();
                let span = if key && exact {
                    l.key.unwrap_or(l.value)
                } else {
                    l.value
                };
                let path = if exact {
                    l.path.clone()
                } else {
                    crate::scenario::load::human_path(pointer)
                };
                (span, path)
            }
            None => (
                Span {
                    line: 1,
                    col: 1,
                    width: 1,
                },
                crate::scenario::load::human_path(pointer),
            ),
        }
    }

    pub(super) fn push(
        &mut self,
        pointer: &str,
        key: bool,
        severity: Severity,
        message: String,
    ) -> &mut Diagnostic {
        let (span, path) = self.locate(pointer, key);
        let hidden = self
            .repair
            .hides(&self.repair.original(pointer), &message, None);
        let mut d = self.src.diagnostic(span, &path, message);
        d.severity = severity;
        let list = if hidden {
            &mut self.hidden
        } else {
            &mut self.diags
        };
        list.push(d);
        let last = list.len() - 1;
        &mut list[last]
    }

    /// An error at the value of `pointer`.
    pub(super) fn error(&mut self, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(pointer, false, Severity::Error, message.into())
    }

    /// An error at the key of `pointer` (the value when it has no key).
    pub(super) fn key_error(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(pointer, true, Severity::Error, message.into())
    }

    pub(super) fn warning(&mut self, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(pointer, true, Severity::Warning, message.into())
    }
}

/// Characters allowed in target, payload, phase and actor names: they
/// appear in metric paths, file names and report tables.
pub(super) fn check_name(ctx: &mut Ctx<'_>, pointer: &str, what: &str, name: &str) {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        let d = ctx.key_error(
            pointer,
            format!("{what} name `{name}` is not usable in metric paths"),
        );
        d.expected = Some("letters, digits, `_` and `-` (no dots or spaces)".to_owned());
    }
}

/// The shortest timeline interval (`interval:`): below it the per-interval
/// bookkeeping would cost more than it shows.
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(1);
