"""balrog._core.SocketWatch: the one-shot epoll arms loop-driven ops wait on."""

from __future__ import annotations

import select
import socket

import pytest

from balrog import _core


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_arm_reports_a_key_once_per_arm() -> None:
    watch = _core.SocketWatch()
    a, b = socket.socketpair()
    try:
        watch.arm(a.fileno(), 1, 7)
        assert list(watch.ready()) == []
        assert not _readable(watch.fileno())
        b.send(b"x")
        assert _readable(watch.fileno())
        assert list(watch.ready()) == [7]
        # One-shot: still readable, but not reported until armed again.
        assert list(watch.ready()) == []
        watch.arm(a.fileno(), 1, 8)
        assert list(watch.ready()) == [8]
        # Writable: reported at once.
        watch.arm(a.fileno(), 2, 9)
        assert list(watch.ready()) == [9]
    finally:
        a.close()
        b.close()


def test_closed_socket_number_reused() -> None:
    """A registration disappears with its socket; the fd number of a new socket is added."""
    watch = _core.SocketWatch()
    a, b = socket.socketpair()
    fd = a.fileno()
    watch.arm(fd, 1, 1)
    a.close()
    b.close()
    c, d = socket.socketpair()
    try:
        c_fd = c.fileno() if c.fileno() == fd else d.fileno()
        watch.arm(c_fd, 1, 2)
        (d if c_fd == c.fileno() else c).send(b"y")
        assert list(watch.ready()) == [2]
    finally:
        c.close()
        d.close()


def test_bad_fd_raises() -> None:
    watch = _core.SocketWatch()
    with pytest.raises(OSError):
        watch.arm(-1, 1, 1)
