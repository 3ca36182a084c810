//! The `rocksdb` target's background work, as a phase's `settle` asks it
//! ([`Store::background`](crate::store::Store::background)): running
//! flushes and compactions, flushes and compactions due, and the
//! compaction debt, from RocksDB's DB properties.
//!
//! Owns which properties mean "in flight" only; it never waits (see
//! `engine::settle`) and never triggers work itself.

use rocksdb::DB;

use super::layout::COLUMN_FAMILIES;
use crate::store::Background;

/// DB-wide properties: background jobs running now (the same value in
/// every column family, so read once).
const RUNNING: &[&str] = &[
    "rocksdb.num-running-flushes",
    "rocksdb.num-running-compactions",
];

/// Per-column-family flags (0 or 1): a memtable waits for its flush
/// (immutable memtables not yet flushed), a compaction is due.
const QUEUED: &[&str] = &[
    "rocksdb.mem-table-flush-pending",
    "rocksdb.compaction-pending",
];

/// Per-column-family compaction debt: bytes compaction has to rewrite to
/// bring every level under its target size.
const DEBT: &str = "rocksdb.estimate-pending-compaction-bytes";

/// What `db` has in flight now. A property that cannot be read counts as
/// 0, as in the statistics: a settle never fails on a read.
pub(super) fn background(db: &DB) -> Background {
    let db_wide = |p: &str| db.property_int_value(p).ok().flatten().unwrap_or(0);
    let per_cf = |p: &str| -> u64 {
        COLUMN_FAMILIES
            .iter()
            .filter_map(|cf| db.cf_handle(cf))
            .filter_map(|cf| db.property_int_value_cf(cf, p).ok().flatten())
            .sum()
    };
    Background {
        running: RUNNING.iter().map(|p| db_wide(p)).sum(),
        queued: QUEUED.iter().map(|p| per_cf(p)).sum(),
        debt_bytes: per_cf(DEBT),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::{RocksdbSettings, RocksdbStore};
    use crate::store::{Keys, Record, Store};

    /// 64 KiB memtables and a compaction after 2 L0 files, so a few MiB
    /// of appends leave flushes and compactions behind.
    fn small(extra: &[(&str, &str)]) -> RocksdbSettings {
        RocksdbSettings {
            write_buffer_size: Some(64 << 10),
            level0_file_num_compaction_trigger: Some(2),
            options: extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..RocksdbSettings::default()
        }
    }

    fn write_mib(store: &RocksdbStore, mib: usize) {
        let mut s = store.session().expect("session");
        let body = vec![7u8; 4096];
        let batch: Vec<Record<'_>> = (0..16)
            .map(|_| Record {
                keys: Keys::None,
                body: &body,
            })
            .collect();
        for _ in 0..mib * 16 {
            s.append(0, &batch).expect("append");
        }
    }

    #[test]
    fn a_fresh_database_is_quiescent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RocksdbStore::open(dir.path(), &small(&[])).expect("open");
        assert!(store.background().is_quiescent(), "{}", store.background());
    }

    #[test]
    fn compaction_debt_stays_while_compactions_are_off() {
        // With automatic compactions off, the L0 files written stay above
        // the trigger: a compaction is due and its bytes are debt, for good.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RocksdbStore::open(dir.path(), &small(&[("disable_auto_compactions", "true")]))
            .expect("open");
        write_mib(&store, 4);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Wait for the flushes to end: then only the compaction is left.
        let b = loop {
            let b = store.background();
            if b.running == 0 && b.debt_bytes > 0 || Instant::now() > deadline {
                break b;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(b.debt_bytes > 0, "{b}");
        assert!(b.queued >= 1, "a compaction is due: {b}");
        assert!(!b.is_quiescent());
    }

    #[test]
    fn flushes_and_compactions_end_in_quiescence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RocksdbStore::open(dir.path(), &small(&[])).expect("open");
        write_mib(&store, 4);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !store.background().is_quiescent() {
            assert!(Instant::now() < deadline, "{}", store.background());
            std::thread::sleep(Duration::from_millis(10));
        }
        let files: f64 = (0..7)
            .map(|l| store.stats().values[&format!("files_l{l}")])
            .sum();
        assert!(files > 0.0, "the appends were flushed to SST files");
        assert_eq!(store.stats().values["pending_compaction_bytes"], 0.0);
    }
}
