//! GOAWAY frames with debug data and a chosen last-stream-id on hyper's HTTP/2 connections
//! (apns.md §5, §10 item 5), which neither hyper nor h2 can send.
//!
//! The TLS stream handed to hyper is wrapped in [`H2Io`]: reads pass through; writes pass
//! through while [`Frames`] follows the frame boundaries of the server→client byte stream
//! (hyper only writes whole frames: a 9-byte header with a 24-bit payload length, then the
//! payload), so a GOAWAY can be written between two frames. The same parser sees which
//! streams have been answered (a frame with `END_STREAM`, or `RST_STREAM`), which tells when
//! the streams at or below a GOAWAY's last-stream-id are done and the connection may close.
//!
//! hyper does not expose stream ids either. A client opens streams 1, 3, 5, … and hyper hands
//! their requests to the service in that order (synchronously, in the connection task), so
//! [`Streams::admit`] numbers the n-th request 2n − 1. RFC 9113 would allow a client to skip
//! ids; h2, Go, Netty, nghttp2 and OkHttp do not.

use std::collections::BTreeSet;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::record::lock;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const PUSH_PROMISE: u8 = 0x5;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
/// The smallest `SETTINGS_MAX_FRAME_SIZE` a client may set: a longer GOAWAY payload is cut.
const MAX_PAYLOAD: usize = 16_384;

/// A GOAWAY frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Goaway {
    /// The highest stream the server has processed or will process.
    pub last_stream_id: u32,
    /// The HTTP/2 error code (0 `NO_ERROR`).
    pub error_code: u32,
    /// Opaque debug data.
    pub debug_data: Vec<u8>,
}

impl Goaway {
    /// A GOAWAY whose debug data is APNs' `{"reason": reason}` (none for an empty reason).
    pub(crate) fn with_reason(last_stream_id: u32, error_code: u32, reason: &str) -> Self {
        let debug_data = if reason.is_empty() {
            Vec::new()
        } else {
            serde_json::json!({ "reason": reason })
                .to_string()
                .into_bytes()
        };
        Goaway {
            last_stream_id,
            error_code,
            debug_data,
        }
    }

    /// The frame as written on the wire (RFC 9113 §6.8): stream 0, no flags.
    fn encode(&self) -> Vec<u8> {
        let debug = &self.debug_data[..self.debug_data.len().min(MAX_PAYLOAD - 8)];
        let len = 8 + debug.len();
        let mut frame = Vec::with_capacity(9 + len);
        frame.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        frame.extend_from_slice(&[GOAWAY, 0, 0, 0, 0, 0]);
        frame.extend_from_slice(&(self.last_stream_id & 0x7fff_ffff).to_be_bytes());
        frame.extend_from_slice(&self.error_code.to_be_bytes());
        frame.extend_from_slice(debug);
        frame
    }
}

/// Follows the frames of the server→client byte stream.
#[derive(Debug, Default)]
struct Frames {
    header: [u8; 9],
    header_len: usize,
    payload_left: usize,
    /// Inside a header block (HEADERS without `END_HEADERS` and its CONTINUATIONs), where
    /// RFC 9113 §6.10 forbids any other frame.
    in_block: bool,
    /// The stream the frame (or header block) being written ends.
    ending: Option<u32>,
}

impl Frames {
    /// Whether another frame may be written now.
    fn at_boundary(&self) -> bool {
        self.header_len == 0 && self.payload_left == 0 && !self.in_block
    }

    /// Follows `bytes` written to the client; `ended` gets every stream answered in full.
    fn advance(&mut self, mut bytes: &[u8], mut ended: impl FnMut(u32)) {
        while !bytes.is_empty() {
            if self.payload_left == 0 {
                let take = (9 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len < 9 {
                    return;
                }
                self.header_len = 0;
                self.start_frame();
            } else {
                let take = self.payload_left.min(bytes.len());
                self.payload_left -= take;
                bytes = &bytes[take..];
            }
            if self.at_boundary()
                && let Some(stream) = self.ending.take()
            {
                ended(stream);
            }
        }
    }

    /// Reads the header just completed.
    fn start_frame(&mut self) {
        let h = self.header;
        self.payload_left = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
        let (kind, flags) = (h[3], h[4]);
        let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
        match kind {
            HEADERS | PUSH_PROMISE | CONTINUATION => {
                self.in_block = flags & END_HEADERS == 0;
                if kind == HEADERS && flags & END_STREAM != 0 {
                    self.ending = Some(stream);
                }
            }
            DATA if flags & END_STREAM != 0 => self.ending = Some(stream),
            RST_STREAM => self.ending = Some(stream),
            _ => {}
        }
    }
}

/// The TLS stream and what the GOAWAY machinery knows about it.
#[derive(Debug)]
struct Wire<S> {
    io: S,
    /// The frame parser and stream bookkeeping (HTTP/2-only listeners).
    h2: Option<(Frames, Arc<Streams>)>,
    /// A GOAWAY frame waiting for a frame boundary, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
    /// Closed after a GOAWAY: hyper's writes fail, its reads see the end.
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    fn at_boundary(&self) -> bool {
        self.h2.as_ref().is_none_or(|(f, _)| f.at_boundary())
    }

    /// Writes and flushes the pending GOAWAY (call only at a frame boundary).
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((frame, written)) = &mut self.pending else {
            return Poll::Ready(Ok(()));
        };
        while *written < frame.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &frame[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        self.pending = None;
        // Whoever waits in `H2Io::send_goaway` is this same connection task.
        cx.waker().wake_by_ref();
        Poll::Ready(Ok(()))
    }
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the connection was closed after a GOAWAY",
    )
}

/// The TLS stream as hyper sees it, shared with the connection task that sends GOAWAYs.
/// Everything happens in one task (hyper polls its connection there), so wakers are shared.
#[derive(Debug)]
pub(crate) struct H2Io<S>(Arc<Mutex<Wire<S>>>);

impl<S> Clone for H2Io<S> {
    fn clone(&self) -> Self {
        H2Io(self.0.clone())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> H2Io<S> {
    /// Wraps `io`; `streams` is given for HTTP/2-only listeners, whose frames are followed.
    pub(crate) fn new(io: S, streams: Option<Arc<Streams>>) -> Self {
        H2Io(Arc::new(Mutex::new(Wire {
            io,
            h2: streams.map(|s| (Frames::default(), s)),
            pending: None,
            closed: false,
        })))
    }

    /// Writes `goaway` at the next frame boundary. The hyper connection must be polled
    /// meanwhile: it may be in the middle of a frame.
    pub(crate) async fn send_goaway(&self, goaway: &Goaway) -> io::Result<()> {
        lock(&self.0).pending = Some((goaway.encode(), 0));
        poll_fn(|cx| {
            let mut wire = lock(&self.0);
            if wire.closed {
                return Poll::Ready(Err(closed_error()));
            }
            if wire.pending.is_none() {
                return Poll::Ready(Ok(())); // hyper's write path sent it
            }
            if !wire.at_boundary() {
                return Poll::Pending; // hyper's write path wakes this task at the boundary
            }
            wire.poll_pending(cx)
        })
        .await
    }

    /// Closes the connection (TLS `close_notify`, then FIN) and reads until the client
    /// closes its side too, at most `linger`: closing a socket with unread data sends a
    /// reset, which may make the client drop the GOAWAY before reading it.
    pub(crate) async fn close(&self, linger: Duration) {
        let shut = poll_fn(|cx| {
            let mut wire = lock(&self.0);
            wire.closed = true;
            Pin::new(&mut wire.io).poll_shutdown(cx)
        });
        let drain = poll_fn(|cx| {
            let mut wire = lock(&self.0);
            let mut scratch = [0u8; 4096];
            loop {
                let mut buf = ReadBuf::new(&mut scratch);
                ready!(Pin::new(&mut wire.io).poll_read(cx, &mut buf))?;
                if buf.filled().is_empty() {
                    return Poll::Ready(Ok::<_, io::Error>(()));
                }
            }
        });
        let _ = tokio::time::timeout(linger, async {
            let _ = shut.await;
            let _ = drain.await;
        })
        .await;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for H2Io<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut wire = lock(&self.0);
        if wire.closed {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut wire.io).poll_read(cx, buf))?;
        if buf.filled().len() > before
            && let Some((_, streams)) = &wire.h2
        {
            streams.touch();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for H2Io<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut guard = lock(&self.0);
        let wire = &mut *guard;
        if wire.closed {
            return Poll::Ready(Err(closed_error()));
        }
        if wire.pending.is_some() && wire.at_boundary() {
            ready!(wire.poll_pending(cx))?;
        }
        let n = ready!(Pin::new(&mut wire.io).poll_write(cx, buf))?;
        if let Some((frames, streams)) = &mut wire.h2 {
            frames.advance(&buf[..n], |id| streams.ended(id));
        }
        if wire.pending.is_some() && wire.at_boundary() {
            // `send_goaway` waits for this boundary.
            cx.waker().wake_by_ref();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut wire = lock(&self.0);
        if wire.closed {
            return Poll::Ready(Ok(()));
        }
        if wire.pending.is_some() && wire.at_boundary() {
            ready!(wire.poll_pending(cx))?;
        }
        Pin::new(&mut wire.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut wire = lock(&self.0);
        if wire.closed {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut wire.io).poll_shutdown(cx)
    }
}

/// What [`Streams::admit`] decided for a request.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Handle it; the guard tracks the stream until it is answered.
    Serve(StreamGuard),
    /// Never answer it: it is above the last-stream-id of a GOAWAY.
    Hold,
}

/// The streams of one HTTP/2 connection, shared by its service and its I/O (not the socket:
/// held requests must not keep it open).
#[derive(Debug)]
pub(crate) struct Streams {
    state: Mutex<StreamState>,
    /// Wakes the connection task: a GOAWAY was requested, or (after one) a stream ended.
    wake: Notify,
}

#[derive(Debug)]
struct StreamState {
    /// Requests handed to the service so far.
    accepted: u32,
    /// Accepted streams not answered yet.
    open: BTreeSet<u32>,
    /// The last request, answer or client frame.
    last_activity: Instant,
    /// The last-stream-id of the GOAWAY decided on this connection.
    goaway: Option<u32>,
    /// A GOAWAY a request triggered, for the connection task to send.
    requested: Option<Goaway>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            state: Mutex::new(StreamState {
                accepted: 0,
                open: BTreeSet::new(),
                last_activity: Instant::now(),
                goaway: None,
                requested: None,
            }),
            wake: Notify::new(),
        }
    }
}

impl Streams {
    /// Numbers a request that just arrived and decides whether to serve it. After a GOAWAY
    /// every request is held; otherwise `trigger` may ask for one, given the last-stream-id
    /// it would carry (the stream before this one), and then this request is held too.
    pub(crate) fn admit(
        self: &Arc<Self>,
        trigger: impl FnOnce(u32) -> Option<Goaway>,
    ) -> Admission {
        let mut s = lock(&self.state);
        s.accepted = s.accepted.saturating_add(1);
        let id = s.accepted.saturating_mul(2) - 1;
        s.last_activity = Instant::now();
        if s.goaway.is_some() {
            return Admission::Hold;
        }
        if let Some(goaway) = trigger(id.saturating_sub(2)) {
            s.goaway = Some(goaway.last_stream_id);
            s.requested = Some(goaway);
            self.wake.notify_one();
            return Admission::Hold;
        }
        s.open.insert(id);
        Admission::Serve(StreamGuard {
            streams: self.clone(),
            id,
            answered: false,
        })
    }

    /// The stream `id` is done (answered on the wire, reset, or abandoned by hyper).
    fn ended(&self, id: u32) {
        let mut s = lock(&self.state);
        s.open.remove(&id);
        s.last_activity = Instant::now();
        if s.goaway.is_some() {
            self.wake.notify_one();
        }
    }

    /// The client sent something.
    fn touch(&self) {
        lock(&self.state).last_activity = Instant::now();
    }

    /// Waits for a GOAWAY triggered by a request.
    pub(crate) async fn requested(&self) -> Goaway {
        loop {
            // Created before the check; `notify_one` keeps a permit if nobody waits yet.
            let woken = self.wake.notified();
            if let Some(goaway) = lock(&self.state).requested.take() {
                return goaway;
            }
            woken.await;
        }
    }

    /// The idle GOAWAY (`IdleTimeout`, last-stream-id the last stream) if the connection has
    /// had no open stream and no client frame for `timeout`; else when to check again.
    pub(crate) fn idle_goaway(&self, timeout: Duration) -> Result<Goaway, Instant> {
        let mut s = lock(&self.state);
        let now = Instant::now();
        if s.goaway.is_some() || !s.open.is_empty() {
            return Err(now + timeout);
        }
        let due = s.last_activity + timeout;
        if now < due {
            return Err(due);
        }
        let last = s.accepted.saturating_mul(2).saturating_sub(1);
        s.goaway = Some(last);
        Ok(Goaway::with_reason(last, 0, "IdleTimeout"))
    }

    /// Waits until every stream at or below the GOAWAY's last-stream-id is answered.
    pub(crate) async fn drained(&self) {
        loop {
            let woken = self.wake.notified();
            {
                let s = lock(&self.state);
                let last = s.goaway.unwrap_or(u32::MAX);
                if s.open.range(..=last).next().is_none() {
                    return;
                }
            }
            woken.await;
        }
    }
}

/// A served stream: open until its answer is on the wire (or hyper drops the request).
#[derive(Debug)]
pub(crate) struct StreamGuard {
    streams: Arc<Streams>,
    id: u32,
    answered: bool,
}

impl StreamGuard {
    /// The handler returned its answer: the stream ends when the answer is written.
    pub(crate) fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.answered {
            self.streams.ended(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: usize) -> Vec<u8> {
        let mut f = (payload as u32).to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.resize(9 + payload, 0xab);
        f
    }

    #[test]
    fn goaway_encodes_last_stream_code_and_json_debug_data() {
        let f = Goaway::with_reason(5, 0, "Shutdown").encode();
        let debug = br#"{"reason":"Shutdown"}"#;
        assert_eq!(&f[..9], &[0, 0, 8 + debug.len() as u8, 7, 0, 0, 0, 0, 0]);
        assert_eq!(&f[9..17], &[0, 0, 0, 5, 0, 0, 0, 0]);
        assert_eq!(&f[17..], debug);
        assert_eq!(Goaway::with_reason(0, 2, "").encode().len(), 17);
    }

    #[test]
    fn frames_follow_boundaries_across_any_split() {
        let mut bytes = frame(0x4, 0, 0, 6); // SETTINGS
        bytes.extend(frame(HEADERS, END_HEADERS, 1, 20));
        bytes.extend(frame(DATA, END_STREAM, 1, 100));
        bytes.extend(frame(HEADERS, END_STREAM, 3, 7)); // no END_HEADERS
        bytes.extend(frame(CONTINUATION, END_HEADERS, 3, 4));
        bytes.extend(frame(RST_STREAM, 0, 5, 4));
        // The offsets after which another frame may be written: none inside the header block
        // of stream 3.
        let ends = [15, 44, 153, 182, 195];
        let mut frames = Frames::default();
        let mut boundaries = Vec::new();
        for (at, b) in bytes.chunks(1).enumerate() {
            frames.advance(b, |_| {});
            if frames.at_boundary() {
                boundaries.push(at + 1);
            }
        }
        assert_eq!(boundaries, ends);
        for chunk in [1, 2, 5, 9, 10, 64, bytes.len()] {
            let (mut frames, mut ended, mut at) = (Frames::default(), Vec::new(), 0);
            for piece in bytes.chunks(chunk) {
                frames.advance(piece, |s| ended.push(s));
                at += piece.len();
                assert_eq!(
                    frames.at_boundary(),
                    ends.contains(&at),
                    "chunk {chunk} at {at}"
                );
            }
            assert_eq!(ended, [1, 3, 5], "chunk {chunk}");
        }
    }

    #[tokio::test]
    async fn a_goaway_waits_for_the_frame_being_written_then_closes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (server, mut client) = tokio::io::duplex(1 << 16);
        let io = H2Io::new(server, Some(Arc::new(Streams::default())));
        let mut hyper = io.clone();
        let data = frame(DATA, END_STREAM, 1, 100);
        let later = frame(HEADERS, END_STREAM | END_HEADERS, 3, 5);
        hyper.write_all(&data[..50]).await.unwrap();
        let goaway = Goaway::with_reason(1, 0, "Shutdown");
        let send = io.send_goaway(&goaway);
        tokio::pin!(send);
        let early = tokio::time::timeout(Duration::from_millis(20), &mut send).await;
        assert!(early.is_err(), "not inside a frame");
        hyper.write_all(&data[50..]).await.unwrap();
        hyper.write_all(&later).await.unwrap(); // the GOAWAY goes first
        send.await.unwrap();
        io.close(Duration::from_millis(50)).await;
        assert!(hyper.write_all(&later).await.is_err(), "closed");
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, [data, goaway.encode(), later].concat());
    }

    #[test]
    fn streams_are_numbered_and_held_after_a_goaway() {
        let streams = Arc::new(Streams::default());
        let Admission::Serve(first) = streams.admit(|_| None) else {
            panic!("served");
        };
        assert_eq!(first.id, 1);
        let mut last = None;
        assert!(matches!(
            streams.admit(|l| {
                last = Some(l);
                Some(Goaway::with_reason(l, 0, "Shutdown"))
            }),
            Admission::Hold
        ));
        assert_eq!(last, Some(1), "the stream before the trigger (3)");
        assert!(matches!(
            streams.admit(|_| panic!("not asked after a GOAWAY")),
            Admission::Hold
        ));
        assert!(
            streams.idle_goaway(Duration::ZERO).is_err(),
            "one GOAWAY only"
        );
        first.answered();
        streams.ended(1);
        assert!(lock(&streams.state).open.is_empty());
    }

    #[test]
    fn idle_needs_no_open_stream() {
        let streams = Arc::new(Streams::default());
        let Admission::Serve(guard) = streams.admit(|_| None) else {
            panic!("served");
        };
        assert!(
            streams.idle_goaway(Duration::ZERO).is_err(),
            "stream 1 is open"
        );
        drop(guard); // abandoned by hyper
        let goaway = streams.idle_goaway(Duration::ZERO).unwrap();
        assert_eq!(goaway, Goaway::with_reason(1, 0, "IdleTimeout"));
    }
}
