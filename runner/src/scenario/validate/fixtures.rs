//! Test fixtures shared by the validation tests of several elements.

use std::path::Path;

use crate::scenario::load::Source;

/// The text of `text`'s refusal, rendered; panics when it validates.
pub(super) fn refused(text: &str) -> String {
    crate::scenario::load_source(
        Source {
            name: "t.yaml".to_owned(),
            text: text.to_owned(),
        },
        Path::new("t.yaml"),
        &[],
    )
    .expect_err("refused")
    .render()
}

/// A memory target and a crash phase without actors: tests add them.
pub(super) const CRASH_PUTS: &str = "version: 1\nname: t\ntargets:\n  m:\n    memory: {}\npayloads:\n  p: { size: 64B }\nphases:\n  - name: crash\n    restart: crash\n    after: 1s\n";
