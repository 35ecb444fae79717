//! Reads and writes on a socket's file descriptor, bypassing tokio's readiness tracking.
//!
//! While the asyncio loop drives an op (balrog-core's loop-driven ops), tokio's idea of
//! whether the socket is readable is stale: the loop's own epoll instance saw the readiness,
//! and nothing turns the connection runtime's I/O driver. `proto::Stream` then asks here
//! first; "would block" answers `None` and the stream falls back to tokio, which registers
//! the socket for the next readiness as usual. Reading or writing behind tokio's back is
//! sound: at worst tokio later believes a socket ready that is not, tries the call, gets
//! `EAGAIN` and clears its readiness (mio's edge-triggered contract).

use std::io;
use std::os::fd::RawFd;

use tokio::io::ReadBuf;

/// One non-blocking `recv` into `buf`'s unfilled part. `None`: nothing to read yet.
pub fn try_read(fd: RawFd, buf: &mut ReadBuf<'_>) -> Option<io::Result<()>> {
    loop {
        // Not `initialize_unfilled`: zeroing the spare capacity first would cost more than
        // the read (the buffer is a `BytesMut` with kilobytes to spare).
        // SAFETY: `recv` writes at most `len` bytes into the unfilled part (valid memory,
        // possibly uninitialised) and never reads it; the socket is non-blocking (tokio made
        // it so).
        let unfilled = unsafe { buf.unfilled_mut() };
        let n = unsafe { libc::recv(fd, unfilled.as_mut_ptr().cast(), unfilled.len(), 0) };
        if let Ok(read) = usize::try_from(n) {
            // SAFETY: the kernel initialised the first `read` bytes.
            unsafe { buf.assume_init(read) };
            buf.advance(read);
            return Some(Ok(()));
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return None,
            _ => return Some(Err(err)),
        }
    }
}

/// One non-blocking `send` of `buf`. `None`: the socket's send buffer is full.
pub fn try_write(fd: RawFd, buf: &[u8]) -> Option<io::Result<usize>> {
    loop {
        // SAFETY: as in `try_read`. MSG_NOSIGNAL: a closed peer gives EPIPE, not SIGPIPE
        // (as Rust's std, and so tokio, send).
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if let Ok(written) = usize::try_from(n) {
            return Some(Ok(written));
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return None,
            _ => return Some(Err(err)),
        }
    }
}
