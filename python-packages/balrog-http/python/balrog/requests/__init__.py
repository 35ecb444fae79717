"""balrog.requests: a drop-in for requests whose I/O runs on Rust's tokio (reqwest).

``import balrog.requests as requests``: the same functions, classes, defaults and
exceptions. In threads each call blocks with the GIL released; inside a balrog green task
it suspends only that task.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from logging import NullHandler
from typing import Any

from . import certs, compat, packages, utils
from .__version__ import (
    __author__,
    __balrog_version__,
    __build__,
    __description__,
    __license__,
    __title__,
    __url__,
    __version__,
)

# balrog's own additions, not requests names (so not in __all__): install_as_requests()
# makes ``import requests`` give this module, for libraries that import requests by name.
from ._alias import install_as_requests as install_as_requests
from ._alias import installed_as_requests as installed_as_requests
from .api import delete, get, head, options, patch, post, put, request
from .exceptions import (
    ConnectionError,
    ConnectTimeout,
    FileModeWarning,
    HTTPError,
    JSONDecodeError,
    ReadTimeout,
    RequestException,
    RequestsDependencyWarning,
    Timeout,
    TooManyRedirects,
    URLRequired,
)
from .models import PreparedRequest, Request, Response
from .sessions import Session, session
from .status_codes import codes

logging.getLogger(__name__).addHandler(NullHandler())
warnings.simplefilter("default", FileModeWarning, append=True)


def check_compatibility(
    urllib3_version: str, chardet_version: str | None, charset_normalizer_version: str | None
) -> None:
    """requests checks its dependencies' versions at import; balrog.requests depends on
    none of them, so every combination is fine."""


def __getattr__(name: str) -> Any:
    # What requests exposes from its dependencies, imported only when asked for (balrog
    # does not need them): urllib3 itself, its DependencyWarning, the detector versions.
    if name == "urllib3":
        return importlib.import_module("urllib3")
    if name == "DependencyWarning":
        return importlib.import_module("urllib3.exceptions").DependencyWarning
    if name in ("chardet_version", "charset_normalizer_version"):
        try:
            return importlib.import_module(name.removesuffix("_version")).__version__
        except ImportError:
            return None
    if name == "ssl":
        return importlib.import_module("ssl")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConnectTimeout",
    "ConnectionError",
    "FileModeWarning",
    "HTTPError",
    "JSONDecodeError",
    "NullHandler",
    "PreparedRequest",
    "ReadTimeout",
    "Request",
    "RequestException",
    "RequestsDependencyWarning",
    "Response",
    "Session",
    "Timeout",
    "TooManyRedirects",
    "URLRequired",
    "__author__",
    "__balrog_version__",
    "__build__",
    "__description__",
    "__license__",
    "__title__",
    "__url__",
    "__version__",
    "certs",
    "check_compatibility",
    "codes",
    "compat",
    "delete",
    "get",
    "head",
    "options",
    "packages",
    "patch",
    "post",
    "put",
    "request",
    "session",
    "utils",
]
