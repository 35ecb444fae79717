"""pytest plugin: deselect the SQLAlchemy tests listed in deselect.txt (node-id prefixes)."""

from __future__ import annotations

import os
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def _prefixes() -> list[str]:
    with open(os.path.join(HERE, "deselect.txt"), encoding="utf-8") as listed:
        lines = (line.split(" # ", 1)[0].strip() for line in listed)
        return [line for line in lines if line and not line.startswith("#")]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    prefixes = _prefixes()
    kept, dropped = [], []
    for item in items:
        # SQLAlchemy names backend classes after the dialect and server (Test_postgresql+psycopg_16_4);
        # the list names them without that suffix.
        plain_id = item.nodeid.replace("_postgresql+psycopg_async", "").replace("_postgresql+psycopg", "")
        plain_id = "::".join(_strip_version(part) for part in plain_id.split("::"))
        (dropped if any(plain_id.startswith(p) for p in prefixes) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _strip_version(part: str) -> str:
    # "BackendDialectTest_15_18" -> "BackendDialectTest"
    head, sep, tail = part.rpartition("_")
    if sep and tail.isdigit():
        head2, sep2, tail2 = head.rpartition("_")
        if sep2 and tail2.isdigit():
            return head2
    return part
