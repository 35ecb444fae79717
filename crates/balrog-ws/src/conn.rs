//! A live WebSocket connection: one tokio task reads the socket (answers pings, runs the
//! keep-alive, handles the closing handshake, queues data frames) unless a blocking caller
//! reads it on its own thread (`reader`, `caller`); callers write directly under an async
//! mutex, and take complete messages from the queue.
//!
//! Phase changes Open -> Closing happen only while holding the writer lock (they send a
//! close frame), so a data frame can never follow our close frame on the wire.
//!
//! Lock order: `Shared::read` before `Shared::inner`; neither is held across an await or a
//! blocking wait.

mod caller;
mod direct;
mod reader;

pub use caller::CallerWait;
pub use reader::reader_task;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::deflate::{Deflater, Params};
use crate::errors::{Cause, Close, ClosedInfo, WsError};
use crate::frame::{
    encode_frame, encode_header, extend_masked, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT,
};
use crate::net::{ReadIo, WriteIo};
use reader::ReadCore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Open,
    Closing,
    Closed,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub max_message: Option<usize>,
    pub max_frame: Option<usize>,
    pub queue_high: Option<usize>,
    pub queue_low: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
    pub close_timeout: Option<Duration>,
    pub deflate: Option<Params>,
}

/// One data frame as delivered to `recv`: decompressed, validated.
pub struct Fragment {
    pub text: bool,
    pub data: BytesMut,
    pub fin: bool,
}

/// Set when the pong answering a ping arrives (or the connection closes, if asked).
#[derive(Default)]
pub struct PongSignal {
    set: AtomicBool,
    notify: Notify,
}

impl PongSignal {
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    fn fire(&self) {
        self.set.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Wait until set; `false` on timeout.
    pub async fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let notified = self.notify.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return true;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        return self.is_set();
                    }
                }
                None => notified.await,
            }
        }
    }
}

struct PendingPing {
    data: Vec<u8>,
    sent: Instant,
    signal: Arc<PongSignal>,
    ack_on_close: bool,
}

struct Inner {
    phase: Phase,
    frames: VecDeque<Fragment>,
    complete: usize,
    rcvd: Option<Close>,
    sent: Option<Close>,
    rcvd_then_sent: Option<bool>,
    cause: Option<Cause>,
    pings: Vec<PendingPing>,
    latency: f64,
    /// When the closing handshake started: the TCP close is awaited until + close_timeout.
    closing_since: Option<Instant>,
    /// The connection's `close_timeout`: the configured one until `close()` passes the
    /// Python attribute's value at that time (websockets reads the attribute when closing).
    close_timeout: Option<Duration>,
    /// Incoming frames are ignored (after failing the connection or receiving a close).
    discard: bool,
    abort: bool,
}

impl Inner {
    fn closed_info(&self) -> ClosedInfo {
        ClosedInfo {
            rcvd: self.rcvd.clone(),
            sent: self.sent.clone(),
            rcvd_then_sent: self.rcvd_then_sent,
            cause: self.cause.clone(),
        }
    }
}

/// A payload the writer may hold on to while it goes out (e.g. a Python `bytes` object).
pub type Data = Box<dyn AsRef<[u8]> + Send + Sync>;

/// Large payloads are masked into the write buffer this much at a time, so the bytes the
/// kernel copies out are still in cache (a whole 1 MiB frame masked at once is not), and
/// the buffer stays small.
const CHUNK: usize = 128 * 1024;

/// The part of a large frame's payload not yet masked into `buf`.
struct Rest {
    data: Data,
    at: usize,
    mask: [u8; 4],
}

pub struct Writer {
    io: WriteIo,
    buf: Vec<u8>,
    /// How much of `buf` is already on the wire.
    written: usize,
    /// The tail of the frame in `buf`, masked chunk by chunk as `buf` drains.
    rest: Option<Rest>,
    rng: u64,
    deflater: Option<Deflater>,
    scratch: Vec<u8>,
}

impl Writer {
    fn mask(&mut self) -> [u8; 4] {
        // xorshift64*: masks must be unpredictable to intermediaries, not secret.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32).to_le_bytes()[..4]
            .try_into()
            .unwrap_or([0x5a, 0xa5, 0x3c, 0xc3])
    }

    /// Mask the next chunk of a large payload into `buf`.
    fn fill(&mut self) {
        let Some(rest) = self.rest.as_mut() else {
            return;
        };
        let src = (*rest.data).as_ref();
        let end = src.len().min(rest.at + CHUNK);
        extend_masked(&mut self.buf, &src[rest.at..end], rest.mask, rest.at);
        rest.at = end;
        if end == src.len() {
            self.rest = None;
        }
    }

    /// Mask all of a pending large payload into `buf` (another frame must follow it).
    fn settle(&mut self) {
        while self.rest.is_some() {
            self.fill();
        }
    }

    /// Make room for the next frame: forget what went out, finish the frame in progress.
    fn prepare(&mut self) {
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
        }
        self.settle();
    }

    /// Encode a frame whose payload the writer keeps: a large uncompressed payload is
    /// masked in chunks while it goes out instead of being copied whole first.
    fn queue_data(&mut self, fin: bool, opcode: u8, data: Data) -> Result<(), WsError> {
        let len = (*data).as_ref().len();
        if len <= CHUNK || self.deflater.is_some() {
            return self.queue(fin, opcode, (*data).as_ref());
        }
        self.prepare();
        let mask = self.mask();
        encode_header(&mut self.buf, fin, false, opcode, len, mask);
        self.rest = Some(Rest { data, at: 0, mask });
        self.fill();
        Ok(())
    }

    /// Encode a frame after whatever is still pending in the buffer.
    fn queue(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        self.prepare();
        let mask = self.mask();
        let is_data = opcode == OP_TEXT || opcode == OP_BINARY || opcode == OP_CONT;
        match self.deflater.as_mut() {
            Some(deflater) if is_data => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                deflater
                    .compress_frame(payload, fin, &mut scratch)
                    .map_err(WsError::Runtime)?;
                encode_frame(
                    &mut self.buf,
                    fin,
                    opcode != OP_CONT,
                    opcode,
                    &scratch,
                    mask,
                );
                if scratch.capacity() > 1 << 20 {
                    scratch = Vec::new();
                }
                self.scratch = scratch;
            }
            _ => encode_frame(&mut self.buf, fin, false, opcode, payload, mask),
        }
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        loop {
            // `written` advances with every write, so a flush cancelled half-way (a green
            // task cancelled, a timeout) never sends the same bytes twice when resumed.
            while self.written < self.buf.len() {
                let pending = &self.buf[self.written..];
                let n = match &mut self.io {
                    WriteIo::Socket(w) => loop {
                        let mut ready = w.writable().await?;
                        if let Ok(sent) = ready.try_io(|w| w.get_ref().send(pending)) {
                            break sent?;
                        }
                    },
                    WriteIo::Tls(w) => w.write(pending).await?,
                };
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                self.written += n;
            }
            self.buf.clear();
            self.written = 0;
            if self.rest.is_none() {
                break;
            }
            self.fill();
        }
        if let WriteIo::Tls(w) = &mut self.io {
            w.flush().await?;
        }
        if self.buf.capacity() > 4 << 20 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// Write without waiting (plain TCP or Unix socket): `Ok(true)` when everything went out.
    fn try_flush(&mut self) -> std::io::Result<bool> {
        loop {
            while self.written < self.buf.len() {
                let pending = &self.buf[self.written..];
                // Straight to the socket: tokio's readiness flag is only consulted (and
                // cleared) by `flush` when this one could not write everything.
                let attempt = match &mut self.io {
                    WriteIo::Socket(w) => w.get_ref().send(pending),
                    WriteIo::Tls(_) => return Ok(false),
                };
                match attempt {
                    Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            self.buf.clear();
            self.written = 0;
            if self.rest.is_none() {
                return Ok(true);
            }
            self.fill();
        }
    }

    fn can_try(&self) -> bool {
        matches!(self.io, WriteIo::Socket(_))
    }
}

pub struct Shared {
    /// The reader's state: whoever reads the socket (task or blocking caller) holds it.
    read: Mutex<ReadCore>,
    inner: Mutex<Inner>,
    /// Fragments arrived, or the phase changed.
    readable: Notify,
    /// The queue went under the low-water mark.
    drained: Notify,
    /// Something the reader must look at (closing started, abort).
    reader_wake: Notify,
    /// A caller took the read side over: the task starts watching whether it stays used.
    caller_took: Notify,
    writer: tokio::sync::Mutex<Writer>,
    config: Config,
    fd: RawFd,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
}

pub enum TrySend {
    Done,
    /// Part of the frame is still pending: wait for a flush op.
    Pending,
    /// Could not try (TLS, busy writer, compression of a large payload): use the op.
    NotTried,
}

impl Shared {
    pub fn new(
        config: Config,
        read: ReadIo,
        leftover: BytesMut,
        write: WriteIo,
        fd: RawFd,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    ) -> Arc<Self> {
        let seed = getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
        let deflater = config.deflate.as_ref().map(Deflater::new);
        let read = Mutex::new(ReadCore::new(read, leftover, &config));
        Arc::new(Shared {
            read,
            inner: Mutex::new(Inner {
                phase: Phase::Open,
                frames: VecDeque::new(),
                complete: 0,
                rcvd: None,
                sent: None,
                rcvd_then_sent: None,
                cause: None,
                pings: Vec::new(),
                latency: 0.0,
                closing_since: None,
                close_timeout: config.close_timeout,
                discard: false,
                abort: false,
            }),
            readable: Notify::new(),
            drained: Notify::new(),
            reader_wake: Notify::new(),
            caller_took: Notify::new(),
            writer: tokio::sync::Mutex::new(Writer {
                io: write,
                buf: Vec::with_capacity(256),
                written: 0,
                rest: None,
                rng: seed,
                deflater,
                scratch: Vec::new(),
            }),
            config,
            fd,
            local,
            peer,
        })
    }

    pub fn phase(&self) -> Phase {
        self.inner.lock().phase
    }

    pub fn latency(&self) -> f64 {
        self.inner.lock().latency
    }

    pub fn closed_info(&self) -> ClosedInfo {
        self.inner.lock().closed_info()
    }

    /// `(close_code, close_reason)` as websockets reports them once closed.
    pub fn close_code_reason(&self) -> (Option<u16>, Option<String>) {
        let inner = self.inner.lock();
        if inner.phase != Phase::Closed {
            return (None, None);
        }
        match &inner.rcvd {
            Some(c) => (Some(c.code), Some(c.reason.clone())),
            None => (Some(1006), Some(String::new())),
        }
    }

    /// Stop the connection now: the reader finishes and the socket is shut down.
    pub fn abort(&self) {
        self.inner.lock().abort = true;
        self.reader_wake.notify_one();
    }

    // ---- receiving ----------------------------------------------------------------------

    /// Take a complete message if one is queued.
    pub fn take_message(&self) -> Option<(bool, BytesMut)> {
        let mut inner = self.inner.lock();
        if inner.complete == 0 {
            return None;
        }
        let first = inner.frames.pop_front()?;
        let text = first.text;
        let mut fin = first.fin;
        let mut data = if fin {
            first.data
        } else {
            // A fragmented message: one buffer of the final size, not one that grows (and
            // copies what it holds) fragment by fragment.
            let mut size = first.data.len();
            for next in &inner.frames {
                size += next.data.len();
                if next.fin {
                    break;
                }
            }
            let mut data = BytesMut::with_capacity(size);
            data.extend_from_slice(&first.data);
            data
        };
        while !fin {
            let Some(next) = inner.frames.pop_front() else {
                break;
            };
            data.extend_from_slice(&next.data);
            fin = next.fin;
        }
        inner.complete -= 1;
        let below = inner.frames.len() <= self.config.queue_low;
        drop(inner);
        if below {
            self.drained.notify_one();
        }
        Some((text, data))
    }

    fn take_fragment(&self) -> Option<Fragment> {
        let mut inner = self.inner.lock();
        let frag = inner.frames.pop_front()?;
        if frag.fin {
            inner.complete -= 1;
        }
        let below = inner.frames.len() <= self.config.queue_low;
        drop(inner);
        if below {
            self.drained.notify_one();
        }
        Some(frag)
    }

    /// Wait for a message (`streaming`: any fragment). Err(Closed) once the connection is
    /// closed and nothing is left; Err(Timeout) after `timeout`.
    pub async fn recv(
        &self,
        timeout: Option<Duration>,
        streaming: bool,
    ) -> Result<Fragment, WsError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.reader_needed();
        loop {
            let notified = self.readable.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if streaming {
                if let Some(frag) = self.take_fragment() {
                    return Ok(frag);
                }
            } else if let Some((text, data)) = self.take_message() {
                return Ok(Fragment {
                    text,
                    data,
                    fin: true,
                });
            }
            {
                let inner = self.inner.lock();
                if inner.phase == Phase::Closed {
                    return Err(WsError::Closed(inner.closed_info()));
                }
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        return Err(recv_timeout(timeout));
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Wait until the connection is closed; `false` on timeout.
    pub async fn wait_closed(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.reader_needed();
        loop {
            let notified = self.readable.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if self.phase() == Phase::Closed {
                return true;
            }
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d, notified).await.is_err() {
                        return self.phase() == Phase::Closed;
                    }
                }
                None => notified.await,
            }
        }
    }

    /// The error a send on a connection that is not open reports, once it is closed.
    async fn closed_error(&self) -> WsError {
        // Like websockets: wait for the TCP connection to end so the close codes are known.
        let close_timeout = self.inner.lock().close_timeout;
        let limit = close_timeout.map(|t| t * 2 + Duration::from_millis(100));
        if !self.wait_closed(limit).await {
            self.abort();
            self.wait_closed(Some(Duration::from_secs(1))).await;
        }
        WsError::Closed(self.closed_info())
    }

    // ---- sending --------------------------------------------------------------------------

    /// Send without waiting when the socket takes it at once (caller holds the GIL).
    pub fn try_send(&self, opcode: u8, data: Data, fin: bool) -> Result<TrySend, WsError> {
        let Ok(mut writer) = self.writer.try_lock() else {
            return Ok(TrySend::NotTried);
        };
        let len = (*data).as_ref().len();
        if !writer.can_try() || (writer.deflater.is_some() && len > 16 * 1024) {
            return Ok(TrySend::NotTried);
        }
        let is_control = opcode & 0x8 != 0;
        {
            let phase = self.inner.lock().phase;
            if phase == Phase::Closed || (phase == Phase::Closing && !is_control) {
                return Ok(TrySend::NotTried);
            }
        }
        writer.queue_data(fin, opcode, data)?;
        match writer.try_flush() {
            Ok(true) => Ok(TrySend::Done),
            Ok(false) => Ok(TrySend::Pending),
            Err(_) => {
                drop(writer);
                self.abort();
                Ok(TrySend::Pending)
            }
        }
    }

    /// Write out whatever `try_send` left pending.
    pub async fn flush(&self) -> Result<(), WsError> {
        let result = {
            let mut writer = self.writer.lock().await;
            writer.flush().await
        };
        if result.is_err() {
            self.abort();
            return Err(self.closed_error().await);
        }
        Ok(())
    }

    pub async fn send(&self, opcode: u8, payload: &[u8], fin: bool) -> Result<(), WsError> {
        self.send_with(opcode, |writer| writer.queue(fin, opcode, payload))
            .await
    }

    /// `send` for a payload the writer may keep while it goes out (no up-front copy).
    pub async fn send_data(&self, opcode: u8, data: Data, fin: bool) -> Result<(), WsError> {
        self.send_with(opcode, |writer| writer.queue_data(fin, opcode, data))
            .await
    }

    async fn send_with(
        &self,
        opcode: u8,
        queue: impl FnOnce(&mut Writer) -> Result<(), WsError>,
    ) -> Result<(), WsError> {
        let is_control = opcode & 0x8 != 0;
        let result = {
            let mut writer = self.writer.lock().await;
            let phase = self.phase();
            if phase == Phase::Closed || (phase == Phase::Closing && !is_control) {
                None
            } else {
                queue(&mut writer)?;
                Some(writer.flush().await)
            }
        };
        match result {
            Some(Ok(())) => Ok(()),
            Some(Err(_)) => {
                self.abort();
                Err(self.closed_error().await)
            }
            None => Err(self.closed_error().await),
        }
    }

    pub async fn ping(
        &self,
        data: Option<Vec<u8>>,
        ack_on_close: bool,
    ) -> Result<Arc<PongSignal>, WsError> {
        let signal = Arc::new(PongSignal::default());
        if self.phase() == Phase::Closed {
            return Err(self.closed_error().await);
        }
        let payload = {
            let mut inner = self.inner.lock();
            let payload = match data {
                Some(d) => {
                    if inner.pings.iter().any(|p| p.data == d) {
                        return Err(WsError::Concurrency(
                            "already waiting for a pong with the same data".into(),
                        ));
                    }
                    d
                }
                None => loop {
                    let candidate = getrandom::u32().unwrap_or(0).to_be_bytes().to_vec();
                    if !inner.pings.iter().any(|p| p.data == candidate) {
                        break candidate;
                    }
                },
            };
            inner.pings.push(PendingPing {
                data: payload.clone(),
                sent: Instant::now(),
                signal: signal.clone(),
                ack_on_close,
            });
            payload
        };
        self.send(OP_PING, &payload, true).await?;
        // The pong must be read even if no caller reads the socket now.
        self.reader_needed();
        Ok(signal)
    }

    /// Start the closing handshake (if open) and wait for the connection to end, up to
    /// `close_timeout` (the connection's attribute at the time of the call, as websockets
    /// reads it).
    pub async fn close(
        &self,
        code: Option<u16>,
        reason: String,
        close_timeout: Option<Duration>,
    ) -> Result<(), WsError> {
        {
            let mut writer = self.writer.lock().await;
            let start = self.phase() == Phase::Open;
            if start {
                let payload = match code {
                    Some(c) => {
                        let mut p = c.to_be_bytes().to_vec();
                        p.extend_from_slice(reason.as_bytes());
                        p
                    }
                    None => Vec::new(),
                };
                let queued = writer.queue(true, OP_CLOSE, &payload);
                {
                    let mut inner = self.inner.lock();
                    inner.sent = Some(Close {
                        code: code.unwrap_or(1005),
                        reason,
                    });
                    inner.phase = Phase::Closing;
                    inner.closing_since = Some(Instant::now());
                    inner.close_timeout = close_timeout;
                }
                self.reader_wake.notify_one();
                let flushed = match queued {
                    Ok(()) => writer.flush().await.is_ok(),
                    Err(_) => false,
                };
                if !flushed {
                    drop(writer);
                    self.abort();
                }
            }
        }
        self.wait_closed_or_abort(close_timeout).await;
        Ok(())
    }

    /// Wait for the connection to end after a closing handshake began (`close_timeout`,
    /// plus a margin for the reader's own timeout), else drop the TCP connection.
    async fn wait_closed_or_abort(&self, close_timeout: Option<Duration>) {
        let limit = close_timeout.map(|t| t + Duration::from_millis(500));
        if !self.wait_closed(limit).await {
            self.abort();
            self.wait_closed(Some(Duration::from_secs(1))).await;
        }
    }

    /// websockets' `fail` called from the user's side (a message `recv(decode=True)` cannot
    /// decode, an iterable that broke in the middle of a fragmented `send`): send `code`,
    /// ignore everything the server sends from now on — its close frame too, so the
    /// error reads "no close frame received" as websockets' does — and wait for the
    /// connection to end as `close` does.
    pub async fn fail_and_wait(
        &self,
        code: u16,
        reason: String,
        close_timeout: Option<Duration>,
    ) -> Result<(), WsError> {
        self.inner.lock().close_timeout = close_timeout;
        self.fail(code, reason, None).await;
        self.reader_wake.notify_one();
        self.wait_closed_or_abort(close_timeout).await;
        Ok(())
    }

    /// Fail the connection (websockets' `fail`): send a close frame with `code` if still
    /// open, then ignore everything but the end of the TCP connection.
    async fn fail(&self, code: u16, reason: String, cause: Option<Cause>) {
        let mut writer = self.writer.lock().await;
        let start = {
            let mut inner = self.inner.lock();
            inner.discard = true;
            if inner.cause.is_none() {
                inner.cause = cause;
            }
            if inner.phase == Phase::Open {
                inner.sent = Some(Close {
                    code,
                    reason: reason.clone(),
                });
                if inner.rcvd.is_some() {
                    inner.rcvd_then_sent = Some(true);
                }
                inner.phase = Phase::Closing;
                inner.closing_since = Some(Instant::now());
                true
            } else {
                false
            }
        };
        if start {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(reason.as_bytes());
            let ok = match writer.queue(true, OP_CLOSE, &payload) {
                Ok(()) => writer.flush().await.is_ok(),
                Err(_) => false,
            };
            if !ok {
                self.inner.lock().abort = true;
            }
        }
    }

    /// Drop everything the user could still be waiting for, once the socket is gone.
    fn finish(&self) {
        let mut inner = self.inner.lock();
        inner.phase = Phase::Closed;
        for ping in inner.pings.drain(..) {
            if ping.ack_on_close {
                ping.signal.fire();
            }
        }
        drop(inner);
        self.readable.notify_waiters();
    }
}

/// What websockets raises when `recv(timeout=...)` passes: `TimeoutError("timed out in 0.1s")`.
pub fn recv_timeout(timeout: Option<Duration>) -> WsError {
    let seconds = timeout.map_or(0.0, |t| t.as_secs_f64());
    WsError::Timeout(format!("timed out in {seconds:.1}s"))
}
