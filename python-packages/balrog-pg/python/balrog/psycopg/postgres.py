"""The global type registry and adapters (what every new connection starts from)."""

from __future__ import annotations

import importlib
from typing import Any

from ._typeinfo import TypeInfo, TypesRegistry, register_default_types
from .adapt import AdaptersMap

__all__ = ["TypeInfo", "adapters", "register_default_adapters", "types"]

types = TypesRegistry()
register_default_types(types)

adapters = AdaptersMap(types=types)

# Order matters where two modules register the same Python type: the later one wins %s.
_DEFAULT_MODULES = (
    # numpy scalars, by dotted name (numpy is not imported). Before the modules of the
    # builtin types: dumpers registered later also win the lookup by oid (COPY's set_types).
    "numpy",
    "_binary",  # before the text ones: binary dumpers for %b where text wins %s (see below)
    "none",
    "string",
    "bool",
    "numeric",
    "datetime",
    "uuid",
    "net",
    "array",
    "json",
    "range",
    "multirange",
    "enum",
    "composite",
    "hstore",
)


def register_default_adapters(context: Any) -> None:
    """Register the builtin dumpers and loaders on ``context``."""
    for name in _DEFAULT_MODULES:
        try:
            module = importlib.import_module(f".types.{name}", __package__)
        except ImportError as ex:
            if ex.name and ex.name.endswith(f"types.{name}"):
                continue  # a type module not shipped (yet)
            raise
        register = getattr(module, "register_default_adapters", None)
        if register is not None:
            register(context)
    # After the text modules: the binary dumpers psycopg's %s picks (numbers, dates...).
    from .types import _binary

    _binary.register_auto_adapters(context)
    from . import dbapi20

    dbapi20.register_dbapi20_adapters(context)


register_default_adapters(adapters)
