"""``connect()``: websockets' sync client on balrog (``from balrog.websockets.sync.client
import connect``)."""

from __future__ import annotations

import logging
import ssl as ssl_module
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from balrog import _ws
from balrog._bridge import wait

from ..datastructures import Headers, HeadersLike
from ..exceptions import InvalidProxy, InvalidStatus, SecurityError
from ..handshake import build_host, build_request, check_response
from ..http11 import USER_AGENT, Response
from ..uri import WebSocketURI, parse_uri
from .connection import Connection

__all__ = ["ClientConnection", "connect"]

MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ClientConnection(Connection):
    """A client WebSocket connection (websockets' ``sync.client.ClientConnection``)."""


def _limits(value: int | tuple[int | None, int | None] | None, name: str) -> tuple[int | None, int | None]:
    if isinstance(value, tuple):
        first, second = value
        return first, second
    if value is None or isinstance(value, int):
        return value, None
    raise TypeError(f"{name} must be an int, None or a tuple")


def _tls_settings(context: ssl_module.SSLContext | None, server_name: str) -> tuple[str, bool, list[bytes]]:
    """What rustls needs from an ``ssl.SSLContext``: verification on/off and its CAs."""
    if context is None:
        return (server_name, True, [])
    verify = context.verify_mode != ssl_module.CERT_NONE
    cas = context.get_ca_certs(binary_form=True) if verify else []
    return (server_name, verify, list(cas))  # type: ignore[arg-type]


def _proxy_for(wsuri: WebSocketURI, proxy: str | bool | None) -> str | None:
    if proxy is None or proxy is False:
        return None
    if proxy is True:
        if urllib.request.proxy_bypass(f"{wsuri.host}:{wsuri.port}"):
            return None
        proxies = urllib.request.getproxies()
        found = proxies.get("https" if wsuri.secure else "http") or proxies.get("socks")
        return found or None
    return proxy


def _proxy_params(proxy: str, wsuri: WebSocketURI, user_agent: str | None) -> tuple[str, int, bytes]:
    parsed = urllib.parse.urlparse(proxy)
    if parsed.scheme != "http":
        if parsed.scheme in ("https", "socks5h", "socks5", "socks4a", "socks4"):
            raise InvalidProxy(proxy, f"{parsed.scheme} proxies aren't supported by balrog.websockets yet")
        raise InvalidProxy(proxy, f"scheme {parsed.scheme} isn't supported")
    if parsed.hostname is None:
        raise InvalidProxy(proxy, "hostname isn't provided")
    host = build_host(wsuri.host, wsuri.port, wsuri.secure)
    if ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:{wsuri.port}"
    headers = Headers()
    headers["Host"] = host
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    if parsed.username is not None:
        import base64

        token = f"{urllib.parse.unquote(parsed.username)}:{urllib.parse.unquote(parsed.password or '')}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    request = f"CONNECT {host} HTTP/1.1\r\n".encode() + headers.serialize()
    return (parsed.hostname, parsed.port or 80, request)


def _redirect_target(exc: InvalidStatus, uri: str, wsuri: WebSocketURI) -> tuple[str, WebSocketURI] | None:
    response = exc.response
    if response.status_code not in _REDIRECT_STATUSES or "Location" not in response.headers:
        return None
    new_uri = urllib.parse.urljoin(uri, response.headers["Location"])
    new_wsuri = parse_uri(new_uri)
    if wsuri.secure and not new_wsuri.secure:
        raise SecurityError("cannot follow redirect to non-secure URI")
    return new_uri, new_wsuri


def connect(
    uri: str,
    *,
    sock: Any = None,
    ssl: ssl_module.SSLContext | None = None,
    server_hostname: str | None = None,
    origin: str | None = None,
    extensions: Sequence[Any] | None = None,
    subprotocols: Sequence[str] | None = None,
    compression: str | None = "deflate",
    additional_headers: HeadersLike | None = None,
    user_agent_header: str | None = USER_AGENT,
    proxy: str | bool | None = True,
    proxy_ssl: ssl_module.SSLContext | None = None,
    proxy_server_hostname: str | None = None,
    open_timeout: float | None = 10,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    close_timeout: float | None = 10,
    max_size: int | tuple[int | None, int | None] | None = 2**20,
    max_queue: int | tuple[int | None, int | None] | None = 16,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    create_connection: type[ClientConnection] | None = None,
    **kwargs: Any,
) -> ClientConnection:
    """Connect to the WebSocket server at ``uri`` and return the connection.

    Same options and defaults as ``websockets.sync.client.connect``. Not supported:
    ``sock``, custom ``extensions``, HTTPS/SOCKS proxies, client certificates in ``ssl``.
    """
    if sock is not None:
        raise NotImplementedError("balrog.websockets does not adopt existing sockets (sock=)")
    if extensions is not None:
        raise NotImplementedError("balrog.websockets supports permessage-deflate only (compression=)")
    if compression not in (None, "deflate"):
        raise ValueError(f"unsupported compression: {compression}")
    if proxy_ssl is not None or proxy_server_hostname is not None:
        raise NotImplementedError("HTTPS proxies aren't supported by balrog.websockets yet")
    # websockets' legacy= switch (connect without a context manager) changes nothing here.
    kwargs.pop("legacy", None)
    kwargs.pop("ssl_context", None)
    wsuri = parse_uri(uri)
    if not wsuri.secure and ssl is not None:
        raise ValueError("ssl argument is incompatible with a ws:// URI")
    max_message, max_frame = _limits(max_size, "max_size")
    queue_high, queue_low = _limits(max_queue, "max_queue")
    deadline = None if open_timeout is None else time.monotonic() + open_timeout

    for _ in range(MAX_REDIRECTS):
        try:
            return _open(
                uri,
                wsuri,
                deadline=deadline,
                ssl=ssl,
                server_hostname=server_hostname,
                origin=origin,
                subprotocols=subprotocols,
                compression=compression,
                additional_headers=additional_headers,
                user_agent_header=user_agent_header,
                proxy=proxy,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                close_timeout=close_timeout,
                limits=(max_message, max_frame, queue_high, queue_low),
                logger=logger,
                cls=create_connection or ClientConnection,
            )
        except InvalidStatus as exc:
            target = _redirect_target(exc, uri, wsuri)
            if target is None:
                raise
            uri, wsuri = target
    raise SecurityError(f"more than {MAX_REDIRECTS} redirects")


def _open(
    uri: str,
    wsuri: WebSocketURI,
    *,
    deadline: float | None,
    ssl: ssl_module.SSLContext | None,
    server_hostname: str | None,
    origin: str | None,
    subprotocols: Sequence[str] | None,
    compression: str | None,
    additional_headers: HeadersLike | None,
    user_agent_header: str | None,
    proxy: str | bool | None,
    ping_interval: float | None,
    ping_timeout: float | None,
    close_timeout: float | None,
    limits: tuple[int | None, int | None, int | None, int | None],
    logger: logging.Logger | logging.LoggerAdapter[Any] | None,
    cls: type[ClientConnection],
) -> ClientConnection:
    request, key = build_request(
        wsuri,
        origin=origin,
        subprotocols=subprotocols,
        compression=compression,
        additional_headers=additional_headers,
        user_agent_header=user_agent_header,
    )
    tls = _tls_settings(ssl, server_hostname or wsuri.host) if wsuri.secure else None
    proxy_uri = _proxy_for(wsuri, proxy)
    proxy_params = _proxy_params(proxy_uri, wsuri, user_agent_header) if proxy_uri else None
    remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    handshake = wait(_ws.open(wsuri.host, wsuri.port, request.serialize(), remaining, tls, proxy_params))
    status, reason, raw_headers, body = handshake.response()
    response = Response(status, reason, Headers._from_raw(raw_headers), body)
    try:
        subprotocol, deflate = check_response(response, key, subprotocols, compression)
    except BaseException:
        handshake.abort()
        raise
    max_message, max_frame, queue_high, queue_low = limits
    native = handshake.start(
        max_message,
        max_frame,
        queue_high,
        queue_low,
        ping_interval,
        ping_timeout,
        close_timeout,
        deflate.native() if deflate is not None else None,
    )
    return cls(
        native,
        request=request,
        response=response,
        subprotocol=subprotocol,
        logger=logger,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
    )
