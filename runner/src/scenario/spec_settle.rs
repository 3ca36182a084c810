//! The `settle` of a phase as the YAML writes it (see `spec`): waiting
//! for a store's background work before the phase measures. Spec types
//! only, no logic; `model::Settle` is the checked form.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::HumanDuration;

/// Waiting for a store's background work before a phase measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SettleSpec {
    /// The longest wait. Default `5m`; `0s` asks the store once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"2m")]
    pub timeout: Option<HumanDuration>,
    /// When the timeout passes with work still in flight: `fail` stops the
    /// run with an error naming what is left (what a CI gate expects: a
    /// phase measured during compaction is not the phase asked for), or
    /// `measure` runs the phase anyway and reports
    /// `<phase>.settle.timed_out` = 1, which an assertion can check.
    /// Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnTimeoutSpec>,
}

/// What a settle that timed out does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeoutSpec {
    /// Stop the run with an error.
    Fail,
    /// Run the phase anyway; `settle.timed_out` is 1.
    Measure,
}
