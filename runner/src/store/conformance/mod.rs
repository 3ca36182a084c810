//! The store conformance suite: one public function per capability that any
//! store's tests call to check the semantics documented in
//! [`super::api`](crate::store) — dense offsets, independent streams,
//! read-your-writes, `max_bytes`, trim visibility, sync, concurrency, reopen
//! persistence and key-value operations.
//!
//! It is a plain module (not `cfg(test)`) so unit tests of every store, the
//! RocksDB store and the integration tests can all call it. Every check
//! panics with a message that starts with the rule it found broken, so a
//! failing store's test output says what to fix.
//!
//! [`crash_child_writer`] and [`check_kill9_durability`] are the two halves
//! of the kill -9 check for persistent stores: a child process appends and
//! reports what was acknowledged, the parent SIGKILLs it and checks the
//! reopened store. [`crash_child_kv_writer`] and
//! [`check_kv_kill9_durability`] do the same for puts and deletes, judged
//! as a crash phase's `verify: acknowledged` judges them (the last
//! acknowledged write of each key, or the one in flight at the kill).
//!
//! [`check_power_loss`] cuts the power at seeded crash points on a
//! simulated disk that persists unsynced pages out of order, for stores
//! that can be opened on it.
//!
//! [`check_kind`] runs all of it for a [`StoreKind`](crate::store::StoreKind) in one call, as its
//! capabilities say, and prints what it checked (a passing test shows it
//! too). It also asks a store exactly what a crash phase will: a
//! key-value-only kind is never asked for a log operation, and a kind
//! without `log` must answer one with [`StoreError::Unsupported`](crate::store::StoreError::Unsupported), not a
//! panic.
//!
//! It does not time or benchmark anything.
//!
//! | file | owns |
//! |---|---|
//! | `kind` | [`check_kind`]: every check a kind's capabilities call for, in one call |
//! | `checks` | [`run_suite`]: those checks one by one, each failure its own [`CheckResult`] (what `loadline conform` reports) |
//! | `log` | the log suite ([`check_log_store`]) |
//! | `kv` | the key-value suite ([`check_kv_store`]) |
//! | `crash` | kill -9 durability (log and key-value) and crash-phase requests |
//! | `support` | what the checks share: records, reads, fills |

mod checks;
mod crash;
mod kind;
mod kv;
mod log;
mod support;

pub use super::power_loss::{PowerLossSweep, SimOpenFn, body, check_power_loss};
pub use checks::{CheckResult, Suite, run_check, run_suite};
pub use crash::{
    check_crash_requests, check_kill9_durability, check_kv_kill9_durability, crash_child_kv_writer,
    crash_child_writer,
};
pub use kind::{CHILD_ENV, CHILD_MODE_ENV, KILL_CYCLES_ENV, POWER_LOSS_TRIALS, check_kind};
pub use kv::check_kv_store;
pub use log::{OpenFn, check_log_store};
pub use support::pair_records;
