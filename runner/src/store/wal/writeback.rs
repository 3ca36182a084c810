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
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts the thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let (tx, rx) = channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("wal-writeback".to_owned())
            .spawn(move || {
                for (file, pos, len) in rx {
                    // A hint: its failure changes nothing (see module docs).
                    let _ = file.start_writeback(pos, len);
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Asks for writeback of bytes `pos..pos + len` of `file`.
    pub(crate) fn request(&self, file: &Arc<dyn IoFile>, pos: u64, len: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send((Arc::clone(file), pos, len));
        }
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
