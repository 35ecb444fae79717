"""balrog.websockets: websockets' sync client API whose I/O runs on tokio.

``from balrog.websockets.sync.client import connect`` behaves like websockets 17's sync
client; in a green task each wait suspends only that task. ``balrog.websockets.asgi``
runs sync-style WebSocket endpoints as green tasks under any ASGI server.
"""

from __future__ import annotations

from .datastructures import Headers, MultipleValuesError
from .exceptions import (
    ConcurrencyError,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    DuplicateParameter,
    InvalidHandshake,
    InvalidHeader,
    InvalidHeaderFormat,
    InvalidHeaderValue,
    InvalidMessage,
    InvalidOrigin,
    InvalidParameterName,
    InvalidParameterValue,
    InvalidProxy,
    InvalidProxyMessage,
    InvalidProxyStatus,
    InvalidState,
    InvalidStatus,
    InvalidUpgrade,
    InvalidURI,
    NegotiationError,
    PayloadTooBig,
    ProtocolError,
    ProxyError,
    SecurityError,
    TooManyFragments,
    WebSocketException,
)
from .frames import Close, CloseCode, Opcode
from .http11 import Request, Response
from .protocol import State
from .sync.client import ClientConnection, connect

__version__ = "0.1.0"

__all__ = [
    "ClientConnection",
    "Close",
    "CloseCode",
    "ConcurrencyError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "DuplicateParameter",
    "Headers",
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
    "MultipleValuesError",
    "NegotiationError",
    "Opcode",
    "PayloadTooBig",
    "ProtocolError",
    "ProxyError",
    "Request",
    "Response",
    "SecurityError",
    "State",
    "TooManyFragments",
    "WebSocketException",
    "connect",
]
