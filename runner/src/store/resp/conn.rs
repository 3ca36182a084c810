//! One TCP connection to a Redis-protocol server: commands are buffered
//! and written together ([`Conn::flush`]), replies read in large chunks and
//! parsed one by one ([`Conn::reply`]) — pipelining is the caller writing
//! several commands before reading their replies.
//!
//! It owns the socket and its buffers and turns failures into
//! [`StoreError`]s naming the server's address; it does not know what any
//! command means.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;

use super::codec::{self, Frame};
use crate::store::api::StoreError;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A connection with its write and read buffers.
pub(crate) struct Conn {
    socket: TcpStream,
    address: String,
    /// Commands encoded and not yet written.
    out: Vec<u8>,
    /// Bytes read and not yet parsed are `input[start..end]`; the
    /// vector's length is its usable size, so a read never zeroes it
    /// first.
    input: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    /// Connects to `address` (`host:port`) and selects database `db`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the server cannot be reached;
    /// [`StoreError::Engine`] when it refuses `SELECT`.
    pub(crate) fn connect(address: &str, db: u32) -> Result<Conn, StoreError> {
        let socket = TcpStream::connect(address).map_err(|e| io("connect", address, e))?;
        socket
            .set_nodelay(true)
            .map_err(|e| io("set TCP_NODELAY", address, e))?;
        let mut conn = Conn {
            socket,
            address: address.to_owned(),
            out: Vec::with_capacity(READ_CHUNK),
            input: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        };
        if db != 0 {
            conn.call(&[b"SELECT", db.to_string().as_bytes()], "select")?;
        }
        Ok(conn)
    }

    /// Buffers one command (name first); nothing is sent before
    /// [`flush`](Self::flush).
    pub(crate) fn command(&mut self, args: &[&[u8]]) {
        codec::encode(&mut self.out, args);
    }

    /// The write buffer, for commands written argument by argument with
    /// [`codec::array`] and [`codec::bulk`].
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Writes every buffered command.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the socket fails.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.socket.write_all(&self.out);
        self.out.clear();
        r.map_err(|e| io("write", &self.address, e))
    }

    /// The next reply: one already read, else (after sending what is
    /// buffered) the next from the socket. A server error is returned as
    /// [`Frame::Error`], for the caller to judge.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the socket fails or closes;
    /// [`StoreError::Engine`] when the bytes are not RESP2.
    pub(crate) fn reply(&mut self) -> Result<Frame, StoreError> {
        // A reply already read is returned without sending what is
        // buffered: pipelined commands then go out together, once the
        // replies read so far are used up (as `redis-benchmark -P`
        // writes its pipeline in one go).
        if let Some(frame) = self.parsed()? {
            return Ok(frame);
        }
        self.flush()?;
        loop {
            self.fill()?;
            if let Some(frame) = self.parsed()? {
                return Ok(frame);
            }
        }
    }

    /// The next reply if it has arrived, without waiting: one already
    /// read, else (after sending what is buffered) what the socket holds,
    /// read without blocking; `None` when the reply is not complete yet.
    ///
    /// # Errors
    ///
    /// As [`reply`](Self::reply).
    pub(crate) fn try_reply(&mut self) -> Result<Option<Frame>, StoreError> {
        if let Some(frame) = self.parsed()? {
            return Ok(Some(frame));
        }
        self.flush()?;
        self.socket
            .set_nonblocking(true)
            .map_err(|e| io("set O_NONBLOCK", &self.address, e))?;
        let filled = self.fill();
        self.socket
            .set_nonblocking(false)
            .map_err(|e| io("clear O_NONBLOCK", &self.address, e))?;
        match filled {
            Ok(()) => self.parsed(),
            Err(StoreError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::WouldBlock =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Bytes buffered and not yet sent.
    pub(crate) fn buffered(&self) -> usize {
        self.out.len()
    }

    /// The server's address, for messages.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The next complete reply among the bytes already read.
    fn parsed(&mut self) -> Result<Option<Frame>, StoreError> {
        match codec::parse(&self.input[self.start..self.end]) {
            Ok(Some((frame, used))) => {
                self.start += used;
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                }
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(StoreError::Engine {
                op: "read reply",
                detail: format!("{}: {e}", self.address),
            }),
        }
    }

    /// The next reply, with a server error turned into
    /// [`StoreError::Engine`] naming `op`.
    ///
    /// # Errors
    ///
    /// As [`reply`](Self::reply), and the server's error.
    pub(crate) fn ok_reply(&mut self, op: &'static str) -> Result<Frame, StoreError> {
        match self.reply()? {
            Frame::Error(e) => Err(StoreError::Engine {
                op,
                detail: format!("{}: {e}", self.address),
            }),
            f => Ok(f),
        }
    }

    /// Sends one command and returns its reply (server errors as errors).
    ///
    /// # Errors
    ///
    /// As [`ok_reply`](Self::ok_reply).
    pub(crate) fn call(&mut self, args: &[&[u8]], op: &'static str) -> Result<Frame, StoreError> {
        self.command(args);
        self.ok_reply(op)
    }

    fn fill(&mut self) -> Result<(), StoreError> {
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.input.len() - self.end < READ_CHUNK / 2 {
            // A reply larger than what is left: grow (zeroing only the
            // new part, once).
            let len = self.input.len();
            self.input.resize(len + READ_CHUNK.max(len), 0);
        }
        let n = loop {
            match self.socket.read(&mut self.input[self.end..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        match n {
            Ok(0) => Err(io(
                "read",
                &self.address,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ),
            )),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(io("read", &self.address, e)),
        }
    }
}

/// An I/O error on the connection to `address`.
pub(crate) fn io(op: &'static str, address: &str, source: std::io::Error) -> StoreError {
    StoreError::io(op, Path::new(address), source)
}

/// The error for a reply of an unexpected shape.
pub(crate) fn unexpected(op: &'static str, frame: &Frame) -> StoreError {
    StoreError::Engine {
        op,
        detail: format!("unexpected reply {frame:?}"),
    }
}
