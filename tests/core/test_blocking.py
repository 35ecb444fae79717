"""Blocking mode: GIL released, Ctrl-C, the wrong-mode error, fork."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import balrog
from balrog import _core
from support.net import default_sigint


def test_blocking_waits_from_eight_threads_overlap_and_release_the_gil():
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def wait_in_thread() -> None:
        barrier.wait()
        start = time.monotonic()
        balrog.sleep(0.5)
        with lock:
            spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=wait_in_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    # While the eight waits are in progress this thread keeps running Python code: the
    # waits do not hold the GIL.
    python_steps = 0
    while any(thread.is_alive() for thread in threads):
        python_steps += 1
        time.sleep(0.001)
    for thread in threads:
        thread.join()
    assert len(spans) == 8
    latest_start = max(start for start, _ in spans)
    earliest_end = min(end for _, end in spans)
    assert latest_start < earliest_end, "all eight waits were in progress at the same time"
    assert python_steps > 10


def test_wrong_mode_error_names_the_fix():
    async def handler() -> None:
        balrog.sleep(0.001)  # a blocking call right on the event loop

    with pytest.raises(balrog.WrongModeError, match=r"balrog\.green"):
        asyncio.run(handler())


def test_allow_blocking_opts_in():
    async def handler() -> str:
        with balrog.allow_blocking():
            balrog.sleep(0.001)
        return "blocked on purpose"

    assert asyncio.run(handler()) == "blocked on purpose"


def test_run_refuses_a_running_loop():
    async def handler() -> None:
        balrog.run(lambda: None)

    with pytest.raises(balrog.WrongModeError):
        asyncio.run(handler())


def _python(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def test_sigint_interrupts_a_blocking_wait():
    child = _python(
        """
        import sys, balrog
        print("waiting", flush=True)
        try:
            balrog.sleep(60)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        """
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "waiting"
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)  # a generous bound that only catches a hang
    assert child.returncode == 3, err
    assert "interrupted" in out


# Forking a process that runs threads is the point of this test (3.12+ warns about it).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_child_process_after_fork_uses_balrog_after_the_parent_did():
    balrog.sleep(0.001)  # the parent's runtime exists now
    assert _core.runtime_started()
    generation = _core.fork_generation()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not touch the parent's runtime threads
        status = 1
        try:
            os.close(read_fd)
            assert _core.fork_generation() == generation + 1
            assert not _core.runtime_started()
            balrog.sleep(0.001)
            result = balrog.run(lambda: (balrog.sleep(0.001), balrog.mode())[1])

            async def main() -> object:
                return await _core.noop()

            asyncio.run(main())
            os.write(write_fd, result.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    message = os.read(read_fd, 100).decode()
    os.close(read_fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert message == "green"
    balrog.sleep(0.001)  # the parent's runtime still works
    assert _core.fork_generation() == generation


def test_invalid_sleep_is_a_value_error():
    with pytest.raises(ValueError):
        balrog.sleep(-1)
    with pytest.raises(ValueError):
        balrog.sleep(float("nan"))


def test_an_op_is_waited_once():
    op = _core.noop()
    balrog.wait(op)
    with pytest.raises(RuntimeError, match="already started"):
        balrog.wait(op)


def test_configure_worker_threads_validates():
    with pytest.raises(ValueError):
        balrog.configure(worker_threads=0)


@pytest.mark.both_modes
def test_wait_timeout_raises_timeout_error_and_cancels():
    with pytest.raises(TimeoutError):
        balrog.wait(_core.sleep(30), timeout=0.05)
    balrog.wait(_core.sleep(0.001), timeout=5)  # a wait that finishes in time
    with pytest.raises(ValueError):
        balrog.wait(_core.sleep(0), timeout=-1) if balrog.mode() == "blocking" else _core.noop().wait(-1)
