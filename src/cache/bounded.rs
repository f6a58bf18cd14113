//! A bound on what a Redis server can make us read: the fleet cache's server is another
//! machine, and a hostile or broken one can answer any command at any length (`STRLEN` or
//! `GETRANGE` bound nothing: the answer is the server's to make). The Redis client buffers a
//! whole reply before it hands it over, so the bound sits under it, on the bytes themselves.
//!
//! [`Bounded`] wraps the connection's stream (TCP, or TLS over TCP: it sees the plain text) and
//! follows the RESP framing as the bytes go by: every value starts with a type byte and a line
//! (`$<length>`, `*<count>`, `+OK`...), and only bulk values (`$`, `=`, `!`) carry a payload of
//! the length their line declares. A bulk value declared longer than [`MAX_BULK`], an aggregate
//! of more than [`MAX_ITEMS`] items, a header line longer than [`MAX_LINE`], or more than
//! [`MAX_TOTAL`] bytes in all fail the read before anything is buffered: the client then drops
//! the connection, and the fleet cache is off for the rest of the process.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest bulk value we accept: a sealed entry is a few KiB.
pub(crate) const MAX_BULK: u64 = 64 << 10;
/// The most items an aggregate may declare (we never ask for more than a handful).
pub(crate) const MAX_ITEMS: u64 = 1024;
/// The longest header line (a simple string, an error, a number).
pub(crate) const MAX_LINE: usize = 4096;
/// The most bytes one connection may read: a process asks a few dozen small questions.
pub(crate) const MAX_TOTAL: u64 = 4 << 20;

/// Where the scanner is in the reply stream.
#[derive(Debug)]
enum State {
    /// At the start of a value: the next byte is its type.
    Type,
    /// In the header line of a value of this type: the bytes so far.
    Line { kind: u8, text: Vec<u8> },
    /// In a bulk payload: this many bytes (the payload and its CRLF) still to pass.
    Payload(u64),
}

/// Follows RESP framing over the bytes read, failing on what is over the bounds.
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    total: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Type,
            total: 0,
        }
    }
}

fn refused(why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the server's reply was refused: {why}"),
    )
}

impl Scanner {
    /// Takes in `bytes`, the next ones read; an error when they break a bound.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.total += bytes.len() as u64;
        if self.total > MAX_TOTAL {
            return Err(refused(format!(
                "over {} MiB read on one connection",
                MAX_TOTAL >> 20
            )));
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            match &mut self.state {
                State::Type => {
                    self.state = State::Line {
                        kind: rest[0],
                        text: Vec::new(),
                    };
                    rest = &rest[1..];
                }
                State::Line { kind, text } => {
                    let Some(end) = memchr::memchr(b'\n', rest) else {
                        text.extend_from_slice(rest);
                        if text.len() > MAX_LINE {
                            return Err(refused(format!("a line over {MAX_LINE} bytes")));
                        }
                        return Ok(());
                    };
                    text.extend_from_slice(&rest[..end]);
                    rest = &rest[end + 1..];
                    if text.len() > MAX_LINE {
                        return Err(refused(format!("a line over {MAX_LINE} bytes")));
                    }
                    let line = text.strip_suffix(b"\r").unwrap_or(text);
                    self.state = header(*kind, line)?;
                }
                State::Payload(left) => {
                    let take = (*left).min(rest.len() as u64);
                    *left -= take;
                    // `take` is at most rest.len(), which fits in usize.
                    rest = &rest[take as usize..];
                    if *left == 0 {
                        self.state = State::Type;
                    }
                }
            }
        }
        Ok(())
    }
}

/// What follows a header line of type `kind` saying `line`.
fn header(kind: u8, line: &[u8]) -> io::Result<State> {
    let number = || -> io::Result<i64> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| {
                refused(format!(
                    "a {:?} header that is not a number",
                    char::from(kind)
                ))
            })
    };
    match kind {
        // Bulk string, verbatim string, bulk error: a payload of the declared length.
        b'$' | b'=' | b'!' => match number()? {
            n if n < 0 => Ok(State::Type),
            n if n as u64 > MAX_BULK => Err(refused(format!(
                "a value of {n} bytes (at most {} KiB are read)",
                MAX_BULK >> 10
            ))),
            n => Ok(State::Payload(n as u64 + 2)),
        },
        // Array, map, set, push, attribute: their items follow, each a value of its own.
        b'*' | b'%' | b'~' | b'>' | b'|' => match number()? {
            n if n > MAX_ITEMS as i64 => Err(refused(format!(
                "an aggregate of {n} items (at most {MAX_ITEMS})"
            ))),
            _ => Ok(State::Type),
        },
        // Simple string, error, integer, null, boolean, double, big number: the line is all.
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(State::Type),
        other => Err(refused(format!(
            "a value of unknown type {:?}",
            char::from(other)
        ))),
    }
}

/// A stream whose reads are checked by a [`Scanner`].
pub(crate) struct Bounded<S> {
    inner: S,
    scanner: Scanner,
}

impl<S> Bounded<S> {
    pub(crate) fn new(inner: S) -> Bounded<S> {
        Bounded {
            inner,
            scanner: Scanner::default(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                Poll::Ready(this.scanner.feed(fresh))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> io::Result<()> {
        let mut s = Scanner::default();
        chunks.iter().try_for_each(|c| s.feed(c))
    }

    #[test]
    fn replies_within_the_bounds_pass_in_any_chunks() {
        let replies: &[u8] =
            b"+OK\r\n$5\r\nhello\r\n$-1\r\n_\r\n*2\r\n$1\r\na\r\n:1\r\n%1\r\n+k\r\n#t\r\n-ERR no\r\n";
        assert!(scan(&[replies]).is_ok());
        // A byte at a time: the framing is followed across reads.
        let bytes: Vec<&[u8]> = replies.chunks(1).collect();
        assert!(scan(&bytes).is_ok());
        let value = vec![b'x'; MAX_BULK as usize];
        let mut reply = format!("${}\r\n", value.len()).into_bytes();
        reply.extend_from_slice(&value);
        reply.extend_from_slice(b"\r\n+OK\r\n");
        assert!(scan(&[&reply]).is_ok());
    }

    #[test]
    fn a_huge_declared_value_is_refused_before_it_is_read() {
        let e = scan(&[b"$4294967296\r\n"]).unwrap_err();
        assert!(e.to_string().contains("4294967296 bytes"), "{e}");
        assert!(scan(&[format!("${}\r\n", MAX_BULK + 1).as_bytes()]).is_err());
        assert!(scan(&[b"=99999999\r\n"]).is_err());
        assert!(scan(&[b"*100000000\r\n"]).is_err());
        // Inside an aggregate too.
        assert!(scan(&[b"*1\r\n", b"$70000\r\n"]).is_err());
    }

    #[test]
    fn endless_lines_garbage_and_floods_are_refused() {
        let long = vec![b'a'; MAX_LINE + 10];
        assert!(scan(&[b"+", &long]).is_err());
        assert!(scan(&[b"?what\r\n"]).is_err());
        assert!(scan(&[b"$abc\r\n"]).is_err());
        let one = b"+OK\r\n";
        let mut s = Scanner::default();
        let mut failed = false;
        for _ in 0..(MAX_TOTAL / one.len() as u64 + 2) {
            if s.feed(one).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "a flood of small replies was read without a bound");
    }
}
