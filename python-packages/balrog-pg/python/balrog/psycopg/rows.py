"""Row factories: how a cursor turns each row's values into the object the program gets.

A *row factory* is called with the cursor when a result arrives (it may read
``cursor.description``) and returns a *row maker*, called with each row's values.
"""

from __future__ import annotations

import functools
import re
import string
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn, Protocol, TypeAlias, TypeVar

from . import errors as e

__all__ = [
    "AsyncRowFactory",
    "BaseRowFactory",
    "DictRow",
    "RowFactory",
    "RowMaker",
    "TupleRow",
    "args_row",
    "class_row",
    "dict_row",
    "kwargs_row",
    "namedtuple_row",
    "no_result",
    "scalar_row",
    "tuple_row",
]

T = TypeVar("T", covariant=True)
Row = TypeVar("Row", covariant=True)

TupleRow: TypeAlias = tuple[Any, ...]
"""What ``tuple_row`` makes."""

DictRow: TypeAlias = dict[str, Any]
"""What ``dict_row`` makes: column name -> value."""


class RowMaker(Protocol[Row]):
    """Takes a row's values (already Python objects) and returns the row object."""

    def __call__(self, values: Sequence[Any], /) -> Row: ...


class RowFactory(Protocol[Row]):
    """Takes a cursor that just received a result and returns a :class:`RowMaker`."""

    def __call__(self, cursor: Any, /) -> RowMaker[Row]: ...


# psycopg distinguishes factories for sync and async cursors only for type checkers.
AsyncRowFactory = RowFactory
BaseRowFactory = RowFactory


class _Described(Protocol):
    """What a row factory reads off a cursor."""

    @property
    def description(self) -> Sequence[Any] | None: ...


def tuple_row(cursor: Any) -> RowMaker[TupleRow]:
    """Rows as plain tuples (the default)."""
    # The tuple type itself, not a wrapper: the cursor can recognise it and skip the call.
    return tuple


def dict_row(cursor: _Described) -> RowMaker[DictRow]:
    """Rows as dictionaries keyed by column name."""
    names = _column_names(cursor)
    if names is None:
        return no_result

    def make_dict(values: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(names, values, strict=False))

    return make_dict


def namedtuple_row(cursor: _Described) -> RowMaker[NamedTuple]:
    """Rows as namedtuples; column names are mangled into valid identifiers."""
    names = _column_names(cursor)
    if names is None:
        return no_result
    return _namedtuple_type(*names)._make


def class_row(cls: Callable[..., T]) -> RowFactory[T]:
    """A factory making each row ``cls(**{column: value})``."""

    def class_row_(cursor: _Described) -> RowMaker[T]:
        names = _column_names(cursor)
        if names is None:
            return no_result

        def make_instance(values: Sequence[Any]) -> T:
            return cls(**dict(zip(names, values, strict=False)))

        return make_instance

    return class_row_


def args_row(func: Callable[..., T]) -> RowFactory[T]:
    """A factory making each row ``func(*values)``."""

    def args_row_(cursor: Any) -> RowMaker[T]:
        def call_with_args(values: Sequence[Any]) -> T:
            return func(*values)

        return call_with_args

    return args_row_


def kwargs_row(func: Callable[..., T]) -> RowFactory[T]:
    """A factory making each row ``func(**{column: value})``."""

    def kwargs_row_(cursor: _Described) -> RowMaker[T]:
        names = _column_names(cursor)
        if names is None:
            return no_result

        def call_with_kwargs(values: Sequence[Any]) -> T:
            return func(**dict(zip(names, values, strict=False)))

        return call_with_kwargs

    return kwargs_row_


def scalar_row(cursor: _Described) -> RowMaker[Any]:
    """Each row is the value of its first column."""
    description = cursor.description
    if description is None:
        return no_result
    if len(description) < 1:
        raise e.ProgrammingError("at least one column expected")

    def first_value(values: Sequence[Any]) -> Any:
        return values[0]

    return first_value


def no_result(values: Sequence[Any]) -> NoReturn:
    """The row maker for a cursor without a result: never meant to be called."""
    raise e.InterfaceError("the cursor doesn't have a result")


def _column_names(cursor: _Described) -> list[str] | None:
    description = cursor.description
    if description is None:
        return None
    return [column.name for column in description]


@functools.lru_cache(512)
def _namedtuple_type(*names: str) -> type[NamedTuple]:
    fields = tuple(_as_python_identifier(name) for name in names)
    try:
        return namedtuple("Row", fields)  # type: ignore[return-value]
    except ValueError as ex:
        raise e.DataError(f"can't create a namedtuple row: {ex}") from None


_NOT_IDENTIFIER_CHAR = re.compile(f"[^{string.ascii_letters}{string.digits}_]")


def _as_python_identifier(name: str, prefix: str = "f") -> str:
    """A valid Python identifier not starting with "_" (namedtuple forbids it), like psycopg."""
    if not name.isidentifier():
        if name[0] in string.digits:
            name = prefix + name
        if not name.isidentifier():
            name = _NOT_IDENTIFIER_CHAR.sub("_", name)
    if name[0] == "_":
        name = prefix + name
    return name
