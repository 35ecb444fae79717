"""What psycopg's number dumpers take in a text COPY column whose type ``set_types`` pinned.

psycopg dumps such a column with the type's own dumper, which refuses some values at
``write_row`` (a float for an integer column, a str for a float column) and converts others
(anything ``int()`` takes, for an oid column). balrog writes most values with their own
type's text form, which the server would only refuse when the COPY ends, or take where
psycopg refuses (``"2"`` in an int4 column). These checks, run before that, make
``write_row`` accept, convert and refuse what psycopg's C dumpers do, with their exceptions.
Only for columns whose dumper is still the built-in one: a dumper registered for the type
decides by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import errors as e

__all__ = ["Check", "column_check"]

_INTEGER_OIDS = frozenset((21, 23, 20))  # int2, int4, int8
_FLOAT_OIDS = frozenset((700, 701))  # float4, float8
_NUMERIC_OID = 1700
_OID_OID = 26


def _integer(value: Any) -> Any:
    if hasattr(type(value), "__index__"):  # int subclasses, numpy integers
        return value
    raise e.DataError(f"integer expected, got {type(value).__name__!r}")


def _real(value: Any) -> Any:
    kind = type(value)
    if hasattr(kind, "__float__") or hasattr(kind, "__index__"):  # PyFloat_AsDouble's rule
        return value
    raise TypeError(f"must be real number, not {kind.__name__}")


def _numeric(value: Any) -> Any:
    if isinstance(value, Decimal) or hasattr(type(value), "__index__"):
        return value
    raise TypeError(f"class NumericDumper cannot dump {type(value).__name__}")


def _oid(value: Any) -> int:
    return int(value)  # raises what int() raises, as psycopg's OidDumper


# Per column type: the type whose values pass as they are (besides int, which every number
# column takes), so that a COPY of well-typed rows pays one type comparison per value; and
# the check for the others.
Check = tuple[type, Callable[[Any], Any]]
_CHECKS: dict[int, Check] = {
    **dict.fromkeys(_INTEGER_OIDS, (int, _integer)),
    **dict.fromkeys(_FLOAT_OIDS, (float, _real)),
    _NUMERIC_OID: (Decimal, _numeric),
    _OID_OID: (int, _oid),
}


def column_check(oid: int, dumper_module: str | None) -> Check | None:
    """The check for a column of type ``oid`` whose text dumper lives in ``dumper_module``
    (None: no dumper), or None when the column needs none."""
    check = _CHECKS.get(oid)
    if check is None or dumper_module is None or not dumper_module.startswith(f"{__package__}.types"):
        return None
    return check
