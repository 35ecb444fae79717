"""What psycopg's dumpers take in a text COPY column whose type ``set_types`` pinned.

psycopg dumps such a column with the column type's own dumper, whatever the value: it
refuses some values at ``write_row`` (a float for an integer column, an int for a text one,
a str for a bytea one), converts others (anything truthy is ``true`` in a bool column,
anything ``int()`` takes goes into an oid column), and writes JSON for every value of a
json column. balrog writes most values with their own type's text form, which is the same
text for the pairs that match (an int into an int column) but not for the others: the
server would refuse them only when the COPY ends, or store something else. The checks here
run first, for the columns whose dumper is still the built-in one (a dumper the application
registered dumps every value of its column: copy.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import errors as e

__all__ = ["Check", "column_check", "dumps_every_value"]

_INTEGER_OIDS = frozenset((21, 23, 20))  # int2, int4, int8
_FLOAT_OIDS = frozenset((700, 701))  # float4, float8
_TEXT_OIDS = frozenset((25, 1043, 1042, 19))  # text, varchar, bpchar, name
_JSON_OIDS = frozenset((114, 3802))  # json, jsonb
_NUMERIC_OID = 1700
_OID_OID = 26
_BOOL_OID = 16
_BYTEA_OID = 17
_UUID_OID = 2950


def _integer(value: Any) -> Any:
    if hasattr(type(value), "__index__"):  # int subclasses, numpy integers
        return value
    raise e.DataError(f"integer expected, got {type(value).__name__!r}")


def _real(value: Any) -> float:
    kind = type(value)
    if hasattr(kind, "__float__") or hasattr(kind, "__index__"):  # PyFloat_AsDouble's rule
        return float(value)  # the double psycopg's dumper writes
    raise TypeError(f"must be real number, not {kind.__name__}")


def _numeric(value: Any) -> Any:
    if isinstance(value, Decimal) or hasattr(type(value), "__index__"):
        return value
    raise TypeError(f"class NumericDumper cannot dump {type(value).__name__}")


def _oid(value: Any) -> int:
    return int(value)  # raises what int() raises, as psycopg's OidDumper


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise TypeError("bad argument type for built-in operation")  # PyUnicode_AsUTF8AndSize's


def _bytea(value: Any) -> bytes:
    try:
        return bytes(memoryview(value))  # a numpy scalar's own bytes, as psycopg writes them
    except TypeError:
        raise TypeError(f"bytes or buffer expected, got {type(value)!r}") from None


def _uuid(value: Any) -> Any:
    value.int  # noqa: B018 -- psycopg's dumper reads it: AttributeError for a non-UUID
    return value


# Per column type: the types whose values pass as they are, so that a COPY of well-typed
# rows pays one set lookup per value; and the check for the others.
Check = tuple[frozenset[type], Callable[[Any], Any]]
_CHECKS: dict[int, Check] = {
    **dict.fromkeys(_INTEGER_OIDS, (frozenset((int,)), _integer)),
    **dict.fromkeys(_FLOAT_OIDS, (frozenset((float,)), _real)),
    _NUMERIC_OID: (frozenset((Decimal, int)), _numeric),
    _OID_OID: (frozenset((int,)), _oid),
    **dict.fromkeys(_TEXT_OIDS, (frozenset((str,)), _text)),
    _BOOL_OID: (frozenset((bool,)), bool),  # psycopg's BoolDumper writes the value's truth
    _BYTEA_OID: (frozenset((bytes,)), _bytea),
    _UUID_OID: (frozenset((uuid.UUID,)), _uuid),
}


def column_check(oid: int) -> Check | None:
    """The check for a column of type ``oid`` whose dumper is the builtin one, or None when
    the column needs none."""
    return _CHECKS.get(oid)


def dumps_every_value(oid: int) -> bool:
    """Whether the column's builtin dumper must dump every value (json: a str is JSON text
    to write as a JSON string, not the column's text as it is)."""
    return oid in _JSON_OIDS
