//! The RESP2 wire format (the Redis serialization protocol, version 2):
//! commands encoded as arrays of bulk strings, replies parsed from a byte
//! buffer into [`Frame`]s.
//!
//! It owns framing only — no sockets, no commands' meanings. The parser is
//! incremental: [`parse`] answers `Ok(None)` until the buffer holds a whole
//! reply, so a connection can read in large chunks and parse many pipelined
//! replies from one read (what `redis-benchmark` does).
//! Reference: <https://redis.io/docs/latest/develop/reference/protocol-spec/>.

use std::io::Write as _;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// `+OK\r\n`: a status line.
    Simple(Vec<u8>),
    /// `-ERR …\r\n`: an error the server reported.
    Error(String),
    /// `:42\r\n`: an integer.
    Int(i64),
    /// `$3\r\nfoo\r\n`; `None` for the null bulk string `$-1\r\n`.
    Bulk(Option<Vec<u8>>),
    /// `*2\r\n…`; `None` for the null array `*-1\r\n`.
    Array(Option<Vec<Frame>>),
}

/// Bytes that are not a RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply at byte {at}: {what}")]
pub(crate) struct ProtocolError {
    /// Offset of the damage inside the buffer parsed.
    pub(crate) at: usize,
    /// What was wrong.
    pub(crate) what: &'static str,
}

/// Nesting deeper than this is refused (a server never sends it; a
/// corrupt stream must not overflow the stack).
const MAX_DEPTH: usize = 32;

/// Appends the command `args` (name first) to `out` as a RESP2 array of
/// bulk strings.
pub(crate) fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for a in args {
        bulk(out, a);
    }
}

/// Appends an array header for `n` arguments: commands whose arguments are
/// written one by one with [`bulk`] (an `XADD` with a record's fields).
pub(crate) fn array(out: &mut Vec<u8>, n: usize) {
    header(out, b'*', n);
}

/// Appends one bulk string argument.
pub(crate) fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    header(out, b'$', arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// Appends one bulk string argument made of `parts` back to back (a key
/// and its prefixes, without copying them together first).
pub(crate) fn bulk_parts(out: &mut Vec<u8>, parts: &[&[u8]]) {
    header(out, b'$', parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, tag: u8, n: usize) {
    out.push(tag);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{n}\r\n");
}

/// Parses one reply from the start of `buf`: `Ok(Some((frame, used)))`
/// when `buf` holds a whole reply of `used` bytes, `Ok(None)` when more
/// bytes are needed.
///
/// # Errors
///
/// [`ProtocolError`] when the bytes are not RESP2.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    let mut at = 0;
    Ok(frame(buf, &mut at, 0)?.map(|f| (f, at)))
}

/// The line starting at `*at` without its `\r\n`; advances past it.
fn line<'a>(buf: &'a [u8], at: &mut usize) -> Result<Option<&'a [u8]>, ProtocolError> {
    let rest = &buf[*at..];
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    if nl == 0 || rest[nl - 1] != b'\r' {
        return Err(ProtocolError {
            at: *at + nl,
            what: "a line must end with \\r\\n",
        });
    }
    *at += nl + 1;
    Ok(Some(&rest[..nl - 1]))
}

fn int(text: &[u8], at: usize) -> Result<i64, ProtocolError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(ProtocolError {
            at,
            what: "expected an integer",
        })
}

fn frame(buf: &[u8], at: &mut usize, depth: usize) -> Result<Option<Frame>, ProtocolError> {
    let start = *at;
    let Some(&tag) = buf.get(start) else {
        return Ok(None);
    };
    *at += 1;
    let Some(text) = line(buf, at)? else {
        return Ok(None);
    };
    Ok(Some(match tag {
        b'+' => Frame::Simple(text.to_vec()),
        b'-' => Frame::Error(String::from_utf8_lossy(text).into_owned()),
        b':' => Frame::Int(int(text, start + 1)?),
        b'$' => {
            let n = int(text, start + 1)?;
            if n < 0 {
                return Ok(Some(Frame::Bulk(None)));
            }
            let n = usize::try_from(n).map_err(|_| ProtocolError {
                at: start,
                what: "bulk length too large",
            })?;
            let end = *at + n;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ProtocolError {
                    at: end,
                    what: "a bulk string must end with \\r\\n",
                });
            }
            let body = buf[*at..end].to_vec();
            *at = end + 2;
            Frame::Bulk(Some(body))
        }
        b'*' => {
            let n = int(text, start + 1)?;
            if n < 0 {
                return Ok(Some(Frame::Array(None)));
            }
            if depth >= MAX_DEPTH {
                return Err(ProtocolError {
                    at: start,
                    what: "arrays nested too deep",
                });
            }
            // Never trust a length for an allocation: a corrupt header
            // must not reserve gigabytes.
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let Some(item) = frame(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                items.push(item);
            }
            Frame::Array(Some(items))
        }
        _ => {
            return Err(ProtocolError {
                at: start,
                what: "unknown reply type",
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes `f` as a server would.
    fn write_frame(out: &mut Vec<u8>, f: &Frame) {
        match f {
            Frame::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Error(e) => {
                out.push(b'-');
                out.extend_from_slice(e.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Frame::Int(i) => out.extend_from_slice(format!(":{i}\r\n").as_bytes()),
            Frame::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
            Frame::Bulk(Some(b)) => bulk(out, b),
            Frame::Array(None) => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(Some(items)) => {
                array(out, items.len());
                for i in items {
                    write_frame(out, i);
                }
            }
        }
    }

    fn line_text() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no line ends", |b| *b != b'\r' && *b != b'\n'),
            0..20,
        )
    }

    fn frames() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            line_text().prop_map(Frame::Simple),
            "[a-zA-Z ]{0,20}".prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Int),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))
                .prop_map(Frame::Bulk),
            Just(Frame::Array(None)),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            proptest::collection::vec(inner, 0..8).prop_map(|v| Frame::Array(Some(v)))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever a server writes parses back to the same frame, using
        /// exactly its bytes, and every strict prefix asks for more.
        #[test]
        fn frames_round_trip_and_prefixes_are_incomplete(f in frames(), extra in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut buf = Vec::new();
            write_frame(&mut buf, &f);
            let len = buf.len();
            for cut in 0..len {
                prop_assert_eq!(parse(&buf[..cut]), Ok(None), "prefix of {} bytes", cut);
            }
            buf.extend_from_slice(&extra);
            prop_assert_eq!(parse(&buf), Ok(Some((f, len))));
        }

        /// An encoded command is an array of bulk strings holding exactly
        /// the arguments, binary bytes included.
        #[test]
        fn commands_encode_as_arrays_of_bulk_strings(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6)) {
            let mut buf = Vec::new();
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            encode(&mut buf, &refs);
            let want = Frame::Array(Some(args.iter().cloned().map(|a| Frame::Bulk(Some(a))).collect()));
            prop_assert_eq!(parse(&buf), Ok(Some((want, buf.len()))));
        }

        /// Garbage never panics the parser.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }
    }

    #[test]
    fn malformed_replies_are_errors_with_their_offset() {
        let cases: [(&[u8], usize); 4] = [
            (b"?x\r\n", 0),
            (b":12a\r\n", 1),
            (b"+OK\n", 3),
            (b"$2\r\nabcd", 6),
        ];
        for (bytes, at) in cases {
            let err = parse(bytes).expect_err("malformed");
            assert_eq!(err.at, at, "{bytes:?}: {err}");
        }
    }

    #[test]
    fn pipelined_replies_parse_one_after_another() {
        let buf = b"+OK\r\n$3\r\nabc\r\n:7\r\n";
        let (a, n) = parse(buf).expect("ok").expect("whole");
        assert_eq!(a, Frame::Simple(b"OK".to_vec()));
        let (b, m) = parse(&buf[n..]).expect("ok").expect("whole");
        assert_eq!(b, Frame::Bulk(Some(b"abc".to_vec())));
        assert_eq!(parse(&buf[n + m..]), Ok(Some((Frame::Int(7), 4))));
    }
}
