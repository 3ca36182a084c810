//! Recorded payload files: `loadline payload generate` writes them,
//! scenarios reference them with `file:`, and they are read through a memory
//! map without copying a body.
//!
//! Owns the on-disk format, its writer ([`generate`], [`write_pool`]), its
//! checked reader ([`PayloadFile::open`]) and [`inspect`]. It does not own
//! pool generation (`payload`) or the entropy check (`entropy`).
//!
//! # Format, version 1 (all integers little-endian)
//!
//! ```text
//! offset size  field
//!      0    8  magic "LLPAYLD\0"
//!      8    4  format version (1)
//!     12    4  content hash: CRC-32C of every byte from offset 16 to the end
//!     16    8  header length = 104 + 16 × weighted entries
//!     24    8  record section length in bytes
//!     32    8  seed
//!     40    8  batch size (records per batch)
//!     48    8  batch count
//!     56    8  entropy (IEEE 754 f64)
//!     64    1  key style: 0 none, 1 single, 2 pair, 3 range
//!     65    1  size kind: 0 fixed, 1 uniform, 2 normal, 3 weighted
//!     66    2  reserved, 0
//!     68    4  weighted entry count (0 unless weighted)
//!     72   32  size parameters a, b, c, d (u64 each):
//!              fixed: a = size; uniform: a = min, b = max;
//!              normal: a = mean, b = stddev, c = min, d = max
//!    104 16×n  weighted entries: size u64, weight u32, reserved u32
//! header_len   records, batch after batch, each:
//!              body length u64, key tag u8 (0 none, 1 single, 2 pair,
//!              3 range), 0/8/16 bytes of u64 keys, the body
//! ```
//!
//! The reader never trusts a length: it checks the file size against the
//! header before mapping the records, verifies the hash, then walks every
//! record checking that its lengths stay inside the record section. Errors
//! name the file and say what was expected and found.

#![expect(
    unsafe_code,
    reason = "memory-mapping a payload file is unsafe in memmap2's API; it is the one map in this module"
)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::entropy::{CompressError, compressibility, entropy_warning};
use super::payload::{KeyStyle, PayloadParams, PayloadParamsError, PayloadPool, PayloadView, Span};
use super::rng::file_stream;
use super::size::SizeDist;
use crate::store::{Keys, Record};

/// The first 8 bytes of every payload file.
pub const MAGIC: [u8; 8] = *b"LLPAYLD\0";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes of the header before the weighted entries.
const FIXED_HEADER: usize = 104;

/// Bytes per weighted entry.
const WEIGHT_ENTRY: usize = 16;

/// Where the hashed region starts (just after the hash field).
const HASHED_FROM: usize = 16;

/// Smallest encoded record: length and key tag.
const MIN_RECORD: usize = 9;

/// Everything that can go wrong reading or writing a payload file. Messages
/// are lowercase and name the file.
#[derive(Debug, thiserror::Error)]
pub enum PayloadFileError {
    /// The file does not exist.
    #[error("payload file {path} not found")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// An I/O call failed.
    #[error("cannot {op} payload file {path}: {source}")]
    Io {
        /// What was attempted (`open`, `read`, `map`, `write` …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file has no bytes at all.
    #[error(
        "payload file {path} is empty (0 bytes); generate one with `loadline payload generate`"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file ends before what its header promises.
    #[error("payload file {path} is truncated: the {part} needs {expected} bytes, found {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is cut short (`header` or `file`).
        part: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file does not start with [`MAGIC`]. Its bytes are not quoted:
    /// the file may be anything (a secret pointed at by mistake), and the
    /// message goes to logs and CI annotations.
    #[error(
        "{path} is not a loadline payload file: it does not start with the payload magic \"LLPAYLD\\0\""
    )]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// A format version this build cannot read.
    #[error(
        "payload file {path} has format version {found}; this loadline reads version {supported}"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The content hash does not match the contents.
    #[error(
        "payload file {path} is corrupt: content hash mismatch (header says {stored:#010x}, contents hash to {computed:#010x})"
    )]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// Hash in the header.
        stored: u32,
        /// Hash of the contents.
        computed: u32,
    },
    /// A field or record that is out of bounds or invalid.
    #[error("payload file {path} is corrupt at byte {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad field.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The parameters to generate from are invalid.
    #[error("cannot generate payload file {path}: {source}")]
    Params {
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: PayloadParamsError,
    },
    /// The compressibility check failed.
    #[error("cannot check the compressibility of payload file {path}: {source}")]
    Compress {
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: CompressError,
    },
}

/// The header of a payload file: how it was generated.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadHeader {
    /// Format version.
    pub version: u32,
    /// Seed of the generating stream ([`file_stream`]).
    pub seed: u64,
    /// Size distribution the bodies were drawn from.
    pub size: SizeDist,
    /// Requested entropy.
    pub entropy: f64,
    /// Key style of the records.
    pub keys: KeyStyle,
    /// Records per batch.
    pub batch_size: usize,
    /// Number of batches.
    pub batch_count: usize,
    /// CRC-32C of the file from byte 16 on.
    pub content_hash: u32,
    /// Length of the record section in bytes.
    pub records_len: u64,
}

impl PayloadHeader {
    /// The parameters the file was generated with (`pool` = batch count).
    pub fn params(&self) -> PayloadParams {
        PayloadParams {
            size: self.size.clone(),
            entropy: self.entropy,
            keys: self.keys,
            batch: self.batch_size,
            pool: self.batch_count,
        }
    }

    /// Total header length in bytes.
    fn header_len(&self) -> usize {
        FIXED_HEADER + WEIGHT_ENTRY * weighted_entries(&self.size).len()
    }

    /// Encodes the header (with the hash field as stored in `content_hash`).
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.header_len()];
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(&mut b, 8, self.version);
        put_u32(&mut b, 12, self.content_hash);
        put_u64(&mut b, 16, self.header_len() as u64);
        put_u64(&mut b, 24, self.records_len);
        put_u64(&mut b, 32, self.seed);
        put_u64(&mut b, 40, self.batch_size as u64);
        put_u64(&mut b, 48, self.batch_count as u64);
        put_u64(&mut b, 56, self.entropy.to_bits());
        b[64] = key_style_tag(self.keys);
        let (kind, params) = match &self.size {
            SizeDist::Fixed(n) => (0, [*n, 0, 0, 0]),
            SizeDist::Uniform { min, max } => (1, [*min, *max, 0, 0]),
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            } => (2, [*mean, *stddev, *min, *max]),
            SizeDist::Weighted(_) => (3, [0; 4]),
        };
        b[65] = kind;
        let weights = weighted_entries(&self.size);
        put_u32(&mut b, 68, weights.len() as u32);
        for (i, p) in params.iter().enumerate() {
            put_u64(&mut b, 72 + 8 * i, *p);
        }
        for (i, (size, weight)) in weights.iter().enumerate() {
            let at = FIXED_HEADER + WEIGHT_ENTRY * i;
            put_u64(&mut b, at, *size);
            put_u32(&mut b, at + 8, *weight);
        }
        b
    }
}

fn weighted_entries(size: &SizeDist) -> &[(u64, u32)] {
    match size {
        SizeDist::Weighted(list) => list,
        _ => &[],
    }
}

fn key_style_tag(k: KeyStyle) -> u8 {
    match k {
        KeyStyle::None => 0,
        KeyStyle::Single => 1,
        KeyStyle::Pair => 2,
        KeyStyle::Range => 3,
    }
}

/// Encodes a record's length, key tag and keys; returns the buffer and the
/// used length.
fn record_prefix(r: &Record<'_>) -> ([u8; MIN_RECORD + 16], usize) {
    let (tag, keys, key_count) = match r.keys {
        Keys::None => (0, [0, 0], 0),
        Keys::Single(a) => (1, [a, 0], 1),
        Keys::Pair(a, c) => (2, [a, c], 2),
        Keys::Range(a, c) => (3, [a, c], 2),
    };
    let mut b = [0u8; MIN_RECORD + 16];
    b[..8].copy_from_slice(&(r.body.len() as u64).to_le_bytes());
    b[8] = tag;
    for (i, k) in keys.iter().take(key_count).enumerate() {
        b[MIN_RECORD + 8 * i..MIN_RECORD + 8 * (i + 1)].copy_from_slice(&k.to_le_bytes());
    }
    (b, MIN_RECORD + 8 * key_count)
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Generates a pool from [`file_stream`]`(seed)` with `params` (`params.pool`
/// is the number of batches written) and writes it to `path`, replacing any
/// file there. Returns the header written.
///
/// # Errors
/// Invalid parameters, or an I/O failure naming the path.
pub fn generate(
    path: &Path,
    params: &PayloadParams,
    seed: u64,
) -> Result<PayloadHeader, PayloadFileError> {
    let pool = PayloadPool::generate(params, &mut file_stream(seed)).map_err(|source| {
        PayloadFileError::Params {
            path: path.to_owned(),
            source,
        }
    })?;
    write_pool(path, &pool, seed)
}

/// Writes `pool` to `path` (recording `seed` in the header). The file is
/// written beside `path` under a temporary name, synced, then renamed, so a
/// reader never sees half a file.
///
/// # Errors
/// An I/O failure naming the path.
pub fn write_pool(
    path: &Path,
    pool: &PayloadPool,
    seed: u64,
) -> Result<PayloadHeader, PayloadFileError> {
    let view = pool.view();
    let records_len = view
        .records()
        .iter()
        .map(|r| record_prefix(r).1 as u64 + r.body.len() as u64)
        .sum();
    let params = pool.params();
    let mut header = PayloadHeader {
        version: FORMAT_VERSION,
        seed,
        size: params.size.clone(),
        entropy: params.entropy,
        keys: params.keys,
        batch_size: view.batch_size(),
        batch_count: view.batch_count(),
        content_hash: 0,
        records_len,
    };
    let tmp = temp_path(path);
    let io = |op| {
        let path = path.to_owned();
        move |source| PayloadFileError::Io { op, path, source }
    };
    let result = (|| {
        let file = File::create(&tmp).map_err(io("create"))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let placeholder = header.encode();
        w.write_all(&placeholder).map_err(io("write"))?;
        let mut crc = crc32c::crc32c(&placeholder[HASHED_FROM..]);
        for r in view.records() {
            let (prefix, n) = record_prefix(r);
            crc = crc32c::crc32c_append(crc, &prefix[..n]);
            crc = crc32c::crc32c_append(crc, r.body);
            w.write_all(&prefix[..n]).map_err(io("write"))?;
            w.write_all(r.body).map_err(io("write"))?;
        }
        let mut file = w.into_inner().map_err(|e| io("write")(e.into_error()))?;
        header.content_hash = crc;
        file.seek(SeekFrom::Start(12)).map_err(io("seek"))?;
        file.write_all(&crc.to_le_bytes()).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        std::fs::rename(&tmp, path).map_err(io("rename into place"))
    })();
    if result.is_err() {
        // Best effort: the temporary file is useless after a failure.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| header)
}

/// `dir/.name.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "payload".to_owned());
    path.with_file_name(format!(".{name}.tmp"))
}

/// A payload file opened, checked and mapped. Bodies are read in place from
/// the map: [`PayloadFile::view`] borrows them.
#[derive(Debug)]
pub struct PayloadFile {
    path: PathBuf,
    header: PayloadHeader,
    map: Mmap,
    spans: Vec<Span>,
}

impl PayloadFile {
    /// Opens `path`, checks length, magic, version, hash and every record's
    /// bounds, and maps it.
    ///
    /// # Errors
    /// A missing, empty, truncated, foreign, unsupported or corrupt file, or
    /// an I/O failure; each names the path.
    pub fn open(path: &Path) -> Result<Self, PayloadFileError> {
        let p = || path.to_owned();
        let mut file = File::open(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => PayloadFileError::NotFound { path: p() },
            _ => PayloadFileError::Io {
                op: "open",
                path: p(),
                source,
            },
        })?;
        let len = file
            .metadata()
            .map_err(|source| PayloadFileError::Io {
                op: "stat",
                path: p(),
                source,
            })?
            .len();
        if len == 0 {
            return Err(PayloadFileError::Empty { path: p() });
        }
        if len < FIXED_HEADER as u64 {
            // Too short to map usefully: read what is there to tell a foreign
            // file from a truncated one.
            let mut head = Vec::new();
            file.read_to_end(&mut head)
                .map_err(|source| PayloadFileError::Io {
                    op: "read",
                    path: p(),
                    source,
                })?;
            check_magic(path, &head)?;
            return Err(PayloadFileError::Truncated {
                path: p(),
                part: "header",
                expected: FIXED_HEADER as u64,
                found: head.len() as u64,
            });
        }
        // SAFETY: memmap2 maps are unsafe because another process could
        // modify or truncate the file while it is mapped, which would change
        // (or fault on) bytes we hold as `&[u8]`. Payload files are
        // write-once artefacts: `write_pool` writes a temporary file and
        // renames it into place, so regenerating never touches a mapped
        // file. The length was checked above, and every length inside is
        // checked against the map before use; the hash is verified at open.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| PayloadFileError::Io {
            op: "map",
            path: p(),
            source,
        })?;
        let (header, spans) = decode(path, &map)?;
        Ok(Self {
            path: p(),
            header,
            map,
            spans,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &PayloadHeader {
        &self.header
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ready-made record slices borrowing the mapped bodies.
    pub fn view(&self) -> PayloadView<'_> {
        PayloadView::from_spans(&self.map, &self.spans, self.header.batch_size)
    }

    /// Records per batch.
    pub fn batch_size(&self) -> usize {
        self.header.batch_size
    }

    /// Number of batches.
    pub fn batch_count(&self) -> usize {
        self.header.batch_count
    }

    /// Bytes this file costs when cycled: the mapped length (paged in as it
    /// is read) plus the span table and one view.
    pub fn memory_bytes(&self) -> usize {
        self.map.len() + self.spans.len() * (size_of::<Span>() + size_of::<Record<'static>>())
    }
}

/// Fails with [`PayloadFileError::Foreign`] unless `bytes` starts with (as
/// much as it holds of) the magic.
fn check_magic(path: &Path, bytes: &[u8]) -> Result<(), PayloadFileError> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] == MAGIC[..n] {
        return Ok(());
    }
    Err(PayloadFileError::Foreign {
        path: path.to_owned(),
    })
}

/// Little-endian reads from a byte slice whose length has been checked.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u64(&self, at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.0[at..at + 8]);
        u64::from_le_bytes(a)
    }

    fn u32(&self, at: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.0[at..at + 4]);
        u32::from_le_bytes(a)
    }
}

/// Checks and decodes a whole file held in `bytes` (at least
/// `FIXED_HEADER` long).
fn decode(path: &Path, bytes: &[u8]) -> Result<(PayloadHeader, Vec<Span>), PayloadFileError> {
    let corrupt = |offset: usize, detail: String| PayloadFileError::Corrupt {
        path: path.to_owned(),
        offset: offset as u64,
        detail,
    };
    check_magic(path, bytes)?;
    if bytes.len() < FIXED_HEADER {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "header",
            expected: FIXED_HEADER as u64,
            found: bytes.len() as u64,
        });
    }
    let f = Fields(bytes);
    let version = f.u32(8);
    if version != FORMAT_VERSION {
        return Err(PayloadFileError::UnsupportedVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let file_len = bytes.len() as u64;
    let weighted = f.u32(68) as usize;
    let header_len = FIXED_HEADER + WEIGHT_ENTRY * weighted;
    if f.u64(16) != header_len as u64 {
        return Err(corrupt(
            16,
            format!(
                "header length field says {} bytes, but {weighted} weighted entries make {header_len}",
                f.u64(16)
            ),
        ));
    }
    if file_len < header_len as u64 {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "header",
            expected: header_len as u64,
            found: file_len,
        });
    }
    let records_len = f.u64(24);
    let total = (header_len as u64)
        .checked_add(records_len)
        .ok_or_else(|| corrupt(24, format!("record section length {records_len} overflows")))?;
    if file_len < total {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "file",
            expected: total,
            found: file_len,
        });
    }
    if file_len > total {
        return Err(corrupt(
            total as usize,
            format!("{} unexpected bytes after the records", file_len - total),
        ));
    }
    let stored = f.u32(12);
    let computed = crc32c::crc32c(&bytes[HASHED_FROM..]);
    if stored != computed {
        return Err(PayloadFileError::HashMismatch {
            path: path.to_owned(),
            stored,
            computed,
        });
    }

    // The hash matched: what follows guards against a faulty writer.
    let keys = match bytes[64] {
        0 => KeyStyle::None,
        1 => KeyStyle::Single,
        2 => KeyStyle::Pair,
        3 => KeyStyle::Range,
        t => return Err(corrupt(64, format!("unknown key style {t}"))),
    };
    let a: Vec<u64> = (0..4).map(|i| f.u64(72 + 8 * i)).collect();
    let size = match bytes[65] {
        0 => SizeDist::Fixed(a[0]),
        1 => SizeDist::Uniform {
            min: a[0],
            max: a[1],
        },
        2 => SizeDist::Normal {
            mean: a[0],
            stddev: a[1],
            min: a[2],
            max: a[3],
        },
        3 => SizeDist::Weighted(
            (0..weighted)
                .map(|i| {
                    let at = FIXED_HEADER + WEIGHT_ENTRY * i;
                    (f.u64(at), f.u32(at + 8))
                })
                .collect(),
        ),
        k => return Err(corrupt(65, format!("unknown size kind {k}"))),
    };
    let entropy = f64::from_bits(f.u64(56));
    if !(0.0..=1.0).contains(&entropy) {
        return Err(corrupt(56, format!("entropy {entropy} is outside 0..=1")));
    }
    let as_count = |at: usize, what: &str| {
        usize::try_from(f.u64(at))
            .map_err(|_| corrupt(at, format!("{what} {} is too large", f.u64(at))))
    };
    let batch_size = as_count(40, "batch size")?;
    let batch_count = as_count(48, "batch count")?;
    if batch_size == 0 || batch_count == 0 {
        return Err(corrupt(
            40,
            format!("{batch_count} batches of {batch_size} records hold no record"),
        ));
    }
    // Every record takes at least MIN_RECORD bytes: a count the section
    // cannot hold is rejected before anything is allocated for it.
    let count = batch_size
        .checked_mul(batch_count)
        .filter(|&n| n as u64 <= records_len / MIN_RECORD as u64)
        .ok_or_else(|| {
            corrupt(
                40,
                format!(
                    "{batch_count} batches of {batch_size} records cannot fit in {records_len} record bytes"
                ),
            )
        })?;

    let mut spans = Vec::with_capacity(count);
    let mut pos = header_len;
    let end = bytes.len();
    for i in 0..count {
        if end - pos < MIN_RECORD {
            return Err(corrupt(
                pos,
                format!(
                    "record {i} needs at least {MIN_RECORD} bytes, {} remain",
                    end - pos
                ),
            ));
        }
        let body_len = f.u64(pos);
        let key_count = match bytes[pos + 8] {
            0 => 0,
            1 => 1,
            2 | 3 => 2,
            t => {
                return Err(corrupt(
                    pos + 8,
                    format!("record {i} has unknown key tag {t}"),
                ));
            }
        };
        let keys_at = pos + MIN_RECORD;
        let body_at = keys_at + 8 * key_count;
        if body_at > end {
            return Err(corrupt(
                pos,
                format!(
                    "record {i}'s keys need {} bytes, {} remain",
                    8 * key_count,
                    end - keys_at
                ),
            ));
        }
        let remain = (end - body_at) as u64;
        if body_len > remain {
            return Err(corrupt(
                pos,
                format!("record {i} claims {body_len} body bytes, only {remain} remain"),
            ));
        }
        let k = |j: usize| f.u64(keys_at + 8 * j);
        let keys = match bytes[pos + 8] {
            0 => Keys::None,
            1 => Keys::Single(k(0)),
            2 => Keys::Pair(k(0), k(1)),
            _ => Keys::Range(k(0), k(1)),
        };
        let len = body_len as usize;
        spans.push(Span {
            start: body_at,
            len,
            keys,
        });
        pos = body_at + len;
    }
    if pos != end {
        return Err(corrupt(
            pos,
            format!("{} bytes after the last of {count} records", end - pos),
        ));
    }
    let header = PayloadHeader {
        version,
        seed: f.u64(32),
        size,
        entropy,
        keys,
        batch_size,
        batch_count,
        content_hash: stored,
        records_len,
    };
    Ok((header, spans))
}

/// Opens `path` and describes it for `loadline payload inspect`: every
/// header field, the record count and body bytes, and the achieved
/// compressibility (with the entropy warning, if any).
///
/// # Errors
/// As [`PayloadFile::open`], or a compression failure.
pub fn inspect(path: &Path) -> Result<String, PayloadFileError> {
    let file = PayloadFile::open(path)?;
    let h = file.header();
    let view = file.view();
    let c = compressibility(&view, h.entropy).map_err(|source| PayloadFileError::Compress {
        path: path.to_owned(),
        source,
    })?;
    let records = view.records().len();
    let body = view.body_bytes();
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "file:            {} ({} bytes)",
        path.display(),
        file.map.len()
    );
    let _ = writeln!(s, "format version:  {}", h.version);
    let _ = writeln!(s, "seed:            {}", h.seed);
    let _ = writeln!(s, "size:            {}", h.size);
    let _ = writeln!(s, "entropy:         {}", h.entropy);
    let _ = writeln!(s, "keys:            {}", h.keys.as_str());
    let _ = writeln!(s, "batch size:      {}", h.batch_size);
    let _ = writeln!(s, "batches:         {}", h.batch_count);
    let _ = writeln!(
        s,
        "records:         {records} ({body} body bytes, mean {:.1} B)",
        body as f64 / records.max(1) as f64
    );
    let _ = writeln!(
        s,
        "content hash:    crc32c {:#010x} (verified)",
        h.content_hash
    );
    let _ = writeln!(
        s,
        "compressibility: zstd {:.1} %, lz4 {:.1} % of a {}-byte sample (entropy implies about {:.1} %)",
        c.zstd_ratio * 100.0,
        c.lz4_ratio * 100.0,
        c.sample_bytes,
        c.requested_entropy * 100.0
    );
    if let Some(w) = entropy_warning(&c) {
        let _ = writeln!(s, "warning:         {w}");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::payload::tests::digest;
    use proptest::prelude::*;

    fn sample_params() -> PayloadParams {
        PayloadParams {
            size: SizeDist::Weighted(vec![(64, 3), (300, 1)]),
            entropy: 0.6,
            keys: KeyStyle::Pair,
            batch: 4,
            pool: 6,
        }
    }

    /// A valid file's bytes, from a fresh temporary directory.
    fn valid_bytes(dir: &Path) -> Vec<u8> {
        let path = dir.join("valid.bin");
        generate(&path, &sample_params(), 42).expect("generate");
        std::fs::read(&path).expect("read back")
    }

    /// Rewrites the content hash so a structural fault gets past it.
    fn rehash(bytes: &mut [u8]) {
        let crc = crc32c::crc32c(&bytes[HASHED_FROM..]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    }

    fn open_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<PayloadFile, PayloadFileError> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        PayloadFile::open(&path)
    }

    #[test]
    fn round_trip_equals_the_pool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.bin");
        let params = sample_params();
        let written = generate(&path, &params, 7).expect("generate");
        let file = PayloadFile::open(&path).expect("open");
        assert_eq!(file.header(), &written);
        assert_eq!(file.header().params(), params);
        let pool = PayloadPool::generate(&params, &mut file_stream(7)).expect("pool");
        assert_eq!(file.view().records(), pool.view().records());
        assert_eq!(digest(&file.view()), digest(&pool.view()));
        assert_eq!((file.batch_size(), file.batch_count()), (4, 6));
        assert_eq!(file.view().batch(7), pool.view().batch(1));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["p.bin"]);
    }

    #[test]
    fn bodies_are_read_in_place_from_the_map() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.bin");
        generate(&path, &sample_params(), 1).expect("generate");
        let file = PayloadFile::open(&path).expect("open");
        let map = file.map.as_ptr_range();
        for r in file.view().records() {
            assert!(map.contains(&r.body.as_ptr()) || r.body.is_empty());
        }
    }

    #[test]
    fn inspect_lists_header_and_compressibility() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.bin");
        let params = PayloadParams {
            size: SizeDist::Fixed(4096),
            entropy: 0.8,
            keys: KeyStyle::None,
            batch: 10,
            pool: 8,
        };
        generate(&path, &params, 42).expect("generate");
        let text = inspect(&path).expect("inspect");
        for needle in [
            "format version:  1",
            "seed:            42",
            "size:            fixed 4096 B",
            "entropy:         0.8",
            "keys:            none",
            "batch size:      10",
            "batches:         8",
            "records:         80 (327680 body bytes",
            "(verified)",
            "entropy implies about 80.0 %",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("warning"), "{text}");
    }

    /// Every way a file can be bad, and the error it must give.
    #[test]
    fn bad_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = valid_bytes(dir.path());
        let header_len = FIXED_HEADER + 2 * WEIGHT_ENTRY;
        type Check = fn(&PayloadFileError) -> bool;
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            b
        };
        let cases: Vec<(&str, Vec<u8>, Check, &str)> = vec![
            (
                "empty",
                vec![],
                |e| matches!(e, PayloadFileError::Empty { .. }),
                "is empty",
            ),
            (
                "truncated header",
                good[..50].to_vec(),
                |e| {
                    matches!(
                        e,
                        PayloadFileError::Truncated {
                            part: "header",
                            expected: 104,
                            found: 50,
                            ..
                        }
                    )
                },
                "the header needs 104 bytes, found 50",
            ),
            (
                "truncated weighted entries",
                good[..FIXED_HEADER + 4].to_vec(),
                |e| {
                    matches!(
                        e,
                        PayloadFileError::Truncated {
                            part: "header",
                            expected: 136,
                            ..
                        }
                    )
                },
                "truncated",
            ),
            (
                "truncated body",
                good[..good.len() - 10].to_vec(),
                |e| matches!(e, PayloadFileError::Truncated { part: "file", .. }),
                "is truncated: the file needs",
            ),
            (
                "foreign magic",
                b"PK\x03\x04 this is a zip file, not a payload file, padded to be long enough: \
                  ................................................................"
                    .to_vec(),
                |e| matches!(e, PayloadFileError::Foreign { .. }),
                "is not a loadline payload file: it does not start with the payload magic",
            ),
            (
                "short foreign file",
                b"hello".to_vec(),
                |e| matches!(e, PayloadFileError::Foreign { .. }),
                "is not a loadline payload file",
            ),
            (
                "unknown version",
                mutate(&|b| b[8..12].copy_from_slice(&99u32.to_le_bytes())),
                |e| {
                    matches!(
                        e,
                        PayloadFileError::UnsupportedVersion {
                            found: 99,
                            supported: 1,
                            ..
                        }
                    )
                },
                "has format version 99; this loadline reads version 1",
            ),
            (
                "flipped body byte",
                mutate(&|b| {
                    let last = b.len() - 1;
                    b[last] ^= 0x40;
                }),
                |e| matches!(e, PayloadFileError::HashMismatch { .. }),
                "content hash mismatch",
            ),
            (
                "flipped header byte",
                mutate(&|b| b[33] ^= 1),
                |e| matches!(e, PayloadFileError::HashMismatch { .. }),
                "content hash mismatch",
            ),
            (
                "trailing bytes",
                mutate(&|b| b.extend_from_slice(b"extra")),
                |e| matches!(e, PayloadFileError::Corrupt { .. }),
                "5 unexpected bytes after the records",
            ),
            (
                "length field beyond the end",
                mutate(&|b| {
                    b[header_len..header_len + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
                    rehash(b);
                }),
                |e| matches!(e, PayloadFileError::Corrupt { .. }),
                "record 0 claims 1099511627776 body bytes, only",
            ),
            (
                "record count beyond the section",
                mutate(&|b| {
                    b[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
                    rehash(b);
                }),
                |e| matches!(e, PayloadFileError::Corrupt { offset: 40, .. }),
                "cannot fit in",
            ),
            (
                "unknown key tag",
                mutate(&|b| {
                    b[header_len + 8] = 9;
                    rehash(b);
                }),
                |e| matches!(e, PayloadFileError::Corrupt { .. }),
                "record 0 has unknown key tag 9",
            ),
            (
                "header length field lies",
                mutate(&|b| {
                    b[16..24].copy_from_slice(&7u64.to_le_bytes());
                    rehash(b);
                }),
                |e| matches!(e, PayloadFileError::Corrupt { offset: 16, .. }),
                "header length field says 7 bytes",
            ),
            (
                "record section length overflows",
                mutate(&|b| {
                    b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
                    rehash(b);
                }),
                |e| matches!(e, PayloadFileError::Corrupt { offset: 24, .. }),
                "overflows",
            ),
        ];
        for (name, bytes, check, message) in cases {
            let err = open_bytes(dir.path(), "bad.bin", &bytes).expect_err(name);
            assert!(check(&err), "{name}: wrong error {err:?}");
            let text = err.to_string();
            assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
            assert!(
                text.contains("bad.bin"),
                "{name}: {text:?} does not name the file"
            );
        }
        let missing = PayloadFile::open(&dir.path().join("missing.bin")).expect_err("missing");
        assert!(
            matches!(missing, PayloadFileError::NotFound { .. }),
            "{missing:?}"
        );
        assert!(missing.to_string().contains("missing.bin not found"));
    }

    /// Guards issue 25: `file: /etc/shadow` printed the file's first bytes
    /// (`it starts with "root:*:2"`) into the log and a GitHub annotation.
    #[test]
    fn a_foreign_file_is_refused_without_quoting_its_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = b"root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n".repeat(4);
        let err = open_bytes(dir.path(), "shadow", &secret).expect_err("foreign");
        let text = err.to_string();
        assert!(text.contains("not a loadline payload file"), "{text}");
        for leaked in ["root", ":*:", "daemon"] {
            assert!(!text.contains(leaked), "{text:?} quotes the file: {leaked}");
        }
    }

    #[test]
    fn invalid_params_are_reported_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        let params = PayloadParams {
            batch: 0,
            ..sample_params()
        };
        let err = generate(&path, &params, 1).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("x.bin: batch size must be at least 1"),
            "{err}"
        );
        assert!(!path.exists());
    }

    fn size_strategy() -> impl Strategy<Value = SizeDist> {
        prop_oneof![
            (0u64..300).prop_map(SizeDist::Fixed),
            (0u64..200, 0u64..200).prop_map(|(a, b)| SizeDist::Uniform {
                min: a.min(b),
                max: a.max(b)
            }),
            (0u64..300, 0u64..100, 0u64..100, 100u64..400).prop_map(|(mean, stddev, min, max)| {
                SizeDist::Normal {
                    mean,
                    stddev,
                    min,
                    max,
                }
            }),
            prop::collection::vec((0u64..300, 1u32..10), 1..5).prop_map(SizeDist::Weighted),
        ]
    }

    fn key_style_strategy() -> impl Strategy<Value = KeyStyle> {
        prop_oneof![
            Just(KeyStyle::None),
            Just(KeyStyle::Single),
            Just(KeyStyle::Pair),
            Just(KeyStyle::Range),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The codec round trip: whatever is written reads back equal,
        /// header and records.
        #[test]
        fn codec_round_trip(
            size in size_strategy(),
            entropy in 0.0f64..=1.0,
            keys in key_style_strategy(),
            batch in 1usize..6,
            pool in 1usize..6,
            seed in any::<u64>(),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("p.bin");
            let params = PayloadParams { size, entropy, keys, batch, pool };
            let written = generate(&path, &params, seed).expect("generate");
            let file = PayloadFile::open(&path).expect("open");
            prop_assert_eq!(file.header(), &written);
            prop_assert_eq!(file.header().params(), params.clone());
            prop_assert_eq!(file.header().seed, seed);
            let pool = PayloadPool::generate(&params, &mut file_stream(seed)).expect("pool");
            let (fv, pv) = (file.view(), pool.view());
            prop_assert_eq!(fv.records(), pv.records());
        }
    }
}
