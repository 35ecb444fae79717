"""``requests.packages``: requests re-exports urllib3, idna and its charset detector here.

Both spellings of the usual idioms work, when the package is installed:

* ``requests.packages.urllib3.disable_warnings()`` (attribute access);
* ``from requests.packages.urllib3.exceptions import InsecureRequestWarning`` (an import
  statement: requests aliases the modules in ``sys.modules``).

requests imports urllib3 and idna eagerly to do that. Here nothing is imported until used:
attribute access goes through the module's ``__getattr__``, and import statements through
a finder that serves ``balrog.requests.packages.<name>[.sub]`` as the module ``<name>[.sub]``
itself (the very same object, as requests' aliases are).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

# What requests re-exports: our name → the real top-level package ("chardet" is whichever
# detector is installed, as requests picks it).
_PACKAGES = ("urllib3", "idna", "chardet")

# A package (it has a __path__) so that the import system looks for submodules; the finder
# below is what finds them.
__path__: list[str] = []


def _real_name(alias: str) -> str | None:
    """``balrog.requests.packages.urllib3.exceptions`` → ``urllib3.exceptions``; also under
    any other name this module is registered as in ``sys.modules`` (``requests.packages``
    when balrog.requests is installed as requests)."""
    if ".packages." not in alias:
        return None  # every import of the process comes through here first: stay cheap
    parts = alias.split(".")
    this = sys.modules.get(__name__)
    for i in range(len(parts) - 1, 0, -1):
        if sys.modules.get(".".join(parts[:i])) is this:
            top, rest = parts[i], ".".join(parts[i + 1 :])
            break
    else:
        return None
    if top not in _PACKAGES:
        return None
    if top == "chardet":
        top = _detector()
    return top + ("." + rest if rest else "")


def _detector() -> str:
    for module in ("chardet", "charset_normalizer"):
        if importlib.util.find_spec(module) is not None:
            return module
    return "chardet"  # neither is installed: the import fails with chardet's name


class _AliasLoader(importlib.abc.Loader):
    """Serves an already imported module under another name, leaving it as it was."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.real_spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed under its own name. The import system has just set __spec__ to
        # the alias's spec (its other attributes it leaves alone): give the real one back.
        module.__spec__ = self.real_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        real = _real_name(fullname)
        if real is None:
            return None
        module = importlib.import_module(real)
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(module))
        spec.submodule_search_locations = getattr(module, "__path__", None)
        return spec


# First in line: the path finder would otherwise find a submodule such as
# balrog.requests.packages.urllib3.exceptions in urllib3's directory (the alias's __path__)
# and execute it again as a second, different module.
if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())


def __getattr__(name: str) -> Any:
    if name in _PACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(name)
