"""SQL composition: build queries from trusted snippets, identifiers and literal values.

``SQL`` is a trusted snippet, ``Identifier`` a quoted name, ``Literal`` a quoted value,
``Placeholder`` a ``%s``/``%(name)s`` parameter marker, ``Composed`` a sequence of them.
"""

from __future__ import annotations

import codecs
import string
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, LiteralString

from . import errors as e
from ._encodings import foreign_codec
from ._enums import PyFormat

__all__ = [
    "DEFAULT",
    "NULL",
    "SQL",
    "Composable",
    "Composed",
    "Identifier",
    "Literal",
    "Placeholder",
    "as_bytes",
    "as_string",
    "quote",
]


def quote(obj: Any, context: Any = None) -> str:
    """``obj`` as an SQL literal string (adapted with ``context``'s rules, if given)."""
    return Literal(obj).as_string(context)


def _connection(context: Any) -> Any:
    return getattr(context, "connection", None) if context is not None else None


def _client_codec(context: Any) -> str | None:
    """The codec of the context's client encoding when it is neither UTF8 nor SQL_ASCII,
    else None: the encoding ``as_bytes`` must give, as psycopg's does."""
    conn = _connection(context)
    return None if conn is None else foreign_codec(conn)


def _recode(data: bytes, codec: str | None) -> bytes:
    """UTF-8 rendering → the client encoding (UnicodeEncodeError for what it cannot
    hold). Bytes that were not UTF-8 (a dumper's raw output) pass through unchanged."""
    if codec is None:
        return data
    return data.decode("utf-8", "surrogateescape").encode(codec, "surrogateescape")


def _decode(data: Any, codec: str) -> str:
    if isinstance(data, bytes):
        return data.decode(codec)
    return codecs.lookup(codec).decode(data)[0]  # type: ignore[no-any-return]


class Composable(ABC):
    """Base of the objects that compose into a query.

    ``a + b`` makes a ``Composed``; ``a * n`` repeats ``a``. ``SQL`` and ``Composed`` can
    be passed to ``execute()`` instead of a string.
    """

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._obj!r})"

    @abstractmethod
    def as_bytes(self, context: Any = None) -> bytes:
        """The object rendered as bytes in ``context`` (a connection or cursor), in its
        client encoding."""
        raise NotImplementedError

    def _utf8(self, context: Any) -> bytes:
        """The object rendered in UTF-8, what queries carry inside balrog (the native
        layer converts them to the client encoding on the wire). Composables of other
        libraries, or a user's subclass, only have ``as_bytes``."""
        return self.as_bytes(context)

    def as_string(self, context: Any = None) -> str:
        """The object rendered as a string in ``context`` (a connection or cursor)."""
        codec = _client_codec(context)
        if codec is not None:  # as psycopg: what the client encoding cannot hold raises
            return _decode(self.as_bytes(context), codec)
        return _decode(self._utf8(context), "utf-8")

    def __add__(self, other: Composable) -> Composed:
        if isinstance(other, Composed):
            return Composed([self]) + other
        if isinstance(other, Composable):
            return Composed([self]) + Composed([other])
        return NotImplemented

    def __mul__(self, n: int) -> Composed:
        return Composed([self] * n)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._obj == other._obj  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


class Composed(Composable):
    """A sequence of Composable; other objects in ``seq`` become ``Literal``."""

    _obj: list[Composable]

    def __init__(self, seq: Sequence[Any]) -> None:
        super().__init__([obj if isinstance(obj, Composable) else Literal(obj) for obj in seq])

    def as_bytes(self, context: Any = None) -> bytes:
        return _recode(self._utf8(context), _client_codec(context))

    def _utf8(self, context: Any) -> bytes:
        return b"".join(_utf8_of(obj, context) for obj in self._obj)

    def __iter__(self) -> Iterator[Composable]:
        return iter(self._obj)

    def __add__(self, other: Composable) -> Composed:
        if isinstance(other, Composed):
            return Composed(self._obj + other._obj)
        if isinstance(other, Composable):
            return Composed([*self._obj, other])
        return NotImplemented

    def join(self, joiner: SQL | LiteralString) -> Composed:
        """The items separated by ``joiner`` (an SQL or a str taken as SQL)."""
        if isinstance(joiner, str):
            joiner = SQL(joiner)
        elif not isinstance(joiner, SQL):
            raise TypeError(f"Composed.join() argument must be strings or SQL, got {joiner!r} instead")
        return joiner.join(self._obj)


class SQL(Composable):
    """A trusted snippet of SQL, used as is (never put user data in it)."""

    _obj: LiteralString
    _formatter = string.Formatter()

    def __init__(self, obj: LiteralString) -> None:
        super().__init__(obj)
        if not isinstance(obj, str):
            raise TypeError(f"SQL values must be strings, got {obj!r} instead")

    def as_string(self, context: Any = None) -> str:
        return self._obj

    def as_bytes(self, context: Any = None) -> bytes:
        return self._obj.encode(_client_codec(context) or "utf-8")

    def _utf8(self, context: Any) -> bytes:
        return self._obj.encode()

    def format(self, *args: Any, **kwargs: Any) -> Composed:
        """Replace ``{}``, ``{0}``, ``{name}`` placeholders with Composable objects.

        Other objects are wrapped in ``Literal``. Format specs and conversions
        (``{0!r}``, ``{:>10}``) are refused; ``{{`` and ``}}`` are literal braces.
        """
        parts: list[Composable] = []
        auto_index: int | None = 0
        for prefix, name, spec, conversion in self._formatter.parse(self._obj):
            if spec:
                raise ValueError("no format specification supported by SQL")
            if conversion:
                raise ValueError("no format conversion supported by SQL")
            if prefix:
                parts.append(SQL(prefix))  # type: ignore[arg-type]
            if name is None:
                continue
            if name.isdigit():
                if auto_index:
                    raise ValueError("cannot switch from automatic field numbering to manual")
                parts.append(args[int(name)])
                auto_index = None
            elif not name:
                if auto_index is None:
                    raise ValueError("cannot switch from manual field numbering to automatic")
                parts.append(args[auto_index])
                auto_index += 1
            else:
                parts.append(kwargs[name])
        return Composed(parts)

    def join(self, seq: Iterable[Any]) -> Composed:
        """The items of ``seq`` separated by this snippet (non-Composable become Literal)."""
        items = iter(seq)
        try:
            first = next(items)
        except StopIteration:
            return Composed([])
        joined = [first]
        for item in items:
            joined.append(self)
            joined.append(item)
        return Composed(joined)


class Identifier(Composable):
    """A quoted identifier, or a dotted sequence of them (``Identifier("schema", "table")``)."""

    _obj: Sequence[str]

    def __init__(self, *strings: str) -> None:
        super().__init__(strings)
        if not strings:
            raise TypeError("Identifier cannot be empty")
        for part in strings:
            if not isinstance(part, str):
                raise TypeError(f"SQL identifier parts must be strings, got {part!r} instead")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({', '.join(map(repr, self._obj))})"

    def as_bytes(self, context: Any = None) -> bytes:
        return self._render(context, _client_codec(context) or "utf-8")

    def _utf8(self, context: Any) -> bytes:
        return self._render(context, "utf-8")

    def _render(self, context: Any, codec: str) -> bytes:
        conn = _connection(context)
        if conn is not None and getattr(conn, "closed", False):
            # psycopg escapes identifiers with libpq on the connection, which refuses.
            raise e.OperationalError("the connection is closed")
        connected = conn is not None
        return b".".join(_escape_identifier(part.encode(codec), connected) for part in self._obj)


def _escape_identifier(name: bytes, connected: bool) -> bytes:
    if connected:
        # libpq's PQescapeIdentifier stops at a NUL byte; so do we, with a connection.
        name = name.split(b"\x00", 1)[0]
    return b'"' + name.replace(b'"', b'""') + b'"'


class Literal(Composable):
    """A value quoted as an SQL literal, by the adaptation rules of the context."""

    def as_bytes(self, context: Any = None) -> bytes:
        return _recode(_literal(self._obj, context), _client_codec(context))

    def _utf8(self, context: Any) -> bytes:
        return _literal(self._obj, context)


def _literal(obj: Any, context: Any) -> bytes:
    try:
        from .adapt import Transformer
    except ImportError:  # no adaptation layer: builtin types only
        from ._sql_literal import literal

        return literal(obj, connected=_connection(context) is not None, encoding="utf-8")
    return Transformer.from_context(context).as_literal(obj)


class Placeholder(Composable):
    """A parameter marker: ``%s`` (or ``%t``/``%b``), or ``%(name)s`` if named."""

    def __init__(self, name: str = "", format: str | PyFormat = PyFormat.AUTO) -> None:
        super().__init__(name)
        if not isinstance(name, str):
            raise TypeError(f"expected string as name, got {name!r}")
        if ")" in name:
            raise ValueError(f"invalid name: {name!r}")
        if type(format) is str:
            format = PyFormat(format)
        if not isinstance(format, PyFormat):
            raise TypeError(f"expected PyFormat as format, got {type(format).__name__!r}")
        self._format: PyFormat = format

    def __repr__(self) -> str:
        parts = []
        if self._obj:
            parts.append(repr(self._obj))
        if self._format is not PyFormat.AUTO:
            parts.append(f"format={self._format.name}")
        return f"{self.__class__.__name__}({', '.join(parts)})"

    def as_string(self, context: Any = None) -> str:
        code = self._format.value
        return f"%({self._obj}){code}" if self._obj else f"%{code}"

    def as_bytes(self, context: Any = None) -> bytes:
        return self.as_string(context).encode(_client_codec(context) or "utf-8")

    def _utf8(self, context: Any) -> bytes:
        return self.as_string(context).encode()


NULL = SQL("NULL")
DEFAULT = SQL("DEFAULT")


def as_string(obj: Any, context: Any = None) -> str:
    """A Composable rendered as a string; any other object as a literal."""
    if isinstance(obj, Composable):
        return obj.as_string(context)
    return Literal(obj).as_string(context)


def as_bytes(obj: Any, context: Any = None) -> bytes:
    """A Composable rendered as bytes; any other object as a literal."""
    if isinstance(obj, Composable):
        return obj.as_bytes(context)
    return Literal(obj).as_bytes(context)


def _utf8_of(obj: Any, context: Any) -> bytes:
    """``obj`` rendered for a query: UTF-8 from balrog's composables, ``as_bytes`` from
    any other object that has it."""
    render = getattr(obj, "_utf8", None)
    return render(context) if render is not None else obj.as_bytes(context)  # type: ignore[no-any-return]
