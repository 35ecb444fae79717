"""LISTEN/NOTIFY step by step through psycopg and balrog: notifies() with timeout and
stop_after, handlers, notifications arriving during other queries or in transactions."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def _session(lib: Any, conninfo: str) -> list[Any]:
    out = []
    with lib.connect(conninfo, autocommit=True) as conn, lib.connect(conninfo, autocommit=True) as other:
        conn.execute("listen ch1")
        conn.execute('listen "Ch 2"')
        got = []
        conn.add_notify_handler(lambda n: got.append(("handler", n.channel, n.payload)))
        other.execute("notify ch1, 'a'")
        other.execute("select pg_notify('Ch 2', 'b')")
        other.execute("notify ch1")
        gen = conn.notifies(timeout=1.0, stop_after=3)
        for n in gen:
            out.append(
                (n.channel, n.payload, n.pid == other.info.backend_pid, type(n).__name__, tuple(n)[:2])
            )
        out.append(got)
        out.append(list(conn.notifies(timeout=0.3)))
        other.execute("notify ch1, 'x'")
        conn.execute("select 1")  # arrives during a query: to the handler only, as psycopg
        out.append(got[-1])
        out.append([(n.channel, n.payload) for n in conn.notifies(timeout=0.2)])
        # not autocommit: notifications delivered at commit
        other.autocommit = False
        other.execute("notify ch1, 'tx'")
        out.append([(n.channel, n.payload) for n in conn.notifies(timeout=0.2)])
        other.commit()
        out.append([(n.channel, n.payload) for n in conn.notifies(timeout=0.5, stop_after=1)])

        def later():
            time.sleep(0.2)
            other.execute("notify ch1, 'late'")
            other.commit()

        threading.Thread(target=later).start()
        out.append([(n.channel, n.payload) for n in conn.notifies(timeout=3, stop_after=1)])
        n = lib.Notify("c", "p", 1) if hasattr(lib, "Notify") else None
        out.append((repr(n), n == lib.Notify("c", "p", 1)))
    return out


def test_notify_session_like_psycopg(pg_cluster):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = _session(bp, pg_cluster.conninfo)
        ours = [str(w.message) for w in caught]
        caught.clear()
        want = _session(psycopg, pg_cluster.conninfo)
        theirs = [str(w.message) for w in caught]
    for step, (value, expected) in enumerate(zip(got, want, strict=True)):
        assert value == expected, step
    # notifies() next to handlers warns, as psycopg.
    assert ours and set(ours) == set(theirs)


def _stop_after_batch(lib: Any, conninfo: str) -> list[Any]:
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("listen batch_chan")
        with lib.connect(conninfo, autocommit=True) as other, other.transaction():
            # One transaction: both notifications reach the listener together.
            other.execute("notify batch_chan, '1'")
            other.execute("notify batch_chan, '2'")
        got: list[Any] = [n.payload for n in conn.notifies(timeout=5.0, stop_after=1)]
        got.append([n.payload for n in conn.notifies(timeout=0.3, stop_after=1)])  # none left
        return got


def test_stop_after_gives_the_whole_batch_like_psycopg(pg_cluster):
    want = _stop_after_batch(psycopg, pg_cluster.conninfo)
    assert _stop_after_batch(bp, pg_cluster.conninfo) == want
    assert want == ["1", "2", []]


def test_notification_arriving_during_an_endless_wait(pg_cluster):
    # notifies() without a timeout must hand over a notification as soon as it arrives (it
    # once waited for some other message, i.e. for ever on an idle session). The listener
    # runs in a thread so that a regression fails here instead of hanging the suite.
    received: list[str] = []
    listening = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
            conn.execute("listen endless_chan")
            listening.set()
            for notify in conn.notifies():
                received.append(notify.payload)
                break
        done.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert listening.wait(30)
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as other:
        other.execute("notify endless_chan, 'now'")
    assert done.wait(30), "notifies() did not return the notification"
    assert received == ["now"]


def _select_on_fileno(lib: Any, conninfo: str) -> list[Any]:
    """The psycopg2-era LISTEN pattern: wait on the connection's socket until the server
    sends, then take the notifications. (poll(), not select(): the whole test run may hold
    more than select's 1024 file descriptors.)"""
    import select

    out: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as listener, lib.connect(conninfo, autocommit=True) as sender:
        out.append(listener.fileno() == listener.pgconn.socket)
        listener.execute("listen fileno_channel")
        poller = select.poll()
        poller.register(listener, select.POLLIN)  # takes the object's fileno(), as select()
        out.append(poller.poll(50) == [])  # nothing yet
        sender.execute("notify fileno_channel, 'one'")
        out.append([fd for fd, _ in poller.poll(10_000)] == [listener.fileno()])
        out.append([(n.channel, n.payload) for n in listener.notifies(timeout=1, stop_after=1)])
        listener.close()
        try:
            listener.fileno()
        except lib.OperationalError as ex:
            out.append(("OperationalError", str(ex)))
    return out


def test_select_on_fileno_like_psycopg(pg_cluster):
    expected = _select_on_fileno(psycopg, pg_cluster.conninfo)
    assert expected[:4] == [True, True, True, [("fileno_channel", "one")]]
    assert _select_on_fileno(bp, pg_cluster.conninfo) == expected
