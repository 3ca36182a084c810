//! Recorded payload files: `loadline payload generate` writes them,
//! scenarios reference them with `file:`, and they are read through a memory
//! map without copying a body.
//!
//! Owns the on-disk format (`format`), its writer (`write`: [`generate`],
//! [`write_pool`]), its checked reader (`decode`, and `map`:
//! [`PayloadFile::open`]) and [`inspect`] (`inspect`). It does not own
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

mod decode;
mod format;
mod inspect;
mod map;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use format::PayloadFileError;
pub(crate) use inspect::inspect;
pub(crate) use map::PayloadFile;
pub(crate) use write::generate;
