//! A large binary frame read by a blocking caller goes from the socket straight into the
//! `bytes` object that `recv()` returns: the kernel copies the payload once and nothing
//! copies it again (through the read buffer it would be copied a second time, into the
//! `bytes`; at 1 MiB that copy was about a sixth of the client's CPU per round trip).
//!
//! Only for a frame that is a whole message (FIN, binary, not compressed, no fragmented
//! message in progress) and only while a caller owns the read side (`caller.rs`). The
//! object is exposed to nobody until its last byte has arrived. If the read side goes back
//! to the task before that (a timeout then a green receiver, the connection closing, end of
//! stream), the frame read so far is put back into the read buffer, header included
//! ([`DirectFrame::spill`]), and the task goes on parsing as if this module did not exist.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use bytes::BytesMut;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::frame::{Header, OP_BINARY};

/// Smaller frames are not worth taking the GIL for; they fit the read buffer's usual size.
pub(super) const DIRECT_MIN: usize = 64 * 1024;

/// Longest WebSocket frame header (2 + 8 bytes of length; a server frame has no mask).
const MAX_HEADER: usize = 14;

/// Whether a frame with `header`, arriving when no fragmented message is in progress,
/// goes straight into its `bytes` object.
pub(super) fn eligible(header: &Header) -> bool {
    header.opcode == OP_BINARY
        && header.fin
        && !header.rsv1
        && header.payload_len >= DIRECT_MIN
        && header.header_len <= MAX_HEADER
}

/// A binary frame being read into the `bytes` object that will be the message.
pub(super) struct DirectFrame {
    obj: Py<PyBytes>,
    /// The object's buffer: `len` bytes, the first `filled` of them written.
    data: NonNull<u8>,
    len: usize,
    filled: usize,
    header: [u8; MAX_HEADER],
    header_len: usize,
}

// SAFETY: `data` points into `obj`, which no one else references until the frame is
// complete and handed out; only the reader that owns the read side (under the read lock)
// touches it.
unsafe impl Send for DirectFrame {}

impl DirectFrame {
    /// Allocate the object for the frame whose first bytes (header included, all of the
    /// frame's) are `buffered`. None when Python cannot allocate it: the frame is then
    /// read through the read buffer as usual. Takes the GIL; the caller holds no lock.
    pub(super) fn start(header: &Header, buffered: &[u8]) -> Option<Self> {
        let len = header.payload_len;
        let size = isize::try_from(len).ok()?;
        let (obj, data) = Python::with_gil(|py| {
            // SAFETY: NULL asks for an uninitialised buffer of `size` bytes (no memset of
            // a MiB that the socket overwrites anyway); it is filled before anyone sees it.
            let ptr = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
            if ptr.is_null() {
                // MemoryError: drop it and read the frame the usual way.
                drop(PyErr::take(py));
                return None;
            }
            // SAFETY: `ptr` is a new reference to a bytes object.
            let obj = unsafe { Bound::from_owned_ptr(py, ptr).downcast_into_unchecked() };
            // SAFETY: `ptr` is a bytes object; its buffer lives as long as the object.
            let data = NonNull::new(unsafe { ffi::PyBytes_AsString(ptr) }.cast::<u8>())?;
            Some((obj.unbind(), data))
        })?;
        let mut frame = DirectFrame {
            obj,
            data,
            len,
            filled: 0,
            header: [0; MAX_HEADER],
            header_len: header.header_len,
        };
        frame.header[..header.header_len].copy_from_slice(&buffered[..header.header_len]);
        let part = &buffered[header.header_len..];
        let part = &part[..part.len().min(len)];
        // SAFETY: `part` fits in the buffer (at most `len` bytes) and cannot overlap it.
        unsafe {
            std::ptr::copy_nonoverlapping(part.as_ptr(), frame.data.as_ptr(), part.len());
        }
        frame.filled = part.len();
        Some(frame)
    }

    /// The part of the buffer still to be read into.
    pub(super) fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: in bounds of the object's buffer, which this frame alone writes.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.data
                    .as_ptr()
                    .add(self.filled)
                    .cast::<MaybeUninit<u8>>(),
                self.len - self.filled,
            )
        }
    }

    /// `n` more bytes were written into [`Self::spare`].
    pub(super) fn advance(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.len);
    }

    pub(super) fn is_complete(&self) -> bool {
        self.filled == self.len
    }

    /// The message, once complete.
    pub(super) fn finish(self) -> Py<PyBytes> {
        self.obj
    }

    /// Put the frame read so far back in front of `buf` (which holds what follows it),
    /// for the usual parser. The object is dropped unseen.
    pub(super) fn spill(self, buf: &mut BytesMut) {
        let mut whole = BytesMut::with_capacity(self.header_len + self.filled + buf.len());
        whole.extend_from_slice(&self.header[..self.header_len]);
        // SAFETY: the first `filled` bytes of the buffer were written.
        whole.extend_from_slice(unsafe {
            std::slice::from_raw_parts(self.data.as_ptr(), self.filled)
        });
        whole.extend_from_slice(buf);
        *buf = whole;
    }
}
