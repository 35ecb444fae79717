"""Child processes and /proc figures (Linux) for the tests and the demo: memory and thread
counts for the leak and concurrency checks, and a child interrupted by Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from support.net import default_sigint


def status_field(name: str, pid: int | str = "self") -> int:
    """The first number of a /proc/<pid>/status line (``VmRSS`` in kB, ``Threads``...), 0
    when the line is missing."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    return 0


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args`` (``code`` dedented) in a fresh interpreter, output captured:
    for what is process-wide (import aliases) and must not touch the test process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=timeout
    )


def interrupt_child(script: str, *args: str, after: float) -> str:
    """Run ``python -c script args`` with SIGINT's default handling, wait for it to print
    ``waiting``, send Ctrl-C ``after`` seconds later, and return what it printed next. The
    child must exit 0; its 30 s bound only catches a hang."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(after)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    return out
