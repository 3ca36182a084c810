//! Assertions: `<metric> <op> <value>` — or `<metric> <op> <factor>x
//! <reference>`, scoped with `on <targets>` and `where <settings>` —
//! parsed at validation time and evaluated once over a finished run (and
//! an optional baseline run) by `results::judge::evaluate_run`.
//!
//! Owns the expression syntax (`expr` for the metric, operator and
//! threshold, `relation` for the right side and scope) and thresholds in
//! the metric's unit. Which metric names, targets and matrix settings exist
//! is decided by `metrics::catalog` and `scenario::validate`; verdicts are
//! `results::judge`'s.

mod expr;
pub(crate) mod relation;

pub(crate) use expr::*;
