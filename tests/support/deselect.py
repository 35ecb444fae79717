"""Deselection lists for upstream test suites run on balrog (requests', SQLAlchemy's).

A list is a text file: one node-id prefix a line (a test, a class, or every parametrisation
of a test), then " # " and the reason; blank lines and "#" lines are comments. The
suites' pytest plugins call ``deselect_listed`` from ``pytest_collection_modifyitems``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def read_prefixes(path: str) -> list[str]:
    prefixes = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            entry = line.split(" # ", 1)[0].strip()
            if entry and not entry.startswith("#"):
                prefixes.append(entry)
    return prefixes


def listed(nodeid: str, prefixes: list[str]) -> bool:
    # "test_x" must not swallow "test_xy": a prefix ends the id or is followed by "[" or "::".
    for prefix in prefixes:
        if nodeid == prefix or nodeid.startswith((prefix + "[", prefix + "::")):
            return True
    return False


def deselect_listed(
    config: Any, items: list[Any], path: str, normalise: Callable[[str], str] = lambda nodeid: nodeid
) -> None:
    """Drop the items whose (normalised) node id the list at ``path`` names."""
    prefixes = read_prefixes(path)
    kept, dropped = [], []
    for item in items:
        (dropped if listed(normalise(item.nodeid), prefixes) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
