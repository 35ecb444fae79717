"""SQL literals for Python values without the adaptation machinery (``sql.Literal``'s fallback).

Renders what psycopg's ``Transformer.as_literal`` renders with the default adapters:
``'2024-01-02'::date``, `` -1``, ``'{1,2}'::int2[]``, `` E'a\\\\b'`` ... It is used when the
driver's adaptation layer is not importable, and by tests as a reference.

``connected`` says whether a connection is known (psycopg then escapes bytea in hex, and
assumes ``standard_conforming_strings`` on, as every supported server has it).
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import errors as e

__all__ = ["literal", "quote_string"]

# What a value dumps to: its text form (None for SQL NULL) and its PostgreSQL type name
# ("" when the type is left for the server to infer, like psycopg's unknown OID).
Dumped = tuple[bytes | None, str]


def literal(obj: Any, connected: bool = False, encoding: str = "utf-8") -> bytes:
    """The SQL literal of ``obj``: quoted, escaped and cast as psycopg writes it."""
    if obj is None:
        return b"NULL"
    handler = _handler_for(obj)
    special = _UNQUOTED.get(handler)
    if special is not None:
        return special(obj)
    if handler is _dump_bytes:
        return _bytea_literal(_bytes_of(obj), connected)
    value, type_name = handler(obj, connected, encoding)
    if value is None:
        return b"NULL"
    quoted = quote_string(value)
    if type_name and type_name != "text":
        quoted += b"::" + type_name.encode()
    return quoted


def quote_string(value: bytes) -> bytes:
    """``'...'`` with quotes doubled; `` E'...'`` with backslashes doubled if it has any."""
    escaped = value.replace(b"'", b"''")
    if b"\\" in escaped:
        return b" E'" + escaped.replace(b"\\", b"\\\\") + b"'"
    return b"'" + escaped + b"'"


# -- numbers, booleans: written without quotes ------------------------------------------------


def _int_literal(obj: Any) -> bytes:
    text = str(int(obj)).encode()
    # A space before a minus sign: "x-%s" must never become a "--" comment.
    return b" " + text if text.startswith(b"-") else text


_FLOAT_SPECIAL = {b"inf": b"'Infinity'::float8", b"-inf": b"'-Infinity'::float8", b"nan": b"'NaN'::float8"}
_NUMERIC_SPECIAL = {
    b"Infinity": b"'Infinity'::numeric",
    b"-Infinity": b"'-Infinity'::numeric",
    b"NaN": b"'NaN'::numeric",
}


def _float_text(obj: Any) -> bytes:
    # float's own repr: a subclass (types.numeric.Float4) may have a repr of its own
    return float.__repr__(float(obj)).encode()


def _float_literal(obj: Any) -> bytes:
    text = _float_text(obj)
    if text in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[text]
    return b" " + text if text.startswith(b"-") else text


def _decimal_literal(obj: Decimal) -> bytes:
    text = _decimal_text(obj)
    if text in _NUMERIC_SPECIAL:
        return _NUMERIC_SPECIAL[text]
    return b" " + text if text.startswith(b"-") else text


def _bool_literal(obj: Any) -> bytes:
    return b"true" if obj else b"false"


# -- dumps: text form and type of each supported value ---------------------------------------


def _dump_str(obj: str, connected: bool, encoding: str) -> Dumped:
    if not isinstance(obj, str):
        # A list's items share one dumper (in [Color.RED, ""] the str one): psycopg's str
        # dumper given another type fails so.
        raise TypeError("bad argument type for built-in operation")
    if "\x00" in obj:
        raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return obj.encode(encoding if encoding != "ascii" else "utf-8"), ""


def _dump_bool(obj: Any, connected: bool, encoding: str) -> Dumped:
    return (b"t" if obj else b"f"), "bool"


# psycopg's wrappers for a precise PostgreSQL type (types.numeric.Int4 ...), by class name.
_NUMERIC_WRAPPERS = {
    "Int2": "int2",
    "Int4": "int4",
    "Int8": "int8",
    "IntNumeric": "numeric",
    "Oid": "oid",
    "Float4": "float4",
    "Float8": "float8",
}


def _int_type(value: int) -> str:
    """The smallest integer type holding ``value``, as psycopg picks it."""
    if -(2**15) <= value < 2**15:
        return "int2"
    if -(2**31) <= value < 2**31:
        return "int4"
    if -(2**63) <= value < 2**63:
        return "int8"
    return "numeric"


def _wrapper_type(obj: Any) -> str | None:
    for klass in type(obj).__mro__:
        if klass.__name__ in _NUMERIC_WRAPPERS and klass.__module__.endswith("types.numeric"):
            return _NUMERIC_WRAPPERS[klass.__name__]
    return None


def _dump_int(obj: Any, connected: bool, encoding: str) -> Dumped:
    if not isinstance(obj, int):
        # Another element of a list whose representative is an int (a Decimal beside an
        # IntNumeric, both numeric): psycopg's int dumpers refuse it.
        raise e.DataError(f"integer expected, got {type(obj).__name__!r}")
    value = int(obj)
    return str(value).encode(), _wrapper_type(obj) or _int_type(value)


def _dump_float(obj: Any, connected: bool, encoding: str) -> Dumped:
    return _float_text(obj), _wrapper_type(obj) or "float8"


def _decimal_text(obj: Decimal) -> bytes:
    # An int in a numeric[] whose representative is a Decimal is dumped the same way.
    return b"NaN" if isinstance(obj, Decimal) and obj.is_nan() else str(obj).encode()


def _dump_decimal(obj: Decimal, connected: bool, encoding: str) -> Dumped:
    return _decimal_text(obj), "numeric"


def _bytes_of(obj: Any) -> bytes:
    from .dbapi20 import Binary

    if isinstance(obj, Binary):
        obj = obj.obj
    return bytes(obj)


def _bytea_text(data: bytes, connected: bool) -> bytes:
    """bytea as the server writes it: hex with a connection (what PQescapeByteaConn gives),
    else the escape format (printable ASCII as is, backslash doubled, octal escapes)."""
    if connected:
        return b"\\x" + data.hex().encode()
    out = bytearray()
    for byte in data:
        if byte < 0x20 or byte > 0x7E:
            out += b"\\%03o" % byte
        elif byte == 0x5C:
            out += b"\\\\"
        else:
            out.append(byte)
    return bytes(out)


def _bytea_literal(data: bytes, connected: bool) -> bytes:
    text = _bytea_text(data, connected)
    if connected:
        return b"'" + text + b"'::bytea"
    # Without a connection psycopg writes what libpq's PQescapeBytea gives, in E'' (which
    # reads the same whatever standard_conforming_strings is): backslashes and quotes doubled.
    return b" E'" + text.replace(b"\\", b"\\\\").replace(b"'", b"''") + b"'::bytea"


def _dump_bytes(obj: Any, connected: bool, encoding: str) -> Dumped:
    # Inside an array or record: the server's own text form (psycopg's libpq escaping,
    # without a connection, may double backslashes and quotes there: see docs/pg-modules.md).
    return _bytea_text(_bytes_of(obj), connected), "bytea"


def _dump_date(obj: dt.date, connected: bool, encoding: str) -> Dumped:
    return str(obj).encode(), "date"


def _dump_datetime(obj: dt.datetime, connected: bool, encoding: str) -> Dumped:
    return str(obj).encode(), ("timestamptz" if obj.tzinfo else "timestamp")


def _dump_time(obj: dt.time, connected: bool, encoding: str) -> Dumped:
    if not obj.tzinfo:
        return str(obj).encode(), "time"
    return _dump_timetz(obj, connected, encoding)


def _dump_timetz(obj: dt.time, connected: bool, encoding: str) -> Dumped:
    """psycopg's TimeTzDumper, which also dumps the naive times of a timetz[] (and fails)."""
    if obj.utcoffset() is None:
        raise e.DataError(f"cannot calculate the offset of tzinfo '{obj.tzinfo}' without a date")
    return str(obj).encode(), "timetz"


def _dump_timedelta(obj: dt.timedelta, connected: bool, encoding: str) -> Dumped:
    # "1 day, 0:00:03" -> "1 day 0:00:03": PostgreSQL reads it, without the comma.
    return str(obj).encode().replace(b",", b""), "interval"


def _dump_uuid(obj: uuid.UUID, connected: bool, encoding: str) -> Dumped:
    return obj.hex.encode(), "uuid"


def _dump_inet(obj: Any, connected: bool, encoding: str) -> Dumped:
    return str(obj).encode(), "inet"


def _dump_cidr(obj: Any, connected: bool, encoding: str) -> Dumped:
    return str(obj).encode(), "cidr"


def _dump_enum(obj: enum.Enum, connected: bool, encoding: str) -> Dumped:
    return obj.name.encode(encoding), ""


def _dump_json(obj: Any, connected: bool, encoding: str) -> Dumped:
    from .types.json import Jsonb, current_json_dumps

    text = (obj.dumps or current_json_dumps())(obj.obj)
    data = text.encode() if isinstance(text, str) else bytes(text)
    return data, ("jsonb" if isinstance(obj, Jsonb) else "json")


# -- arrays -----------------------------------------------------------------------------------

_ARRAY_NEEDS_QUOTES = re.compile(
    rb"""(?xi)
      ^$                                 # the empty string
    | ["{},\\\s]                         # a character with a meaning, or blank
    | ^null$                             # the word NULL
    | \xe1\x9a\x80                       # Unicode spaces some servers strip:
    | \xe2\x80[\x80-\x8a\xa8\xa9\xaf]    # U+1680, U+2000-U+200A, U+2028, U+2029,
    | \xe2\x81\x9f                       # U+202F, U+205F, U+3000
    | \xe3\x80\x80
    """
)
_ARRAY_ESCAPE = re.compile(rb'(["\\])')


def _flatten(items: list[Any], seen: set[int]) -> list[Any]:
    if id(items) in seen:
        raise e.DataError("cannot dump a recursive list")
    seen.add(id(items))
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_flatten(item, seen))
        elif item is not None:
            flat.append(item)
    return flat


def _representative(items: list[Any], connected: bool, encoding: str) -> Any:
    """The element whose dumper dumps the whole list, chosen as psycopg does (or None)."""
    values = _flatten(items, set())
    if not values:
        return None
    types = {type(v): v for v in values}
    if len(types) == 1:
        kind, chosen = type(values[-1]), values[-1]
    else:
        # Mixed Python types are fine if they dump to one PostgreSQL type (IPv4 and IPv6).
        type_names = {_handler_for(v)(v, connected, encoding)[1] for v in types.values()}
        if len(type_names) != 1:
            names = ", ".join(sorted(t.__name__ for t in types))
            raise e.DataError(f"cannot dump lists of mixed types; got: {names}")
        kind, chosen = types.popitem()
    if kind is not int:
        return chosen
    # Plain ints: the type must hold the largest magnitude.
    top, bottom = max(values), min(values)
    return top if bottom >= 0 else max(top, -bottom - 1)


def _dump_list(obj: list[Any], connected: bool, encoding: str) -> Dumped:
    chosen = _representative(obj, connected, encoding)
    dump: Callable[[Any, bool, str], Dumped] | None = None
    type_name = ""
    if chosen is not None:
        dump = _handler_for(chosen)
        element_type = dump(chosen, connected, encoding)[1]
        if element_type == "timetz":
            dump = _dump_timetz  # the chosen element's dumper serves every element
        if element_type:
            type_name = element_type + "[]"
    return b"".join(_array_tokens(obj, dump, connected, encoding)), type_name


def _array_tokens(
    items: list[Any], dump: Callable[[Any, bool, str], Dumped] | None, connected: bool, encoding: str
) -> list[bytes]:
    if not items:
        return [b"{}"]
    tokens = [b"{"]
    for item in items:
        if item is None:
            tokens.append(b"NULL")
        elif isinstance(item, list):
            tokens.extend(_array_tokens(item, dump, connected, encoding))
        else:
            assert dump is not None
            value = dump(item, connected, encoding)[0]
            if value is None:
                tokens.append(b"NULL")
            else:
                if _ARRAY_NEEDS_QUOTES.search(value):
                    value = b'"' + _ARRAY_ESCAPE.sub(rb"\\\1", value) + b'"'
                tokens.append(value)
        tokens.append(b",")
    tokens[-1] = b"}"
    return tokens


# -- composites (tuples) and ranges -----------------------------------------------------------

_RECORD_NEEDS_QUOTES = re.compile(rb'[",\\\s()]')
_RANGE_NEEDS_QUOTES = re.compile(rb'[",\\\s()\[\]]')
_DOUBLE_ESCAPE = re.compile(rb'(["\\])')


def _element_text(obj: Any, connected: bool, encoding: str, needs_quotes: re.Pattern[bytes]) -> bytes:
    value = _handler_for(obj)(obj, connected, encoding)[0]
    if value is None:
        return b""
    if not value:
        return b'""'
    if needs_quotes.search(value):
        return b'"' + _DOUBLE_ESCAPE.sub(rb"\1\1", value) + b'"'
    return value


def _dump_tuple(obj: tuple[Any, ...], connected: bool, encoding: str) -> Dumped:
    if not obj:
        return b"()", ""
    parts = [b"("]
    for item in obj:
        if item is not None:
            parts.append(_element_text(item, connected, encoding, _RECORD_NEEDS_QUOTES))
        parts.append(b",")
    parts[-1] = b")"
    return b"".join(parts), ""


# Range types by the PostgreSQL type of their bounds (plain ints and floats have no
# unambiguous range type: the server infers it).
_RANGE_TYPES = {
    "int4": "int4range",
    "int8": "int8range",
    "numeric": "numrange",
    "date": "daterange",
    "timestamp": "tsrange",
    "timestamptz": "tstzrange",
}


def _range_text(obj: Any, connected: bool, encoding: str) -> bytes:
    if obj.isempty:
        return b"empty"
    parts = [obj._bounds[0].encode()]
    if obj.lower is not None:
        parts.append(_element_text(obj.lower, connected, encoding, _RANGE_NEEDS_QUOTES))
    parts.append(b",")
    if obj.upper is not None:
        parts.append(_element_text(obj.upper, connected, encoding, _RANGE_NEEDS_QUOTES))
    parts.append(obj._bounds[1].encode())
    return b"".join(parts)


# Range subclasses that name their type (types.range.Int4Range ...).
_FIXED_RANGE_TYPES = {
    "Int4Range": "int4range",
    "Int8Range": "int8range",
    "NumericRange": "numrange",
    "DateRange": "daterange",
    "TimestampRange": "tsrange",
    "TimestamptzRange": "tstzrange",
}


def _range_type(obj: Any, connected: bool, encoding: str) -> str:
    for klass in type(obj).__mro__:
        if klass.__name__ in _FIXED_RANGE_TYPES and klass.__module__.endswith("types.range"):
            return _FIXED_RANGE_TYPES[klass.__name__]
    bound = obj.lower if obj.lower is not None else obj.upper
    if bound is None or (type(bound) is int):
        return ""
    return _RANGE_TYPES.get(_handler_for(bound)(bound, connected, encoding)[1], "")


def _dump_range(obj: Any, connected: bool, encoding: str) -> Dumped:
    return _range_text(obj, connected, encoding), _range_type(obj, connected, encoding)


def _dump_multirange(obj: Any, connected: bool, encoding: str) -> Dumped:
    if not obj:
        return b"{}", ""
    texts = b",".join(_range_text(r, connected, encoding) for r in obj)
    type_name = ""
    for item in obj:
        if not item.isempty and (range_type := _range_type(item, connected, encoding)):
            type_name = range_type.replace("range", "multirange")
            break
    return b"{" + texts + b"}", type_name


# -- dispatch ---------------------------------------------------------------------------------


def _handlers() -> dict[type, Callable[[Any, bool, str], Dumped]]:
    from .dbapi20 import Binary
    from .types.json import Json, Jsonb
    from .types.multirange import Multirange
    from .types.range import Range

    return {
        str: _dump_str,
        bool: _dump_bool,
        int: _dump_int,
        float: _dump_float,
        Decimal: _dump_decimal,
        bytes: _dump_bytes,
        bytearray: _dump_bytes,
        memoryview: _dump_bytes,
        Binary: _dump_bytes,
        dt.datetime: _dump_datetime,
        dt.date: _dump_date,
        dt.time: _dump_time,
        dt.timedelta: _dump_timedelta,
        uuid.UUID: _dump_uuid,
        ipaddress.IPv4Address: _dump_inet,
        ipaddress.IPv6Address: _dump_inet,
        ipaddress.IPv4Interface: _dump_inet,
        ipaddress.IPv6Interface: _dump_inet,
        ipaddress.IPv4Network: _dump_cidr,
        ipaddress.IPv6Network: _dump_cidr,
        enum.Enum: _dump_enum,
        Json: _dump_json,
        Jsonb: _dump_json,
        Range: _dump_range,
        Multirange: _dump_multirange,
        list: _dump_list,
        tuple: _dump_tuple,
    }


_HANDLERS: dict[type, Callable[[Any, bool, str], Dumped]] = {}

# Types written without quotes: psycopg's dumpers for them override quote().
_UNQUOTED: dict[Callable[..., Dumped], Callable[[Any], bytes]] = {
    _dump_bool: _bool_literal,
    _dump_int: _int_literal,
    _dump_float: _float_literal,
    _dump_decimal: _decimal_literal,
}


def _handler_for(obj: Any) -> Callable[[Any, bool, str], Dumped]:
    if not _HANDLERS:
        _HANDLERS.update(_handlers())
    # The first class of the MRO with a handler wins, as psycopg's dumper lookup: a str
    # Enum dumps as str, an IntEnum as int, another Enum by name.
    for klass in type(obj).__mro__:
        handler = _HANDLERS.get(klass)
        if handler is not None:
            return handler
    raise e.ProgrammingError(
        f"cannot adapt type {type(obj).__name__!r} using placeholder '%t' (format: TEXT)"
    )
