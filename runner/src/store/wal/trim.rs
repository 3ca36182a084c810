//! The WAL's persisted trim state: the `trim` file holding every stream's
//! logical trim point and the lowest live segment id, replaced atomically
//! (write `trim.tmp`, fsync, rename, fsync the directory).
//!
//! The trim file is made durable *before* any segment below the lowest
//! live id is unlinked, so a crash that resurrects an unlinked segment
//! (its unlink not yet durable) finds it below `first_live`, and recovery
//! deletes it again; trimmed records are never returned.
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `LLWTRIM1` |
//! | 8..12 | count `n` of streams |
//! | 12..20 | lowest live segment id |
//! | 20..20+16n | `n` × (stream id `u64`, trim point `u64`), by stream id |
//! | last 4 | CRC32C of everything before |

use std::collections::BTreeMap;
use std::path::Path;

use super::format::{read_u32, read_u64};
use super::stats::Counters;
use super::writer::{sync_dir, sync_file};
use crate::store::api::{Offset, StoreError};
use crate::store::fs::{Io, OpenMode, read_exact_at, write_all_at};

/// Name of the trim file inside the log directory.
pub(crate) const TRIM_FILE: &str = "trim";
/// Name of the temporary file the trim file is written through.
pub(crate) const TRIM_TMP: &str = "trim.tmp";
const MAGIC: [u8; 8] = *b"LLWTRIM1";

/// The persisted trim state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrimState {
    /// Segments below this id hold nothing visible and may be deleted.
    pub(crate) first_live: u64,
    /// Trim point by stream (streams never trimmed are absent).
    pub(crate) points: BTreeMap<u64, Offset>,
}

impl TrimState {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + 16 * self.points.len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(
            &u32::try_from(self.points.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        b.extend_from_slice(&self.first_live.to_le_bytes());
        for (s, t) in &self.points {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Result<Self, String> {
        if b.len() < 24 || b[0..8] != MAGIC {
            return Err("not a trim file (bad magic or too short)".to_owned());
        }
        let n = read_u32(b, 8) as usize;
        // The count is checked against the bytes present before use.
        if (b.len() - 24) / 16 != n || !(b.len() - 24).is_multiple_of(16) {
            return Err(format!(
                "trim file claims {n} streams but holds {} bytes",
                b.len()
            ));
        }
        let body = &b[..b.len() - 4];
        if crc32c::crc32c(body) != read_u32(b, b.len() - 4) {
            return Err("trim file crc mismatch".to_owned());
        }
        let points = (0..n)
            .map(|i| (read_u64(b, 20 + 16 * i), read_u64(b, 28 + 16 * i)))
            .collect();
        Ok(Self {
            first_live: read_u64(b, 12),
            points,
        })
    }

    /// Loads the trim file of `dir`; an absent file is the empty state.
    pub(crate) fn load(io: &dyn Io, dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(TRIM_FILE);
        let f = match io.open(&path, OpenMode::Existing) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(StoreError::io("open", &path, e)),
        };
        let len = f.len().map_err(|e| StoreError::io("stat", &path, e))?;
        let len = usize::try_from(len).map_err(|_| StoreError::Corrupt {
            path: path.clone(),
            offset: 0,
            detail: "trim file too large".to_owned(),
        })?;
        let mut b = vec![0u8; len];
        read_exact_at(f.as_ref(), &mut b, 0).map_err(|e| StoreError::io("read", &path, e))?;
        Self::decode(&b).map_err(|detail| StoreError::Corrupt {
            path,
            offset: 0,
            detail,
        })
    }

    /// Replaces the trim file of `dir` atomically and durably (its fsyncs
    /// counted in `counters`).
    pub(crate) fn store(
        &self,
        io: &dyn Io,
        dir: &Path,
        counters: &Counters,
    ) -> Result<(), StoreError> {
        let tmp = dir.join(TRIM_TMP);
        let path = dir.join(TRIM_FILE);
        let f = io
            .open(&tmp, OpenMode::Truncate)
            .map_err(|e| StoreError::io("create", &tmp, e))?;
        write_all_at(f.as_ref(), &self.encode(), 0)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        sync_file(counters, f.as_ref(), &tmp)?;
        io.rename(&tmp, &path)
            .map_err(|e| StoreError::io("rename", &tmp, e))?;
        sync_dir(counters, io, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fs::SimFs;

    #[test]
    fn trim_state_round_trips_and_detects_damage() {
        let fs = SimFs::new();
        let dir = Path::new("/log");
        fs.create_dir_all(dir).expect("mkdir");
        assert_eq!(
            TrimState::load(&fs, dir).expect("absent"),
            TrimState::default()
        );
        let st = TrimState {
            first_live: 7,
            points: [(1, 10), (u64::MAX, 3)].into_iter().collect(),
        };
        let c = Counters::default();
        st.store(&fs, dir, &c).expect("store");
        assert_eq!(
            c.fsyncs.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "file and directory"
        );
        fs.power_loss();
        assert_eq!(
            TrimState::load(&fs, dir).expect("load"),
            st,
            "durable after store"
        );
        let mut b = fs.read(&dir.join(TRIM_FILE)).expect("read");
        b[13] ^= 4;
        fs.overwrite(&dir.join(TRIM_FILE), b).expect("damage");
        let e = TrimState::load(&fs, dir).expect_err("damaged");
        assert!(e.to_string().contains("trim file crc mismatch"), "{e}");
    }
}
