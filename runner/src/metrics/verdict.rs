//! Verdicts as they are written to `run.json`: one [`AssertionResult`] per
//! assertion per target and variant, with its [`Verdict`] and, for a
//! relational assertion, the [`RightSide`] it was compared with.
//!
//! Wire types only: judging lives in `results::judge`, the expression
//! language in `assertions`.

use super::catalog::MetricUnit;
use serde::Serialize;

/// The verdict of one assertion on one target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The condition held.
    Pass,
    /// The condition did not hold.
    Fail,
    /// The metric does not exist on this target (e.g. a RocksDB statistic on the WAL).
    NotApplicable,
    /// The run stopped (error or stop signal) before the phase it measures
    /// finished on this target, or — for target-level metrics — before
    /// every phase did; nothing was measured to judge.
    NotRun,
    /// Measured, but over nothing: a count of `verify: acknowledged` in a
    /// phase that verified no write (no write was acknowledged before the
    /// crash, say). Never a pass: the run's verdict is FAIL, and
    /// [`AssertionResult::reason`] says why.
    NotJudged,
}

/// One assertion evaluated on one target.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AssertionResult {
    /// The assertion text.
    pub assertion: String,
    /// Target name.
    pub target: String,
    /// Variant label.
    pub variant: String,
    /// Observed value in base units (`None` when not applicable).
    pub observed: Option<f64>,
    /// Threshold in base units.
    pub threshold: f64,
    /// Unit of both.
    pub unit: MetricUnit,
    /// The verdict.
    pub verdict: Verdict,
    /// How far from the threshold, as a fraction of it: positive means
    /// headroom, negative means by how much it failed.
    pub margin: Option<f64>,
    /// Line of the assertion in the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The right side of a relational assertion (`threshold` is then
    /// `factor` × its `value`, or 0 when that value is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<RightSide>,
    /// Why the assertion was not judged ([`Verdict::NotJudged`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The right side of a relational assertion as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RightSide {
    /// What it refers to, e.g. `write.append.records_per_s of target rocksdb`.
    pub reference: String,
    /// The factor written in front of it.
    pub factor: f64,
    /// The referenced metric's value in base units (`None` when it does not
    /// exist or was not measured).
    pub value: Option<f64>,
}
