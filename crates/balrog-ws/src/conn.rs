//! A live WebSocket connection: one tokio task reads the socket (answers pings, runs the
//! keep-alive, handles the closing handshake, queues data frames); callers write directly
//! under an async mutex, and take complete messages from the queue.
//!
//! Phase changes Open -> Closing happen only while holding the writer lock (they send a
//! close frame), so a data frame can never follow our close frame on the wire.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::deflate::{Deflater, InflateError, Inflater, Params};
use crate::errors::{Cause, Close, ClosedInfo, WsError};
use crate::frame::{
    encode_frame, encode_header, extend_masked, parse_header, valid_close_code, FrameError,
    Utf8Stream, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,
};
use crate::net::{ReadIo, WriteIo};

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
                    WriteIo::Plain(w) => w.write(pending).await?,
                    WriteIo::Unix(w) => w.write(pending).await?,
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
                let attempt = match &mut self.io {
                    WriteIo::Plain(w) => w.try_write(pending),
                    WriteIo::Unix(w) => w.try_write(pending),
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
        matches!(self.io, WriteIo::Plain(_) | WriteIo::Unix(_))
    }
}

pub struct Shared {
    inner: Mutex<Inner>,
    /// Fragments arrived, or the phase changed.
    readable: Notify,
    /// The queue went under the low-water mark.
    drained: Notify,
    /// Something the reader must look at (closing started, abort).
    reader_wake: Notify,
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
        write: WriteIo,
        fd: RawFd,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    ) -> Arc<Self> {
        let seed = getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
        let deflater = config.deflate.as_ref().map(Deflater::new);
        Arc::new(Shared {
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
                discard: false,
                abort: false,
            }),
            readable: Notify::new(),
            drained: Notify::new(),
            reader_wake: Notify::new(),
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
        let mut data = first.data;
        let mut fin = first.fin;
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
                        return Err(WsError::Timeout(
                            "timed out while receiving a message".into(),
                        ));
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Wait until the connection is closed; `false` on timeout.
    pub async fn wait_closed(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
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
        let limit = self
            .config
            .close_timeout
            .map(|t| t * 2 + Duration::from_millis(100));
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
        Ok(signal)
    }

    /// Start the closing handshake (if open) and wait for the connection to end.
    pub async fn close(&self, code: Option<u16>, reason: String) -> Result<(), WsError> {
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
        let limit = self
            .config
            .close_timeout
            .map(|t| t + Duration::from_millis(500));
        if !self.wait_closed(limit).await {
            self.abort();
            self.wait_closed(Some(Duration::from_secs(1))).await;
        }
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

// ---- the reader task ------------------------------------------------------------------------

enum ReadEnd {
    Eof,
    Error(std::io::Error),
    CloseTimeout,
    Abort,
}

struct Assembly {
    /// Opcode of the message in progress, if any.
    opcode: Option<u8>,
    compressed: bool,
    size: usize,
    utf8: Utf8Stream,
    inflater: Option<Inflater>,
}

/// How a frame handler ends the connection.
struct Failure {
    code: u16,
    reason: String,
    cause: Cause,
}

impl Failure {
    fn protocol(msg: impl Into<String>) -> Self {
        let msg = msg.into();
        Failure {
            code: 1002,
            reason: msg.clone(),
            cause: Cause::Protocol(msg),
        }
    }

    fn unicode((reason, at): (&str, usize)) -> Self {
        let text = format!("{reason} at position {at}");
        Failure {
            code: 1007,
            reason: text.clone(),
            cause: Cause::Unicode(text),
        }
    }

    fn too_big(text: String) -> Self {
        Failure {
            code: 1009,
            reason: text.clone(),
            cause: Cause::PayloadTooBig(text),
        }
    }
}

fn too_big_text(size: Option<u64>, max: u64, current: Option<u64>) -> String {
    let mut text = String::from("frame ");
    if let Some(s) = size {
        text.push_str(&format!("with {s} bytes "));
    }
    let mut limit = max;
    if let Some(c) = current {
        text.push_str(&format!("after reading {c} bytes "));
        limit += c;
    }
    text.push_str(&format!("exceeds limit of {limit} bytes"));
    text
}

pub async fn reader_task(shared: Arc<Shared>, mut io: ReadIo, leftover: BytesMut) {
    let end = read_loop(&shared, &mut io, leftover).await;
    {
        let mut inner = shared.inner.lock();
        match &end {
            ReadEnd::Eof => {
                if inner.phase == Phase::Open && inner.cause.is_none() {
                    inner.cause = Some(Cause::Eof(
                        "stream ends after 0 bytes, before end of frame".into(),
                    ));
                }
            }
            ReadEnd::Error(err) => {
                if inner.cause.is_none() {
                    inner.cause = Some(Cause::Os(err.to_string()));
                }
            }
            ReadEnd::CloseTimeout | ReadEnd::Abort => {}
        }
    }
    // Wake a writer stuck on a peer that stopped reading, then let the socket go.
    // SAFETY: the fd is open: the write half (owned by `shared`) keeps it alive.
    unsafe { libc_shutdown(shared.fd) };
    drop(io);
    shared.finish();
}

unsafe fn libc_shutdown(fd: RawFd) {
    extern "C" {
        fn shutdown(fd: i32, how: i32) -> i32;
    }
    const SHUT_RDWR: i32 = 2;
    shutdown(fd, SHUT_RDWR);
}

async fn read_loop(shared: &Arc<Shared>, io: &mut ReadIo, leftover: BytesMut) -> ReadEnd {
    let config = &shared.config;
    let mut buf = leftover;
    let mut asm = Assembly {
        opcode: None,
        compressed: false,
        size: 0,
        utf8: Utf8Stream::default(),
        inflater: config.deflate.as_ref().map(Inflater::new),
    };
    let mut next_ping = config.ping_interval.map(|i| Instant::now() + i);
    let mut keepalive: Option<(Arc<PongSignal>, Instant)> = None;
    loop {
        // Handle every complete frame already buffered.
        loop {
            let discard = shared.inner.lock().discard;
            let max_payload = if discard {
                None
            } else {
                payload_limit(config, &asm)
            };
            let header = match parse_header(&buf, false, config.deflate.is_some(), max_payload) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(err) => {
                    if discard {
                        // Nothing more will be read for the user: wait for EOF.
                        buf.clear();
                        break;
                    }
                    let failure = match err {
                        FrameError::Protocol(msg) => Failure::protocol(msg),
                        FrameError::TooBig { size, max, current } => {
                            Failure::too_big(too_big_text(Some(size), max, current))
                        }
                    };
                    shared
                        .fail(failure.code, failure.reason, Some(failure.cause))
                        .await;
                    buf.clear();
                    break;
                }
            };
            let total = header.header_len + header.payload_len;
            if buf.len() < total {
                buf.reserve(total - buf.len());
                break;
            }
            // The payload keeps sharing the read buffer's allocation: no copy.
            let payload = buf.split_to(total).split_off(header.header_len);
            if discard {
                continue;
            }
            if let Err(failure) = handle_frame(
                shared,
                &mut asm,
                header.opcode,
                header.fin,
                header.rsv1,
                payload,
            )
            .await
            {
                shared
                    .fail(failure.code, failure.reason, Some(failure.cause))
                    .await;
            }
        }

        let (phase, closing_since, abort, paused) = {
            let inner = shared.inner.lock();
            let paused = config.queue_high.is_some_and(|h| inner.frames.len() >= h);
            (inner.phase, inner.closing_since, inner.abort, paused)
        };
        if abort {
            return ReadEnd::Abort;
        }
        let close_deadline = match (closing_since, config.close_timeout) {
            (Some(since), Some(t)) => Some(since + t),
            _ => None,
        };
        let keepalive_on = phase == Phase::Open;
        let pong_deadline = keepalive.as_ref().map(|(_, d)| *d);

        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        tokio::select! {
            biased;
            _ = shared.reader_wake.notified() => {}
            _ = shared.drained.notified(), if paused => {}
            read = io.read_buf(&mut buf), if !paused => match read {
                Ok(0) => return ReadEnd::Eof,
                Ok(_) => {}
                Err(err) => return ReadEnd::Error(err),
            },
            _ = sleep_opt(close_deadline), if close_deadline.is_some() => return ReadEnd::CloseTimeout,
            _ = sleep_opt(pong_deadline), if keepalive_on && pong_deadline.is_some() => {
                let acknowledged = keepalive.as_ref().is_some_and(|(s, _)| s.is_set());
                keepalive = None;
                if !acknowledged {
                    shared.fail(1011, "keepalive ping timeout".into(), None).await;
                }
            }
            _ = sleep_opt(next_ping), if keepalive_on && next_ping.is_some() => {
                let interval = config.ping_interval.unwrap_or(Duration::from_secs(20));
                let latency = Duration::from_secs_f64(shared.latency().max(0.0));
                next_ping = Some(Instant::now() + interval.saturating_sub(latency).max(Duration::from_millis(1)));
                let waiting = keepalive.as_ref().is_some_and(|(s, _)| !s.is_set());
                if !waiting {
                    let sent = Box::pin(shared.ping(None, true)).await;
                    if let (Ok(signal), Some(timeout)) = (sent, config.ping_timeout) {
                        keepalive = Some((signal, Instant::now() + timeout));
                    }
                }
            }
        }
        if let Some((signal, _)) = &keepalive {
            if signal.is_set() {
                keepalive = None;
            }
        }
    }
}

async fn sleep_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// How many payload bytes the next data frame may carry (message and frame limits).
fn payload_limit(config: &Config, asm: &Assembly) -> Option<(u64, Option<u64>)> {
    let current = asm.opcode.map(|_| asm.size as u64);
    let by_message = config
        .max_message
        .map(|m| (m as u64).saturating_sub(current.unwrap_or(0)));
    let limit = match (by_message, config.max_frame) {
        (Some(a), Some(b)) => Some(a.min(b as u64)),
        (Some(a), None) => Some(a),
        (None, Some(b)) => Some(b as u64),
        (None, None) => None,
    };
    limit.map(|l| (l, current))
}

async fn handle_frame(
    shared: &Arc<Shared>,
    asm: &mut Assembly,
    opcode: u8,
    fin: bool,
    rsv1: bool,
    payload: BytesMut,
) -> Result<(), Failure> {
    match opcode {
        OP_PING => {
            if shared.phase() == Phase::Open {
                let _ = shared.send(OP_PONG, &payload, true).await;
            }
            Ok(())
        }
        OP_PONG => {
            acknowledge(shared, &payload);
            Ok(())
        }
        OP_CLOSE => handle_close(shared, asm, &payload).await,
        OP_TEXT | OP_BINARY | OP_CONT => handle_data(shared, asm, opcode, fin, rsv1, payload),
        _ => Err(Failure::protocol("invalid opcode")),
    }
}

fn acknowledge(shared: &Shared, data: &[u8]) {
    let mut inner = shared.inner.lock();
    let Some(index) = inner.pings.iter().position(|p| p.data == data) else {
        return; // unsolicited pong
    };
    let now = Instant::now();
    // A pong for a later ping acknowledges the earlier ones too.
    let acked: Vec<PendingPing> = inner.pings.drain(..=index).collect();
    if let Some(last) = acked.last() {
        inner.latency = now.duration_since(last.sent).as_secs_f64();
    }
    drop(inner);
    for ping in acked {
        ping.signal.fire();
    }
}

async fn handle_close(
    shared: &Arc<Shared>,
    asm: &mut Assembly,
    payload: &[u8],
) -> Result<(), Failure> {
    let close = match payload.len() {
        0 => Close {
            code: 1005,
            reason: String::new(),
        },
        1 => return Err(Failure::protocol("close frame too short")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let reason = match std::str::from_utf8(&payload[2..]) {
                Ok(r) => r.to_owned(),
                Err(e) => {
                    let mut stream = Utf8Stream::default();
                    let fault = stream
                        .feed(&payload[2..], true)
                        .err()
                        .unwrap_or(("invalid start byte", e.valid_up_to()));
                    return Err(Failure::unicode(fault));
                }
            };
            if !valid_close_code(code) {
                return Err(Failure::protocol("invalid status code"));
            }
            Close { code, reason }
        }
    };
    let mut writer = shared.writer.lock().await;
    let echo = {
        let mut inner = shared.inner.lock();
        inner.rcvd = Some(close.clone());
        inner.discard = true;
        match inner.phase {
            Phase::Open => {
                // RFC 6455 allows a close between fragments: the unfinished message is
                // dropped and the close echoed (websockets fails with 1002 here; Autobahn
                // 7.1.5 expects the echo).
                if asm.opcode.take().is_some() {
                    drop_partial_message(&mut inner);
                }
                inner.sent = Some(close.clone());
                inner.rcvd_then_sent = Some(true);
                inner.phase = Phase::Closing;
                inner.closing_since = Some(Instant::now());
                true
            }
            _ => {
                if inner.rcvd_then_sent.is_none() && inner.sent.is_some() {
                    inner.rcvd_then_sent = Some(false);
                }
                false
            }
        }
    };
    if echo {
        let ok = match writer.queue(true, OP_CLOSE, payload) {
            Ok(()) => writer.flush().await.is_ok(),
            Err(_) => false,
        };
        if !ok {
            shared.inner.lock().abort = true;
        }
    }
    drop(writer);
    shared.readable.notify_waiters();
    Ok(())
}

/// Remove the fragments of a message that will never complete from the queue's tail.
fn drop_partial_message(inner: &mut Inner) {
    while inner.frames.back().is_some_and(|f| !f.fin) {
        inner.frames.pop_back();
    }
}

fn handle_data(
    shared: &Arc<Shared>,
    asm: &mut Assembly,
    opcode: u8,
    fin: bool,
    rsv1: bool,
    payload: BytesMut,
) -> Result<(), Failure> {
    let config = &shared.config;
    let first = opcode != OP_CONT;
    if first && asm.opcode.is_some() {
        return Err(Failure::protocol("expected a continuation frame"));
    }
    if !first && asm.opcode.is_none() {
        return Err(Failure::protocol("unexpected continuation frame"));
    }
    if first {
        asm.opcode = Some(opcode);
        asm.compressed = rsv1;
        asm.size = 0;
        asm.utf8.reset();
    }
    let text = asm.opcode == Some(OP_TEXT);
    let data = if asm.compressed {
        let Some(inflater) = asm.inflater.as_mut() else {
            return Err(Failure::protocol("reserved bits must be 0"));
        };
        let mut out = Vec::new();
        let limit = config.max_message.map(|m| m.saturating_sub(asm.size));
        match inflater.inflate_frame(&payload, fin, &mut out, limit) {
            Ok(()) => BytesMut::from(Bytes::from(out)),
            Err(InflateError::TooBig) => {
                let max = limit.unwrap_or(0) as u64;
                let current = (!first).then_some(asm.size as u64);
                return Err(Failure::too_big(too_big_text(None, max, current)));
            }
            Err(InflateError::Corrupt(msg)) => {
                return Err(Failure::protocol(format!("decompression failed: {msg}")));
            }
        }
    } else if payload.len() < 4096 {
        // A small payload is copied so it does not pin the whole read buffer while queued.
        BytesMut::from(&payload[..])
    } else {
        payload
    };
    if text {
        asm.utf8.feed(&data, fin).map_err(Failure::unicode)?;
    }
    asm.size += data.len();
    if fin {
        asm.opcode = None;
    }
    {
        let mut inner = shared.inner.lock();
        // When the queue nears its high-water mark, fragments of the message in progress
        // are merged into one slot: a message of 65,536 fragments then cannot fill the
        // queue and stall (recv waits for its end while the reader waits for room).
        let crowded = config
            .queue_high
            .is_some_and(|h| inner.frames.len() + 1 >= h);
        match inner.frames.back_mut() {
            Some(last) if crowded && !first && !last.fin => {
                last.data.extend_from_slice(&data);
                last.fin = fin;
            }
            _ => inner.frames.push_back(Fragment { text, data, fin }),
        }
        if fin {
            inner.complete += 1;
        }
    }
    shared.readable.notify_waiters();
    Ok(())
}
