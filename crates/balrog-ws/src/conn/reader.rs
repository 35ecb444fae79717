//! Reading the connection: frames are parsed and handled here, by the connection's task or,
//! on a plain socket while a blocking `recv()` waits, by the caller's own thread
//! (`caller.rs`).
//!
//! The reader's state ([`ReadCore`]: read buffer, message assembly, the socket) sits behind
//! `Shared::read`, a lock nobody holds across an await or a blocking wait. `owner` says who
//! reads:
//!
//! * `Owner::Task`: the connection's task; the socket's read descriptor is registered with
//!   tokio (readable interest only).
//! * `Owner::Caller`: a blocking caller took the read side over; the descriptor is not
//!   registered, so incoming data wakes only that caller, not a runtime thread as well.
//!   The caller keeps it between calls (taking it back and forth would cost a wake-up of
//!   the task each time); the task takes it back when someone else waits for the reader
//!   (`Shared::reader_needed`), when the connection starts closing, or once no caller has
//!   used it for a [`RECLAIM_TICK`].
//!
//! A caller handles data frames and pongs itself. Anything that needs a write (a pong, the
//! close reply, failing the connection) or ends the connection (EOF, a socket error) goes
//! back to the task as `pending` together with the read side: control frames and the end
//! of the connection are handled in one place whoever read them.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, Interest};
use tokio::time::Instant;

use super::direct::{self, DirectFrame};
use super::{Config, Fragment, Inner, PendingPing, Phase, Shared};
use crate::deflate::{InflateError, Inflater};
use crate::errors::{Cause, Close};
use crate::frame::{
    parse_header, valid_close_code, FrameError, Header, Utf8Stream, OP_BINARY, OP_CLOSE, OP_CONT,
    OP_PING, OP_PONG, OP_TEXT,
};
use crate::net::ReadIo;
use crate::sock::{self, Socket};

/// The most the read buffer reserves ahead for a frame whose payload has not arrived yet.
const UPFRONT_RESERVE: usize = 16 * 1024 * 1024;

/// While a caller owns the read side, the task checks this often whether it is still used.
const RECLAIM_TICK: Duration = Duration::from_millis(20);
/// ... and at most this seldom while one call waits for long (an idle connection).
const RECLAIM_TICK_MAX: Duration = Duration::from_secs(1);

pub(super) enum ReadEnd {
    Eof,
    Error(io::Error),
    CloseTimeout,
    Abort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Task,
    Caller,
}

pub(super) enum Source {
    /// A plain socket registered with tokio for readability (the task reads it).
    Watched(AsyncFd<Socket>),
    /// A plain socket not registered (a caller reads it, or the task will register it).
    Bare(Socket),
    Tls(tokio::io::ReadHalf<crate::net::TlsIo>),
    /// Only while switching between `Watched` and `Bare` (or after registering failed).
    Gone,
}

/// What a frame needs beyond the reader's state: done by the task, outside the locks.
pub(super) enum Action {
    Pong(BytesMut),
    Close {
        close: Close,
        payload: BytesMut,
        /// A fragmented message was in progress.
        partial: bool,
    },
    Fail(Failure),
    End(ReadEnd),
}

pub(super) struct Assembly {
    /// Opcode of the message in progress, if any.
    opcode: Option<u8>,
    compressed: bool,
    size: usize,
    utf8: Utf8Stream,
    inflater: Option<Inflater>,
}

/// What `Shared::reclaim` found.
enum Reclaim {
    /// The task has the read side (again).
    Done,
    /// A caller completed a message since the last look: it is in use.
    NewCalls,
    /// A call still waits on it, with no message since the last look.
    SameCall,
}

pub(super) struct ReadCore {
    pub(super) buf: BytesMut,
    asm: Assembly,
    pub(super) source: Source,
    pub(super) owner: Owner,
    /// A caller is reading right now (it may be blocked in `poll()` on the descriptor).
    pub(super) caller_active: bool,
    /// Counts take-overs and messages completed by callers: the task takes the socket back
    /// once this stays still while no caller reads.
    pub(super) claims: u64,
    /// The task handles an action outside the lock: callers leave the socket to it.
    task_busy: bool,
    /// What a caller handed back to the task.
    pub(super) pending: Option<Action>,
    /// A large binary frame a caller is reading straight into its `bytes` object
    /// (`direct.rs`); only while a caller owns the read side.
    pub(super) direct: Option<DirectFrame>,
}

impl ReadCore {
    pub(super) fn new(io: ReadIo, leftover: BytesMut, config: &Config) -> Self {
        ReadCore {
            buf: leftover,
            asm: Assembly {
                opcode: None,
                compressed: false,
                size: 0,
                utf8: Utf8Stream::default(),
                inflater: config.deflate.as_ref().map(Inflater::new),
            },
            source: match io {
                ReadIo::Socket(s) => Source::Bare(s),
                ReadIo::Tls(t) => Source::Tls(t),
            },
            owner: Owner::Task,
            caller_active: false,
            claims: 0,
            task_busy: false,
            pending: None,
            direct: None,
        }
    }

    /// Give the read side to the task; a frame a caller was reading into its `bytes`
    /// object goes back into the read buffer, for the task's parser.
    pub(super) fn hand_to_task(&mut self) {
        if let Some(frame) = self.direct.take() {
            frame.spill(&mut self.buf);
        }
        self.owner = Owner::Task;
    }

    /// Whether no fragmented message is in progress (a new message may start).
    pub(super) fn between_messages(&self) -> bool {
        self.asm.opcode.is_none()
    }

    /// Whether a caller may take the read side over now.
    pub(super) fn claimable(&self) -> bool {
        let plain = matches!(self.source, Source::Watched(_) | Source::Bare(_));
        let free = match self.owner {
            Owner::Caller => !self.caller_active,
            Owner::Task => !self.task_busy && self.pending.is_none(),
        };
        plain && free
    }

    /// Make room for the next read.
    pub(super) fn reserve(&mut self) {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(64 * 1024);
        }
    }
}

pub async fn reader_task(shared: Arc<Shared>) {
    let end = read_loop(&shared).await;
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
            ReadEnd::CloseTimeout => {
                // websockets chains this to the ConnectionClosedError that follows.
                if inner.cause.is_none() {
                    inner.cause = Some(Cause::Timeout("timed out while closing connection".into()));
                }
            }
            ReadEnd::Abort => {}
        }
    }
    // Wake a writer stuck on a peer that stopped reading (and a caller blocked reading),
    // then let the socket go. The descriptors themselves close with `shared`: a caller may
    // still be polling the read one.
    sock::shutdown(shared.fd);
    shared.finish();
}

async fn read_loop(shared: &Arc<Shared>) -> ReadEnd {
    let config = &shared.config;
    let mut next_ping = config.ping_interval.map(|i| Instant::now() + i);
    let mut keepalive: Option<(Arc<super::PongSignal>, Instant)> = None;
    // While a caller owns the read side: when to look again, its claim count then, and
    // the interval (it grows while one call keeps the socket, so an idle connection with
    // a blocked reader costs about one wake-up a second).
    let mut reclaim: Option<(Instant, u64)> = None;
    let mut tick = RECLAIM_TICK;
    loop {
        // Handle what a caller handed back, then every complete frame already buffered.
        loop {
            let action = {
                let mut core = shared.read.lock();
                let action = match core.pending.take() {
                    Some(action) => Some(action),
                    None if core.owner == Owner::Task => process(shared, &mut core),
                    None => None,
                };
                core.task_busy = action.is_some();
                action
            };
            let Some(action) = action else {
                break;
            };
            let end = perform(shared, action).await;
            shared.read.lock().task_busy = false;
            if let Some(end) = end {
                return end;
            }
        }

        let (phase, closing_since, close_timeout, abort, paused) = {
            let inner = shared.inner.lock();
            // Paused once the queue holds `max_queue` frames, and never while it is empty:
            // max_queue=0 (websockets: pause after each frame) must still let the closing
            // handshake be read.
            let paused = config
                .queue_high
                .is_some_and(|h| inner.frames.len() >= h.max(1));
            let since = inner.closing_since;
            (inner.phase, since, inner.close_timeout, inner.abort, paused)
        };
        if abort {
            return ReadEnd::Abort;
        }
        if phase != Phase::Open {
            // The closing handshake and its timeout are the task's: a caller hands the
            // socket back as soon as it sees the phase change, an idle one loses it now.
            shared.reclaim(None);
        }
        let close_deadline = match (closing_since, close_timeout) {
            (Some(since), Some(t)) => Some(since + t),
            _ => None,
        };
        let keepalive_on = phase == Phase::Open;
        let pong_deadline = keepalive.as_ref().map(|(_, d)| *d);
        let reclaim_at = {
            let core = shared.read.lock();
            if core.owner == Owner::Caller {
                Some(
                    reclaim
                        .get_or_insert((Instant::now() + tick, core.claims))
                        .0,
                )
            } else {
                reclaim = None;
                tick = RECLAIM_TICK;
                None
            }
        };

        tokio::select! {
            biased;
            _ = shared.reader_wake.notified() => {
                shared.reclaim(None);
            }
            // Only to arm the reclaim tick below.
            _ = shared.caller_took.notified() => {}
            _ = shared.drained.notified(), if paused => {}
            read = poll_fn(|cx| shared.poll_task_read(cx)), if !paused => match read {
                Ok(0) => return ReadEnd::Eof,
                Ok(_) => {}
                Err(err) => return ReadEnd::Error(err),
            },
            _ = sleep_opt(reclaim_at), if reclaim_at.is_some() => {
                if let Some((_, seen)) = reclaim.take() {
                    tick = match shared.reclaim(Some(seen)) {
                        Reclaim::SameCall => (tick * 2).min(RECLAIM_TICK_MAX),
                        Reclaim::Done | Reclaim::NewCalls => RECLAIM_TICK,
                    };
                }
            }
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

impl Shared {
    /// The task's read: pending while a caller owns the socket (the task is woken when it
    /// gets it back). The lock is held only for this poll.
    fn poll_task_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut core = self.read.lock();
        if core.owner != Owner::Task {
            return Poll::Pending;
        }
        core.reserve();
        let ReadCore { source, buf, .. } = &mut *core;
        if matches!(source, Source::Bare(_)) {
            let Source::Bare(socket) = std::mem::replace(source, Source::Gone) else {
                return Poll::Pending;
            };
            // SAFETY: `Socket` owns its descriptor, which stays open as long as the AsyncFd.
            match unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) } {
                Ok(watched) => *source = Source::Watched(watched),
                Err(err) => return Poll::Ready(Err(err.into())),
            }
        }
        match source {
            Source::Watched(fd) => loop {
                let mut ready = match fd.poll_read_ready(cx) {
                    Poll::Ready(Ok(ready)) => ready,
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                    Poll::Pending => return Poll::Pending,
                };
                if let Ok(read) = ready.try_io(|fd| fd.get_ref().recv_into(buf)) {
                    return Poll::Ready(read);
                }
            },
            Source::Tls(io) => pin!(io.read_buf(buf)).poll(cx),
            Source::Bare(_) | Source::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    /// The task takes the read side back from a caller that is not reading (`seen`: only
    /// if no caller claimed it since that count).
    fn reclaim(&self, seen: Option<u64>) -> Reclaim {
        let mut core = self.read.lock();
        if core.owner != Owner::Caller {
            return Reclaim::Done;
        }
        if seen.is_some_and(|s| s != core.claims) {
            return Reclaim::NewCalls;
        }
        if core.caller_active {
            return Reclaim::SameCall;
        }
        core.hand_to_task();
        Reclaim::Done
    }

    /// Someone is about to wait for what only the reader delivers (a message, a pong, the
    /// end of the connection): if a caller holds the read side without reading, the task
    /// takes it back.
    pub(super) fn reader_needed(&self) {
        let idle_caller = {
            let core = self.read.lock();
            core.owner == Owner::Caller && !core.caller_active
        };
        if idle_caller {
            self.reader_wake.notify_one();
        }
    }
}

/// Handle the frames buffered in `core` until one needs the task (returned) or the buffer
/// holds no complete frame. Data frames and pongs are handled right here.
pub(super) fn process(shared: &Shared, core: &mut ReadCore) -> Option<Action> {
    let config = &shared.config;
    loop {
        let discard = shared.inner.lock().discard;
        let max_payload = if discard {
            None
        } else {
            payload_limit(config, &core.asm)
        };
        let header = match parse_header(&core.buf, false, config.deflate.is_some(), max_payload) {
            Ok(Some(h)) => h,
            Ok(None) => return None,
            Err(err) => {
                // Nothing more will be read for the user after this.
                core.buf.clear();
                if discard {
                    return None;
                }
                return Some(Action::Fail(match err {
                    FrameError::Protocol(msg) => Failure::protocol(msg),
                    FrameError::TooBig { size, max, current } => {
                        Failure::too_big(too_big_text(Some(size), max, current))
                    }
                }));
            }
        };
        let total = header.header_len + header.payload_len;
        if core.buf.len() < total {
            // The length is the peer's word: with `max_size=None` it can be anything up to
            // 2^63, and an allocation that fails aborts the process. Reserve at most
            // UPFRONT_RESERVE ahead; beyond that the buffer grows as the bytes arrive.
            core.buf
                .reserve((total - core.buf.len()).min(UPFRONT_RESERVE));
            return None;
        }
        // The payload keeps sharing the read buffer's allocation: no copy.
        let payload = core.buf.split_to(total).split_off(header.header_len);
        if discard {
            continue;
        }
        match header.opcode {
            OP_PING => return Some(Action::Pong(payload)),
            OP_PONG => acknowledge(shared, &payload),
            OP_CLOSE => {
                return Some(match parse_close(&payload) {
                    Ok(close) => Action::Close {
                        close,
                        payload,
                        partial: core.asm.opcode.take().is_some(),
                    },
                    Err(failure) => Action::Fail(failure),
                })
            }
            OP_TEXT | OP_BINARY | OP_CONT => {
                let (fin, rsv1) = (header.fin, header.rsv1);
                if let Err(failure) =
                    handle_data(shared, &mut core.asm, header.opcode, fin, rsv1, payload)
                {
                    return Some(Action::Fail(failure));
                }
            }
            _ => return Some(Action::Fail(Failure::protocol("invalid opcode"))),
        }
    }
}

/// The header of the frame at the start of `core.buf` if that frame is incomplete and may
/// be read straight into its `bytes` object (`direct.rs`). Called after [`process`] left
/// no complete frame in the buffer.
pub(super) fn direct_candidate(shared: &Shared, core: &ReadCore) -> Option<Header> {
    // Cheapest checks first: this runs before every wait for data.
    if core.buf.len() < 2 || core.direct.is_some() || !core.between_messages() {
        return None;
    }
    let config = &shared.config;
    let max_payload = payload_limit(config, &core.asm);
    let header = parse_header(&core.buf, false, config.deflate.is_some(), max_payload).ok()??;
    let incomplete = core.buf.len() < header.header_len + header.payload_len;
    let wanted = incomplete && direct::eligible(&header) && !shared.inner.lock().discard;
    wanted.then_some(header)
}

/// Carry out an action (on the task); `Some` when the connection ends.
async fn perform(shared: &Arc<Shared>, action: Action) -> Option<ReadEnd> {
    match action {
        Action::Pong(payload) => {
            if shared.phase() == Phase::Open {
                let _ = shared.send(OP_PONG, &payload, true).await;
            }
        }
        Action::Close {
            close,
            payload,
            partial,
        } => handle_close(shared, close, &payload, partial).await,
        Action::Fail(failure) => {
            shared
                .fail(failure.code, failure.reason, Some(failure.cause))
                .await
        }
        Action::End(end) => return Some(end),
    }
    None
}

fn parse_close(payload: &[u8]) -> Result<Close, Failure> {
    Ok(match payload.len() {
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
    })
}

async fn handle_close(shared: &Arc<Shared>, close: Close, payload: &[u8], partial: bool) {
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
                if partial {
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

/// Remove the fragments of a message that will never complete from the queue's tail.
fn drop_partial_message(inner: &mut Inner) {
    while inner.frames.back().is_some_and(|f| !f.fin) {
        inner.frames.pop_back();
    }
}

fn handle_data(
    shared: &Shared,
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

/// How a frame handler ends the connection.
pub(super) struct Failure {
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
