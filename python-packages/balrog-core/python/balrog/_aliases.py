"""Import aliases: ``import psycopg`` answered by ``balrog.psycopg``, ``import requests`` by
``balrog.requests``, submodules included.

Libraries written for the originals (SQLAlchemy's psycopg dialect, Django's backend, SDKs
built on requests) import them by name, in many places, so handing them a module object is
not enough. An import hook placed first on ``sys.meta_path`` answers every ``<name>`` and
``<name>.*`` import with the matching balrog module object: both names then refer to the
very same module (one class hierarchy, one adapters map, one exception tree).

Two implementations in one process would mean two incompatible sets of exception classes,
so installing refuses when the original was imported before. The drivers' public entry
points are ``balrog.psycopg.install_as_psycopg()`` and
``balrog.requests.install_as_requests()``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

# No importlib.abc/importlib.util at module level: `import balrog` loads this module, and
# those two pull in typing and more (~20 ms); the import system only needs the methods.

__all__ = ["AliasFinder", "ForeignModuleError", "aliases_installed", "foreign_modules", "install_aliases"]


class ForeignModuleError(RuntimeError):
    """The original library is already imported: aliasing now would mix two of them."""

    def __init__(self, library: str, installer: str, modules: list[str]) -> None:
        self.modules = modules
        # The first few, for messages (balrog.django words its own advice around them).
        self.shown = ", ".join(modules[:3]) + (", ..." if len(modules) > 3 else "")
        super().__init__(
            f"the real {library} is already imported in this process ({self.shown}); call "
            f"{installer}() before anything imports {library}"
        )


class _AliasLoader:
    """Hands out an already importable balrog module under the alias name."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.real_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The balrog module ran its code when it was imported under its own name. The
        # import system has just set its __spec__ to the alias's: give the real one back
        # (importlib.reload and friends go by it).
        module.__spec__ = self.real_spec


class AliasFinder:
    """``<alias>[.x]`` -> ``<target>[.x]`` for each alias -> target of ``aliases``."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self.aliases = dict(aliases)

    def target_of(self, fullname: str) -> str | None:
        top, dot, rest = fullname.partition(".")
        target = self.aliases.get(top)
        if target is None:
            return None
        return target + dot + rest

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        aliased = self.target_of(fullname)
        if aliased is None:
            return None
        import importlib.util

        target_spec = importlib.util.find_spec(aliased)
        if target_spec is None:
            # Never fall through to the original: that would mix two implementations.
            raise ModuleNotFoundError(
                f"No module named {aliased!r} (imported as {fullname!r})", name=fullname
            )
        is_package = target_spec.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(aliased), is_package=is_package)


def foreign_modules(aliases: Mapping[str, str]) -> list[str]:
    """Modules of the originals already imported in this process (not balrog's under the alias)."""
    finder = AliasFinder(aliases)
    found = []
    for name, module in list(sys.modules.items()):
        target = finder.target_of(name)
        if target is not None and module is not None and getattr(module, "__name__", None) != target:
            found.append(name)
    return sorted(found)


# One finder per set of aliases, so that each driver installs (and reports) its own.
_finders: dict[frozenset[tuple[str, str]], AliasFinder] = {}


def install_aliases(aliases: Mapping[str, str], *, library: str, installer: str) -> None:
    """Route imports of each alias to its balrog target; idempotent.

    Raises ForeignModuleError (naming ``library`` and ``installer`` in its advice) when an
    original module is already imported.
    """
    key = frozenset(aliases.items())
    if _installed(key):
        return
    foreign = foreign_modules(aliases)
    if foreign:
        raise ForeignModuleError(library, installer, foreign)
    finder = AliasFinder(aliases)
    _finders[key] = finder
    sys.meta_path.insert(0, finder)
    # Resolve the top-level names now: from here on sys.modules[alias] is balrog's.
    for alias in aliases:
        importlib.import_module(alias)


def aliases_installed(aliases: Mapping[str, str]) -> bool:
    return _installed(frozenset(aliases.items()))


def _installed(key: frozenset[tuple[str, str]]) -> bool:
    finder = _finders.get(key)
    return finder is not None and finder in sys.meta_path
