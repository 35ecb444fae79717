"""``requests.packages``: requests re-exports urllib3 and idna here; so do we, when installed
(imported on first access, to keep ``import balrog.requests`` light)."""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("urllib3", "idna"):
        return importlib.import_module(name)
    if name == "chardet":
        # requests exposes whichever detector it uses under this name.
        for module in ("chardet", "charset_normalizer"):
            try:
                return importlib.import_module(module)
            except ImportError:
                continue
    raise AttributeError(name)
