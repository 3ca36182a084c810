//! The `wal` target: loadline's own segmented write-ahead log.
//!
//! Many streams share one log of segment files (as loglets do); each append
//! is one CRC32C-checked batch frame; a per-stream in-memory index maps
//! offsets to frames. This module declares the parts; [`WalStore`] (in
//! `store`) ties them together behind the [`Store`](crate::store::Store) API:
//!
//! | file | owns |
//! |---|---|
//! | `store` | [`WalStore`]: open (recovery, then the writer), shared state, close |
//! | `kind` | the `wal` store kind: scenario config, its checks, capabilities |
//! | `format` | on-disk layout (documented as tables) and checksums |
//! | `segment` | segment handles and their sealed read-only maps (made by `store::fs`) |
//! | `writer` | options, sync policies, roll and seal, group commit, poisoning |
//! | `prepare` | preallocation: segment files made ahead of need (recycled, else zero-filled) |
//! | `recycle` | the pool of dead segment files kept for reuse (`recycle_segments`) |
//! | `writeback` | `sync: never`: writeback of the active segment started off the append path |
//! | `recovery` | open-time recovery: ordered ids, leftovers, index rebuild |
//! | `scan` | recovery's scan of each segment's valid frames |
//! | `damage` | recovery's judgement of where frames stop: clean end, cut, or refusal |
//! | `index` | the per-stream offset → (segment, position) index |
//! | `trim` | persisted trim points and the lowest live segment |
//! | `session` | the [`Session`](crate::store::Session) operations: append, read, trim, sync |
//! | `stats` | the statistics it reports |

mod damage;
mod format;
mod index;
mod kind;
mod listing;
mod prepare;
mod recovery;
mod recycle;
mod scan;
mod segment;
mod session;
mod stats;
mod store;
mod trim;
mod writeback;
mod writer;

pub use kind::{WalConfig, WalKind, WalRecoveryMode, WalSyncPolicy};
pub(crate) use stats::STATS;
pub(crate) use store::Shared;
pub use store::WalStore;
pub use writer::{MIN_SEGMENT_SIZE, RecoveryMode, WalOptions, WalSync};

#[cfg(test)]
mod tests;
