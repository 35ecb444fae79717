"""The stall watchdog: a loop whose thread a green task blocks is reported with the stack it
is blocked in (balrog/_stall.py), and an idle loop is not.

Each case is a fresh interpreter with a short BALROG_STALL_WARNING; the blocks last several
times that threshold, so the checks do not depend on the machine's speed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def run(code: str, threshold: str, directory: Path) -> subprocess.CompletedProcess[str]:
    # A file, not -c: the reported stack quotes source lines.
    script = directory / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "BALROG_STALL_WARNING": threshold}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=100, env=env)


BLOCKING_SLEEP = """
    import time
    import balrog

    def block_the_loop():
        time.sleep(2.5)  # blocks the thread: every green task stops

    def main():
        block_the_loop()
        balrog.sleep(0.1)
        return "done"

    print(balrog.run(main))
"""


def test_a_blocked_loop_is_reported_with_its_stack(tmp_path):
    done = run(BLOCKING_SLEEP, "0.5", tmp_path)
    assert done.stdout.strip() == "done", done.stderr
    assert "has not turned for" in done.stderr
    assert "in block_the_loop\n    time.sleep(2.5)" in done.stderr
    assert "turned again after" in done.stderr


def test_a_threading_lock_between_green_tasks_is_named(tmp_path):
    # Task one holds a threading.Lock across an I/O wait; task two, on the same thread,
    # waits for the lock and so stops the thread (and task one with it). Without its
    # timeout this would never end: the report is what tells why.
    done = run(
        """
        import threading
        import balrog

        lock = threading.Lock()

        def one():
            with lock:
                balrog.sleep(0.2)

        def two():
            balrog.sleep(0.05)
            got = lock.acquire(timeout=2.5)
            return got

        print(balrog.run(lambda: balrog.gather(one, two)))
        """,
        "0.5",
        tmp_path,
    )
    assert done.stdout.strip() == "[None, False]", done.stderr
    assert "has not turned for" in done.stderr
    assert "got = lock.acquire(timeout=2.5)" in done.stderr


def test_an_idle_loop_is_not_reported(tmp_path):
    done = run(
        """
        import balrog
        balrog.run(balrog.sleep, 3.0)  # suspends the task: the loop keeps turning
        print("done")
        """,
        "1.0",
        tmp_path,
    )
    assert done.stdout.strip() == "done"
    assert "balrog:" not in done.stderr, done.stderr


def test_zero_turns_the_watchdog_off(tmp_path):
    done = run(BLOCKING_SLEEP, "0", tmp_path)
    assert done.stdout.strip() == "done"
    assert "balrog:" not in done.stderr, done.stderr
