//! One client connection: its buffers, where it is in the request cycle, and
//! [`Conn::serve`], which moves it forward until it would block.
//!
//! A connection is owned by exactly one thread at a time: a worker that was
//! woken for it, the timer that expires it, or the overflow queue. So nothing
//! in here locks.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, Method, StatusCode};

use super::buf::{ReadBuf, INITIAL_READ_BUFFER};
use super::{Scratch, Shared};
use crate::codec::{
    self, encode_chunk, encode_head, encode_head_dated, encode_last_chunk, find_head_end,
    framing_for, BodyFraming, ChunkedDecoder, ChunkedLimits, EncodeContext, Framing, ParseError,
    RequestHead, Status, TargetForm, Version,
};
use crate::request::BodyBytes;
use crate::response::Body;
use crate::{Request, Response};

/// Responses are batched into one write until the buffer holds this much.
const WRITE_BATCH: usize = 64 * 1024;
/// In-memory bodies up to this size are copied into the write buffer.
const COPY_BODY_MAX: usize = 16 * 1024;
/// Bytes read from a streamed body per step.
const STREAM_CHUNK: usize = 16 * 1024;
/// An incomplete head up to this long is parsed again on every read (one
/// parse of 4 KiB costs about as much as the read that brought a byte).
const EAGER_PARSE: usize = 4 * 1024;
/// Most bytes handed to one `sendfile` call.
const SENDFILE_CHUNK: u64 = 1024 * 1024;

/// A response body not yet fully written.
enum OutBody {
    None,
    Bytes(Bytes, usize),
    Stream {
        reader: Box<dyn Read + Send>,
        chunked: bool,
        remaining: Option<u64>,
    },
    File {
        file: std::fs::File,
        offset: u64,
        remaining: u64,
    },
}

/// A request body being received.
#[derive(Debug)]
enum BodyProgress {
    /// Waiting for the rest of a Content-Length body.
    Length,
    /// Decoding chunks; raw bytes up to `raw` (relative to `start`) are done.
    Chunked {
        decoder: ChunkedDecoder,
        raw: usize,
        out: Vec<u8>,
    },
}

/// What the owner must do with the connection after [`Conn::serve`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Wait for the next readiness event, then call `serve` again.
    Park,
    /// All handler slots are busy: put it on the overflow queue.
    Queue,
    /// Close it.
    Close,
}

/// One result of looking at the read buffer.
enum Step {
    /// More bytes are needed.
    NeedRead,
    /// A response was produced.
    Responded,
    /// The request is complete but no handler slot is free.
    Queue,
}

/// A client connection.
pub(crate) struct Conn {
    /// Shared only with a request deadline's watchdog (see `watchdog`).
    pub(crate) stream: Arc<TcpStream>,
    pub(crate) token: u64,
    peer: SocketAddr,
    rbuf: ReadBuf,
    wbuf: Vec<u8>,
    wpos: usize,
    out: OutBody,
    body: Option<BodyProgress>,
    /// Where `find_head_end` may resume (relative to `rbuf.start`).
    scanned: usize,
    /// When the current request head started to arrive.
    head_start: Instant,
    /// When this connection must be expired (ms, server clock).
    pub(crate) deadline: u64,
    requests: usize,
    close_after_write: bool,
    continue_sent: bool,
    /// The last read returned less than asked: the socket is drained.
    drained: bool,
    /// The peer closed or reset: read on to the end of the stream, as the
    /// edge-triggered registration will not report it again.
    pub(crate) peer_hup: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("buffered", &self.rbuf.len())
            .field("pending_write", &(self.wbuf.len() - self.wpos))
            .field("reading_body", &self.body.is_some())
            .field("requests", &self.requests)
            .finish()
    }
}

impl Conn {
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        token: u64,
        now: u64,
        at: Instant,
    ) -> Conn {
        Conn {
            stream: Arc::new(stream),
            token,
            peer,
            rbuf: ReadBuf::default(),
            wbuf: Vec::new(),
            wpos: 0,
            out: OutBody::None,
            body: None,
            scanned: 0,
            head_start: at,
            deadline: now,
            requests: 0,
            close_after_write: false,
            continue_sent: false,
            drained: false,
            peer_hup: false,
        }
    }

    /// Is the connection between requests (nothing in flight that a drain
    /// should wait for)?
    pub(crate) fn is_idle(&self) -> bool {
        self.body.is_none() && self.wpos >= self.wbuf.len() && matches!(self.out, OutBody::None)
    }

    /// Called when the timer finds the deadline passed: a client that was
    /// sending a request gets 408 (best effort), then the caller closes.
    pub(crate) fn expire(&mut self, shared: &Shared) {
        let sending = self.body.is_some() || !self.rbuf.is_empty();
        if sending && self.is_idle_for_write() {
            tracing::info!(peer = %self.peer, "request timeout, answering 408");
            self.wbuf.clear();
            self.wpos = 0;
            error_response(
                &mut self.wbuf,
                StatusCode::REQUEST_TIMEOUT,
                "request timeout",
                shared,
            );
            let _ = (&*self.stream).write(&self.wbuf);
        } else if !self.is_idle_for_write() {
            tracing::info!(peer = %self.peer, "write timeout: the client stopped reading; closing");
        } else {
            tracing::trace!(peer = %self.peer, "idle connection timed out");
        }
    }

    fn is_idle_for_write(&self) -> bool {
        self.wpos >= self.wbuf.len() && matches!(self.out, OutBody::None)
    }

    /// Moves the connection forward until it would block or must close.
    pub(crate) fn serve(&mut self, shared: &Shared, scratch: &mut Scratch) -> Outcome {
        self.drained = false;
        if !self.rbuf.has_capacity() {
            std::mem::swap(&mut self.rbuf.buf, &mut scratch.rbuf);
        }
        if self.wbuf.capacity() == 0 {
            std::mem::swap(&mut self.wbuf, &mut scratch.wbuf);
        }
        let outcome = self.run(shared, scratch);
        // Give idle buffers back to the worker so idle connections hold none.
        if self.rbuf.is_empty() && self.body.is_none() {
            self.rbuf.start = 0;
            self.rbuf.end = 0;
            if scratch.rbuf.capacity() == 0 {
                std::mem::swap(&mut self.rbuf.buf, &mut scratch.rbuf);
            } else {
                self.rbuf.buf = Vec::new();
            }
        }
        if self.wpos >= self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            if scratch.wbuf.capacity() == 0 {
                std::mem::swap(&mut self.wbuf, &mut scratch.wbuf);
            } else if self.wbuf.capacity() > 4 * WRITE_BATCH {
                self.wbuf = Vec::new();
            }
        }
        if outcome == Outcome::Park {
            self.deadline = self.next_deadline(shared);
        }
        outcome
    }

    fn run(&mut self, shared: &Shared, scratch: &mut Scratch) -> Outcome {
        loop {
            match self.flush() {
                Ok(true) => {}
                Ok(false) => return Outcome::Park,
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "write failed");
                    return Outcome::Close;
                }
            }
            if self.close_after_write {
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
                return Outcome::Close;
            }
            let mut progressed = false;
            while self.wbuf.len() < WRITE_BATCH && matches!(self.out, OutBody::None) {
                match self.next_request(shared, scratch) {
                    Step::Responded => progressed = true,
                    Step::NeedRead => break,
                    Step::Queue if progressed => break,
                    Step::Queue => return Outcome::Queue,
                }
                if self.close_after_write {
                    break;
                }
            }
            if progressed || self.wpos < self.wbuf.len() {
                continue;
            }
            if self.drained && !self.peer_hup {
                return Outcome::Park;
            }
            match self.read(shared) {
                Ok(0) => return Outcome::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Outcome::Park,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.get_ref().is_some_and(|r| r.is::<BufferFull>()) => {
                    let e = if self.body.is_some() {
                        ParseError::BodyTooLarge
                    } else {
                        ParseError::HeadersTooLarge
                    };
                    self.fail(e, shared);
                }
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "read failed");
                    return Outcome::Close;
                }
            }
        }
    }

    /// Reads once into the buffer.
    fn read(&mut self, shared: &Shared) -> io::Result<usize> {
        let config = &shared.config;
        let cap = config
            .max_head_size
            .saturating_add(
                usize::try_from(config.max_body_size)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(2),
            )
            .saturating_add(64 * 1024);
        let was_empty = self.rbuf.is_empty() && self.body.is_none();
        let spare = self.rbuf.spare(INITIAL_READ_BUFFER / 2, cap);
        if spare.is_empty() {
            // The buffer is at its cap and the parser still wants more. The
            // limits on the head and body come first, so this is a safety
            // net: answered as a request over its limit.
            return Err(io::Error::other(BufferFull));
        }
        let asked = spare.len();
        let n = (&*self.stream).read(spare)?;
        self.rbuf.filled(n);
        self.drained = n < asked;
        if was_empty && n > 0 {
            self.head_start = Instant::now();
        }
        Ok(n)
    }

    /// Writes pending output; `Ok(true)` once everything is written.
    #[inline]
    fn flush(&mut self) -> io::Result<bool> {
        // Two of the three calls in a keep-alive request's pass find nothing
        // to write: they cost a test, not a call.
        if self.wpos >= self.wbuf.len() && matches!(self.out, OutBody::None) {
            self.wbuf.clear();
            self.wpos = 0;
            return Ok(true);
        }
        self.write_pending()
    }

    /// [`flush`](Self::flush) when something is pending.
    #[inline(never)]
    fn write_pending(&mut self) -> io::Result<bool> {
        loop {
            if self.wpos < self.wbuf.len() {
                match (&*self.stream).write(&self.wbuf[self.wpos..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.wpos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            self.wbuf.clear();
            self.wpos = 0;
            match &mut self.out {
                OutBody::None => return Ok(true),
                OutBody::Bytes(bytes, pos) => {
                    if *pos >= bytes.len() {
                        self.out = OutBody::None;
                        continue;
                    }
                    match (&*self.stream).write(&bytes[*pos..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => *pos += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                OutBody::File {
                    file,
                    offset,
                    remaining,
                } => {
                    if *remaining == 0 {
                        self.out = OutBody::None;
                        // Uncorking sends the last partial segment now.
                        let _ = socket2::SockRef::from(&*self.stream).set_tcp_cork(false);
                        continue;
                    }
                    let count = usize::try_from((*remaining).min(SENDFILE_CHUNK)).unwrap_or(0);
                    match super::sys::sendfile(&*self.stream, file, offset, count) {
                        Ok(0) => return Err(io::Error::other("file shrank while being sent")),
                        Ok(n) => *remaining -= n as u64,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // A file system that cannot splice: copy through the
                        // write buffer instead (the loop writes it out).
                        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                            copy_chunk(file, offset, remaining, &mut self.wbuf)?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                OutBody::Stream {
                    reader,
                    chunked,
                    remaining,
                } => {
                    let mut chunk = [0u8; STREAM_CHUNK];
                    let want = remaining.map_or(STREAM_CHUNK, |r| {
                        usize::try_from(r).unwrap_or(usize::MAX).min(STREAM_CHUNK)
                    });
                    let n = if want == 0 {
                        0
                    } else {
                        reader.read(&mut chunk[..want])?
                    };
                    if n == 0 {
                        if remaining.is_some_and(|r| r > 0) {
                            return Err(io::Error::other("streamed body shorter than its length"));
                        }
                        if *chunked {
                            encode_last_chunk(&mut self.wbuf);
                        }
                        self.out = OutBody::None;
                        continue;
                    }
                    if let Some(r) = remaining {
                        *r -= n as u64;
                    }
                    if *chunked {
                        encode_chunk(&mut self.wbuf, &chunk[..n]);
                    } else {
                        self.wbuf.extend_from_slice(&chunk[..n]);
                    }
                }
            }
        }
    }

    /// Looks at the buffered bytes: answers one complete request, or says
    /// more is needed.
    fn next_request(&mut self, shared: &Shared, scratch: &mut Scratch) -> Step {
        if self.rbuf.is_empty() {
            return Step::NeedRead;
        }
        let limits = shared.limits;
        // At the first look at a head (`scanned == 0`) most requests are
        // there whole: parse at once. A head found incomplete is parsed
        // again on each read while it is small, so a dead end (`HTTP/x`, a
        // line starting with whitespace) is answered when its byte comes.
        // Past that, the blank line is searched for first, from where the
        // last search stopped, and the head is parsed again only when the
        // search or a limit calls for it, or its length passes a power of
        // two: a large head that trickles in costs linear time, not a parse
        // per read.
        if self.body.is_none() && self.scanned > 0 && self.rbuf.len() > EAGER_PARSE {
            let data = self.rbuf.data();
            if find_head_end(data, self.scanned).is_none() {
                let before = self.scanned;
                // A bare LF would never end the head: find it now rather
                // than waiting for the head timeout.
                let bare_lf = data[before.saturating_sub(1)..]
                    .windows(2)
                    .any(|w| w[1] == b'\n' && w[0] != b'\r')
                    || data.first() == Some(&b'\n');
                self.scanned = data.len();
                let passed = |mark: usize| before <= mark && data.len() > mark;
                let look = bare_lf
                    || passed(limits.max_request_line + 1)
                    || passed(limits.max_head)
                    || before.next_power_of_two() < data.len().next_power_of_two();
                if look {
                    if let Err(e) = codec::parse_request(data, &limits, &mut scratch.headers) {
                        return self.fail(e, shared);
                    }
                }
                return Step::NeedRead;
            }
        }
        let head = match codec::parse_request(self.rbuf.data(), &limits, &mut scratch.headers) {
            Ok(Status::Complete(head)) if head.form == TargetForm::Absolute => {
                if !codec::absolute_authority_ok(&head, self.rbuf.data()) {
                    return self.fail(ParseError::InvalidTarget, shared);
                }
                head
            }
            Ok(Status::Complete(head)) => head,
            Ok(Status::Partial) => {
                // The parser checked what is there; the next look scans on
                // from its end.
                if self.body.is_none() {
                    self.scanned = self.rbuf.len();
                }
                return Step::NeedRead;
            }
            Err(e) => return self.fail(e, shared),
        };

        // The body.
        let (body, total) = match head.framing {
            Framing::None => (BodyBytes::Empty, head.len),
            Framing::Length(n) => {
                if n > shared.config.max_body_size {
                    return self.fail(ParseError::BodyTooLarge, shared);
                }
                // Bounded by max_body_size, which fits in memory.
                let end = head.len + n as usize;
                if self.rbuf.len() < end {
                    self.body = Some(BodyProgress::Length);
                    return self.await_body(&head, shared, scratch);
                }
                let start = self.rbuf.start;
                (BodyBytes::InBuf(start + head.len, start + end), end)
            }
            Framing::Chunked => {
                let progress = self.body.get_or_insert_with(|| BodyProgress::Chunked {
                    decoder: ChunkedDecoder::new(ChunkedLimits {
                        max_body: shared.config.max_body_size,
                        ..ChunkedLimits::default()
                    }),
                    raw: head.len,
                    out: std::mem::take(&mut scratch.body),
                });
                let BodyProgress::Chunked { decoder, raw, out } = progress else {
                    return self.fail(ParseError::InvalidChunk, shared);
                };
                match decoder.decode(&self.rbuf.data()[*raw..], out) {
                    Ok(d) => {
                        *raw += d.consumed;
                        if !d.done {
                            // What was decoded is in `out`: its raw form
                            // goes, so the buffer holds the head and at most
                            // an unfinished line, however the body is cut
                            // into chunks.
                            self.rbuf.cut(head.len, *raw);
                            *raw = head.len;
                            return self.await_body(&head, shared, scratch);
                        }
                    }
                    Err(e) => return self.fail(e, shared),
                }
                let total = *raw;
                let out = std::mem::take(out);
                (BodyBytes::Owned(out), total)
            }
        };
        if !shared.pool.try_acquire() {
            // Keep the decoded body (the finished decoder is still in
            // `self.body`) for when a worker picks this up.
            if let (BodyBytes::Owned(v), Some(BodyProgress::Chunked { out, .. })) =
                (body, self.body.as_mut())
            {
                *out = v;
            }
            if shared.pool.queue_has_room() {
                return Step::Queue;
            }
            self.refuse_busy(shared);
            return Step::Responded;
        }
        self.body = None;
        self.dispatch(head, body, total, false, shared, scratch);
        shared.pool.release();
        Step::Responded
    }

    /// The head is complete but the body is not: answer `Expect:
    /// 100-continue`, or refuse early when the route does not exist.
    fn await_body(&mut self, head: &RequestHead, shared: &Shared, scratch: &mut Scratch) -> Step {
        if !head.expect_continue || self.continue_sent {
            return Step::NeedRead;
        }
        let data = self.rbuf.data();
        let method = Method::from_bytes(head.method.get(data)).unwrap_or(Method::GET);
        let path = match head.path.str(data) {
            "" => "/",
            p => p,
        };
        if shared.app.accepts(&method, path) {
            self.continue_sent = true;
            self.wbuf
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            return Step::NeedRead;
        }
        // No route: answer now without the body and close, since the body
        // will not be read (RFC 9110 section 10.1.1).
        self.body = None;
        self.dispatch(
            *head,
            BodyBytes::Empty,
            self.rbuf.len(),
            true,
            shared,
            scratch,
        );
        Step::Responded
    }

    /// Runs the app for a complete request and encodes the response.
    fn dispatch(
        &mut self,
        head: RequestHead,
        body: BodyBytes,
        total: usize,
        force_close: bool,
        shared: &Shared,
        scratch: &mut Scratch,
    ) {
        self.requests += 1;
        let max = shared.config.max_requests_per_connection;
        let keep_alive = head.keep_alive && !force_close && (max == 0 || self.requests < max);
        let is_head = head.method.get(self.rbuf.data()) == b"HEAD";
        let buf = std::mem::take(&mut self.rbuf.buf);
        let headers = std::mem::take(&mut scratch.headers);
        let mut req =
            Request::from_parts(buf, self.rbuf.start, head, headers, body, Some(self.peer))
                .with_received(self.head_start)
                .with_param_storage(
                    std::mem::take(&mut scratch.params),
                    std::mem::take(&mut scratch.param_text),
                );
        if super::watchdog::in_use() {
            // Earlier pipelined answers go out first if they can, so that a
            // deadline can answer this request in order.
            let clean = matches!(self.flush(), Ok(true));
            req.set_io(super::watchdog::ConnIo {
                stream: self.stream.clone(),
                clean,
            });
        }
        let res = catch_unwind(AssertUnwindSafe(|| shared.app.respond(&mut req)))
            .unwrap_or_else(|_| {
                tracing::error!(peer = %self.peer, method = %req.method(), path = req.path(), "handler panicked; answering 500");
                Response::new(StatusCode::INTERNAL_SERVER_ERROR).with_text("internal server error\n")
            });
        // Checked after the handler: a drain that began meanwhile closes.
        let keep_alive = keep_alive && shared.is_running();
        let bufs = req.into_buffers();
        self.rbuf.buf = bufs.buf;
        scratch.headers = bufs.headers;
        scratch.params = bufs.params;
        scratch.param_text = bufs.param_text;
        if let Some(mut v) = bufs.body {
            v.clear();
            if v.capacity() <= 4 * INITIAL_READ_BUFFER {
                scratch.body = v;
            }
        }
        self.rbuf.consume(total);
        self.scanned = 0;
        self.continue_sent = false;
        self.write_response(res, head.version, is_head, keep_alive, shared);
    }

    /// Encodes `res` into the write buffer.
    fn write_response(
        &mut self,
        mut res: Response,
        version: Version,
        is_head: bool,
        mut keep_alive: bool,
        shared: &Shared,
    ) {
        if res.abandoned {
            // A request deadline answered (or closed) this connection while
            // the handler ran: nothing more may be written on it.
            self.wbuf.clear();
            self.wpos = 0;
            self.out = OutBody::None;
            self.close_after_write = true;
            return;
        }
        let body = res.take_body();
        let (framing, framing_keeps) = framing_for(res.status(), version, body.len());
        keep_alive &= framing_keeps;
        let cx = EncodeContext {
            version,
            head: is_head,
            keep_alive,
        };
        // The encoder also honours a handler's `Connection: close`.
        keep_alive = encode_head_dated(
            &mut self.wbuf,
            res.status(),
            res.headers(),
            framing,
            cx,
            shared.server_header(),
            || codec::http_date_at(shared.clock.unix_secs()),
        );
        crate::response::recycle_headers(res.into_headers());
        if !keep_alive {
            self.close_after_write = true;
        }
        if is_head || framing == BodyFraming::None {
            return;
        }
        match body {
            Body::Empty => {}
            Body::Bytes(b) if b.len() <= COPY_BODY_MAX => self.wbuf.extend_from_slice(&b),
            Body::Bytes(b) => self.out = OutBody::Bytes(b, 0),
            Body::Vec(v) if v.len() <= COPY_BODY_MAX => self.wbuf.extend_from_slice(&v),
            Body::Vec(v) => self.out = OutBody::Bytes(Bytes::from(v), 0),
            Body::Reader(reader, len) => {
                self.out = OutBody::Stream {
                    reader,
                    chunked: framing == BodyFraming::Chunked,
                    remaining: len,
                };
            }
            Body::File { file, offset, len } if len <= COPY_BODY_MAX as u64 => {
                // Small files join the head in one write.
                let start = self.wbuf.len();
                self.wbuf.resize(start + len as usize, 0);
                if let Err(e) = read_exact_at(&file, &mut self.wbuf[start..], offset) {
                    tracing::warn!(peer = %self.peer, error = %e, "file read failed mid-response; closing");
                    self.wbuf.truncate(start);
                    self.close_after_write = true;
                }
            }
            Body::File { file, offset, len } => {
                // Corked, the head and the file leave in full-sized
                // segments instead of a small one per write (nginx's
                // tcp_nopush); uncorked when the file is done.
                let _ = socket2::SockRef::from(&*self.stream).set_tcp_cork(true);
                self.out = OutBody::File {
                    file,
                    offset,
                    remaining: len,
                };
            }
        }
    }

    /// Answers a request that broke the protocol, then closes.
    fn fail(&mut self, e: ParseError, shared: &Shared) -> Step {
        // A request line over the limit with no space in it yet: the method
        // alone is longer than any this server implements (RFC 9112
        // section 3: 501). Told here, off the parser's path.
        let limit = shared.config.max_request_line;
        let e = if e == ParseError::UriTooLong && codec::method_too_long(self.rbuf.data(), limit) {
            ParseError::MethodTooLong
        } else {
            e
        };
        tracing::info!(peer = %self.peer, error = %e, status = e.status().as_u16(), "bad request");
        error_response(&mut self.wbuf, e.status(), e.as_str(), shared);
        self.body = None;
        self.rbuf.consume(self.rbuf.len());
        self.close_after_write = true;
        Step::Responded
    }

    /// Answers the buffered request with 503 because the queue filled up
    /// after it was chosen for queueing.
    pub(crate) fn refuse_busy(&mut self, shared: &Shared) {
        tracing::warn!(peer = %self.peer, "all workers busy and queue full: 503");
        self.body = None;
        self.unavailable(shared);
    }

    /// 503 with Retry-After when the pool and its queue are full.
    fn unavailable(&mut self, shared: &Shared) {
        let mut res =
            Response::new(StatusCode::SERVICE_UNAVAILABLE).with_text("server busy, retry later\n");
        res.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        self.rbuf.consume(self.rbuf.len());
        self.write_response(res, Version::Http11, false, false, shared);
    }

    /// When the timer should expire this parked connection (ms).
    fn next_deadline(&self, shared: &Shared) -> u64 {
        let config = &shared.config;
        // At most one pool check old: the deadline is early by that, never
        // late (see `clock`).
        let now = shared.clock.ms();
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if !self.is_idle_for_write() {
            now.saturating_add(ms(config.write_timeout))
        } else if self.body.is_some() {
            now.saturating_add(ms(config.body_timeout))
        } else if !self.rbuf.is_empty() || self.requests == 0 {
            shared
                .ms_of(self.head_start)
                .saturating_add(ms(config.head_timeout))
        } else {
            now.saturating_add(ms(config.keep_alive_timeout))
        }
    }
}

/// Fills `buf` from `file` at `offset`.
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Encodes a short text error response that closes the connection.
pub(crate) fn error_response(
    out: &mut Vec<u8>,
    status: StatusCode,
    message: &str,
    shared: &Shared,
) {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let body_len = message.len() + 1;
    let cx = EncodeContext {
        version: Version::Http11,
        head: false,
        keep_alive: false,
    };
    encode_head(
        out,
        status,
        &headers,
        BodyFraming::Length(body_len as u64),
        cx,
        shared.server_header(),
    );
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}

/// Reads the next chunk (at most [`STREAM_CHUNK`] bytes) of a file body
/// into the empty `wbuf` and advances `offset` and `remaining`: the
/// fallback when `sendfile(2)` cannot read the file. A file that ends early
/// is an error (the length is already promised).
fn copy_chunk(
    file: &std::fs::File,
    offset: &mut u64,
    remaining: &mut u64,
    wbuf: &mut Vec<u8>,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let want = usize::try_from((*remaining).min(STREAM_CHUNK as u64)).unwrap_or(STREAM_CHUNK);
    wbuf.resize(want, 0);
    let n = loop {
        match file.read_at(wbuf, *offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    let n = match n {
        Ok(0) => Err(io::Error::other("file shrank while being sent")),
        other => other,
    };
    match n {
        Ok(n) => {
            wbuf.truncate(n);
            *offset += n as u64;
            *remaining -= n as u64;
            Ok(())
        }
        Err(e) => {
            wbuf.clear();
            Err(e)
        }
    }
}

/// A read found the buffer at its cap with the request still incomplete.
#[derive(Debug)]
struct BufferFull;

impl std::fmt::Display for BufferFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request larger than the read buffer cap")
    }
}

impl std::error::Error for BufferFull {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_chunk_walks_a_file_and_reports_one_that_shrank() {
        let path = std::env::temp_dir().join(format!("hs-copy-chunk-{}", std::process::id()));
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let (mut offset, mut remaining, mut wbuf) = (100u64, 39_000u64, Vec::new());
        let mut out = Vec::new();
        while remaining > 0 {
            copy_chunk(&file, &mut offset, &mut remaining, &mut wbuf).unwrap();
            assert!(!wbuf.is_empty() && wbuf.len() <= STREAM_CHUNK);
            out.extend_from_slice(&wbuf);
        }
        assert_eq!(offset, 39_100);
        assert!(out == data[100..39_100]);
        // Promised more than the file holds.
        let (mut offset, mut remaining) = (39_990u64, 100u64);
        copy_chunk(&file, &mut offset, &mut remaining, &mut wbuf).unwrap();
        assert_eq!(wbuf.len(), 10);
        assert!(copy_chunk(&file, &mut offset, &mut remaining, &mut wbuf).is_err());
        assert!(wbuf.is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}
