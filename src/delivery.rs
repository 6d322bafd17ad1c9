//! Answers on their way to the caller.
//!
//! A call's place in flight ([`Slot`]) is what bounds the memory of the calls
//! a process serves at once. A handler that has returned has not delivered
//! its answer: a caller that reads nothing (an HTTP/2 receive window of 0, a
//! full TCP buffer) leaves the answer in the server. So the place is held by
//! the answer's body until the body has handed its last byte to the
//! connection, and the answer is given out in pieces of at most
//! [`PIECE_BYTES`], each its own allocation: the connection holds at most one
//! piece of an answer it cannot send, and the rest stays here, counted by the
//! place it holds.
//!
//! An answer whose caller takes nothing for [`Delivery::stall`] is dropped
//! with its place: its memory is freed at once, and the stream is reset (the
//! connection closed, on HTTP/1.1) when the connection next asks for data.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use http_body::{Body as _, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::limits::Slot;

/// The most of one answer the connection is handed at a time.
pub const PIECE_BYTES: usize = 16 * 1024;

/// How answers are delivered, shared by every call.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// How long an answer may wait for its caller to take the next piece.
    pub stall: Duration,
    /// Answers dropped because their caller took nothing for `stall`.
    pub stalled: Counter,
}

impl Delivery {
    pub fn new(stall: Duration) -> Self {
        Delivery {
            stall: stall.max(Duration::from_millis(1)),
            stalled: Counter::default(),
        }
    }

    /// `body`, holding `slot` until it has handed all of itself over.
    pub fn hold(&self, body: Body, slot: Slot) -> Body {
        Body::new(Answer {
            state: Arc::new(Mutex::new(State {
                inner: Some(body),
                queue: VecDeque::new(),
                trailers: None,
                inner_done: false,
                slot: Some(slot),
                last_taken: Instant::now(),
                waker: None,
                stalled: false,
                watchdog: None,
            })),
            delivery: self.clone(),
        })
    }
}

/// The error a stalled answer ends with: the stream is reset.
#[derive(Debug)]
struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the caller read nothing of its answer in time")
    }
}

impl std::error::Error for Stalled {}

struct Answer {
    state: Arc<Mutex<State>>,
    delivery: Delivery,
}

struct State {
    /// The handler's body, until it has given all its frames.
    inner: Option<Body>,
    /// Data read from `inner` and not yet handed over.
    queue: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    inner_done: bool,
    slot: Option<Slot>,
    last_taken: Instant,
    waker: Option<Waker>,
    stalled: bool,
    watchdog: Option<AbortHandle>,
}

impl State {
    /// Reads every frame the handler's body has ready (all of it, for every
    /// answer this service writes), so that what remains is known.
    fn read_ready(&mut self, cx: &mut Context<'_>) -> Result<(), axum::Error> {
        while let Some(inner) = self.inner.as_mut() {
            match Pin::new(inner).poll_frame(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    self.inner = None;
                    self.inner_done = true;
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
                    }
                },
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

    /// Whether every byte has been handed over (trailers may remain).
    fn data_delivered(&self) -> bool {
        self.queue.is_empty() && self.inner.is_none()
    }

    fn give_up(&mut self) {
        self.inner = None;
        self.queue.clear();
        self.trailers = None;
        self.slot = None;
        self.stalled = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.lock()
            && let Some(watchdog) = state.watchdog.take()
        {
            watchdog.abort();
        }
    }
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Ok(mut state) = this.state.lock() else {
            return Poll::Ready(Some(Err(Box::new(Stalled))));
        };
        if state.stalled {
            return Poll::Ready(Some(Err(Box::new(Stalled))));
        }
        state.last_taken = Instant::now();
        if let Err(e) = state.read_ready(cx) {
            state.slot = None;
            return Poll::Ready(Some(Err(Box::new(e))));
        }
        let frame = if let Some(piece) = state.next_piece() {
            Some(Frame::data(piece))
        } else if let Some(trailers) = state.trailers.take() {
            Some(Frame::trailers(trailers))
        } else if state.inner_done {
            None
        } else {
            // A body that is not ready yet (none this service writes): wait.
            state.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        if state.data_delivered() {
            // All handed over: the connection holds at most the last piece.
            state.slot = None;
            if let Some(watchdog) = state.watchdog.take() {
                watchdog.abort();
            }
        } else if state.watchdog.is_none() {
            state.waker = Some(cx.waker().clone());
            state.watchdog = Some(
                tokio::spawn(watch(
                    Arc::downgrade(&this.state),
                    this.delivery.clone(),
                ))
                .abort_handle(),
            );
        } else {
            state.waker = Some(cx.waker().clone());
        }
        Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.state.lock().map_or(true, |s| {
            !s.stalled && s.inner_done && s.queue.is_empty() && s.trailers.is_none()
        })
    }

    fn size_hint(&self) -> SizeHint {
        let Ok(state) = self.state.lock() else {
            return SizeHint::default();
        };
        match &state.inner {
            None if !state.stalled => {
                SizeHint::with_exact(state.queue.iter().map(|c| c.len() as u64).sum())
            }
            Some(inner) if state.queue.is_empty() => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}

/// Drops an answer whose caller has taken nothing for `delivery.stall`.
async fn watch(state: Weak<Mutex<State>>, delivery: Delivery) {
    loop {
        let due = {
            let Some(state) = state.upgrade() else { return };
            let Ok(state) = state.lock() else { return };
            state.last_taken + delivery.stall
        };
        tokio::time::sleep_until(due).await;
        let Some(state) = state.upgrade() else { return };
        let Ok(mut state) = state.lock() else { return };
        if state.data_delivered() {
            return;
        }
        if state.last_taken + delivery.stall <= Instant::now() {
            state.give_up();
            delivery.stalled.inc();
            tracing::info!(
                stall_ms = delivery.stall.as_millis() as u64,
                "dropped an answer its caller did not read"
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Shares;
    use http_body_util::BodyExt;

    fn slot(shares: &Shares) -> Slot {
        shares.try_enter(1).expect("a place")
    }

    #[tokio::test]
    async fn a_large_answer_is_handed_over_in_pieces_and_then_frees_its_place() {
        let shares = Shares::new(1, 1);
        let delivery = Delivery::new(Duration::from_secs(10));
        let data = Bytes::from(vec![7u8; 3 * PIECE_BYTES + 5]);
        let mut body = delivery.hold(Body::from(data.clone()), slot(&shares));
        let mut got = Vec::new();
        while let Some(frame) = body.frame().await {
            let piece = frame.unwrap().into_data().unwrap();
            assert!(piece.len() <= PIECE_BYTES);
            let last = got.len() + piece.len() == data.len();
            assert_eq!(shares.try_enter(1).is_some(), last, "held until the last piece");
            got.extend_from_slice(&piece);
        }
        assert_eq!(got, data);
        assert!(shares.try_enter(1).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_nobody_reads_is_dropped_with_its_place() {
        let shares = Shares::new(1, 1);
        let delivery = Delivery::new(Duration::from_secs(10));
        let data = Bytes::from(vec![1u8; 4 * PIECE_BYTES]);
        let mut body = delivery.hold(Body::from(data), slot(&shares));
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap().len(), PIECE_BYTES);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(shares.try_enter(1).is_none(), "still within the stall time");
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(shares.try_enter(1).is_some(), "freed after the stall time");
        assert_eq!(delivery.stalled.get(), 1);
        assert!(body.frame().await.unwrap().is_err(), "the stream is reset");
    }

    #[tokio::test]
    async fn trailers_follow_the_data() {
        let shares = Shares::new(1, 1);
        let delivery = Delivery::new(Duration::from_secs(10));
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        let inner = http_body_util::StreamBody::new(futures_util::stream::iter([
            Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"abc"))),
            Ok(Frame::trailers(trailers.clone())),
        ]));
        let collected = delivery
            .hold(Body::new(inner), slot(&shares))
            .collect()
            .await
            .unwrap();
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes(), Bytes::from_static(b"abc"));
        assert!(shares.try_enter(1).is_some());
    }
}
