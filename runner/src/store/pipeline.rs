//! Sessions that keep several requests in flight: the optional
//! [`Pipeline`] a [`Session`](super::Session) may offer, its
//! [`Request`]s and their [`Outcome`]s.
//!
//! An out-of-process store (a server behind a socket, a plug-in behind a
//! pipe) is only fast with several requests outstanding per connection.
//! The engine asks a session for its pipeline once per worker, when the
//! actor's `in_flight` is above 1, and then splits each operation in two,
//! like fio's `queue`/`getevents` or io_uring's submission and completion
//! queues: [`Pipeline::submit`] hands a request over with a tag the
//! caller chose, [`Pipeline::complete`] hands back the tag and outcome of
//! one finished request. The worker keeps up to `in_flight` requests
//! submitted and times each from its intended start to its completion;
//! the store still never reads the clock.
//!
//! It owns the vocabulary only; the in-process kinds offer no pipeline
//! (their calls finish before they return) and keep the synchronous
//! [`Session`](super::Session) path unchanged. A kind that offers one sets
//! [`Capabilities::max_in_flight`](super::Capabilities::max_in_flight), so
//! validation refuses `in_flight` on the others before anything runs.

use std::ops::Range;

use super::api::{Offset, Record, StoreError};

/// One operation handed to [`Pipeline::submit`]: the data-path calls that
/// do not depend on an earlier reply. Borrowed data is copied (encoded)
/// by `submit`, so the caller may reuse its buffers at once.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// [`Session::append`](super::Session::append): a batch to a stream.
    Append {
        /// The stream.
        stream: u64,
        /// The records, appended atomically.
        batch: &'a [Record<'a>],
    },
    /// [`Session::put`](super::Session::put).
    Put {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// [`Session::put_batch`](super::Session::put_batch): key `i` is
    /// `keys[key_ranges[i]]`, its value `values[i].body`.
    PutBatch {
        /// The keys, back to back.
        keys: &'a [u8],
        /// Each key's range in `keys`.
        key_ranges: &'a [Range<usize>],
        /// The values.
        values: &'a [Record<'a>],
    },
    /// [`Session::get`](super::Session::get).
    Get {
        /// The key.
        key: &'a [u8],
    },
    /// [`Session::delete`](super::Session::delete).
    Delete {
        /// The key.
        key: &'a [u8],
    },
    /// [`Session::delete_batch`](super::Session::delete_batch).
    DeleteBatch {
        /// The keys, back to back.
        keys: &'a [u8],
        /// Each key's range in `keys`.
        key_ranges: &'a [Range<usize>],
    },
}

/// What a completed [`Request`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An append: the offset of the batch's first record.
    Appended(Offset),
    /// A put, put batch, delete or delete batch was acknowledged.
    Done,
    /// A get: the value's length in bytes, `None` when the key is absent.
    Got(Option<usize>),
}

/// A session's split submit/complete interface (see the module docs).
///
/// Contract:
/// - [`submit`](Self::submit) may buffer the request; it must reach the
///   store no later than the next [`complete`](Self::complete) that
///   waits, so a caller waiting for a completion never waits for a
///   request still in a buffer.
/// - Every submitted request completes exactly once, with the tag it was
///   submitted with. Completions may come in any order.
/// - A request's outcome is what the synchronous [`Session`](super::Session)
///   call would have returned; an acknowledged write is durable as the
///   target's sync policy promises, as there.
/// - After an error the session may be unusable; the engine stops the
///   worker at the first one.
pub trait Pipeline {
    /// Hands `request` over, tagged `tag` (any value; the engine uses a
    /// slot index). Returns once its bytes are copied.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the request cannot be sent (the connection or
    /// the plug-in is gone) or is invalid for this store.
    fn submit(&mut self, tag: u64, request: Request<'_>) -> Result<(), StoreError>;

    /// The tag and outcome of one finished request. With `wait` it blocks
    /// until one has finished (flushing buffered requests first); without,
    /// it returns `Ok(None)` at once when none has finished yet. Never
    /// called with nothing in flight.
    ///
    /// # Errors
    ///
    /// The store's error for a request (a server error reply, an
    /// `unsupported` answer), or a broken connection.
    fn complete(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError>;
}
