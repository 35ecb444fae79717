"""The exception classes of websockets, with the same hierarchy, attributes and messages.

Code written against ``websockets.exceptions`` keeps working after swapping the import.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .frames import Close
    from .http11 import Response

__all__ = [
    "ConcurrencyError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "DuplicateParameter",
    "InvalidHandshake",
    "InvalidHeader",
    "InvalidHeaderFormat",
    "InvalidHeaderValue",
    "InvalidMessage",
    "InvalidOrigin",
    "InvalidParameterName",
    "InvalidParameterValue",
    "InvalidProxy",
    "InvalidProxyMessage",
    "InvalidProxyStatus",
    "InvalidState",
    "InvalidStatus",
    "InvalidURI",
    "InvalidUpgrade",
    "NegotiationError",
    "PayloadTooBig",
    "ProtocolError",
    "ProxyError",
    "SecurityError",
    "TooManyFragments",
    "WebSocketException",
]
# websockets' legacy names, still importable from websockets.exceptions (for `except`).
__all__ += ["AbortHandshake", "InvalidStatusCode", "RedirectHandshake"]


class WebSocketException(Exception):
    """Base class for all exceptions defined here."""


class ConnectionClosed(WebSocketException):
    """Raised when trying to interact with a closed connection.

    ``rcvd`` / ``sent`` are the close frames received and sent (or None);
    ``rcvd_then_sent`` tells their order when both exist.
    """

    def __init__(self, rcvd: Close | None, sent: Close | None, rcvd_then_sent: bool | None = None) -> None:
        self.rcvd = rcvd
        self.sent = sent
        self.rcvd_then_sent = rcvd_then_sent

    def __str__(self) -> str:
        if self.rcvd is None:
            if self.sent is None:
                return "no close frame received or sent"
            return f"sent {self.sent}; no close frame received"
        if self.sent is None:
            return f"received {self.rcvd}; no close frame sent"
        if self.rcvd_then_sent:
            return f"received {self.rcvd}; then sent {self.sent}"
        return f"sent {self.sent}; then received {self.rcvd}"

    # Deprecated in websockets (13.1) and still there, with the same warning.

    @property
    def code(self) -> int:
        warnings.warn(
            "ConnectionClosed.code is deprecated; use Protocol.close_code or ConnectionClosed.rcvd.code",
            DeprecationWarning,
            stacklevel=2,
        )
        return 1006 if self.rcvd is None else int(self.rcvd.code)

    @property
    def reason(self) -> str:
        warnings.warn(
            "ConnectionClosed.reason is deprecated; "
            "use Protocol.close_reason or ConnectionClosed.rcvd.reason",
            DeprecationWarning,
            stacklevel=2,
        )
        return "" if self.rcvd is None else self.rcvd.reason


class ConnectionClosedOK(ConnectionClosed):
    """The connection terminated properly (1000, 1001 or no code, both ways)."""


class ConnectionClosedError(ConnectionClosed):
    """The connection terminated with an error, or the closing handshake did not complete."""


class InvalidURI(WebSocketException):
    """Raised when connecting to a URI that isn't a valid WebSocket URI."""

    def __init__(self, uri: str, msg: str) -> None:
        self.uri = uri
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.uri} isn't a valid URI: {self.msg}"


class InvalidProxy(WebSocketException):
    """Raised when connecting via a proxy that isn't valid."""

    def __init__(self, proxy: str, msg: str) -> None:
        self.proxy = proxy
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.proxy} isn't a valid proxy: {self.msg}"


class InvalidHandshake(WebSocketException):
    """Base class for failures of the opening handshake."""


class SecurityError(InvalidHandshake):
    """A handshake response breaks a security limit."""


class ProxyError(InvalidHandshake):
    """Failure to connect through a proxy."""


class InvalidProxyMessage(ProxyError):
    """An HTTP proxy response is malformed."""


class InvalidProxyStatus(ProxyError):
    """An HTTP proxy rejected the connection."""

    def __init__(self, response: Response) -> None:
        self.response = response

    def __str__(self) -> str:
        return f"proxy rejected connection: HTTP {self.response.status_code:d}"


class InvalidMessage(InvalidHandshake):
    """The handshake response is malformed."""


class InvalidStatus(InvalidHandshake):
    """The handshake response rejects the WebSocket upgrade."""

    def __init__(self, response: Response) -> None:
        self.response = response

    def __str__(self) -> str:
        return f"server rejected WebSocket connection: HTTP {self.response.status_code:d}"


class InvalidHeader(InvalidHandshake):
    """An HTTP header doesn't have a valid format or value."""

    def __init__(self, name: str, value: str | None = None) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        if self.value is None:
            return f"missing {self.name} header"
        if self.value == "":
            return f"empty {self.name} header"
        return f"invalid {self.name} header: {self.value}"


class InvalidHeaderFormat(InvalidHeader):
    """An HTTP header cannot be parsed."""

    def __init__(self, name: str, error: str, header: str, pos: int) -> None:
        super().__init__(name, f"{error} at {pos} in {header}")


class InvalidHeaderValue(InvalidHeader):
    """An HTTP header has a wrong value."""


class InvalidOrigin(InvalidHeader):
    """The Origin header isn't allowed."""

    def __init__(self, origin: str | None) -> None:
        super().__init__("Origin", origin)


class InvalidUpgrade(InvalidHeader):
    """The Upgrade or Connection header isn't correct."""


class NegotiationError(InvalidHandshake):
    """Negotiating an extension or a subprotocol failed."""


class DuplicateParameter(NegotiationError):
    """A parameter name is repeated in an extension header."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"duplicate parameter: {self.name}"


class InvalidParameterName(NegotiationError):
    """A parameter name in an extension header is invalid."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"invalid parameter name: {self.name}"


class InvalidParameterValue(NegotiationError):
    """A parameter value in an extension header is invalid."""

    def __init__(self, name: str, value: str | None) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        if self.value is None:
            return f"missing value for parameter {self.name}"
        if self.value == "":
            return f"empty value for parameter {self.name}"
        return f"invalid value for parameter {self.name}: {self.value}"


class ProtocolError(WebSocketException):
    """A frame breaks the protocol."""


class PayloadTooBig(WebSocketException):
    """A frame or message exceeds the maximum size."""

    def __init__(self, size: int | None, max_size: int, current_size: int | None = None) -> None:
        self.message: str | None = None
        self.size = size
        self.max_size = max_size
        self.current_size: int | None = None
        if current_size is not None:
            self.max_size += current_size
            self.current_size = current_size

    def __str__(self) -> str:
        if self.message is not None:
            return self.message
        text = "frame "
        if self.size is not None:
            text += f"with {self.size} bytes "
        if self.current_size is not None:
            text += f"after reading {self.current_size} bytes "
        return text + f"exceeds limit of {self.max_size} bytes"


class InvalidState(WebSocketException, AssertionError):
    """Sending a frame is forbidden in the current state."""


class ConcurrencyError(WebSocketException, RuntimeError):
    """Receiving or sending messages concurrently."""


class TooManyFragments(WebSocketException):
    """A message had more fragments than websockets reassembles (balrog has no such limit,
    so it never raises this; the class is here for code that names it)."""

    def __init__(self, max_fragments: int) -> None:
        super().__init__(f"fragmented message exceeds limit of {max_fragments} frames")


class InvalidStatusCode(InvalidHandshake):
    """websockets' legacy client's rejection (the sync client raises InvalidStatus)."""

    def __init__(self, status_code: int, headers: Any) -> None:
        self.status_code = status_code
        self.headers = headers

    def __str__(self) -> str:
        return f"server rejected WebSocket connection: HTTP {self.status_code}"


class AbortHandshake(InvalidHandshake):
    """websockets' legacy server's way to answer a handshake with an HTTP response."""

    def __init__(self, status: Any, headers: Any, body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def __str__(self) -> str:
        return f"HTTP {self.status:d}, {len(self.headers)} headers, {len(self.body)} bytes"


class RedirectHandshake(InvalidHandshake):
    """websockets' legacy client's redirect signal."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __str__(self) -> str:
        return f"redirect to {self.uri}"
