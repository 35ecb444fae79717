"""HTTP headers as websockets represents them: an ordered, case-insensitive multidict."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Protocol

from .exceptions import InvalidHeaderValue

__all__ = ["Headers", "HeadersLike", "MultipleValuesError"]

# What websockets accepts in a header value (its http11._value_re, on str).
_is_valid_header_value = re.compile(r"[\x09\x20-\x7e\x80-\xff]*").fullmatch


class MultipleValuesError(LookupError):
    """Raised by ``Headers[name]`` when the header has more than one value."""

    def __str__(self) -> str:
        if len(self.args) == 1:
            return repr(self.args[0])
        return super().__str__()


class Headers(MutableMapping[str, str]):
    """Ordered multidict of HTTP headers with case-insensitive names.

    ``headers[name]`` returns the single value (MultipleValuesError if there are several),
    ``headers[name] = value`` adds a value, ``get_all(name)`` returns every value.
    """

    __slots__ = ["_dict", "_list"]

    def __init__(self, *args: HeadersLike, **kwargs: str) -> None:
        self._dict: dict[str, list[str]] = {}
        self._list: list[tuple[str, str]] = []
        self.update(*args, **kwargs)

    @classmethod
    def _from_raw(cls, raw: Iterable[tuple[str, bytes]]) -> Headers:
        headers = cls()
        for name, value in raw:
            # websockets decodes received values as ISO-8859-1 (http11.parse_headers); the
            # parser has checked them already.
            headers._append(name, value.decode("iso-8859-1"))
        return headers

    def __str__(self) -> str:
        return "".join(f"{key}: {value}\r\n" for key, value in self._list) + "\r\n"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._list!r})"

    def copy(self) -> Headers:
        copy = self.__class__()
        copy._dict = {key: list(values) for key, values in self._dict.items()}
        copy._list = list(self._list)
        return copy

    def serialize(self) -> bytes:
        # ISO-8859-1 both ways, as websockets (received values are decoded so too).
        return str(self).encode("iso-8859-1")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __getitem__(self, key: str) -> str:
        value = self._dict[key.lower()]
        if len(value) == 1:
            return value[0]
        raise MultipleValuesError(key)

    def __setitem__(self, key: str, value: str) -> None:
        # As websockets: a value with CR, LF or other control characters would let a
        # caller's header (additional_headers, origin) inject lines into the request.
        if not _is_valid_header_value(str(value)):
            raise InvalidHeaderValue(key, value)
        self._append(key, value)

    def _append(self, key: str, value: str) -> None:
        self._dict.setdefault(key.lower(), []).append(value)
        self._list.append((key, value))

    def __delitem__(self, key: str) -> None:
        lowered = key.lower()
        del self._dict[lowered]
        self._list = [(k, v) for k, v in self._list if k.lower() != lowered]

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._dict == other._dict

    def clear(self) -> None:
        self._dict = {}
        self._list = []

    def update(self, *args: HeadersLike, **kwargs: str) -> None:
        """Add values (never replaces, like websockets)."""
        merged = (*args, kwargs) if kwargs else args
        for arg in merged:
            items = arg.raw_items() if isinstance(arg, Headers) else arg
            if isinstance(items, Mapping) or hasattr(items, "keys"):
                items = [(key, items[key]) for key in items.keys()]  # type: ignore[union-attr]
            for key, value in items:  # type: ignore[union-attr]
                self[key] = value

    def get_all(self, key: str) -> list[str]:
        return list(self._dict.get(key.lower(), []))

    def raw_items(self) -> Iterator[tuple[str, str]]:
        return iter(self._list)


class SupportsKeysAndGetItem(Protocol):
    def keys(self) -> Iterable[str]: ...
    def __getitem__(self, key: str) -> str: ...


HeadersLike = Headers | Mapping[str, str] | Iterable[tuple[str, str]] | SupportsKeysAndGetItem
