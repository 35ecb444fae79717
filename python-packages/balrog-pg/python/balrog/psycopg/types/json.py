"""JSON and JSONB: the ``Json``/``Jsonb`` wrappers, their dumpers and loaders, and the
hooks to change the (de)serialisation functions globally or per connection/cursor."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from types import CodeType
from typing import Any, TypeAlias

from .. import adapt as _adapt
from .. import errors as e
from ..adapt import Dumper, Loader, PyFormat
from ..pq import Format

__all__ = [
    "Json",
    "JsonBinaryDumper",
    "JsonBinaryLoader",
    "JsonDumper",
    "JsonLoader",
    "Jsonb",
    "JsonbBinaryDumper",
    "JsonbBinaryLoader",
    "JsonbDumper",
    "JsonbLoader",
    "register_default_adapters",
    "set_json_dumps",
    "set_json_loads",
]

JsonDumpsFunction: TypeAlias = Callable[[Any], str | bytes]
JsonLoadsFunction: TypeAlias = Callable[[str | bytes], Any]

logger = logging.getLogger("psycopg")  # psycopg's, so its logging setup applies

JSON_OID = 114
JSONB_OID = 3802


class _JsonWrapper:
    __slots__ = ("dumps", "obj")

    def __init__(self, obj: Any, dumps: JsonDumpsFunction | None = None) -> None:
        self.obj = obj
        self.dumps = dumps

    def __repr__(self) -> str:
        shown = repr(self.obj)
        if len(shown) > 40:
            shown = f"{shown[:35]} ... ({len(shown)} chars)"
        return f"{self.__class__.__name__}({shown})"


class Json(_JsonWrapper):
    """Send ``obj`` as ``json``; ``dumps`` overrides the serialisation function."""

    __slots__ = ()


class Jsonb(_JsonWrapper):
    """Send ``obj`` as ``jsonb``; ``dumps`` overrides the serialisation function."""

    __slots__ = ()


# -- dumpers ----------------------------------------------------------------------------------


class _JsonDumper(Dumper):
    # The dumps() used when the wrapper names none: replaced globally by set_json_dumps(),
    # or in a subclass registered on a connection/cursor.
    _dumps: JsonDumpsFunction = json.dumps

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.dumps = self.__class__._dumps

    def dump(self, obj: Any) -> bytes | None:
        if isinstance(obj, _JsonWrapper):
            dumps = obj.dumps or self.dumps
            obj = obj.obj
        else:
            dumps = self.dumps
        data = dumps(obj)
        return data.encode() if isinstance(data, str) else data


class JsonDumper(_JsonDumper):
    oid = JSON_OID


class JsonBinaryDumper(_JsonDumper):
    format = Format.BINARY
    oid = JSON_OID


class JsonbDumper(_JsonDumper):
    oid = JSONB_OID


class JsonbBinaryDumper(_JsonDumper):
    format = Format.BINARY
    oid = JSONB_OID

    def dump(self, obj: Any) -> bytes | None:
        data = super().dump(obj)
        # jsonb's binary format: a version byte (1), then the text
        return None if data is None else b"\x01" + data


# -- loaders ----------------------------------------------------------------------------------


class _JsonLoader(Loader):
    _loads: JsonLoadsFunction = json.loads

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self.loads = self.__class__._loads

    def load(self, data: Any) -> Any:
        if not isinstance(data, bytes):  # json.loads() rejects memoryview
            data = bytes(data)
        return self.loads(data)


class JsonLoader(_JsonLoader):
    # Decoded natively (into what json.loads returns) while the loads function is the
    # default json.loads; set_json_loads() without a context switches this off and on.
    _balrog_dec: int | None = JSON_OID


class JsonbLoader(_JsonLoader):
    _balrog_dec: int | None = JSONB_OID


class JsonBinaryLoader(_JsonLoader):
    format = Format.BINARY
    _balrog_dec: int | None = JSON_OID


class JsonbBinaryLoader(_JsonLoader):
    format = Format.BINARY
    _balrog_dec: int | None = JSONB_OID

    def load(self, data: Any) -> Any:
        if data and data[0] != 1:
            raise e.DataError(f"unknown jsonb binary format: {data[0]}")
        data = data[1:]
        if not isinstance(data, bytes):
            data = bytes(data)
        return self.loads(data)


# -- configuration ----------------------------------------------------------------------------


def set_json_dumps(dumps: JsonDumpsFunction, context: Any = None) -> None:
    """Use ``dumps`` to serialise JSON: globally, or on a connection/cursor (``context``).

    A ``dumps`` given to a ``Json``/``Jsonb`` wrapper still wins.
    """
    if context is None:
        _JsonDumper._dumps = dumps
        return
    adapters = context.adapters
    for wrapper, fmt in _DUMPER_GRID:
        base = _current_dumper(adapters, wrapper, fmt)
        adapters.register_dumper(wrapper, _subclass_with(base, "_dumps", dumps, _dumpers_cache))


def set_json_loads(loads: JsonLoadsFunction, context: Any = None) -> None:
    """Use ``loads`` to parse JSON: globally, or on a connection/cursor (``context``)."""
    if context is None:
        _JsonLoader._loads = loads
        native = loads is json.loads
        JsonLoader._balrog_dec = JsonBinaryLoader._balrog_dec = JSON_OID if native else None
        JsonbLoader._balrog_dec = JsonbBinaryLoader._balrog_dec = JSONB_OID if native else None
        _adapt._registry_version[0] += 1  # loader specs cached by the maps are stale
        return
    for type_name, base in (
        ("json", JsonLoader),
        ("json", JsonBinaryLoader),
        ("jsonb", JsonbLoader),
        ("jsonb", JsonbBinaryLoader),
    ):
        context.adapters.register_loader(type_name, _subclass_with(base, "_loads", loads, _loaders_cache))


def current_json_dumps() -> JsonDumpsFunction:
    """The global serialisation function (what a Json wrapper without ``dumps`` uses)."""
    return _JsonDumper._dumps


def current_json_loads() -> JsonLoadsFunction:
    """The global parsing function."""
    return _JsonLoader._loads


_DUMPER_GRID = [
    (Json, PyFormat.BINARY),
    (Json, PyFormat.TEXT),
    (Jsonb, PyFormat.BINARY),
    (Jsonb, PyFormat.TEXT),
]
_DEFAULT_DUMPERS: dict[tuple[type, Any], type] = {
    (Json, PyFormat.BINARY): JsonBinaryDumper,
    (Json, PyFormat.TEXT): JsonDumper,
    (Jsonb, PyFormat.BINARY): JsonbBinaryDumper,
    (Jsonb, PyFormat.TEXT): JsonbDumper,
}


def _current_dumper(adapters: Any, wrapper: type, fmt: Any) -> type:
    try:
        return adapters.get_dumper(wrapper, fmt)  # type: ignore[no-any-return]
    except e.ProgrammingError:
        return _DEFAULT_DUMPERS[wrapper, fmt]


# Subclasses made for a function are cached, under psycopg's names (by the function's code,
# so that a lambda defined in a function is one key), lest every call leak a new class.
_dumpers_cache: dict[tuple[type, Any], type] = {}
_loaders_cache: dict[tuple[type, Any], type] = {}
_made_lock = threading.Lock()


def _subclass_with(
    base: type, attr: str, func: Callable[..., Any], cache: dict[tuple[type, Any], type]
) -> type:
    with _made_lock:
        key = _cache_key(base, func)
        if key is not None and key in cache:
            return cache[key]
        name = base.__name__ if base.__name__.startswith("Custom") else f"Custom{base.__name__}"
        made = type(name, (base,), {attr: func, "__module__": __name__})
        if key is not None:
            cache[key] = made
        return made


def _cache_key(base: type, func: Callable[..., Any]) -> tuple[type, Callable[..., Any] | CodeType] | None:
    code = getattr(func, "__code__", None)
    if code is None or not hasattr(func, "__closure__"):
        return (base, func)  # a builtin (orjson.dumps ...): stable enough
    if func.__closure__:
        # The same code with other closure values behaves differently: no safe key.
        logger.warning("using a closure in a dumps/loads function may cause a resource leak")
        return None
    return (base, code)


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    adapters.register_dumper(Json, JsonBinaryDumper)
    adapters.register_dumper(Json, JsonDumper)
    adapters.register_dumper(Jsonb, JsonbBinaryDumper)
    adapters.register_dumper(Jsonb, JsonbDumper)
    adapters.register_loader("json", JsonLoader)
    adapters.register_loader("jsonb", JsonbLoader)
    adapters.register_loader("json", JsonBinaryLoader)
    adapters.register_loader("jsonb", JsonbBinaryLoader)
