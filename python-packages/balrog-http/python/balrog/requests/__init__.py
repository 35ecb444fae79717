"""balrog.requests: a drop-in for requests whose I/O runs on Rust's tokio (reqwest).

``import balrog.requests as requests``: the same functions, classes, defaults and
exceptions. In threads each call blocks with the GIL released; inside a balrog green task
it suspends only that task.
"""

from __future__ import annotations

import logging
import warnings

from . import packages, utils
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
from .api import delete, get, head, options, patch, post, put, request
from .exceptions import (
    ConnectionError,
    ConnectTimeout,
    FileModeWarning,
    HTTPError,
    JSONDecodeError,
    ReadTimeout,
    RequestException,
    Timeout,
    TooManyRedirects,
    URLRequired,
)
from .models import PreparedRequest, Request, Response
from .sessions import Session, session
from .status_codes import codes

logging.getLogger(__name__).addHandler(logging.NullHandler())
warnings.simplefilter("default", FileModeWarning, append=True)

__all__ = [
    "ConnectTimeout",
    "ConnectionError",
    "FileModeWarning",
    "HTTPError",
    "JSONDecodeError",
    "PreparedRequest",
    "ReadTimeout",
    "Request",
    "RequestException",
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
    "codes",
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
