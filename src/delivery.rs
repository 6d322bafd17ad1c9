//! Answers on their way to the caller, and the connections they leave by.
//!
//! A call's place in flight ([`Slot`]) is what bounds the memory of the calls
//! a process serves at once. A handler that has returned has not delivered
//! its answer: a caller that reads nothing (an HTTP/2 receive window of 0, a
//! full TCP buffer) leaves the answer in the server. So
//!
//! - the place is held by the answer's body until the body has handed its
//!   last byte to the connection ([`PlaceInFlight`]);
//! - the answer is handed over in pieces of at most [`PIECE_BYTES`], each its
//!   own allocation, so that the connection holds at most one piece of an
//!   answer it cannot send, and the rest stays here, counted by the place;
//! - every answer is watched: one that has given a piece which its caller
//!   has not taken for the stall time closes its whole connection
//!   ([`Connections::sweep`]), which frees every answer, stream and buffer of
//!   it. HTTP/2 answers wait in hyper until the peer opens its window, and
//!   only the connection's end frees them; a caller that reads nothing of
//!   one answer for that long is not reading.
//!
//! HTTP/2 connections also have a bounded number of streams
//! (`server::MAX_CONCURRENT_STREAMS`).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::task::AtomicWaker;
use http_body::{Body as _, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::limits::{AnswerBytes, Slot};

/// The most of one answer the connection is handed at a time.
pub const PIECE_BYTES: usize = 16 * 1024;

/// A call's place in flight, put in its answer's extensions by the gate and
/// held by the answer's body until it is handed over.
#[derive(Clone, Debug)]
pub struct PlaceInFlight(pub Arc<Slot>);

/// The memory reserved for an answer (`limits::AnswerBudget`), put in its
/// extensions by the transport and held likewise.
#[derive(Clone, Debug)]
pub struct AnswerMemory(pub Arc<AnswerBytes>);

/// What an answer holds until it has been handed over (only to drop it).
#[derive(Debug, Default)]
struct Held {
    _place: Option<PlaceInFlight>,
    _memory: Option<AnswerMemory>,
}

/// Every open connection, and how long an answer may wait for its caller.
#[derive(Clone, Debug)]
pub struct Connections {
    inner: Arc<Registry>,
}

#[derive(Debug)]
struct Registry {
    stall: Duration,
    open: Mutex<HashMap<u64, Weak<ConnState>>>,
    next: AtomicU64,
    /// Connections closed because an answer on them went unread.
    stalled: Counter,
}

/// One connection: its answers waiting for their caller, and the switch
/// that closes it.
#[derive(Debug)]
struct ConnState {
    id: u64,
    registry: Weak<Registry>,
    killed: AtomicBool,
    read: AtomicWaker,
    write: AtomicWaker,
    answers: Mutex<HashMap<u64, Arc<AtomicU64>>>,
    next_answer: AtomicU64,
}

/// What a request knows of its connection (in its extensions).
#[derive(Clone, Debug)]
pub struct Peer {
    pub tcp: TcpConnectInfo,
    conn: Arc<ConnState>,
}

/// Nanoseconds since the first call, plus one: 0 means "not waiting".
fn stamp() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

impl Connections {
    pub fn new(stall: Duration) -> Self {
        Connections {
            inner: Arc::new(Registry {
                stall: stall.max(Duration::from_millis(1)),
                open: Mutex::new(HashMap::new()),
                next: AtomicU64::new(0),
                stalled: Counter::default(),
            }),
        }
    }

    /// Connections closed because an answer on them went unread.
    pub fn stalled(&self) -> &Counter {
        &self.inner.stalled
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.inner.open.lock().map_or(0, |o| o.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A new connection, watched.
    pub fn track<IO>(&self, io: IO) -> Tracked<IO> {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState {
            id,
            registry: Arc::downgrade(&self.inner),
            killed: AtomicBool::new(false),
            read: AtomicWaker::new(),
            write: AtomicWaker::new(),
            answers: Mutex::new(HashMap::new()),
            next_answer: AtomicU64::new(0),
        });
        if let Ok(mut open) = self.inner.open.lock() {
            open.insert(id, Arc::downgrade(&state));
        }
        Tracked { io, state }
    }

    /// Closes every connection with an answer that has waited for its caller
    /// for the stall time or longer; how many.
    pub fn sweep(&self) -> usize {
        let now = stamp();
        let stall = u64::try_from(self.inner.stall.as_nanos()).unwrap_or(u64::MAX);
        let open: Vec<Arc<ConnState>> = match self.inner.open.lock() {
            Ok(open) => open.values().filter_map(Weak::upgrade).collect(),
            Err(_) => return 0,
        };
        let mut closed = 0;
        for conn in open {
            let stalled = conn.answers.lock().is_ok_and(|answers| {
                answers.values().any(|since| {
                    let since = since.load(Ordering::Acquire);
                    since != 0 && now.saturating_sub(since) >= stall
                })
            });
            if stalled && !conn.killed.swap(true, Ordering::AcqRel) {
                conn.read.wake();
                conn.write.wake();
                self.inner.stalled.inc();
                closed += 1;
            }
        }
        if closed > 0 {
            tracing::info!(
                connections = closed,
                stall_ms = self.inner.stall.as_millis() as u64,
                "closed connections whose callers did not read their answers"
            );
        }
        closed
    }

    /// Sweeps four times per stall time until `stop`.
    pub async fn watch(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut every = tokio::time::interval(self.inner.stall / 4);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => { self.sweep(); }
                _ = stop.changed() => return,
            }
        }
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade()
            && let Ok(mut open) = registry.open.lock()
        {
            open.remove(&self.id);
        }
    }
}

/// A connection's I/O, which fails once its connection is closed by a sweep.
#[derive(Debug)]
pub struct Tracked<IO> {
    io: IO,
    state: Arc<ConnState>,
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "closed: an answer went unread for too long",
    )
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.state.read.register(cx.waker());
        if self.state.killed.load(Ordering::Acquire) {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.state.write.register(cx.waker());
        if self.state.killed.load(Ordering::Acquire) {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.state.killed.load(Ordering::Acquire) {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.state.write.register(cx.waker());
        if self.state.killed.load(Ordering::Acquire) {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

impl Connected for Tracked<tokio::net::TcpStream> {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        Peer {
            tcp: self.io.connect_info(),
            conn: self.state.clone(),
        }
    }
}

/// The layer around everything: each answer leaves through an [`Answer`],
/// watched on its connection and holding the place its call had.
pub async fn deliver(request: Request, next: Next) -> Response {
    let conn = request.extensions().get::<Peer>().map(|p| p.conn.clone());
    let mut response = next.run(request).await;
    let held = Held {
        _place: response.extensions_mut().remove::<PlaceInFlight>(),
        _memory: response.extensions_mut().remove::<AnswerMemory>(),
    };
    response.map(|body| Answer::body(body, held, conn))
}

/// An answer's body, handed over in pieces.
struct Answer {
    /// The handler's body, until it has given all its frames.
    inner: Option<Body>,
    /// Data read from `inner` and not yet handed over.
    queue: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    done: bool,
    held: Held,
    /// When the last piece was handed over and not yet followed by a call
    /// for the next (0: not waiting for the caller), for the sweep.
    waiting: Arc<AtomicU64>,
    watched: Option<(Arc<ConnState>, u64)>,
}

impl Answer {
    fn body(body: Body, held: Held, conn: Option<Arc<ConnState>>) -> Body {
        let waiting = Arc::new(AtomicU64::new(0));
        let watched = conn.map(|conn| {
            let id = conn.next_answer.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut answers) = conn.answers.lock() {
                answers.insert(id, waiting.clone());
            }
            (conn, id)
        });
        Body::new(Answer {
            inner: Some(body),
            queue: VecDeque::new(),
            trailers: None,
            done: false,
            held,
            waiting,
            watched,
        })
    }

    /// Reads every frame the handler's body has ready (all of it, for every
    /// unary answer), so that what remains is known.
    fn read_ready(&mut self, cx: &mut Context<'_>) -> Result<(), axum::Error> {
        while let Some(inner) = self.inner.as_mut() {
            match Pin::new(inner).poll_frame(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    self.inner = None;
                    self.done = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    self.inner = None;
                    return Err(e);
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) => self.queue.push_back(data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers = Some(trailers);
                        }
                        // A streaming body gives its frames as they come:
                        // hand each over before reading on.
                        break;
                    }
                },
            }
            if self.queue.iter().map(Bytes::len).sum::<usize>() >= PIECE_BYTES
                && self.inner.as_ref().is_some_and(|b| !b.is_end_stream())
            {
                // Enough to hand over; a long stream is not read ahead.
                break;
            }
        }
        Ok(())
    }

    /// The next piece: a chunk as it is when small, else a copy of its
    /// first [`PIECE_BYTES`], so that the connection never holds a slice of
    /// a large allocation.
    fn next_piece(&mut self) -> Option<Bytes> {
        let chunk = self.queue.front_mut()?;
        if chunk.len() <= PIECE_BYTES {
            return self.queue.pop_front();
        }
        let piece = Bytes::copy_from_slice(&chunk[..PIECE_BYTES]);
        *chunk = chunk.slice(PIECE_BYTES..);
        Some(piece)
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some((conn, id)) = self.watched.take()
            && let Ok(mut answers) = conn.answers.lock()
        {
            answers.remove(&id);
        }
    }
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Err(e) = this.read_ready(cx) {
            this.held = Held::default();
            this.waiting.store(0, Ordering::Release);
            return Poll::Ready(Some(Err(e)));
        }
        let frame = if let Some(piece) = this.next_piece() {
            Frame::data(piece)
        } else if let Some(trailers) = this.trailers.take() {
            Frame::trailers(trailers)
        } else if this.done {
            this.held = Held::default();
            this.waiting.store(0, Ordering::Release);
            return Poll::Ready(None);
        } else {
            // The handler's body has nothing yet: not the caller's wait.
            this.waiting.store(0, Ordering::Release);
            return Poll::Pending;
        };
        if this.queue.is_empty() && this.inner.is_none() {
            // All handed over: the connection holds at most the last piece.
            this.held = Held::default();
        }
        this.waiting.store(stamp(), Ordering::Release);
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        // Asked before the first poll too: an empty answer (a gRPC error is
        // headers alone) must say so, so that its headers end the stream.
        self.queue.is_empty()
            && self.trailers.is_none()
            && self
                .inner
                .as_ref()
                .is_none_or(|inner| inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let queued: u64 = self.queue.iter().map(|c| c.len() as u64).sum();
        match &self.inner {
            None => SizeHint::with_exact(queued),
            Some(inner) => {
                let h = inner.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(h.lower() + queued);
                if let Some(upper) = h.upper() {
                    hint.set_upper(upper + queued);
                }
                hint
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Shares;
    use http_body_util::BodyExt;

    fn place(shares: &Shares) -> Held {
        Held {
            _place: Some(PlaceInFlight(Arc::new(
                shares.try_enter(1).expect("a place"),
            ))),
            _memory: None,
        }
    }

    #[tokio::test]
    async fn a_large_answer_is_handed_over_in_pieces_and_then_frees_its_place() {
        let shares = Shares::new(1, 1);
        let data = Bytes::from(vec![7u8; 3 * PIECE_BYTES + 5]);
        let mut body = Answer::body(Body::from(data.clone()), place(&shares), None);
        let mut got = Vec::new();
        while let Some(frame) = body.frame().await {
            let piece = frame.unwrap().into_data().unwrap();
            assert!(piece.len() <= PIECE_BYTES);
            let last = got.len() + piece.len() == data.len();
            assert_eq!(
                shares.try_enter(1).is_some(),
                last,
                "held until the last piece"
            );
            got.extend_from_slice(&piece);
        }
        assert_eq!(got, data);
        assert!(shares.try_enter(1).is_some());
    }

    #[test]
    fn an_empty_answer_ends_with_its_headers() {
        let body = Answer::body(Body::empty(), Held::default(), None);
        assert!(
            body.is_end_stream(),
            "a trailers-only gRPC answer stays one"
        );
        let body = Answer::body(Body::from("x"), Held::default(), None);
        assert!(!body.is_end_stream());
    }

    #[tokio::test]
    async fn trailers_follow_the_data() {
        let shares = Shares::new(1, 1);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter([
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"abc"))),
            Ok(Frame::trailers(trailers.clone())),
        ]));
        let collected = Answer::body(Body::new(inner), place(&shares), None)
            .collect()
            .await
            .unwrap();
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes(), Bytes::from_static(b"abc"));
        assert!(shares.try_enter(1).is_some());
    }

    #[tokio::test]
    async fn a_connection_with_an_unread_answer_is_closed_by_the_sweep() {
        let connections = Connections::new(Duration::from_millis(50));
        let (ours, _theirs) = tokio::io::duplex(64);
        let tracked = connections.track(ours);
        assert_eq!(connections.len(), 1);
        let mut body = Answer::body(
            Body::from(vec![1u8; 2 * PIECE_BYTES]),
            Held::default(),
            Some(tracked.state.clone()),
        );
        body.frame().await.unwrap().unwrap();
        assert_eq!(connections.sweep(), 0, "within the stall time");
        // Taking pieces is progress.
        std::thread::sleep(Duration::from_millis(30));
        body.frame().await.unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(connections.sweep(), 0, "the caller took the second piece");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            connections.sweep(),
            1,
            "then read nothing for the stall time"
        );
        assert_eq!(connections.stalled().get(), 1);
        let mut tracked = tracked;
        let mut buf = [0u8; 1];
        let read = tokio::io::AsyncReadExt::read(&mut tracked, &mut buf).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
        drop((body, tracked));
        assert!(connections.is_empty(), "a closed connection is forgotten");
    }

    #[tokio::test]
    async fn a_body_that_waits_for_its_handler_is_not_stalled() {
        let connections = Connections::new(Duration::from_millis(20));
        let (ours, _theirs) = tokio::io::duplex(64);
        let tracked = connections.track(ours);
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
        let stream = http_body_util::StreamBody::new(tokio_stream_of(rx));
        let mut body = Answer::body(
            Body::new(stream),
            Held::default(),
            Some(tracked.state.clone()),
        );
        tx.send(Ok(Frame::data(Bytes::from_static(b"x"))))
            .await
            .unwrap();
        body.frame().await.unwrap().unwrap();
        // The caller asks for more; the handler has none yet.
        let pending = tokio::time::timeout(Duration::from_millis(50), body.frame()).await;
        assert!(pending.is_err());
        assert_eq!(
            connections.sweep(),
            0,
            "waiting for the handler is no stall"
        );
        drop(tx);
    }

    fn tokio_stream_of<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
