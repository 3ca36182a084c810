//! `loadline payload inspect`: a payload file described.

use std::fmt::Write as _;
use std::path::Path;

use super::super::entropy::{compressibility, entropy_warning};
use super::format::*;
use super::map::PayloadFile;

/// Opens `path` and describes it for `loadline payload inspect`: every
/// header field, the record count and body bytes, and the achieved
/// compressibility (with the entropy warning, if any).
///
/// # Errors
/// As [`PayloadFile::open`], or a compression failure.
pub(crate) fn inspect(path: &Path) -> Result<String, PayloadFileError> {
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
