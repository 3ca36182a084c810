//! A key-value store as a loadline plug-in: the key-value counterpart of
//! `custom_store.rs`. The `kvfile` kind keeps its pairs in a `BTreeMap`
//! and every put and delete in an append-only file it replays on open, so
//! it is persistent and survives a kill -9 (`restart: crash` runs its
//! writers in a child process and checks every acknowledged write).
//!
//! It implements only what it has: put, get, delete and scan. The log
//! methods of [`Session`] keep their defaults ("not supported"), and its
//! [`Capabilities`] say `kv` without `log`, so validation refuses `append`
//! on a `kvfile` target before anything runs.
//!
//! The config derives `serde` and `schemars` traits through loadline's
//! re-exports (`loadline::serde`, `loadline::schemars`): a plug-in crate
//! needs no dependency but `loadline`.
//!
//! ```text
//! cargo run --release --example kv_store -- validate my.yaml   # targets: { k: { kvfile: {} } }
//! cargo run --release --example kv_store -- run my.yaml        # crash phases included
//! cargo test --release --example kv_store                      # conformance
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use loadline::schemars::JsonSchema;
use loadline::serde::{Deserialize, Serialize};
use loadline::store::{
    Capabilities, ReadBuf, Session, StatDesc, StatUnit, Store, StoreError, StoreKind, StoreStats,
};

/// The `kvfile` store kind.
struct KvFileKind;

/// Options of the `kvfile` store.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    crate = "loadline::serde",
    deny_unknown_fields,
    rename_all = "snake_case"
)]
#[schemars(crate = "loadline::schemars")]
struct KvFileConfig {
    /// Call `fdatasync` after every write (survives power loss, not only a
    /// crash). Default `false`.
    #[serde(default)]
    sync: bool,
}

impl StoreKind for KvFileKind {
    const NAME: &'static str = "kvfile";
    const ABOUT: &'static str = "An example key-value store: a BTreeMap with an append-only file.";
    type Config = KvFileConfig;

    fn capabilities(_: &KvFileConfig) -> Capabilities {
        CAPABILITIES
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn open(config: &KvFileConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(KvFile::open(config, dir)?))
    }
}

/// Key-value operations only; every acknowledged write is in the file
/// (the page cache survives a kill -9).
const CAPABILITIES: Capabilities = Capabilities {
    kv: true,
    persistent: true,
    crash_durable: true,
    ..Capabilities::NONE
};

const STATS: &[StatDesc] = &[StatDesc {
    name: "replayed_writes",
    unit: StatUnit::Count,
    help: "Writes replayed from the file when the store was opened.",
}];

/// One write in the file: `op` (1 put, 2 delete), key length and value
/// length (u32, little-endian), CRC32C of key and value, then the bytes.
const HEADER: usize = 13;

struct Inner {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    file: File,
    path: PathBuf,
    sync: bool,
}

/// The store: shared by every session.
#[derive(Clone)]
struct KvFile {
    inner: Arc<Mutex<Inner>>,
    replayed: u64,
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

impl KvFile {
    /// Opens `dir/pairs.log`, replaying it; a write torn by a crash at its
    /// end is cut off (it was never acknowledged).
    fn open(config: &KvFileConfig, dir: &Path) -> Result<KvFile, StoreError> {
        let path = dir.join("pairs.log");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io("open", &path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read", &path))?;
        let mut map = BTreeMap::new();
        let (mut at, mut replayed) = (0usize, 0u64);
        while let Some((op, key, value, next)) = decode(&bytes, at) {
            if op == 1 {
                map.insert(key.to_vec(), value.to_vec());
            } else {
                map.remove(key);
            }
            at = next;
            replayed += 1;
        }
        if at < bytes.len() {
            file.set_len(at as u64).map_err(io("truncate", &path))?;
        }
        Ok(KvFile {
            inner: Arc::new(Mutex::new(Inner {
                map,
                file,
                path,
                sync: config.sync,
            })),
            replayed,
        })
    }

    fn write(&self, op: u8, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(HEADER + key.len() + value.len());
        buf.push(op);
        buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
        buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(key), value);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf.extend_from_slice(key);
        buf.extend_from_slice(value);
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *g;
        inner
            .file
            .write_all(&buf)
            .map_err(io("write", &inner.path))?;
        if inner.sync {
            inner
                .file
                .sync_data()
                .map_err(io("fdatasync", &inner.path))?;
        }
        if op == 1 {
            inner.map.insert(key.to_vec(), value.to_vec());
        } else {
            inner.map.remove(key);
        }
        Ok(())
    }
}

/// The write at `at`: (op, key, value, next offset); `None` at the end or
/// at a torn or damaged write.
fn decode(bytes: &[u8], at: usize) -> Option<(u8, &[u8], &[u8], usize)> {
    let h = bytes.get(at..at + HEADER)?;
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let (klen, vlen) = (u32_at(1) as usize, u32_at(5) as usize);
    let key = bytes.get(at + HEADER..at + HEADER + klen)?;
    let end = at + HEADER + klen + vlen;
    let value = bytes.get(at + HEADER + klen..end)?;
    let crc_ok = crc32c::crc32c_append(crc32c::crc32c(key), value) == u32_at(9);
    (crc_ok && matches!(h[0], 1 | 2)).then_some((h[0], key, value, end))
}

impl Store for KvFile {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(self.clone()))
    }
    fn stats(&self) -> StoreStats {
        let mut s = StoreStats::default();
        s.values
            .insert("replayed_writes".to_owned(), self.replayed as f64);
        s
    }
    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

// Only the key-value methods: the log ones keep their "not supported"
// defaults, which validation never lets a scenario reach.
impl Session for KvFile {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.write(1, key, value)
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        out.clear();
        Ok(g.map.get(key).map(|v| out.extend_from_slice(v)).is_some())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.write(2, key, &[])
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, (_, v)) in g.map.range(start.to_vec()..).take(limit).enumerate() {
            out.push(i as u64, loadline::store::Keys::None, v);
        }
        Ok(out.len())
    }
}

fn main() {
    loadline::App::new()
        .name("kv_store")
        .store::<KvFileKind>()
        .main()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conformance suite, in one call: key-value semantics, reopen
    /// persistence, what a crash phase asks of a key-value-only kind, and
    /// kill -9 durability of puts and deletes. It prints what it checked.
    #[test]
    fn kvfile_conforms() {
        let checked =
            loadline::store::conformance::check_kind::<KvFileKind>(&KvFileConfig::default());
        assert!(
            checked
                .iter()
                .any(|c| c.starts_with("kill -9 durability of puts"))
        );
    }

    #[test]
    fn a_torn_last_write_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let config = KvFileConfig::default();
        let mut s = KvFile::open(&config, dir.path()).unwrap();
        s.put(b"a", b"1").unwrap();
        s.put(b"b", b"2").unwrap();
        let path = dir.path().join("pairs.log");
        let len = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 1).unwrap();
        let mut s = KvFile::open(&config, dir.path()).unwrap();
        let mut v = Vec::new();
        assert!(s.get(b"a", &mut v).unwrap() && v == b"1");
        assert!(!s.get(b"b", &mut v).unwrap(), "the torn write is gone");
        assert_eq!(s.replayed, 1);
    }
}
