"""pytest plugin: deselect the requests tests listed in deselect.txt (beside this file).

Loaded for both runs of scripts/requests-suite (balrog.requests and requests itself), so
the two counts are over the same selection. An entry is a node-id prefix: a test, a
class, or every parametrisation of a test.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
_LIST = os.path.join(HERE, "deselect.txt")

# tests/ (for support.deselect), after everything else: the suite's own modules come first.
sys.path.append(os.path.join(HERE, "..", ".."))
from support.deselect import deselect_listed  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselect_listed(config, items, _LIST)
