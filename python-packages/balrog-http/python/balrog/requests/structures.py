"""Data structures: the case-insensitive header dict and the status-code lookup dict."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

__all__ = ["CaseInsensitiveDict", "LookupDict"]


class CaseInsensitiveDict(MutableMapping[str, Any]):
    """A dict whose keys compare case-insensitively but remember the case last set.

    ``list(d)`` gives the keys as they were last set; ``d["ACCEPT"] is d["accept"]``.
    """

    __slots__ = ("_store",)

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, **kwargs: Any):
        self._store: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        if data is not None:
            if type(data) is CaseInsensitiveDict:
                self._store.update(data._store)
            elif type(data) is dict:
                store = self._store
                for key, value in data.items():
                    store[key.lower()] = (key, value)
            else:
                self.update(data)
        if kwargs:
            self.update(kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        self._store[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> Any:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (cased for cased, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._store

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._store[key.lower()][1]
        except KeyError:
            return default

    def items(self) -> ItemsView[str, Any]:
        return _FastItems(self)

    def lower_items(self) -> Iterator[tuple[str, Any]]:
        """Items with lower-cased keys."""
        return ((lower, pair[1]) for lower, pair in self._store.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = CaseInsensitiveDict(other)
        else:
            return NotImplemented
        return dict(self.lower_items()) == dict(other.lower_items())

    def copy(self) -> CaseInsensitiveDict:
        clone = CaseInsensitiveDict()
        clone._store = self._store.copy()
        return clone

    def __repr__(self) -> str:
        return str(dict(self.items()))


class LookupDict(dict):  # type: ignore[type-arg]
    """Dictionary lookup object: attributes double as keys, missing ones give None."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        super().__init__()

    def __repr__(self) -> str:
        return f"<lookup '{self.name}'>"

    def __getitem__(self, key: Any) -> Any:
        # Lookups fall through to attributes, and missing keys give None.
        return self.__dict__.get(key, None)

    def get(self, key: Any, default: Any = None) -> Any:
        return self.__dict__.get(key, default)


class _FastItems(ItemsView):  # type: ignore[type-arg]
    """items() iterating the store directly (headers are walked on every request)."""

    _mapping: CaseInsensitiveDict

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._mapping._store.values())
