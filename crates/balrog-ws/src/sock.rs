//! The few raw socket calls made outside tokio, on a plain TCP or Unix socket (always in
//! non-blocking mode): a blocking `recv()` reads the socket on the caller's own thread,
//! waiting in `poll(2)` with the GIL released, and writes go straight to the socket.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use bytes::BytesMut;

/// A connected stream socket (TCP or Unix) in non-blocking mode.
pub struct Socket(OwnedFd);

impl Socket {
    pub fn new(fd: OwnedFd) -> Self {
        Socket(fd)
    }

    /// A second descriptor for the same socket: it can be registered with tokio for reading
    /// only (and unregistered again) while the first one stays registered for writing.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Socket(self.0.try_clone()?))
    }

    /// Write what the socket takes now (`WouldBlock` when it takes nothing).
    pub fn send(&self, data: &[u8]) -> io::Result<usize> {
        // SAFETY: the pointer and length describe `data`; the descriptor is open (owned).
        // MSG_NOSIGNAL: no SIGPIPE when the peer has gone; the error is reported instead.
        let n = unsafe {
            libc::send(
                self.0.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Read what the socket holds into the spare capacity of `buf` (0: end of stream).
    pub fn recv_into(&self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = self.recv_uninit(buf.spare_capacity_mut())?;
        // SAFETY: `recv` initialised the first `n` spare bytes.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// Read at most `buf.len()` bytes into `buf`; the first `n` returned are initialised.
    pub fn recv_uninit(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Shut the connection down both ways: a thread blocked on it wakes up, the peer sees EOF.
pub fn shutdown(fd: RawFd) {
    // SAFETY: a plain syscall on a descriptor the caller keeps open; errors are irrelevant
    // (the connection is being torn down anyway).
    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
}

/// Wait until socket `fd` is readable (or has hung up): `Ok(false)` after `limit`. A
/// signal interrupts the wait (`Ok(false)` too), so the caller can run Python's signal
/// handlers. The caller keeps `fd` open meanwhile.
pub fn wait_readable(fd: RawFd, limit: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Round up: a poll that returns before `limit` would spin until the deadline.
    let ms = limit.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(n > 0)
}
