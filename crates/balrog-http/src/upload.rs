//! Streamed request bodies (`data=` a file object or an iterator): hyper sends the body
//! chunk by chunk as the caller produces it, instead of the whole body from memory.
//!
//! The caller drives: `Upload.step(chunk)` hands one chunk over and waits (an op, in the
//! caller's mode) until hyper asks for the next one or the exchange finishes; the caller then
//! produces the next chunk itself, on its own thread (or in its own green task). So Python
//! code never runs on a tokio thread, a green task's producer never needs the event loop
//! while it is suspended, and nothing is read ahead: memory holds one chunk plus hyper's
//! write buffer. `Upload.finish()` ends the body and waits for the response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use balrog_core::{fork_generation, Exec, Op};
use bytes::Bytes;
use futures_util::Stream;
use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::runtime::Runtime;

use crate::errors::{HttpError, Kind};

/// What the feeder (Python) and the reader (hyper) share.
#[derive(Default)]
struct PipeState {
    /// The chunk handed over and not yet taken by hyper.
    slot: Option<Bytes>,
    /// hyper polled the body and found nothing: it wants the next chunk.
    wanted: bool,
    /// hyper has asked at least once (the connection is up and the head is written).
    asked: bool,
    /// The caller said the body is complete.
    ended: bool,
    /// hyper has read the end of the body: the whole request is handed over.
    drained: bool,
    /// The caller gave up (its producer failed, a wait was interrupted): hyper gets an
    /// error instead of the end of the body, so the request is never taken as complete
    /// and the connection is not reused.
    aborted: bool,
    /// hyper dropped the body (the exchange ended or failed): nobody will ask again.
    closed: bool,
    reader: Option<Waker>,
    feeder: Option<Waker>,
    drain: Option<Waker>,
}

#[derive(Clone, Default)]
pub struct Pipe(Arc<Mutex<PipeState>>);

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn park(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(known) if known.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// What a wait for hyper's demand ended with.
enum Demand {
    /// hyper wants the next chunk.
    Wanted,
    /// hyper dropped the body: only the exchange's result is left to wait for.
    Closed,
}

impl Pipe {
    /// The request body hyper reads from this pipe.
    pub fn body(&self) -> reqwest::Body {
        reqwest::Body::wrap_stream(PipeBody(self.clone()))
    }

    /// Resolves once hyper is done with the body: it read its end, or dropped it (a body
    /// framed by Content-Length is dropped as soon as its last byte is taken, without a
    /// poll for the end).
    pub async fn drained(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock();
            if state.drained || state.closed {
                return Poll::Ready(());
            }
            park(&mut state.drain, cx);
            Poll::Pending
        })
        .await
    }

    async fn demand(&self) -> Demand {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock();
            if state.closed {
                return Poll::Ready(Demand::Closed);
            }
            if state.wanted && state.slot.is_none() {
                return Poll::Ready(Demand::Wanted);
            }
            park(&mut state.feeder, cx);
            Poll::Pending
        })
        .await
    }

    /// Resolves once hyper has dropped the body (its exchange is over).
    async fn closed(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.lock();
            if state.closed {
                return Poll::Ready(());
            }
            park(&mut state.feeder, cx);
            Poll::Pending
        })
        .await
    }

    /// Fail the body (unless it ended).
    fn abort(&self) {
        let reader = {
            let mut state = self.0.lock();
            if state.ended || state.aborted {
                return;
            }
            state.aborted = true;
            state.slot = None;
            state.reader.take()
        };
        wake(reader);
    }
}

/// hyper's side of the pipe.
struct PipeBody(Pipe);

impl Stream for PipeBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut state = (self.0).0.lock();
        if let Some(chunk) = state.slot.take() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if state.aborted {
            return Poll::Ready(Some(Err(std::io::Error::other(
                "the request body was abandoned before its end",
            ))));
        }
        if state.ended {
            state.drained = true;
            let (drain, feeder) = (state.drain.take(), state.feeder.take());
            drop(state);
            wake(drain);
            wake(feeder);
            return Poll::Ready(None);
        }
        state.wanted = true;
        state.asked = true;
        park(&mut state.reader, cx);
        let feeder = state.feeder.take();
        drop(state);
        wake(feeder);
        Poll::Pending
    }
}

impl Drop for PipeBody {
    fn drop(&mut self) {
        let wakers = {
            let mut state = (self.0).0.lock();
            state.closed = true;
            state.slot = None;
            (state.feeder.take(), state.drain.take())
        };
        wake(wakers.0);
        wake(wakers.1);
    }
}

/// The exchange of a streamed upload: sends the request, then reads the response as
/// `Client.send` does (whole, or left on the wire for a streamed response).
pub(crate) type ExchangeFuture =
    Pin<Box<dyn Future<Output = Result<crate::client::Outcome, HttpError>> + Send>>;

/// One request whose body the caller streams (`Client.upload`).
#[pyclass(frozen, module = "balrog._http")]
pub struct Upload {
    pipe: Pipe,
    exchange: Arc<Mutex<Option<ExchangeFuture>>>,
    runtime: Option<Arc<Runtime>>,
    /// How long hyper may go without asking for more once it has asked (the send stalled:
    /// the server stopped reading). urllib3 sends with the connect timeout as the socket
    /// timeout, so this is the connect timeout.
    stall: Option<Duration>,
    generation: u64,
}

/// The longest `settle` waits for hyper to drop an abandoned body (it takes microseconds).
const SETTLE_LIMIT: Duration = Duration::from_millis(500);

/// How urllib3 (so requests) reports a send that timed out.
fn stalled() -> HttpError {
    HttpError::new(
        Kind::ConnectionError,
        "('Connection aborted.', TimeoutError('timed out'))",
    )
}

fn cancelled() -> HttpError {
    HttpError::new(
        Kind::ConnectionError,
        "the upload was interrupted: its request can no longer be sent",
    )
}

/// Where a step of the upload stopped.
enum Step {
    /// hyper wants the next chunk.
    More,
    /// The exchange finished (the response, or a failure).
    Done(Box<crate::client::Outcome>),
}

impl Upload {
    pub(crate) fn new(
        pipe: Pipe,
        exchange: ExchangeFuture,
        runtime: Option<Arc<Runtime>>,
        stall: Option<Duration>,
    ) -> Self {
        Upload {
            pipe,
            exchange: Arc::new(Mutex::new(Some(exchange))),
            runtime,
            stall,
            generation: fork_generation(),
        }
    }

    fn exec(&self) -> Exec {
        crate::client::exec_on(self.runtime.clone())
    }

    fn check_fork(&self) -> PyResult<()> {
        if self.generation != fork_generation() {
            return Err(PyRuntimeError::new_err(
                "this upload was started in a parent process before fork()",
            ));
        }
        Ok(())
    }

    /// After an abort on a blocking caller's runtime: nothing drives that runtime between
    /// requests, so let hyper see the failed body now and close the connection (the server
    /// must not wait for the rest of a request that will never come). Bounded; skipped
    /// inside a runtime (never nested) and when hyper is done with the body already.
    fn settle(&self) {
        let Some(rt) = &self.runtime else { return };
        let settled = {
            let state = self.pipe.0.lock();
            !state.aborted || state.closed
        };
        if settled || tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        let pipe = self.pipe.clone();
        rt.block_on(async move {
            let _ = tokio::time::timeout(SETTLE_LIMIT, pipe.closed()).await;
        });
    }

    fn op(&self, fut: impl Future<Output = Result<Step, HttpError>> + Send + 'static) -> Op {
        let runtime = self.runtime.clone();
        Op::on(
            self.exec(),
            fut,
            move |py, step: Result<Step, HttpError>| match step {
                Ok(Step::More) => Ok(py.None()),
                Ok(Step::Done(outcome)) => crate::client::send_result(py, Ok(*outcome), runtime),
                Err(err) => Err(err.into_py(py)),
            },
        )
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.generation != fork_generation() {
            // Its connection belongs to the parent's runtime: never touch it from here.
            if let Some(fut) = self.exchange.lock().take() {
                std::mem::forget(fut);
            }
            if let Some(rt) = self.runtime.take() {
                std::mem::forget(rt);
            }
            return;
        }
        // Dropped before the body ended (the producer failed, the caller was interrupted,
        // or the response came first): the request must not look complete.
        self.pipe.abort();
        drop(self.exchange.lock().take());
        self.settle();
    }
}

#[pymethods]
impl Upload {
    /// Hand `chunk` over (none on the first call), then wait until hyper wants the next
    /// one (the op's result is None) or the exchange is over (`Client.send`'s tuple).
    #[pyo3(signature = (chunk = None))]
    fn step(&self, chunk: Option<&Bound<'_, PyBytes>>) -> PyResult<Op> {
        self.check_fork()?;
        let limit = {
            let mut state = self.pipe.0.lock();
            if state.ended || state.aborted {
                return Err(PyRuntimeError::new_err(
                    "this upload's body is already over",
                ));
            }
            let reader = match chunk {
                Some(chunk) if !chunk.as_bytes().is_empty() => {
                    if state.slot.is_some() {
                        return Err(PyRuntimeError::new_err(
                            "a chunk was handed over before the previous one was taken",
                        ));
                    }
                    state.slot = Some(crate::client::bytes_of(chunk));
                    state.wanted = false;
                    state.reader.take()
                }
                _ => None,
            };
            drop(state);
            wake(reader);
            // Until hyper first asks, the wait covers connecting (reqwest's connect timeout).
            if self.pipe.0.lock().asked {
                self.stall
            } else {
                None
            }
        };
        let exchange = self.exchange.clone();
        let pipe = self.pipe.clone();
        Ok(self.op(async move {
            let Some(mut fut) = exchange.lock().take() else {
                return Err(cancelled());
            };
            let demand = async {
                match limit {
                    Some(limit) => tokio::time::timeout(limit, pipe.demand()).await.ok(),
                    None => Some(pipe.demand().await),
                }
            };
            let demand = tokio::select! {
                biased;
                outcome = fut.as_mut() => return outcome.map(|o| Step::Done(Box::new(o))),
                demand = demand => demand,
            };
            match demand {
                Some(Demand::Wanted) => {
                    *exchange.lock() = Some(fut);
                    Ok(Step::More)
                }
                Some(Demand::Closed) => fut.await.map(|o| Step::Done(Box::new(o))),
                None => {
                    pipe.abort();
                    Err(stalled())
                }
            }
        }))
    }

    /// End the body and wait for the exchange to finish (`Client.send`'s tuple).
    fn finish(&self) -> PyResult<Op> {
        self.check_fork()?;
        let reader = {
            let mut state = self.pipe.0.lock();
            if state.aborted {
                return Err(PyRuntimeError::new_err("this upload was abandoned"));
            }
            state.ended = true;
            state.reader.take()
        };
        wake(reader);
        let exchange = self.exchange.clone();
        let pipe = self.pipe.clone();
        let limit = self.stall;
        Ok(self.op(async move {
            let Some(mut fut) = exchange.lock().take() else {
                return Err(cancelled());
            };
            // The rest of the body leaves hyper's buffer first (a send that stalls is
            // urllib3's send timeout); then the response's read timeout runs, inside the
            // exchange.
            let handed_over = async {
                match limit {
                    Some(limit) => tokio::time::timeout(limit, pipe.drained()).await.is_ok(),
                    None => {
                        pipe.drained().await;
                        true
                    }
                }
            };
            let handed_over = tokio::select! {
                biased;
                outcome = fut.as_mut() => return outcome.map(|o| Step::Done(Box::new(o))),
                done = handed_over => done,
            };
            if handed_over {
                fut.await.map(|o| Step::Done(Box::new(o)))
            } else {
                Err(stalled())
            }
        }))
    }

    /// Give up: hyper gets an error instead of the end of the body (the connection is
    /// closed, never reused), and the exchange is dropped.
    fn abort(&self, py: Python<'_>) {
        let fut = self.exchange.lock().take();
        if self.generation != fork_generation() {
            std::mem::forget(fut);
            return;
        }
        self.pipe.abort();
        drop(fut);
        py.allow_threads(|| self.settle());
    }

    /// Whether hyper has read the whole body (False after an early response).
    #[getter]
    fn complete(&self) -> bool {
        self.pipe.0.lock().drained
    }
}
