"""balrog: sync-looking Python I/O that runs on Rust's tokio.

The same code blocks (GIL released) in threads and scripts, and runs as green tasks on the
asyncio event loop under ASGI — no ``async``/``await`` in user code.
"""

from __future__ import annotations

# `balrog` is shared by several wheels (balrog-pg, balrog-http, ...): let their
# subpackages be found wherever they are installed.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

import os as _os

from . import _core as _core
from ._aliases import ForeignModuleError
from ._bridge import (
    GreenTask,
    WrongModeError,
    allow_blocking,
    current_green_task,
    green,
    green_call,
    hide,
    mode,
    run,
    wait,
)
from ._tasks import gather, join, sleep, spawn

__version__ = "0.1.0"

__all__ = [
    "ForeignModuleError",
    "GreenTask",
    "WrongModeError",
    "allow_blocking",
    "configure",
    "current_green_task",
    "gather",
    "green",
    "green_call",
    "hide",
    "join",
    "mode",
    "run",
    "sleep",
    "spawn",
    "wait",
]


def configure(*, worker_threads: int | None = None) -> None:
    """Settings for the tokio runtimes of every balrog wheel.

    ``worker_threads`` applies to runtimes not created yet (each wheel creates its own on
    first use); same as the ``BALROG_WORKER_THREADS`` environment variable.
    """
    if worker_threads is not None:
        if worker_threads < 1:
            raise ValueError("worker_threads must be at least 1")
        _os.environ["BALROG_WORKER_THREADS"] = str(worker_threads)
