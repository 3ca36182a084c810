//! What a store has in flight behind the workload's back — flushes,
//! compactions, files prepared ahead of need — as [`Background`], the
//! answer of [`Store::background`](super::Store::background).
//!
//! A phase's `settle` asks it until the store is quiescent before the
//! phase measures (see `engine::settle`), so that "write, then measure
//! reads" is not measured during a compaction storm. It owns the
//! vocabulary only: each store decides what counts as running, queued and
//! debt, and the engine decides how long to wait.

use std::fmt;

/// Background work a store has in flight now. All zero (the default):
/// quiescent — what a store without background work always answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Background {
    /// Background jobs running now (RocksDB: flushes and compactions; the
    /// WAL: a segment file being zero-filled or recycled, writeback
    /// requests being handed to the kernel).
    pub running: u64,
    /// Jobs due but not started (RocksDB: column families with a memtable
    /// waiting to be flushed or a compaction waiting to run; the WAL: a
    /// segment file wanted and not yet started).
    pub queued: u64,
    /// Bytes the background work still has to process, where the store
    /// can tell (RocksDB: `rocksdb.estimate-pending-compaction-bytes`, its
    /// compaction debt).
    pub debt_bytes: u64,
}

impl Background {
    /// No background work at all.
    pub const QUIESCENT: Background = Background {
        running: 0,
        queued: 0,
        debt_bytes: 0,
    };

    /// True when nothing runs, nothing is queued and no debt is left.
    pub fn is_quiescent(&self) -> bool {
        *self == Self::QUIESCENT
    }
}

/// `2 running, 1 queued, 1210.5 MiB debt`, or `quiescent`.
impl fmt::Display for Background {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_quiescent() {
            return f.write_str("quiescent");
        }
        write!(f, "{} running, {} queued, ", self.running, self.queued)?;
        const MIB: u64 = 1 << 20;
        if self.debt_bytes >= MIB {
            write!(f, "{:.1} MiB debt", self.debt_bytes as f64 / MIB as f64)
        } else {
            write!(f, "{} B debt", self.debt_bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_zero_is_quiescent_and_says_what_is_left() {
        assert!(Background::default().is_quiescent());
        assert_eq!(Background::default().to_string(), "quiescent");
        for b in [
            Background {
                running: 1,
                ..Background::QUIESCENT
            },
            Background {
                queued: 1,
                ..Background::QUIESCENT
            },
            Background {
                debt_bytes: 1,
                ..Background::QUIESCENT
            },
        ] {
            assert!(!b.is_quiescent(), "{b:?}");
        }
        let b = Background {
            running: 2,
            queued: 1,
            debt_bytes: 3 << 20,
        };
        assert_eq!(b.to_string(), "2 running, 1 queued, 3.0 MiB debt");
    }
}
