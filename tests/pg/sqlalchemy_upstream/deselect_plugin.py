"""pytest plugin: deselect the SQLAlchemy tests listed in deselect.txt (beside this file)."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
_LIST = os.path.join(HERE, "deselect.txt")

# tests/ (for support.deselect), after everything else: the suite's own modules come first.
sys.path.append(os.path.join(HERE, "..", ".."))
from support.deselect import deselect_listed  # noqa: E402

# SQLAlchemy names backend test classes after the dialect and the server version
# (BackendDialectTest_postgresql+psycopg_async_16_4); the list names them without that.
_BACKEND_SUFFIX = re.compile(r"_postgresql\+psycopg(?:_async)?_\d+_\d+(?=::|$)")


def _plain(nodeid: str) -> str:
    return _BACKEND_SUFFIX.sub("", nodeid)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    deselect_listed(config, items, _LIST, _plain)
