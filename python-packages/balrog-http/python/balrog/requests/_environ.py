"""Reading the environment on the request path, cheaply.

requests consults a dozen environment variables on every request (proxies, CA bundles,
netrc). ``os.environ[...]`` encodes the name and decodes the value each time; CPython
keeps the real store as a byte-keyed dict (``os.environ._data``), so reading it directly
costs one dict lookup and returns raw bytes — good enough as cache keys, which is all the
callers use them for; and every change of that dict moves its version tag (PEP 509), which
tells when nothing needs reading at all. Other interpreters fall back to ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from balrog._http import EnvironSnapshot

_ENVIRON_DATA: dict[bytes, bytes] | None = getattr(os.environ, "_data", None)

# Every variable that decides whether (and which) proxy a request goes through.
PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUEST_METHOD",
)
# The variables that give `verify` a CA bundle path.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_raw_keys: dict[str, bytes] = {}


def raw(name: str) -> Any:
    """One variable's raw value (bytes on CPython, str elsewhere), or None."""
    if _ENVIRON_DATA is None:
        return os.environ.get(name)
    key = _raw_keys.get(name)
    if key is None:
        key = _raw_keys[name] = os.fsencode(name)
    return _ENVIRON_DATA.get(key)


def snapshot_of(names: tuple[str, ...]) -> Callable[[], tuple[Any, ...]]:
    """A function returning the raw values of ``names``.

    On CPython it is native: the values are read again only when the store changed since
    the previous call (its dict version tag moved), and otherwise the previous tuple itself
    is returned, so that callers may compare snapshots by identity before comparing them.
    """
    if type(_ENVIRON_DATA) is not dict:
        return lambda: tuple(map(os.environ.get, names))
    return EnvironSnapshot(_ENVIRON_DATA, tuple(map(os.fsencode, names)))
