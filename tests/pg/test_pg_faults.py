"""Faults: server gone, backend killed, cancel, timeouts, fork, leaks."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time

import pytest

import balrog.psycopg as bp

pytestmark = pytest.mark.both_modes


def test_backend_terminated(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as killer:
        conn = bp.connect(pg_cluster.conninfo, autocommit=True)
        killer.execute("select pg_terminate_backend(%s)", [conn.info.backend_pid])
        with pytest.raises(bp.OperationalError):
            conn.execute("select 1")
        assert conn.broken and conn.closed
        with pytest.raises(bp.OperationalError):
            conn.execute("select 1")
        conn.close()


def test_server_crash_mid_query(pg_cluster_private):
    conn = bp.connect(pg_cluster_private.conninfo, autocommit=True)
    stopper = threading.Timer(0.5, pg_cluster_private.stop, args=("immediate",))
    stopper.start()
    try:
        with pytest.raises(bp.OperationalError):
            conn.execute("select pg_sleep(30)")
        assert conn.broken
    finally:
        stopper.join()
    pg_cluster_private.start()
    with bp.connect(pg_cluster_private.conninfo) as again:
        assert again.execute("select 1").fetchone() == (1,)


def test_cancel_from_another_thread(pg_cluster):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    canceller = threading.Timer(0.3, conn.cancel)
    canceller.start()
    try:
        with pytest.raises(bp.errors.QueryCanceled):
            conn.execute("select pg_sleep(30)")
    finally:
        canceller.join()
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


def test_connect_timeout():
    import socket

    # A listening socket that never answers: the handshake must time out.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        port = srv.getsockname()[1]
        with pytest.raises(bp.OperationalError):
            bp.connect(host="127.0.0.1", port=port, user="x", dbname="x", connect_timeout=2)
    finally:
        srv.close()


# Forking a process that runs threads is the point of this test (3.12+ warns about it).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_cannot_use_parent_connection(pg_cluster, balrog_mode):
    if balrog_mode == "green":
        pytest.skip("forking inside a running event loop is not something to test")
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    conn.execute("select 1")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            try:
                conn.execute("select 1")
            except bp.OperationalError:
                with bp.connect(pg_cluster.conninfo) as fresh:
                    code = 0 if fresh.execute("select 1").fetchone() == (1,) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert conn.execute("select 2").fetchone() == (2,)
    conn.close()


_FORK_IN_A_FRESH_PROCESS = """
import os, sys
import balrog.psycopg as bp
conn = bp.connect(sys.argv[1], autocommit=True)
conn.execute("select 1")
pid = os.fork()
if pid == 0:
    try:
        conn.execute("select 1")
        os._exit(3)  # the parent's session, used from the child: the bug
    except bp.OperationalError:
        os._exit(0)
    except BaseException:
        os._exit(4)
_, status = os.waitpid(pid, 0)
print(os.WEXITSTATUS(status), conn.execute("select 2").fetchone())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_is_seen_in_a_process_that_never_started_the_shared_runtime(pg_cluster, balrog_mode):
    # A blocking connection runs on its own runtime; the fork count it checks must be kept
    # even when nothing in the process ever started balrog's shared runtime (a fresh
    # interpreter: in this one, earlier tests may have started it).
    if balrog_mode == "green":
        pytest.skip("the check runs in a fresh blocking process")
    done = subprocess.run(
        [sys.executable, "-c", _FORK_IN_A_FRESH_PROCESS, pg_cluster.conninfo],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "(2,)"]


def test_many_connections_no_fd_leak(pg_cluster):
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    def cycles(n: int) -> int:
        for _ in range(n):
            conn = bp.connect(pg_cluster.conninfo)
            conn.execute("select 1")
            conn.close()
        # A closed connection's runtime (an epoll fd and an eventfd) goes with the Python
        # object, which reference cycles keep until the cyclic GC runs.
        gc.collect()
        time.sleep(0.1)
        return fds()

    # The first cycles may start runtime threads and pools; after that it must stay flat.
    cycles(100)
    first = cycles(200)
    assert cycles(300) <= first + 2
