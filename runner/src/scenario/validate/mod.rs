//! Semantic validation: turns schema-valid wire types into a checked
//! [`Scenario`](crate::scenario::Scenario), collecting *every* problem first.
//!
//! Owns the rules the schema cannot express: references (payloads, phases,
//! actors, metrics) exist, names are unique and usable in metric paths,
//! each op is supported by every target, fields apply to the op they are
//! given on, ranges hold, and assertions parse and name real metrics. One
//! file per element of a scenario; `scenario` runs the passes in order.

mod actors;
mod assertions;
mod context;
#[cfg(test)]
mod fixtures;
mod metrics;
mod payloads;
mod phases;
mod restart;
mod scenario;
mod targets;

pub(crate) use scenario::validate;
