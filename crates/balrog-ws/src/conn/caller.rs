//! A blocking `recv()` reads the socket on the caller's own thread.
//!
//! Were the connection's task to read it, every message that has to be waited for would
//! wake a runtime thread, which then wakes the caller: pinned to one CPU, three threads
//! scheduled per round trip (peer, runtime, caller) instead of two. So while a blocking
//! caller waits on a plain socket, it takes the read side over (`reader.rs` explains the
//! hand-over), waits in `poll(2)` and reads and parses the frames itself. A green or
//! streaming receiver, TLS, and everything after the closing handshake starts stay with
//! the task.
//!
//! Runs with the GIL released, in slices: the Python side runs signal handlers (Ctrl-C)
//! between slices and enforces the caller's timeout.

use std::os::fd::AsRawFd;
use std::pin::pin;
use std::time::Instant;

use balrog_core::runtime;
use bytes::BytesMut;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::direct::DirectFrame;
use super::reader::{direct_candidate, process, Action, Owner, ReadEnd, Source};
use super::{Phase, Shared};
use crate::errors::WsError;
use crate::frame::Header;
use crate::sock;

/// How a slice of a blocking receive ended without a message or an error.
pub enum CallerWait {
    Message(bool, BytesMut),
    /// A binary message read straight into its `bytes` object (`direct.rs`).
    Bytes(Py<PyBytes>),
    /// The slice ended (or a signal arrived): check signals and the deadline, then go on.
    SliceOver,
}

/// What the caller's own reading came to.
enum Read {
    /// Something changed (a message, a hand-back to the task): look at the queue again.
    Progress,
    /// A binary message read straight into its `bytes` object: the queue was empty.
    Bytes(Py<PyBytes>),
    SliceOver,
}

impl Shared {
    /// Wait for a complete message until `until` (one slice of the caller's wait), reading
    /// the socket on this thread when possible. Err(Closed) once closed and drained.
    pub fn recv_blocking(&self, until: Instant) -> Result<CallerWait, WsError> {
        loop {
            if let Some((text, data)) = self.take_message() {
                return Ok(CallerWait::Message(text, data));
            }
            self.check_closed()?;
            if self.claim_reader() {
                let read = self.read_here(until);
                self.read.lock().caller_active = false;
                match read {
                    Read::Progress => continue,
                    Read::Bytes(obj) => return Ok(CallerWait::Bytes(obj)),
                    Read::SliceOver => return Ok(CallerWait::SliceOver),
                }
            }
            // The task reads (TLS, closing, busy with a control frame, another caller):
            // wait for it as a green receiver would.
            let notified = self.readable.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            if self.has_message() {
                continue;
            }
            self.check_closed()?;
            if Instant::now() >= until {
                return Ok(CallerWait::SliceOver);
            }
            let deadline = tokio::time::Instant::from_std(until);
            let woken = runtime().block_on(async {
                tokio::time::timeout_at(deadline, notified.as_mut())
                    .await
                    .is_ok()
            });
            if !woken {
                return Ok(CallerWait::SliceOver);
            }
        }
    }

    fn has_message(&self) -> bool {
        self.inner.lock().complete > 0
    }

    fn check_closed(&self) -> Result<(), WsError> {
        let inner = self.inner.lock();
        if inner.phase == Phase::Closed {
            return Err(WsError::Closed(inner.closed_info()));
        }
        Ok(())
    }

    /// Take the read side for this caller (unregistering it from tokio if the task had
    /// it); false when the task must keep reading.
    fn claim_reader(&self) -> bool {
        let mut core = self.read.lock();
        if !core.claimable() {
            return false;
        }
        let open = {
            let inner = self.inner.lock();
            inner.phase == Phase::Open && !inner.abort
        };
        if !open {
            // The closing handshake is the task's: give it the socket now rather than at
            // its next look (`claimable` means no other caller is reading it).
            if core.owner == Owner::Caller {
                core.hand_to_task();
                drop(core);
                self.reader_wake.notify_one();
            }
            return false;
        }
        let took = core.owner == Owner::Task;
        if took {
            if let Source::Watched(_) = core.source {
                if let Source::Watched(fd) = std::mem::replace(&mut core.source, Source::Gone) {
                    core.source = Source::Bare(fd.into_inner());
                }
            }
            core.owner = Owner::Caller;
        }
        core.caller_active = true;
        if took {
            core.claims = core.claims.wrapping_add(1);
        }
        drop(core);
        if took {
            // Once per take-over, not per message: the caller keeps the socket between
            // calls until the task sees it unused.
            self.caller_took.notify_one();
        }
        true
    }

    /// Read and handle frames on this thread until a message is complete, the task must
    /// take over, or `until` passes.
    fn read_here(&self, until: Instant) -> Read {
        loop {
            let fd = {
                let mut core = self.read.lock();
                // (While a frame is read directly the buffer holds nothing to process.)
                if let Some(action) = process(self, &mut core) {
                    drop(core);
                    self.hand_back(Some(action));
                    return Read::Progress;
                }
                let (complete, open) = {
                    let inner = self.inner.lock();
                    (
                        inner.complete > 0,
                        inner.phase == Phase::Open && !inner.abort,
                    )
                };
                if complete {
                    // In use: the task's next look will not take the socket back.
                    core.claims = core.claims.wrapping_add(1);
                    return Read::Progress;
                }
                let Source::Bare(socket) = &core.source else {
                    drop(core);
                    self.hand_back(None);
                    return Read::Progress;
                };
                if !open {
                    drop(core);
                    self.hand_back(None);
                    return Read::Progress;
                }
                let fd = socket.as_raw_fd();
                if let Some(header) = direct_candidate(self, &core) {
                    // Allocating the `bytes` takes the GIL: not under the read lock.
                    drop(core);
                    if self.start_direct(&header) {
                        continue;
                    }
                    // No memory for it now: this read goes to the buffer as usual (the
                    // next one tries again; no retry without reading, so no spinning).
                }
                fd
            };
            // Outside the lock: while this caller is active nobody else touches the socket,
            // and its descriptor stays open as long as `self`.
            let limit = until.saturating_duration_since(Instant::now());
            match sock::wait_readable(fd, limit) {
                Ok(true) => {}
                Ok(false) => return Read::SliceOver,
                Err(err) => {
                    self.hand_back(Some(Action::End(ReadEnd::Error(err))));
                    return Read::Progress;
                }
            }
            let mut core = self.read.lock();
            core.reserve();
            let core = &mut *core;
            let Source::Bare(socket) = &core.source else {
                continue;
            };
            let read = match core.direct.as_mut() {
                Some(frame) => socket
                    .recv_uninit(frame.spare())
                    .inspect(|&n| frame.advance(n)),
                None => socket.recv_into(&mut core.buf),
            };
            let end = match read {
                Ok(0) => ReadEnd::Eof,
                Ok(_) => {
                    if core.direct.as_ref().is_some_and(|f| f.is_complete()) {
                        if let Some(frame) = core.direct.take() {
                            // In use, as for a queued message.
                            core.claims = core.claims.wrapping_add(1);
                            return Read::Bytes(frame.finish());
                        }
                    }
                    continue;
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(err) => ReadEnd::Error(err),
            };
            core.pending = Some(Action::End(end));
            core.hand_to_task();
            core.caller_active = false;
            self.reader_wake.notify_one();
            return Read::Progress;
        }
    }

    /// Begin reading the frame whose `header` starts the read buffer straight into its
    /// `bytes` object. The read lock is not held here; this caller still owns the read
    /// side (`caller_active`), so the buffer cannot change meanwhile.
    /// False when Python could not allocate it.
    fn start_direct(&self, header: &Header) -> bool {
        let buffered = self.read.lock().buf.split();
        let frame = DirectFrame::start(header, &buffered);
        let mut core = self.read.lock();
        core.buf.unsplit(buffered);
        let Some(frame) = frame else {
            return false;
        };
        // The buffer held only this frame's beginning (it is incomplete): all of it is in
        // the frame now. Its allocation stays for the frames that follow.
        core.direct = Some(frame);
        core.buf.clear();
        true
    }

    /// Give the read side back to the task, with what it must do first.
    fn hand_back(&self, action: Option<Action>) {
        {
            let mut core = self.read.lock();
            if action.is_some() {
                core.pending = action;
            }
            core.hand_to_task();
            core.caller_active = false;
        }
        self.reader_wake.notify_one();
    }
}
