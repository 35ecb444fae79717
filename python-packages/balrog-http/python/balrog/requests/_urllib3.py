"""urllib3's exception classes, where requests' users meet them, without importing urllib3 early.

requests re-exports urllib3's classes (``requests.adapters.MaxRetryError``, which
`responses` catches around urllib3's ``Retry.increment()``), and its failures carry urllib3
exceptions (``ConnectionError.args[0]`` is a ``MaxRetryError`` whose ``reason`` may be a
``ReadTimeoutError``). balrog does not import urllib3 at start-up (it is not a dependency,
and the import costs ~20 ms): the classes are looked up when first needed — at a failure,
or when code reads them from ``balrog.requests.adapters`` — and are urllib3's own when it is
installed, so ``except urllib3.exceptions.MaxRetryError`` and ``except
requests.adapters.MaxRetryError`` catch the same errors; else look-alikes of the same names.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

__all__ = ["NAMES", "classes", "make"]

# The classes balrog.requests.adapters re-exports, as requests' adapters module does.
NAMES = ("LocationParseError", "MaxRetryError", "ProtocolError", "ReadTimeoutError", "ResponseError")


class _MaxRetryError(Exception):
    """urllib3's ``MaxRetryError`` where urllib3 is not installed."""

    def __init__(self, pool: Any, url: str | None, reason: Any = None) -> None:
        super().__init__(f"{pool}: Max retries exceeded with url: {url} (Caused by {reason!r})")
        self.pool = pool
        self.url = url
        self.reason = reason


class _LocationParseError(ValueError):
    """urllib3's ``LocationParseError`` where urllib3 is not installed."""


class _ProtocolError(Exception):
    """urllib3's ``ProtocolError`` where urllib3 is not installed."""


class _ReadTimeoutError(TimeoutError):
    """urllib3's ``ReadTimeoutError`` where urllib3 is not installed."""


class _ResponseError(Exception):
    """urllib3's ``ResponseError`` where urllib3 is not installed."""

    GENERIC_ERROR = "too many error responses"
    SPECIFIC_ERROR = "too many {status_code} error responses"


@functools.cache
def classes() -> SimpleNamespace:
    """The classes of NAMES: urllib3's when it can be imported, else the look-alikes."""
    try:
        from urllib3 import exceptions
    except ImportError:
        return SimpleNamespace(
            LocationParseError=_LocationParseError,
            MaxRetryError=_MaxRetryError,
            ProtocolError=_ProtocolError,
            ReadTimeoutError=_ReadTimeoutError,
            ResponseError=_ResponseError,
        )
    return SimpleNamespace(**{name: getattr(exceptions, name) for name in NAMES})


def make(name: str, message: str, **attributes: Any) -> BaseException:
    """An instance of the class ``name`` whose message is ``message`` as balrog phrases it
    (urllib3's constructors format their own from a pool object, which balrog has not),
    with ``attributes`` (``pool``, ``url``, ``reason``) set."""
    cls = getattr(classes(), name)
    error: BaseException = cls.__new__(cls)
    Exception.__init__(error, message)  # type: ignore[arg-type]
    for key, value in attributes.items():
        setattr(error, key, value)
    return error
