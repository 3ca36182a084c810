//! Crash and power-loss phases (`restart: crash | power-loss`): fill the
//! store (`prepare`), then `repeat` times run the phase's writers, crash
//! them at a seeded moment, reopen the store timing it, and check every
//! acknowledged write (`verify: acknowledged`): appended records by
//! `verify`, puts and deletes by `verify_kv`.
//!
//! Three ways to crash, chosen by the restart kind and the store:
//!
//! - **Child process** (`crash` on a persistent store): loadline re-executes
//!   itself as `loadline __crash-child`, which opens the store, runs the
//!   phase's actors and streams every acknowledged (stream, offset, CRC32C)
//!   triple, and every put and delete as it begins and is acknowledged,
//!   over its stdout ([`super::acks`]). The parent SIGKILLs it
//!   ([`std::process::Child::kill`]) at the moment drawn from the seed
//!   within `after`, after `after_records` acknowledged writes, at the
//!   phase's `duration`, or when its `records` are written — whichever comes
//!   first — and always reaps it ([`ChildGuard`]). The page cache survives
//!   a kill, so this tests the store's own recovery, not its sync policy.
//! - **Simulated power loss** (`power-loss`, kinds with
//!   [`Capabilities::power_loss`](crate::store::Capabilities::power_loss),
//!   e.g. wal): the writers run in this process on a store opened over
//!   [`SimFs`](crate::store::SimFs); at the moment, while appends are in
//!   flight, [`SimFs::power_loss`](crate::store::SimFs::power_loss)
//!   forgets every directory entry not covered by an fsync and keeps a
//!   seeded random subset of the unsynced pages, some torn
//!   ([`SimFs::reordering`](crate::store::SimFs::reordering): writeback
//!   persists pages out of order).
//!   This tells sync policies apart and tries recovery on holes. The simulated
//!   store starts empty (earlier phases wrote to disk) and lives in memory,
//!   so size `prepare` accordingly.
//! - **Dropping a non-persistent store** (`crash` on e.g. `memory`): the
//!   reopen is a fresh store and every record is honestly reported lost.
//!
//! Log operations (tails, read-back) are asked of the store only when its
//! kind has [`Capabilities::log`](crate::store::Capabilities::log): a
//! key-value-only kind's crash phase checks its keys and nothing else.
//!
//! Metrics go into
//! [`PhaseReport::metrics`](crate::metrics::report::PhaseReport::metrics);
//! counts are summed over cycles,
//! and `reopen.duration` is the **maximum** over cycles (so an assertion on
//! it holds for every cycle), with `reopen.p50`/`p99`/`max` beside it.
//! Writer latency is not reported for crash phases (the child is killed
//! with its histograms); measure it in a phase of its own.

mod child;
mod context;
mod in_process;
mod process;
mod run;

pub(crate) use child::child_main;
pub(crate) use context::CrashRun;
pub(crate) use process::ChildCommand;
pub(crate) use run::run;
