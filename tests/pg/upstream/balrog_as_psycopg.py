"""pytest plugin: ``import psycopg`` / ``psycopg_pool`` (and submodules) resolve to balrog's.

Loaded by ``scripts/psycopg-suite`` with ``-p balrog_as_psycopg`` before psycopg's own test
modules import anything. Not a conftest: the repository's tests/pg must keep seeing the real
psycopg (the differential tests compare the two).

A few modules psycopg's test *fixtures* import are psycopg internals balrog has no use for
(the C-module switch, libpq debugging, CockroachDB detection); they get
small stand-ins here so that the fixtures load. Nothing the driver's users touch is stubbed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import types
from typing import Any

_ALIASES = {"psycopg": "balrog.psycopg", "psycopg_pool": "balrog.psycopg_pool"}


class _NotCockroach:
    @staticmethod
    def is_crdb(conn: Any) -> bool:
        return False


def _get_param(params: dict[str, Any], name: str) -> Any:
    return params.get(name) or os.environ.get("PG" + name.upper())


_FIXTURE_STAND_INS: dict[str, dict[str, Any]] = {
    "psycopg._cmodule": {"_psycopg": None},
    "psycopg._conninfo_utils": {"get_param": _get_param},
    "psycopg.pq._debug": {"PGconnDebug": type("PGconnDebug", (), {})},
    "psycopg.crdb": {"CrdbConnection": _NotCockroach},
}


class _Loader(importlib.abc.Loader):
    def __init__(self, target: str | None):
        self.target = target

    def create_module(self, spec: Any) -> types.ModuleType:
        if self.target is None:
            module = types.ModuleType(spec.name)
            module.__dict__.update(_FIXTURE_STAND_INS[spec.name])
            return module
        module = importlib.import_module(self.target)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system gave balrog's module the alias's spec; its relative imports
        # compare __package__ with the spec's parent (ImportWarning), so it gets its own back.
        if self.target is not None:
            module.__spec__ = self._real_spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        head = fullname.split(".", 1)[0]
        if head not in _ALIASES:
            return None
        if fullname in _FIXTURE_STAND_INS:
            return importlib.util.spec_from_loader(fullname, _Loader(None))
        ours = _ALIASES[head] + fullname[len(head) :]
        if importlib.util.find_spec(ours) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Loader(ours), is_package=True)


for _name in [n for n in sys.modules if n.split(".", 1)[0] in _ALIASES]:
    del sys.modules[_name]  # a real psycopg imported earlier must not leak into the tests
sys.meta_path.insert(0, _Finder())

# psycopg's async API has no balrog counterpart (green tasks use the sync one); test modules
# import AsyncWriter at top level, so a placeholder lets their sync tests run.
import balrog.psycopg.copy as _copy  # noqa: E402

if not hasattr(_copy, "AsyncWriter"):
    _copy.AsyncWriter = type("AsyncWriter", (), {})  # type: ignore[attr-defined]
