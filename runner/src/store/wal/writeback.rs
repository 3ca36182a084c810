//! Background writeback under `sync: never`: a thread that asks the kernel
//! to start writing back each stretch of the active segment the writer
//! hands it, so the `fdatasync` that seals a segment at a roll waits for the
//! last stretch only, not for the whole segment (RocksDB's `bytes_per_sync`
//! does the same, inline). The append path only sends a message; starting
//! writeback (building and queueing the I/O) happens on this thread.
//!
//! Durability is unchanged: nothing here is a sync, and any write-back
//! failure is still reported by the seal's `fdatasync` (see
//! `io::start_writeback`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use crate::store::fs::IoFile;

/// Bytes written between two writeback requests.
pub(crate) const WRITEBACK_BYTES: u64 = 1 << 20;

type Request = (Arc<dyn IoFile>, u64, u64);

/// The writeback thread of one store.
#[derive(Debug)]
pub(crate) struct Writeback {
    tx: Option<Sender<Request>>,
    /// Requests sent and not yet handed to the kernel.
    pending: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts the thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let (tx, rx) = channel::<Request>();
        let pending = Arc::new(AtomicU64::new(0));
        let done = Arc::clone(&pending);
        let thread = std::thread::Builder::new()
            .name("wal-writeback".to_owned())
            .spawn(move || {
                for (file, pos, len) in rx {
                    // A hint: its failure changes nothing (see module docs).
                    let _ = file.start_writeback(pos, len);
                    done.fetch_sub(1, Ordering::AcqRel);
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            pending,
            thread: Some(thread),
        })
    }

    /// Asks for writeback of bytes `pos..pos + len` of `file`.
    pub(crate) fn request(&self, file: &Arc<dyn IoFile>, pos: u64, len: u64) {
        if let Some(tx) = &self.tx {
            self.pending.fetch_add(1, Ordering::AcqRel);
            if tx.send((Arc::clone(file), pos, len)).is_err() {
                self.pending.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Requests sent and not yet handed to the kernel (the kernel's own
    /// writeback of them is not tracked: it needs no thread of ours).
    pub(crate) fn in_flight(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fs::{Io, OpenMode, SimFs};

    #[test]
    fn requests_are_in_flight_until_the_thread_has_handed_them_over() {
        let fs = SimFs::new();
        let dir = std::path::PathBuf::from("/log");
        fs.create_dir_all(&dir).expect("mkdir");
        let file = fs.open(&dir.join("a"), OpenMode::Truncate).expect("open");
        let wb = Writeback::start().expect("start");
        assert_eq!(wb.in_flight(), 0);
        for i in 0..100 {
            wb.request(&file, i * WRITEBACK_BYTES, WRITEBACK_BYTES);
        }
        assert!(wb.in_flight() <= 100);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while wb.in_flight() > 0 {
            assert!(std::time::Instant::now() < deadline, "{}", wb.in_flight());
            std::thread::yield_now();
        }
    }
}
