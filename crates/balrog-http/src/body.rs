//! Response bodies: read whole (one op) or streamed one chunk per op.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use balrog_core::{fork_generation, Exec, Op};
use bytes::Bytes;
use hyper::body::{Body as _, Incoming};
use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::decode::Decoder;
use crate::direct::Lease;
use crate::errors::{classify_body, classify_direct_body, HttpError, Kind};

/// Where a response body comes from: reqwest's response, or hyper's body on a connection
/// of the direct lane (`direct.rs`), which goes back to its pool once the body is read.
pub(crate) enum Source {
    Reqwest(reqwest::Response),
    Direct(Incoming, Option<Lease>),
}

impl Source {
    /// The next network chunk, None at the end (trailers are skipped, as reqwest does).
    async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        match self {
            Source::Reqwest(response) => response.chunk().await.map_err(|err| classify_body(&err)),
            Source::Direct(body, lease) => loop {
                let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await;
                match frame {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(bytes) => return Ok(Some(bytes)),
                        Err(_trailers) => continue,
                    },
                    Some(Err(err)) => {
                        // The connection failed mid-body: its slot comes back empty.
                        if let Some(lease) = lease.take() {
                            lease.abandon();
                        }
                        return Err(classify_direct_body(&err));
                    }
                    None => {
                        // Read to the end: the connection can carry the next request.
                        if let Some(lease) = lease.take() {
                            lease.release();
                        }
                        return Ok(None);
                    }
                }
            },
        }
    }

    fn content_length(&self) -> Option<u64> {
        match self {
            Source::Reqwest(response) => response.content_length(),
            Source::Direct(body, _) => body.size_hint().exact(),
        }
    }
}

/// What is left of a response body on the wire.
pub struct BodyReader {
    source: Source,
    decoder: Option<Decoder>,
    read_timeout: Option<Duration>,
    finished: bool,
}

impl BodyReader {
    pub(crate) fn new(
        source: Source,
        decoder: Option<Decoder>,
        read_timeout: Option<Duration>,
    ) -> Self {
        BodyReader {
            source,
            decoder,
            read_timeout,
            finished: false,
        }
    }

    /// Closed by its owner before the end: a direct-lane connection's slot comes back
    /// empty (the connection itself closes as the reader is dropped).
    pub fn abandon(self) {
        if let Source::Direct(_, Some(lease)) = self.source {
            lease.abandon();
        }
    }

    /// The next undecoded network chunk, or `None` at the end of the body.
    async fn next_raw(&mut self) -> Result<Option<Bytes>, HttpError> {
        if self.finished {
            return Ok(None);
        }
        let chunk = match self.read_timeout {
            Some(limit) => match tokio::time::timeout(limit, self.source.chunk()).await {
                Ok(chunk) => chunk,
                // requests turns urllib3's read timeout while streaming into ConnectionError.
                Err(_) => {
                    // urllib3 closes the connection and gives its slot back.
                    if let Source::Direct(_, lease) = &mut self.source {
                        if let Some(lease) = lease.take() {
                            lease.abandon();
                        }
                    }
                    return Err(HttpError::new(
                        Kind::ConnectionError,
                        format!("Read timed out. (read timeout={})", limit.as_secs_f64()),
                    ));
                }
            },
            None => self.source.chunk().await,
        };
        match chunk {
            Ok(Some(bytes)) => Ok(Some(bytes)),
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(err) => {
                self.finished = true;
                Err(err)
            }
        }
    }

    /// The next piece of the body (decoded when asked and when an encoding applies); an
    /// empty result means the body is complete. Never returns empty before the end.
    pub async fn next(&mut self, decode: bool) -> Result<Bytes, HttpError> {
        loop {
            let raw = self.next_raw().await?;
            match (&mut self.decoder, decode) {
                (Some(decoder), true) => {
                    let out = match raw {
                        Some(bytes) => decoder.push(&bytes)?,
                        None => return decoder.finish().map(Bytes::from),
                    };
                    if !out.is_empty() {
                        return Ok(Bytes::from(out));
                    }
                }
                _ => match raw {
                    Some(bytes) if bytes.is_empty() => continue,
                    Some(bytes) => return Ok(bytes),
                    None => return Ok(Bytes::new()),
                },
            }
        }
    }

    /// The body's exact size when it arrives as sent (no content decoding) with a known
    /// length: the caller can then allocate its final buffer before reading.
    pub fn exact_length(&self) -> Option<u64> {
        match self.decoder {
            None if !self.finished => self.source.content_length(),
            _ => None,
        }
    }

    /// Read the rest of the body into `buf`, which `exact_length` sized: each network piece
    /// is copied once, straight to its place. Returns how many bytes were written (less
    /// than `buf.len()` only if the body ended early without an error); only those are
    /// initialised.
    pub async fn read_into(&mut self, buf: &mut [MaybeUninit<u8>]) -> Result<usize, HttpError> {
        let mut filled = 0;
        loop {
            let piece = self.next(true).await?;
            if piece.is_empty() {
                return Ok(filled);
            }
            // hyper ends a Content-Length body at that length; more would be a bug there.
            let Some(room) = buf.get_mut(filled..filled + piece.len()) else {
                return Err(HttpError::new(
                    Kind::ConnectionError,
                    "response body longer than its Content-Length".to_owned(),
                ));
            };
            // SAFETY: `room` is exactly `piece.len()` writable bytes, and a fresh network
            // buffer never overlaps the caller's.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    piece.as_ptr(),
                    room.as_mut_ptr().cast::<u8>(),
                    piece.len(),
                );
            }
            filled += piece.len();
        }
    }

    /// The rest of the body, decoded, in one buffer.
    pub async fn read_all(mut self) -> Result<Bytes, HttpError> {
        let hint = self.source.content_length().unwrap_or(0) as usize;
        // While the body is one piece it stays the piece hyper handed over (no copy: the
        // only copy left is into the Python bytes object); a second piece joins them.
        let mut whole: Option<Bytes> = None;
        let mut joined: Option<Vec<u8>> = None;
        loop {
            let piece = self.next(true).await?;
            if piece.is_empty() {
                break;
            }
            if let Some(all) = joined.as_mut() {
                all.extend_from_slice(&piece);
                continue;
            }
            match whole.take() {
                None => whole = Some(piece),
                Some(first) => {
                    let size = hint.max(first.len() + piece.len()).min(64 * 1024 * 1024);
                    let mut all = Vec::with_capacity(size);
                    all.extend_from_slice(&first);
                    all.extend_from_slice(&piece);
                    joined = Some(all);
                }
            }
        }
        Ok(match (joined, whole) {
            (Some(all), _) => Bytes::from(all),
            (None, Some(piece)) => piece,
            (None, None) => Bytes::new(),
        })
    }
}

/// A streamed response body (`stream=True`): each `read()` is one op returning one chunk.
#[pyclass(frozen, module = "balrog._http")]
pub struct BodyStream {
    reader: Arc<tokio::sync::Mutex<Option<BodyReader>>>,
    exec: Mutex<Option<Arc<tokio::runtime::Runtime>>>,
    generation: u64,
}

impl BodyStream {
    pub fn new(reader: BodyReader, runtime: Option<Arc<tokio::runtime::Runtime>>) -> Self {
        BodyStream {
            reader: Arc::new(tokio::sync::Mutex::new(Some(reader))),
            exec: Mutex::new(runtime),
            generation: fork_generation(),
        }
    }

    fn exec(&self) -> Exec {
        crate::client::exec_on(self.exec.lock().clone())
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        if self.generation != fork_generation() {
            // The socket belongs to the parent's runtime: never deregister it from here.
            if let Some(reader) = self.reader.try_lock().ok().and_then(|mut r| r.take()) {
                std::mem::forget(reader);
            }
            if let Some(rt) = self.exec.lock().take() {
                std::mem::forget(rt);
            }
        }
    }
}

#[pymethods]
impl BodyStream {
    /// Next chunk of the body (`b""` at the end). `decode=False` gives the bytes as sent.
    #[pyo3(signature = (decode = true))]
    fn read(&self, decode: bool) -> PyResult<Op> {
        if self.generation != fork_generation() {
            return Err(PyRuntimeError::new_err(
                "this response body was opened in a parent process before fork()",
            ));
        }
        let reader = self.reader.clone();
        Ok(Op::on(
            self.exec(),
            async move {
                let mut guard = reader.lock().await;
                match guard.as_mut() {
                    Some(body) => body.next(decode).await,
                    None => Ok(Bytes::new()),
                }
            },
            |py, result: Result<Bytes, HttpError>| match result {
                Ok(bytes) => Ok(PyBytes::new(py, &bytes).into_any().unbind()),
                Err(err) => Err(err.into_py(py)),
            },
        ))
    }

    /// Drop the connection (a partly read body cannot go back to the pool; a direct-lane
    /// connection's slot comes back empty, as urllib3 puts back the closed connection).
    fn close(&self) {
        if let Ok(mut guard) = self.reader.try_lock() {
            if let Some(reader) = guard.take() {
                reader.abandon();
            }
        }
    }
}
