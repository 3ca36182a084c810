//! The `external` store kind: a store in any language behind a child
//! process. `kind` owns the config and [`ExternalStore`], `session` the
//! data path as requests, `plugin` the process and its lines, `protocol`
//! the messages (documented in `docs/src/external-protocol.md`), `rules`
//! the protocol rules `loadline conform` checks (with `probe`, a raw line
//! client).

mod kind;
mod plugin;
mod probe;
pub mod protocol;
mod rules;
mod session;

pub use kind::{ExternalConfig, ExternalKind, ExternalStat, ExternalStore};
#[cfg(test)]
mod tests;
