"""Column: one item of ``cursor.description`` (a PEP 249 7-item sequence, with names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._typeinfo import numeric_scale

__all__ = ["Column"]

_NUMERIC = 1700
_CHAR_TYPES = {1042, 1043}  # bpchar, varchar
_TIME_TYPES = {1083, 1114, 1184, 1266}
_INTERVAL = 1186
_BIT_TYPES = {1560, 1562}
_FIXED_SIZE = {
    16: 1,
    20: 8,
    21: 2,
    23: 4,
    26: 4,
    700: 4,
    701: 8,
    1082: 4,
    1083: 8,
    1114: 8,
    1184: 8,
    1186: 16,
    1266: 12,
    2950: 16,
}


class Column(Sequence[Any]):
    __module__ = "psycopg"

    def __init__(
        self, name: str, type_code: int, fmod: int, fsize: int, type_display: str, base_oid: int | None = None
    ):
        self._name = name
        self._type = type_code
        # The type whose modifiers fmod holds: the element type of an array.
        self._base = type_code if base_oid is None else base_oid
        self._fmod = fmod
        self._fsize = fsize
        self._type_display = type_display

    def __repr__(self) -> str:
        return f"<Column {self.name!r}, type: {self._type_display} (oid: {self.type_code})>"

    def __len__(self) -> int:
        return 7

    def _items(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.type_code,
            self.display_size,
            self.internal_size,
            self.precision,
            self.scale,
            self.null_ok,
        )

    def __getitem__(self, index: Any) -> Any:
        return self._items()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Column):
            return self._items() == other._items()
        if isinstance(other, tuple):
            return self._items() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items())

    @property
    def name(self) -> str:
        return self._name

    @property
    def type_code(self) -> int:
        return self._type

    @property
    def display_size(self) -> int | None:
        if self._fmod < 0:
            return None
        if self._base in _CHAR_TYPES:
            return self._fmod - 4
        if self._base in _BIT_TYPES:
            return self._fmod
        return None

    @property
    def internal_size(self) -> int | None:
        return self._fsize if self._fsize >= 0 else None

    @property
    def precision(self) -> int | None:
        if self._fmod < 0:
            return None
        if self._base == _NUMERIC:
            return (self._fmod - 4) >> 16
        if self._base in _TIME_TYPES:
            return self._fmod
        if self._base == _INTERVAL:
            value = self._fmod & 0xFFFF
            return None if value == 0xFFFF else value
        return None

    @property
    def scale(self) -> int | None:
        if self._base == _NUMERIC and self._fmod >= 0:
            return numeric_scale(self._fmod)
        return None

    @property
    def type_display(self) -> str:
        """The column's type as psycopg shows it, e.g. ``varchar(42)``, ``date[]``."""
        return self._type_display

    @property
    def null_ok(self) -> bool | None:
        return None
