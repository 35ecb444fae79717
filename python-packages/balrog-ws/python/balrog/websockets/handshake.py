"""The client side of the opening handshake: build the upgrade request, check the
response (status, Upgrade/Connection, Sec-WebSocket-Accept, subprotocol) and negotiate
permessage-deflate, raising websockets' exceptions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from .datastructures import Headers, HeadersLike, MultipleValuesError
from .exceptions import (
    DuplicateParameter,
    InvalidHandshake,
    InvalidHeader,
    InvalidHeaderFormat,
    InvalidHeaderValue,
    InvalidParameterName,
    InvalidParameterValue,
    InvalidStatus,
    InvalidUpgrade,
    NegotiationError,
)
from .http11 import Request, Response
from .uri import WebSocketURI

__all__ = ["Deflate", "build_request", "check_response"]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Extension parameters: name or name=value, separated by ';'; extensions by ','.
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def build_host(host: str, port: int, secure: bool) -> str:
    if ":" in host:
        host = f"[{host}]"
    if port != (443 if secure else 80):
        host = f"{host}:{port}"
    return host


def validate_subprotocols(subprotocols: Sequence[str]) -> None:
    """websockets' check of ``subprotocols=`` (a sequence of tokens, not a str)."""
    if not isinstance(subprotocols, Sequence):
        raise TypeError("subprotocols must be a list")
    if isinstance(subprotocols, str):
        raise TypeError("subprotocols must be a list, not a str")
    for subprotocol in subprotocols:
        if not _TOKEN.fullmatch(subprotocol):
            raise ValueError(f"invalid subprotocol: {subprotocol}")


def build_request(
    wsuri: WebSocketURI,
    *,
    origin: str | None,
    subprotocols: Sequence[str] | None,
    compression: str | None,
    additional_headers: HeadersLike | None,
    user_agent_header: str | None,
) -> tuple[Request, str]:
    """The upgrade request (same headers, same order as websockets) and its key."""
    headers = Headers()
    headers["Host"] = build_host(wsuri.host, wsuri.port, wsuri.secure)
    if wsuri.user_info:
        user, password = wsuri.user_info
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if origin is not None:
        headers["Origin"] = origin
    headers["Upgrade"] = "websocket"
    headers["Connection"] = "Upgrade"
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    headers["Sec-WebSocket-Key"] = key
    headers["Sec-WebSocket-Version"] = "13"
    if compression == "deflate":
        headers["Sec-WebSocket-Extensions"] = "permessage-deflate; client_max_window_bits"
    elif compression is not None:
        raise ValueError(f"unsupported compression: {compression}")
    if subprotocols is not None:
        validate_subprotocols(subprotocols)
    if subprotocols:
        headers["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    if additional_headers is not None:
        headers.update(additional_headers)
    if user_agent_header is not None and "User-Agent" not in headers:
        headers["User-Agent"] = user_agent_header
    return Request(wsuri.resource_name, headers), key


@dataclass
class Deflate:
    """Agreed permessage-deflate parameters, from the client's point of view."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None

    def native(self) -> tuple[bool, bool, int]:
        return (
            self.server_no_context_takeover,
            self.client_no_context_takeover,
            self.client_max_window_bits or 15,
        )


def _split_header(name: str, value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _header_values(headers: Headers, name: str) -> list[str]:
    return [item for value in headers.get_all(name) for item in _split_header(name, value)]


def parse_extension(name: str, value: str) -> tuple[str, list[tuple[str, str | None]]]:
    parts = [p.strip() for p in value.split(";")]
    ext = parts[0]
    if not _TOKEN.fullmatch(ext):
        raise InvalidHeaderFormat(name, "expected token", value, 0)
    params: list[tuple[str, str | None]] = []
    for part in parts[1:]:
        if not part:
            raise InvalidHeaderFormat(name, "expected token", value, len(value))
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not _TOKEN.fullmatch(key):
            raise InvalidHeaderFormat(name, "expected token", value, value.find(part))
        param: str | None = None
        if sep:
            raw = raw.strip()
            if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
                raw = raw[1:-1]
            param = raw
        params.append((key, param))
    return ext, params


def _window_bits(name: str, value: str | None) -> int:
    if value is None or not re.fullmatch(r"[0-9]+", value) or not 8 <= int(value) <= 15:
        raise InvalidParameterValue(name, value)
    return int(value)


def negotiate_deflate(params: list[tuple[str, str | None]]) -> Deflate:
    """Check the server's permessage-deflate answer to our offer."""
    agreed = Deflate()
    seen: set[str] = set()
    for key, value in params:
        if key in seen:
            raise DuplicateParameter(key)
        seen.add(key)
        if key == "server_no_context_takeover":
            if value is not None:
                raise InvalidParameterValue(key, value)
            agreed.server_no_context_takeover = True
        elif key == "client_no_context_takeover":
            if value is not None:
                raise InvalidParameterValue(key, value)
            agreed.client_no_context_takeover = True
        elif key == "server_max_window_bits":
            agreed.server_max_window_bits = _window_bits(key, value)
        elif key == "client_max_window_bits":
            agreed.client_max_window_bits = _window_bits(key, value)
        else:
            raise InvalidParameterName(key)
    return agreed


def check_response(
    response: Response,
    key: str,
    subprotocols: Sequence[str] | None,
    compression: str | None,
) -> tuple[str | None, Deflate | None]:
    """Validate a handshake response; return (subprotocol, deflate parameters)."""
    if response.status_code != 101:
        raise InvalidStatus(response)
    headers = response.headers
    connection = _header_values(headers, "Connection")
    if not any(value.lower() == "upgrade" for value in connection):
        raise InvalidUpgrade("Connection", ", ".join(connection) or None)
    upgrade = _header_values(headers, "Upgrade")
    if not (len(upgrade) == 1 and upgrade[0].lower() == "websocket"):
        raise InvalidUpgrade("Upgrade", ", ".join(upgrade) or None)
    try:
        accept = headers["Sec-WebSocket-Accept"]
    except KeyError:
        raise InvalidHeader("Sec-WebSocket-Accept") from None
    except MultipleValuesError:
        raise InvalidHeader("Sec-WebSocket-Accept", "multiple values") from None
    try:
        base64.b64decode(accept.encode(), validate=True)
    except binascii.Error as exc:
        raise InvalidHeaderValue("Sec-WebSocket-Accept", accept) from exc
    if accept != accept_key(key):
        raise InvalidHeaderValue("Sec-WebSocket-Accept", accept)

    deflate: Deflate | None = None
    for header in headers.get_all("Sec-WebSocket-Extensions"):
        for item in _split_header("Sec-WebSocket-Extensions", header):
            name, params = parse_extension("Sec-WebSocket-Extensions", item)
            if compression != "deflate" or name != "permessage-deflate" or deflate is not None:
                raise NegotiationError(f"Unsupported extension: name = {name}, params = {params}")
            deflate = negotiate_deflate(params)

    subprotocol: str | None = None
    offered = headers.get_all("Sec-WebSocket-Protocol")
    if offered:
        values = _header_values(headers, "Sec-WebSocket-Protocol")
        if not values:  # an empty header: websockets' parser wants a token there
            raise InvalidHeaderFormat("Sec-WebSocket-Protocol", "expected token", offered[0], 0)
        if not subprotocols:
            raise InvalidHandshake("no subprotocols supported")
        if len(values) > 1:
            raise InvalidHeader("Sec-WebSocket-Protocol", f"multiple values: {', '.join(values)}")
        subprotocol = values[0]
        if subprotocol not in subprotocols:
            raise NegotiationError(f"unsupported subprotocol: {subprotocol}")
    return subprotocol, deflate
