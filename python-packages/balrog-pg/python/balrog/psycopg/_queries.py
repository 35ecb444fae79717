"""Turning ``(query, params)`` into what goes on the wire.

``%s``/``%(name)s`` placeholders (and ``%b``, ``%t``) become ``$1``... for server-side
binding, or are replaced by quoted literals for client-side binding. A query's split into
parts is cached: the same text is parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from . import errors as e
from ._enums import PyFormat
from .adapt import FORMAT_INDEX, Transformer

__all__ = ["ClientQuery", "PostgresQuery", "query_bytes"]

# What psycopg takes for a placeholder: "%" then either "(name)" and one more byte, or any
# one byte but a newline (so a "%" at the very end, or before a line break, stays text).
_PLACEHOLDER = re.compile(rb"%(?:\((?P<name>[^)]+)\).|.)")

# A part: literal bytes, then the key of the placeholder after it (int index or str name,
# None for the last part) and its format.
Part = tuple[bytes, int | str | None, PyFormat]

_FORMATS = {b"s": PyFormat.AUTO, b"t": PyFormat.TEXT, b"b": PyFormat.BINARY}


def query_bytes(query: Any, context: Any) -> bytes:
    """The query as bytes: str (UTF-8), bytes, or an ``sql.Composable``."""
    if isinstance(query, str):
        return query.encode()
    if isinstance(query, bytes):
        return query
    if isinstance(query, bytearray | memoryview):
        return bytes(query)
    # balrog's composables render in UTF-8 for queries (`as_bytes` gives the client
    # encoding, as psycopg's); another library's Composable has only `as_bytes`.
    render = getattr(query, "_utf8", None) or getattr(query, "as_bytes", None)
    if render is not None:
        return render(context)  # type: ignore[no-any-return]
    raise TypeError(f"query must be a string or a sql.SQL object, got {type(query).__name__}")


@lru_cache(maxsize=512)
def split_query(query: bytes) -> tuple[Part, ...]:
    """The query's literal parts and placeholders, with psycopg's rules and errors."""
    parts: list[Part] = []
    literal = b""
    cur = 0
    kind: type | None = None
    for m in _PLACEHOLDER.finditer(query):
        literal += query[cur : m.start()]
        cur = m.end()
        whole = m.group(0)
        if whole == b"%%":
            literal += b"%"
            continue
        if whole == b"%(":
            shown = query[m.start() :].split()[0].decode(errors="replace")
            raise e.ProgrammingError(f"incomplete placeholder: '{shown}'")
        if whole == b"% ":
            raise e.ProgrammingError(
                "incomplete placeholder: '%'; if you want to use '%' as an"
                " operator you can double it up, i.e. use '%%'"
            )
        fmt = _FORMATS.get(whole[-1:])
        if fmt is None:
            shown = whole.decode(errors="replace")
            raise e.ProgrammingError(f"only '%s', '%b', '%t' are allowed as placeholders, got '{shown}'")
        name = m.group("name")
        key: int | str = name.decode() if name is not None else len(parts)
        if kind is None:
            kind = type(key)
        elif kind is not type(key):
            raise e.ProgrammingError("positional and named placeholders cannot be mixed")
        parts.append((literal, key, fmt))
        literal = b""
    parts.append((literal + query[cur:], None, PyFormat.AUTO))
    return tuple(parts)


def _is_sequence(params: Any) -> bool:
    """Whether ``params`` go by position (psycopg's test, concrete types first)."""
    kind = type(params)
    if kind is list or kind is tuple:
        return True
    if kind is dict:
        return False
    if isinstance(params, Sequence) and not isinstance(params, bytes | str):
        return True
    if isinstance(params, Mapping):
        return False
    raise TypeError(f"query parameters should be a sequence or a mapping, got {kind.__qualname__}")


def _check_params(parts: tuple[Part, ...], params: Any) -> tuple[list[Any], list[PyFormat], list[int | str]]:
    """The parameters in placeholder order (named ones once each), with their formats;
    psycopg's checks, in psycopg's order."""
    keys = [p[1] for p in parts[:-1]]
    if _is_sequence(params):
        if len(params) != len(keys):
            raise e.ProgrammingError(
                f"the query has {len(keys)} placeholders but {len(params)} parameters were passed"
            )
        if params and not isinstance(keys[0], int):
            raise TypeError("named placeholders require a mapping of parameters")
        return list(params), [p[2] for p in parts[:-1]], list(range(len(keys)))
    if params and keys and not isinstance(keys[0], str):
        raise TypeError("positional placeholders (%s) require a sequence of parameters")
    order: list[int | str] = []
    formats: list[PyFormat] = []
    for _, key, fmt in parts[:-1]:
        if key not in order:  # a name used twice is one parameter
            order.append(key)
            formats.append(fmt)
    try:
        values = [params[k] for k in order]
    except KeyError:
        missing = ", ".join(sorted(str(k) for k in order if k not in params))
        raise e.ProgrammingError(f"query parameter missing: {missing}") from None
    return values, formats, order


@lru_cache(maxsize=512)
def _dollar_query(parts: tuple[Part, ...]) -> bytes:
    """The ``$n`` form for server-side binding: a name used twice is one ``$n`` (and must
    keep its format: the parameter is dumped once)."""
    out: list[bytes] = []
    numbers: dict[int | str, tuple[int, PyFormat]] = {}
    for literal, key, fmt in parts:
        out.append(literal)
        if key is None:
            continue
        seen = numbers.get(key)
        if seen is None:
            seen = numbers[key] = (len(numbers) + 1, fmt)
        elif seen[1] != fmt:
            raise e.ProgrammingError(f"placeholder '{key}' cannot have different formats")
        out.append(b"$%d" % seen[0])
    return b"".join(out)


@lru_cache(maxsize=512)
def positional_plan(parts: tuple[Part, ...]) -> tuple[int, tuple[int, ...]] | None:
    """For a query with only positional placeholders: their count and format indices."""
    keys = [p[1] for p in parts[:-1]]
    if keys and not isinstance(keys[0], int):
        return None
    return len(keys), tuple(FORMAT_INDEX[p[2]] for p in parts[:-1])


@lru_cache(maxsize=512)
def query_plan(query: bytes) -> tuple[tuple[Part, ...], bytes, tuple[int, tuple[int, ...]] | None]:
    """Everything derived from a query's text, computed once per text: its parts, the
    ``$n`` form, and the positional plan."""
    parts = split_query(query)
    dollar = _dollar_query(parts) if len(parts) > 1 else parts[0][0]
    return parts, dollar, positional_plan(parts)


def encode(
    parts: tuple[Part, ...],
    params: Any,
    tx: Transformer,
    plan: tuple[int, tuple[int, ...]] | None = None,
) -> Any:
    """The parameters of one execute, checked and encoded (a native ``Params``)."""
    if plan is None:
        plan = positional_plan(parts)
    if plan is not None and type(params) in (tuple, list) and len(params) == plan[0]:
        return tx.encode_params(params, plan[1])
    values, formats, _ = _check_params(parts, params)
    return tx.encode_params(values, [FORMAT_INDEX[f] for f in formats])


class PostgresQuery:
    """A query for server-side binding: ``$n`` placeholders and dumped parameters."""

    __slots__ = ("formats", "params", "query", "types")

    def __init__(self) -> None:
        self.query: bytes = b""
        self.params: Any = None
        self.types: list[int] = []
        self.formats: list[int] = []

    def convert(self, query: Any, params: Any, tx: Transformer) -> None:
        raw = query_bytes(query, tx)
        if params is None:
            self.query = raw
            self.params = None
            self.types = []
            self.formats = []
            return
        parts, self.query, plan = query_plan(raw)
        self._set(encode(parts, params, tx, plan))

    def dump(self, params: Any, tx: Transformer, parts: tuple[Part, ...]) -> None:
        self._set(encode(parts, params, tx))

    def _set(self, encoded: Any) -> None:
        # params: a native ``Params`` (the driver binds it as it is), types and formats
        # as lists, what the prepared-statement cache keys on.
        self.params = encoded
        self.types = encoded.types
        self.formats = encoded.formats


class RawQuery(PostgresQuery):
    """A query sent as written, with PostgreSQL's own ``$n`` placeholders (psycopg's raw
    queries, ``RawCursor``): no conversion, parameters a sequence."""

    __slots__ = ()

    def convert(self, query: Any, params: Any, tx: Transformer) -> None:
        self.query = query_bytes(query, tx)
        if params is None:
            self.params = None
            self.types = []
            self.formats = []
            return
        values = raw_params(params)
        self._set(tx.encode_params(values, [FORMAT_INDEX[PyFormat.AUTO]] * len(values)))


def raw_params(params: Any) -> list[Any]:
    """A raw query's parameters as a list (a mapping has no place to go)."""
    if isinstance(params, Sequence) and not isinstance(params, str | bytes):
        return list(params)
    if isinstance(params, Mapping):
        raise TypeError("raw queries require a sequence of parameters")
    raise TypeError(f"query parameters should be a sequence or a mapping, got {type(params).__name__}")


class ClientQuery:
    """A query for client-side binding: parameters merged in as SQL literals."""

    __slots__ = ("params", "query", "types")

    def __init__(self) -> None:
        self.query: bytes = b""
        self.params: Any = None
        self.types: list[int] = []

    def convert(self, query: Any, params: Any, tx: Transformer) -> None:
        raw = query_bytes(query, tx)
        self.params = params
        if params is None:
            self.query = raw
            return
        parts = split_query(raw)
        values, _, order = _check_params(parts, params)
        literals = {key: tx.as_literal(value) for key, value in zip(order, values, strict=True)}
        out: list[bytes] = []
        for literal, key, _fmt in parts:
            out.append(literal)
            if key is not None:
                out.append(literals[key])
        self.query = b"".join(out)
