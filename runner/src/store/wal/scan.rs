//! Recovery's scan of segment files: each segment opened and mapped
//! ([`Opened`]), its valid frames read in order up to the first that is
//! not ([`Scan`], [`Stop`]), in chunks, segments in parallel.

use std::sync::Arc;

use super::format::{FRAME_HEADER_LEN, FrameFault, SEGMENT_HEADER_LEN, check_frame, read_u32};
use crate::store::fs::{IoFile, Mapped, read_exact_at};

/// A segment opened and mapped for recovery, its header not yet judged.
pub(super) struct Opened {
    pub(super) id: u64,
    pub(super) path: std::path::PathBuf,
    pub(super) file: Arc<dyn IoFile>,
    pub(super) file_len: u64,
    pub(super) map: Mapped,
    pub(super) header: Result<super::format::SegmentHeader, String>,
    pub(super) last: bool,
}

/// The frames of one segment up to the first one that is not valid.
pub(super) struct Scan {
    /// Position and header of each valid batch frame, in order.
    pub(super) frames: Vec<(usize, super::format::FrameHeader)>,
    /// Where the valid frames end.
    pub(super) end: usize,
    /// What lies at `end`.
    pub(super) stop: Stop,
}

/// What a segment's scan stopped at.
#[derive(Debug)]
pub(super) enum Stop {
    /// The end of the file, or only zeros after the frames.
    End,
    /// The segment's seal frame.
    Seal(super::format::FrameHeader),
    /// A valid frame of this earlier segment.
    Stale(u64),
    /// Not a valid frame: why.
    Fault(String),
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            frames: Vec::new(),
            end: SEGMENT_HEADER_LEN,
            stop: Stop::End,
        }
    }
}

/// Bytes read per `pread` while scanning: small enough to stay in the CPU
/// caches between the copy and the CRC, large enough to amortise the call.
const SCAN_CHUNK: usize = 1 << 20;

/// A window of a file's bytes read with `pread` into a reused buffer.
struct Window<'a> {
    file: &'a dyn IoFile,
    file_len: u64,
    buf: &'a mut Vec<u8>,
    /// File position of `buf[0]`.
    start: u64,
}

impl Window<'_> {
    /// Bytes `pos..pos + n` (the caller keeps them inside the file),
    /// reading ahead [`SCAN_CHUNK`] when they are not in the window.
    fn bytes(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]> {
        let held = self.start..self.start + self.buf.len() as u64;
        if !(held.contains(&pos) && pos + n as u64 <= held.end) {
            let len = usize::try_from(self.file_len - pos)
                .unwrap_or(usize::MAX)
                .min(n.max(SCAN_CHUNK));
            self.buf.resize(len, 0);
            read_exact_at(self.file, self.buf, pos)?;
            self.start = pos;
        }
        let at = usize::try_from(pos - self.start).unwrap_or(usize::MAX);
        Ok(&self.buf[at..at + n])
    }
}

/// Checks the frames of segment `o` (no I/O besides reading it); a frame
/// of an earlier segment (recycled file) ends it cleanly.
///
/// Frames are read with `pread`, chunk by chunk, into `buf` — as `cat`
/// reads a file — rather than through the map: on this kind of VM, faulting
/// a map's pages in (and unmapping them at close) cost more than the
/// CRCs, and made a warm reopen slower than reading the files twice. The
/// map (whose pages stay untouched, so cost nothing) serves the rare paths
/// — the end of the valid frames, damage — which look at the whole rest.
pub(super) fn scan_segment(o: &Opened, buf: &mut Vec<u8>) -> Scan {
    let mut scan = Scan::default();
    let mut win = Window {
        file: o.file.as_ref(),
        file_len: o.file_len,
        buf,
        start: 0,
    };
    win.buf.clear();
    // Fast path: a whole frame that fits in the file, checked exactly as
    // `check_frame` on the rest of the file would (it reads only
    // `..length` of it when the length fits).
    loop {
        let pos = scan.end as u64;
        let rest = o.file_len.saturating_sub(pos);
        if rest == 0 {
            return scan;
        }
        if rest < FRAME_HEADER_LEN as u64 {
            break;
        }
        let Ok(head) = win.bytes(pos, FRAME_HEADER_LEN) else {
            break;
        };
        let len = u64::from(read_u32(head, 0));
        if len < FRAME_HEADER_LEN as u64 || len > rest {
            break;
        }
        let Ok(frame) = win.bytes(pos, len as usize) else {
            break;
        };
        match check_frame(frame, o.id) {
            Ok(h) if h.is_seal() => {
                scan.stop = Stop::Seal(h);
                return scan;
            }
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((scan.end - h.len as usize, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stop = Stop::Stale(old);
                return scan;
            }
            Err(_) => break,
        }
    }
    // Whatever stopped the fast path, judged on the whole rest.
    let map: &[u8] = &o.map;
    loop {
        let pos = scan.end;
        let rest = map.get(pos..).unwrap_or_default();
        match check_frame(rest, o.id) {
            Ok(h) if h.is_seal() => {
                scan.stop = Stop::Seal(h);
                return scan;
            }
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((pos, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stop = Stop::Stale(old);
                return scan;
            }
            Err(FrameFault::Zero) if rest.iter().all(|&x| x == 0) => return scan,
            Err(FrameFault::Zero) => {
                scan.stop = Stop::Fault("zeros followed by data".to_owned());
                return scan;
            }
            Err(FrameFault::Incomplete(d) | FrameFault::Bad(d)) => {
                scan.stop = Stop::Fault(d);
                return scan;
            }
        }
    }
}

/// Scans every segment whose header decoded, spread over the machine's
/// cores; results come back in segment order.
pub(super) fn scan_all(opened: &[Opened]) -> Vec<Scan> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(opened.len().max(1));
    let scan_part = |part: &[Opened]| {
        // One read buffer per thread, reused for its segments.
        let mut buf = Vec::new();
        part.iter()
            .map(|o| {
                if o.header.is_ok() {
                    scan_segment(o, &mut buf)
                } else {
                    Scan::default()
                }
            })
            .collect::<Vec<_>>()
    };
    if threads <= 1 {
        return scan_part(opened);
    }
    let chunk = opened.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = opened
            .chunks(chunk)
            .map(|part| (part, scope.spawn(move || scan_part(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, h)| match h.join() {
                Ok(scans) => scans,
                // A scan thread that could not finish (it cannot panic by
                // design): scan its part here, keeping the results aligned.
                Err(_) => scan_part(part),
            })
            .collect()
    })
}
