"""pytest plugin: make ``import requests`` (and its submodules) resolve to balrog.requests.

Loaded by ``scripts/requests-suite`` with ``-p balrog_as_requests`` so that it runs before
requests' own test modules import anything. Not a conftest: the repository's own
tests/http must keep seeing the real requests (the differential tests compare the two).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import balrog.requests

_ALIASED = "requests"
_OURS = "balrog.requests"


def _alias_all() -> None:
    """Point ``requests`` and every ``requests.<sub>`` at balrog's modules."""
    for name in [n for n in sys.modules if n == _ALIASED or n.startswith(_ALIASED + ".")]:
        # A real requests imported earlier (e.g. by a plugin) must not leak into the tests.
        del sys.modules[name]
    sys.modules[_ALIASED] = balrog.requests
    for info in pkgutil.iter_modules(balrog.requests.__path__):
        module = importlib.import_module(f"{_OURS}.{info.name}")
        sys.modules[f"{_ALIASED}.{info.name}"] = module


_alias_all()
