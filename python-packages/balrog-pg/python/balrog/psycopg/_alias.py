"""``import psycopg`` answered by balrog's driver, for code that imports psycopg itself.

Libraries written for psycopg (SQLAlchemy's ``postgresql+psycopg`` dialect, Django's backend,
django.contrib.postgres) import ``psycopg``, ``psycopg.types.json``, ``psycopg_pool`` and so
on by name, in many places, so handing them a module object is not enough. An import hook
placed first on ``sys.meta_path`` answers every ``psycopg``/``psycopg.*``/``psycopg_pool``/
``psycopg_pool.*`` import with the matching ``balrog.psycopg*`` module object: both names
then refer to the very same module (one class hierarchy, one adapters map).

Two drivers in one process would mean two incompatible sets of exception classes and
adapters, so installing refuses when the real psycopg was imported before.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

# alias top-level name -> the balrog module it stands for
ALIASES = {"psycopg": "balrog.psycopg", "psycopg_pool": "balrog.psycopg_pool"}


class ForeignDriverError(RuntimeError):
    """The real psycopg is already imported: aliasing now would mix two drivers."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        shown = ", ".join(modules[:3]) + (", ..." if len(modules) > 3 else "")
        super().__init__(
            f"the real psycopg is already imported in this process ({shown}); call "
            "balrog.psycopg.install_as_psycopg() before anything imports psycopg"
        )


def _target_of(fullname: str) -> str | None:
    top, dot, rest = fullname.partition(".")
    target = ALIASES.get(top)
    if target is None:
        return None
    return target + dot + rest


class _AliasLoader(importlib.abc.Loader):
    """Hands out an already importable balrog module under the alias name."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        # The balrog module ran its code when it was imported under its own name.
        return None


class PsycopgAliasFinder(importlib.abc.MetaPathFinder):
    """``psycopg[.x]`` -> ``balrog.psycopg[.x]``, ``psycopg_pool[.x]`` -> ``balrog.psycopg_pool[.x]``."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        aliased = _target_of(fullname)
        if aliased is None:
            return None
        target_spec = importlib.util.find_spec(aliased)
        if target_spec is None:
            # Never fall through to the real psycopg: that would mix two drivers.
            raise ModuleNotFoundError(
                f"No module named {aliased!r} (imported as {fullname!r})", name=fullname
            )
        is_package = target_spec.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(aliased), is_package=is_package)


def _is_aliased(module: ModuleType, name: str) -> bool:
    target = _target_of(name)
    return target is not None and getattr(module, "__name__", None) == target


def foreign_driver_modules() -> list[str]:
    """Modules of the real psycopg / psycopg_pool already imported in this process."""
    found = []
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in ALIASES and module is not None and not _is_aliased(module, name):
            found.append(name)
    return sorted(found)


_finder: PsycopgAliasFinder | None = None


def install_as_psycopg() -> None:
    """Make ``import psycopg`` and ``import psycopg_pool`` give balrog's modules; idempotent.

    Call it first thing, before anything imports psycopg (for SQLAlchemy: before
    ``create_engine("postgresql+psycopg://...")``). Raises ForeignDriverError (a
    RuntimeError) when the real psycopg is already imported.
    """
    global _finder
    if _finder is not None and _finder in sys.meta_path:
        return
    foreign = foreign_driver_modules()
    if foreign:
        raise ForeignDriverError(foreign)
    _finder = PsycopgAliasFinder()
    sys.meta_path.insert(0, _finder)
    # Resolve the top-level name now: from here on sys.modules["psycopg"] is balrog's.
    importlib.import_module("psycopg")


def installed_as_psycopg() -> bool:
    """Whether ``import psycopg`` is answered by balrog in this process."""
    return _finder is not None and _finder in sys.meta_path
