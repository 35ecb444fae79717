"""Handshake request and response objects, as in ``websockets.http11``."""

from __future__ import annotations

import dataclasses
import os
import sys

from .datastructures import Headers

__all__ = ["USER_AGENT", "Request", "Response"]

PYTHON_VERSION = "{}.{}".format(*sys.version_info)

# websockets' default User-Agent, so servers see the same client string.
USER_AGENT = os.environ.get("WEBSOCKETS_USER_AGENT", f"Python/{PYTHON_VERSION} websockets/17.4")


@dataclasses.dataclass
class Request:
    """WebSocket handshake request."""

    path: str
    headers: Headers
    _exception: Exception | None = None

    def serialize(self) -> bytes:
        return f"GET {self.path} HTTP/1.1\r\n".encode() + self.headers.serialize()


@dataclasses.dataclass
class Response:
    """WebSocket handshake response."""

    status_code: int
    reason_phrase: str
    headers: Headers
    body: bytes = b""
    _exception: Exception | None = None
