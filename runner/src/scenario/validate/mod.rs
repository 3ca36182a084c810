//! Semantic validation: turns schema-valid wire types into a checked
//! [`Scenario`](crate::scenario::Scenario), collecting *every* problem first.

mod assertions;

pub(crate) use assertions::validate;
