"""pytest plugin: deselect the requests tests listed in deselect.txt (beside this file).

Loaded for both runs of scripts/requests-suite (balrog.requests and requests itself), so
the two counts are over the same selection. An entry is a node-id prefix: a test, a
class, or every parametrisation of a test.
"""

from __future__ import annotations

import os

import pytest

_LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deselect.txt")


def _prefixes() -> list[str]:
    prefixes = []
    with open(_LIST, encoding="utf-8") as handle:
        for line in handle:
            entry = line.split(" # ", 1)[0].strip()
            if entry and not entry.startswith("#"):
                prefixes.append(entry)
    return prefixes


def _listed(nodeid: str, prefixes: list[str]) -> bool:
    # "test_x" must not swallow "test_xy": a prefix ends the id or is followed by "[" or "::".
    for prefix in prefixes:
        if nodeid == prefix or nodeid.startswith((prefix + "[", prefix + "::")):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    prefixes = _prefixes()
    kept, dropped = [], []
    for item in items:
        (dropped if _listed(item.nodeid, prefixes) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
