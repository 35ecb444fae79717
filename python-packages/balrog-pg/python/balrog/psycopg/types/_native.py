"""Shared plumbing for builtin loaders: decode with the driver's native decoders (text and
binary format)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ... import _pg
from ..adapt import Buffer, Loader
from ..pq import Format

UTC = dt.UTC


def session_timezone(connection: Any) -> tuple[dt.tzinfo, bool]:
    """The connection's TimeZone as a tzinfo, and whether it is UTC (the fast path)."""
    if connection is None:
        return UTC, True
    try:
        return connection._timezone()  # type: ignore[no-any-return]
    except Exception:
        return UTC, True


class NativeLoader(Loader):
    """A loader whose type the driver decodes natively; ``load()`` is the same decoder.

    Subclasses set ``_balrog_dec`` (a builtin type oid naming the decoder) in their body.
    """

    _balrog_dec: Any = 0

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tz, self._utc = session_timezone(self.connection)
        self._spec = type(self)._balrog_spec()

    @classmethod
    def _balrog_spec(cls) -> Any:
        # The decoder of the nearest native ancestor (for subclasses too).
        for klass in cls.__mro__:
            if "_balrog_dec" in klass.__dict__:
                return klass.__dict__["_balrog_dec"]
        return 0

    def load(self, data: Buffer) -> Any:
        if type(data) is not bytes:
            data = bytes(data)
        return _pg.decode_value(self._spec, data, self._tz, self._utc, binary=self.format == Format.BINARY)


class NativeBinaryLoader(NativeLoader):
    """A binary-format loader the driver decodes natively (``_balrog_dec``: the builtin type
    oid naming the decoder, as for the text loaders); ``load()`` is the same decoder."""

    format = Format.BINARY
