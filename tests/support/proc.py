"""Reading a process's figures from /proc (Linux): memory and thread counts for the
leak and concurrency checks of the tests and the demo."""

from __future__ import annotations


def status_field(name: str, pid: int | str = "self") -> int:
    """The first number of a /proc/<pid>/status line (``VmRSS`` in kB, ``Threads``...), 0
    when the line is missing."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    return 0
