//! jemalloc's statistics: allocated, active, resident, mapped and retained
//! bytes of the whole process, read through `tikv-jemalloc-ctl` after an
//! `epoch` refresh (jemalloc caches them until then).
//!
//! Meaningful because jemalloc is every allocation's allocator: the
//! binaries install it as Rust's global allocator and, unprefixed, it is
//! also the `malloc` RocksDB's C++ calls. Without the `jemalloc` feature
//! [`sample`] returns `None` and reports leave the figures out. Reads
//! only; never fails a run.

use super::report::MemoryStats;

/// jemalloc's statistics now, or `None` when this build has no jemalloc
/// (or a statistic cannot be read).
#[cfg(feature = "jemalloc")]
pub(crate) fn sample() -> Option<MemoryStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(MemoryStats {
        allocated_bytes: stats::allocated::read().ok()? as u64,
        active_bytes: stats::active::read().ok()? as u64,
        resident_bytes: stats::resident::read().ok()? as u64,
        mapped_bytes: stats::mapped::read().ok()? as u64,
        retained_bytes: stats::retained::read().ok()? as u64,
    })
}

/// jemalloc's statistics: none in a build without the `jemalloc` feature.
#[cfg(not(feature = "jemalloc"))]
pub fn sample() -> Option<MemoryStats> {
    None
}

#[cfg(all(test, feature = "jemalloc"))]
mod tests {
    use super::*;

    /// jemalloc serves this test binary too (its unprefixed `malloc`), so
    /// a 64 MiB allocation held shows in `allocated` and goes when freed.
    #[test]
    fn allocated_follows_what_the_process_holds() {
        let before = sample().expect("jemalloc statistics");
        let held: Vec<u8> = vec![1u8; 64 << 20];
        let during = sample().expect("jemalloc statistics");
        assert!(
            during.allocated_bytes >= before.allocated_bytes + (60 << 20),
            "{before:?} → {during:?}"
        );
        assert!(during.active_bytes >= during.allocated_bytes);
        assert!(during.mapped_bytes >= during.active_bytes);
        std::hint::black_box(&held);
        drop(held);
        let after = sample().expect("jemalloc statistics");
        assert!(
            after.allocated_bytes + (60 << 20) <= during.allocated_bytes,
            "{during:?} → {after:?}"
        );
    }
}
