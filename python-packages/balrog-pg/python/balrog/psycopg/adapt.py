"""psycopg's adaptation API: Dumper (Python → PostgreSQL), Loader (PostgreSQL → Python),
AdaptersMap (which class handles which type), Transformer (per-query cache of instances).

Builtin loaders are *native*: the driver decodes their types in Rust without calling
``load()``. A loader class counts as native only if it declares ``_balrog_dec`` in its own
body, so any subclass (Django's per-cursor timestamptz loader, a user's custom class) goes
through its Python ``load()`` and gets the text it asks for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from .. import _pg
from . import errors as e
from . import pq
from ._enums import PyFormat

if TYPE_CHECKING:
    from ._typeinfo import TypesRegistry

__all__ = [
    "AdaptContext",
    "AdaptersMap",
    "Buffer",
    "Dumper",
    "Loader",
    "PyFormat",
    "RecursiveDumper",
    "Transformer",
]

Buffer: TypeAlias = bytes | bytearray | memoryview

TEXT = pq.Format.TEXT
BINARY = pq.Format.BINARY

# Bumped by every register_dumper/register_loader on any map. Maps made from a template
# share its tables (copy-on-write, as psycopg), so a change to one map can show in others:
# caches derived from the tables check this one counter instead of tracking who shares what.
_registry_version = [0]

# Placeholder formats as the native encoder indexes them.
FORMAT_INDEX = {PyFormat.AUTO: 0, PyFormat.TEXT: 1, PyFormat.BINARY: 2}


class AdaptContext:
    """Anything with ``adapters`` and ``connection`` (a connection, a cursor, a map)."""

    @property
    def adapters(self) -> AdaptersMap:  # pragma: no cover - protocol
        raise NotImplementedError

    @property
    def connection(self) -> Any:  # pragma: no cover - protocol
        raise NotImplementedError


def _connection_of(context: Any) -> Any:
    return getattr(context, "connection", None) if context is not None else None


def _escape_literal(value: bytes) -> bytes:
    """A quoted SQL string literal, injection-proof whatever standard_conforming_strings says.

    A value with backslashes is written in the E'' form with them doubled, which means the
    same thing with the setting on or off. The leading space keeps the E from gluing onto a
    preceding identifier; libpq's PQescapeLiteral adds it, and psycopg adds it too when it
    quotes without a connection, so the output is the same with or without one.
    """
    if b"\x00" in value:
        raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    value = value.replace(b"'", b"''")
    if b"\\" in value:
        return b" E'" + value.replace(b"\\", b"\\\\") + b"'"
    return b"'" + value + b"'"


class Dumper(ABC):
    """Convert Python objects of type ``cls`` to PostgreSQL representation."""

    oid: int = 0
    format: pq.Format = TEXT

    def __init__(self, cls: type, context: Any = None):
        self.cls = cls
        self.connection = _connection_of(context)

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} (oid={self.oid}) at 0x{id(self):x}>"

    @abstractmethod
    def dump(self, obj: Any) -> Buffer | None: ...

    def quote(self, obj: Any) -> Buffer:
        """The value as an SQL literal (for client-side binding)."""
        value = self.dump(obj)
        if value is None:
            return b"NULL"
        return _escape_literal(bytes(value))

    def get_key(self, obj: Any, format: PyFormat) -> Any:
        """What decides which dumper an object needs (its class, unless it varies by value)."""
        return self.cls

    def upgrade(self, obj: Any, format: PyFormat) -> Dumper:
        """A dumper specialised for ``obj`` (e.g. int2 vs int8); self by default."""
        return self


class RecursiveDumper(Dumper):
    """A dumper that dumps its elements with a Transformer of its own."""

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._tx = Transformer.from_context(context)


class Loader(ABC):
    """Convert PostgreSQL values of type ``oid`` to Python objects."""

    format: pq.Format = TEXT

    def __init__(self, oid: int, context: Any = None):
        self.oid = oid
        self.connection = _connection_of(context)

    @abstractmethod
    def load(self, data: Buffer) -> Any: ...


class RecursiveLoader(Loader):
    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tx = Transformer.from_context(context)


def _scs(connection: Any) -> bool:
    if connection is None:
        return True
    try:
        return connection.info.parameter_status("standard_conforming_strings") != "off"
    except Exception:
        return True


class AdaptersMap:
    """Which dumper handles each Python type and which loader each PostgreSQL type.

    Copy-on-write: a map made from a template shares its tables until it is changed, so
    every cursor can have its own map for free.
    """

    types: TypesRegistry

    def __init__(self, template: AdaptersMap | None = None, types: TypesRegistry | None = None):
        if template is not None:
            self._dumpers = template._dumpers
            self._own_dumpers = [False, False, False]
            self._dumpers_by_oid = template._dumpers_by_oid
            self._own_dumpers_by_oid = [False, False]
            self._loaders = template._loaders
            self._own_loaders = [False, False]
            # The template copies before its next change too: this map keeps the adapters
            # as they were when it was made (a cursor isn't changed by a later
            # registration on its connection), as psycopg's.
            template._own_dumpers = [False, False, False]
            template._own_dumpers_by_oid = [False, False]
            template._own_loaders = [False, False]
            if types is None:
                from ._typeinfo import TypesRegistry

                # Copy-on-write too: a type registered on a cursor stays the cursor's.
                types = TypesRegistry(template.types)
            self.types = types
            self._parent: AdaptersMap | None = template
        else:
            self._dumpers = [{}, {}, {}]
            self._own_dumpers = [True, True, True]
            self._dumpers_by_oid = [{}, {}]
            self._own_dumpers_by_oid = [True, True]
            self._loaders = [{}, {}]
            self._own_loaders = [True, True]
            if types is None:
                from ._typeinfo import TypesRegistry

                types = TypesRegistry()
            self.types = types
            self._parent = None
        self._native_cache: dict[tuple[int, int], Any] = {}
        # A cursor's own map: a weak reference to the cursor, told of new loaders.
        self._loaders_listener: Any = None
        self._encoders: tuple[int, list[dict[type, int]]] | None = None
        self._specs: tuple[int, dict[Any, Any]] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__} at 0x{id(self):x}>"

    @property
    def connection(self) -> None:
        return None

    @property
    def adapters(self) -> AdaptersMap:
        return self

    _FMT_INDEX = {PyFormat.AUTO: 0, PyFormat.TEXT: 1, PyFormat.BINARY: 2}

    def register_dumper(self, cls: type | str | None, dumper: type[Dumper]) -> None:
        """Use ``dumper`` for objects of ``cls`` (a type, or "module.Name" to resolve lazily)."""
        if not (cls is None or isinstance(cls, str | type)):
            raise TypeError(f"dumpers should be registered on classes, got {cls} instead")
        fmt = PyFormat.from_pq(dumper.format)
        if cls is not None:
            for key in (PyFormat.AUTO, fmt):
                i = self._FMT_INDEX[key]
                if not self._own_dumpers[i]:
                    self._dumpers = list(self._dumpers)
                    self._dumpers[i] = dict(self._dumpers[i])
                    self._own_dumpers[i] = True
                self._dumpers[i][cls] = dumper
        if dumper.oid:
            j = int(dumper.format)
            if not self._own_dumpers_by_oid[j]:
                self._dumpers_by_oid = list(self._dumpers_by_oid)
                self._dumpers_by_oid[j] = dict(self._dumpers_by_oid[j])
                self._own_dumpers_by_oid[j] = True
            self._dumpers_by_oid[j][dumper.oid] = dumper
        _registry_version[0] += 1

    def register_loader(self, oid: int | str, loader: type[Loader]) -> None:
        """Use ``loader`` for values of type ``oid`` (an oid or a registered type name)."""
        if isinstance(oid, str):
            info = self.types.get(oid)
            if info is None:
                raise e.ProgrammingError(f"unknown type name: {oid!r}")
            oid = info.oid
        if not isinstance(oid, int):
            raise TypeError(f"loaders should be registered on oid, got {oid} instead")
        j = int(loader.format)
        if not self._own_loaders[j]:
            self._loaders = list(self._loaders)
            self._loaders[j] = dict(self._loaders[j])
            self._own_loaders[j] = True
        self._loaders[j][oid] = loader
        self._native_cache = {}
        _registry_version[0] += 1
        listener = self._loaders_listener
        cursor = listener() if listener is not None else None
        if cursor is not None:
            cursor._loaders_changed()

    def native_encoders(self) -> list[dict[type, int]]:
        """Per format index, {exact Python type: native encoder code} for the types whose
        dumper class here is a builtin one the driver encodes in Rust (``_balrog_enc`` in its
        own body; any subclass or user dumper is left to Python)."""
        cached = self._encoders
        if cached is not None and cached[0] == _registry_version[0]:
            return cached[1]
        parent = self._parent
        if parent is not None and parent._dumpers is self._dumpers:
            # Same tables: one cache for every cursor of a connection.
            shared = parent.native_encoders()
            self._encoders = (_registry_version[0], shared)
            return shared
        maps: list[dict[type, int]] = []
        for table in self._dumpers:
            found: dict[type, int] = {}
            for cls in table:
                if isinstance(cls, type):
                    code = table[cls].__dict__.get("_balrog_enc")
                    if code is not None:
                        found[cls] = code
            maps.append(found)
        self._encoders = (_registry_version[0], maps)
        return maps

    def native_specs(self) -> dict[Any, Any]:
        """Loader specs by oid that depend only on this map (native decoders), shared by
        every execute until a registration changes something."""
        cached = self._specs
        if cached is not None and cached[0] == _registry_version[0]:
            return cached[1]
        parent = self._parent
        specs: dict[Any, Any] = (
            parent.native_specs() if parent is not None and parent._loaders is self._loaders else {}
        )
        self._specs = (_registry_version[0], specs)
        return specs

    def get_dumper(self, cls: type, format: PyFormat) -> type[Dumper]:
        """The dumper class for ``cls`` (searching its MRO), or ProgrammingError."""
        table = self._dumpers[self._FMT_INDEX[format]]
        for scls in cls.__mro__:
            dumper = table.get(scls)
            if dumper is not None:
                return dumper
            # Lazily-named registrations ("ipaddress.IPv4Address") for modules not imported.
            qual = f"{scls.__module__}.{scls.__qualname__}"
            dumper = table.get(qual)
            if dumper is not None:
                return dumper
        if format == PyFormat.TEXT and cls is not type(None):
            pass
        raise e.ProgrammingError(
            f"cannot adapt type {cls.__name__!r} using placeholder '%{format.value}' (format: {format.name})"
        )

    def get_dumper_by_oid(self, oid: int, format: pq.Format) -> type[Dumper]:
        dumper = self._dumpers_by_oid[int(format)].get(oid)
        if dumper is None:
            raise e.ProgrammingError(
                f"cannot find a dumper for type with oid {oid} (format: {pq.Format(format).name})"
            )
        return dumper

    def get_loader(self, oid: int, format: pq.Format) -> type[Loader] | None:
        """The loader class for ``oid`` in ``format``, or None."""
        return self._loaders[int(format)].get(oid)


class Transformer:
    """Per-query cache of dumper and loader instances for a context."""

    __slots__ = ("_adapters", "_dumpers", "_loaders", "_oid_types", "connection")

    def __init__(self, context: Any = None):
        if context is None:
            from .postgres import adapters

            self._adapters: AdaptersMap = adapters
            self.connection = None
        else:
            self._adapters = context.adapters
            self.connection = _connection_of(context)
        self._dumpers: dict[Any, Dumper] = {}
        self._loaders: dict[tuple[int, int], Loader] = {}
        self._oid_types: dict[int, bytes] = {}

    @classmethod
    def from_context(cls, context: Any) -> Transformer:
        if isinstance(context, Transformer):
            return context
        return cls(context)

    @property
    def adapters(self) -> AdaptersMap:
        return self._adapters

    def get_dumper(self, obj: Any, format: PyFormat) -> Dumper:
        cls = type(obj)
        key = (cls, format)
        dumper = self._dumpers.get(key)
        if dumper is None:
            dcls = self._adapters.get_dumper(cls, format)
            dumper = self._dumpers[key] = dcls(cls, self)
        # Compared with the object's class, not ``dumper.cls``: a dumper only following the
        # Dumper protocol (no base class) need not have that attribute.
        subkey = dumper.get_key(obj, format)
        if subkey is cls:
            return dumper
        key2 = (subkey, format)
        upgraded = self._dumpers.get(key2)
        if upgraded is None:
            upgraded = self._dumpers[key2] = dumper.upgrade(obj, format)
        return upgraded

    def get_loader(self, oid: int, format: pq.Format) -> Loader:
        key = (oid, int(format))
        loader = self._loaders.get(key)
        if loader is None:
            lcls = self._adapters.get_loader(oid, format)
            if lcls is None:
                lcls = self._adapters.get_loader(0, format)
            if lcls is None:
                from .types.string import TextLoader

                lcls = TextLoader
            loader = self._loaders[key] = lcls(oid, self)
        return loader

    def load_sequence(self, record: Sequence[Buffer | None], oids: Sequence[int]) -> tuple[Any, ...]:
        return tuple(
            None if v is None else self.get_loader(oid, TEXT).load(v)
            for v, oid in zip(record, oids, strict=False)
        )

    def as_literal(self, obj: Any) -> bytes:
        """``obj`` as an SQL literal, with a cast when the type is not obvious (psycopg's rules)."""
        if obj is None:
            return b"NULL"
        dumper = self.get_dumper(obj, PyFormat.TEXT)
        rv = bytes(dumper.quote(obj))
        oid = dumper.oid
        if oid and rv and rv[-1:] == b"'" and oid != 25:
            type_sql = self._oid_types.get(oid)
            if type_sql is None:
                info = self._adapters.types.get(oid)
                if info is None:
                    type_sql = b""
                else:
                    type_sql = (info.name if oid < 8192 else info.regtype).encode()
                    if oid == info.array_oid:
                        type_sql += b"[]"
                self._oid_types[oid] = type_sql
            if type_sql:
                rv = rv + b"::" + type_sql
        return rv

    def dump_params(
        self, params: Sequence[Any], formats: Sequence[PyFormat]
    ) -> tuple[list[bytes | None], list[int], list[int]]:
        """Dump parameters for server-side binding: values, type oids, wire formats."""
        values: list[bytes | None] = []
        oids: list[int] = []
        fmts: list[int] = []
        for obj, fmt in zip(params, formats, strict=True):
            if obj is None:
                values.append(None)
                oids.append(0)
                fmts.append(0)
                continue
            dumper = self.get_dumper(obj, fmt)
            data = dumper.dump(obj)
            values.append(data if data is None or type(data) is bytes else bytes(data))
            oids.append(dumper.oid)
            fmts.append(int(dumper.format))
        return values, oids, fmts

    def loader_spec(self, oid: int, format: pq.Format = pq.Format.TEXT) -> Any:
        """How the native decoder handles ``oid`` in ``format``: see
        ``balrog._pg.PgResult.set_loaders``."""
        return _loader_spec(self, oid, format)

    def dump_one(self, obj: Any, fmt: int) -> tuple[bytes | None, int, int]:
        """One parameter through its Python dumper (the native encoder's fallback):
        value, type oid, wire format. ``fmt`` is a ``FORMAT_INDEX`` value."""
        dumper = self.get_dumper(obj, _PYFORMATS[fmt])
        data = dumper.dump(obj)
        return (data if data is None or type(data) is bytes else bytes(data)), dumper.oid, int(dumper.format)

    def encode_params(self, values: Sequence[Any], fmts: Sequence[int]) -> Any:
        """Encode parameters for server-side binding in one native call: a ``_pg.Params``
        with ``types`` and ``formats``. Builtin types are encoded in Rust, others by their
        dumpers, exactly as ``dump_params`` would."""
        return _pg.encode_params(values, fmts, self._adapters.native_encoders(), self.dump_one)


_PYFORMATS = (PyFormat.AUTO, PyFormat.TEXT, PyFormat.BINARY)


def _loader_spec(tx: Transformer, oid: int, format: pq.Format = TEXT) -> Any:
    # A native decoder is named by a builtin type oid; the result's format (text or binary)
    # picks which of its two readings runs.
    lcls = tx._adapters.get_loader(oid, format)
    if lcls is None:
        lcls = tx._adapters.get_loader(0, format)
        if lcls is None:
            return 0 if format == TEXT else 17  # unknown types: str in text, bytes in binary
    native = lcls.__dict__.get("_balrog_dec")
    if native is not None:
        return native
    base_oid = getattr(lcls, "base_oid", None)
    if base_oid is not None and lcls.__dict__.get("_balrog_array"):
        return ("array", _loader_spec(tx, base_oid, format), getattr(lcls, "delimiter", ","))
    return tx.get_loader(oid, format).load


def is_native_loader(cls: type[Loader]) -> bool:
    return "_balrog_dec" in cls.__dict__


LoadFunc = Callable[[Buffer], Any]
