"""``connect()``: websockets' sync client on balrog (``from balrog.websockets.sync.client
import connect``)."""

from __future__ import annotations

import base64
import logging
import os
import socket
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

__all__ = ["ClientConnection", "connect", "reconnect", "unix_connect", "unix_reconnect"]

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


def _tls_settings(
    context: ssl_module.SSLContext | None, server_name: str
) -> tuple[str, bool, list[bytes], bool]:
    """What rustls needs from an ``ssl.SSLContext``: verification on/off, its CAs, and
    whether the host name is checked (``check_hostname``)."""
    if context is None:
        return (server_name, True, [], True)
    verify = context.verify_mode != ssl_module.CERT_NONE
    cas = context.get_ca_certs(binary_form=True) if verify else []
    return (server_name, verify, list(cas), bool(context.check_hostname))  # type: ignore[arg-type]


def _proxy_for(wsuri: WebSocketURI, proxy: str | bool | None) -> str | None:
    """The proxy to use: ``proxy`` itself, or with ``proxy=True`` the system's (environment)
    configuration, looked up in websockets' order (RFC 6455 _Proxy Usage_)."""
    if proxy is None or proxy is False:
        return None
    if proxy is not True:
        return proxy
    if urllib.request.proxy_bypass(f"{wsuri.host}:{wsuri.port}"):
        return None
    proxies = urllib.request.getproxies()
    schemes = ["wss", "socks", "https"] if wsuri.secure else ["ws", "socks", "https", "http"]
    for scheme in schemes:
        found = proxies.get(scheme)
        if found is not None:
            if scheme == "socks" and found.startswith("http://"):
                found = "socks5h://" + found[7:]
            return found
    return None


ProxyParams = tuple[str, str, int, str | None, str | None, bytes, tuple[str, bool, list[bytes]] | None]


def _proxy_params(
    proxy: str,
    wsuri: WebSocketURI,
    user_agent: str | None,
    proxy_ssl: ssl_module.SSLContext | None,
    proxy_server_hostname: str | None,
) -> ProxyParams:
    """Validate ``proxy`` as websockets does and return what ``_ws.open`` needs:
    ``(scheme, host, port, username, password, connect_request, proxy_tls)``. SOCKS
    handshakes are made in Rust; ``http(s)://`` proxies get the CONNECT request websockets
    sends, byte for byte (over TLS to the proxy for ``https://``)."""
    parsed = urllib.parse.urlparse(proxy)
    if parsed.scheme not in ("socks5h", "socks5", "socks4a", "socks4", "https", "http"):
        raise InvalidProxy(proxy, f"scheme {parsed.scheme} isn't supported")
    if parsed.hostname is None:
        raise InvalidProxy(proxy, "hostname isn't provided")
    if parsed.path not in ("", "/"):
        raise InvalidProxy(proxy, "path is meaningless")
    if parsed.query != "":
        raise InvalidProxy(proxy, "query is meaningless")
    if parsed.fragment != "":
        raise InvalidProxy(proxy, "fragment is meaningless")
    username, password = parsed.username, parsed.password
    if username is not None and password is None:
        raise InvalidProxy(proxy, "username provided without password")
    scheme = parsed.scheme
    host = parsed.hostname
    port = parsed.port or (443 if scheme == "https" else 80)
    try:
        proxy.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode()
    user = pwd = None
    if username is not None and password is not None:
        user = urllib.parse.unquote(username, errors="strict")
        pwd = urllib.parse.unquote(password, errors="strict")
    if scheme.startswith("socks"):
        # websockets leaves proxy_ssl to its TLS-in-TLS wrapper, which adds nothing
        # over a SOCKS tunnel's plain TCP: ignored here.
        return (scheme, host, port, user, pwd, b"", None)
    if scheme == "http" and proxy_ssl is not None:
        raise ValueError("proxy_ssl argument is incompatible with an http:// proxy")
    proxy_tls = _tls_settings(proxy_ssl, proxy_server_hostname or host) if scheme == "https" else None
    target = build_host(wsuri.host, wsuri.port, wsuri.secure)
    if ":" not in target.rsplit("]", 1)[-1]:
        target = f"{target}:{wsuri.port}"
    headers = Headers()
    headers["Host"] = build_host(wsuri.host, wsuri.port, wsuri.secure)
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    if user is not None and pwd is not None:
        token = f"{user}:{pwd}"
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    request = f"CONNECT {target} HTTP/1.1\r\n".encode() + headers.serialize()
    return (scheme, host, port, user, pwd, request, proxy_tls)


def _adopt(sock: socket.socket) -> tuple[int, bool, Any, Any]:
    """Take over a connected socket: ``(fd, is_unix, local, remote)``. The connection owns
    the descriptor from now on (websockets closes the socket with the connection too)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6, getattr(socket, "AF_UNIX", -1)):
        raise ValueError(f"unsupported socket family: {sock.family!r}")
    if sock.type != socket.SOCK_STREAM:
        raise ValueError("sock must be a SOCK_STREAM socket")
    if isinstance(sock, ssl_module.SSLSocket):
        raise NotImplementedError("balrog.websockets cannot adopt an ssl.SSLSocket; pass the plain socket")
    local, remote = sock.getsockname(), sock.getpeername()
    unix = sock.family == getattr(socket, "AF_UNIX", -1)
    return sock.detach(), unix, local, remote


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
    custom ``extensions``, client certificates in ``ssl`` (and in ``proxy_ssl``).
    """
    if extensions is not None:
        raise NotImplementedError("balrog.websockets supports permessage-deflate only (compression=)")
    if compression not in (None, "deflate"):
        raise ValueError(f"unsupported compression: {compression}")
    # websockets' legacy= switch: True (or absent) connects now; False returns what
    # reconnect() returns (a context manager, and an iterator of connections).
    if kwargs.pop("legacy", None) is False:
        from .reconnect import reconnect as _reconnect

        options = {k: v for k, v in locals().items() if k not in ("uri", "kwargs", "_reconnect")}
        return _reconnect(uri, **options, **kwargs)  # type: ignore[return-value]
    if ssl is None:
        ssl = kwargs.pop("ssl_context", None)
    unix_path = kwargs.pop("path", None) if kwargs.pop("unix", False) else None
    wsuri = parse_uri(uri)
    address = kwargs.pop("address", None)
    if sock is None and unix_path is None and (kwargs or address is not None):
        # websockets hands the rest to socket.create_connection (address, source_address,
        # timeout): so does this, and the socket is then used as a given one (so a redirect
        # is refused, as with sock=); an unknown keyword raises create_connection's
        # TypeError, as it does there.
        target = (wsuri.host, wsuri.port) if address is None else address
        sock = _tcp_socket(target, kwargs, open_timeout)
    if not wsuri.secure and ssl is not None:
        raise ValueError("ssl argument is incompatible with a ws:// URI")
    if unix_path is not None or sock is not None:
        proxy = None  # like websockets: a given socket or a Unix path is never proxied
    max_message, max_frame = _limits(max_size, "max_size")
    queue_high, queue_low = _limits(max_queue, "max_queue")
    deadline = None if open_timeout is None else time.monotonic() + open_timeout

    for _ in range(MAX_REDIRECTS):
        if unix_path is not None:
            sock = _unix_socket(unix_path, deadline)
        try:
            return _open(
                uri,
                wsuri,
                sock=sock,
                deadline=deadline,
                ssl=ssl,
                server_hostname=server_hostname,
                origin=origin,
                subprotocols=subprotocols,
                compression=compression,
                additional_headers=additional_headers,
                user_agent_header=user_agent_header,
                proxy=proxy,
                proxy_ssl=proxy_ssl,
                proxy_server_hostname=proxy_server_hostname,
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
            new_uri, new_wsuri = target
            if sock is not None and unix_path is None:
                # The socket was used up by the refused attempt (websockets: same error).
                raise ValueError(f"cannot follow redirect to {new_uri} with a preexisting socket") from exc
            if unix_path is not None and (new_wsuri.secure, new_wsuri.host, new_wsuri.port) != (
                wsuri.secure,
                wsuri.host,
                wsuri.port,
            ):
                message = f"cannot follow cross-origin redirect to {new_uri} with a Unix socket"
                raise ValueError(message) from exc
            if (new_wsuri.secure, new_wsuri.host, new_wsuri.port) != (wsuri.secure, wsuri.host, wsuri.port):
                # As websockets: credentials do not follow a redirect to another origin.
                additional_headers = _without_credentials(additional_headers)
            uri, wsuri = new_uri, new_wsuri
    raise SecurityError(f"more than {MAX_REDIRECTS} redirects")


_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


def _without_credentials(headers: HeadersLike | None) -> HeadersLike | None:
    if headers is None:
        return None
    items = headers.raw_items() if isinstance(headers, Headers) else Headers(headers).raw_items()
    return Headers((key, value) for key, value in items if key.lower() not in _CREDENTIAL_HEADERS)


def _tcp_socket(address: Any, options: dict[str, Any], open_timeout: float | None) -> socket.socket:
    """What websockets opens with ``socket.create_connection(address, **options)`` when
    given its keyword arguments (``source_address``, ``timeout``, ``address``)."""
    options = dict(options)
    options.setdefault("timeout", open_timeout)
    sock = socket.create_connection(address, **options)
    sock.settimeout(None)
    return sock


def _unix_socket(path: Any, deadline: float | None) -> socket.socket:
    # A Unix connect is local and immediate (or fails at once): no need for the runtime.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        sock.connect(os.fspath(path))
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock


def unix_connect(path: Any = None, uri: str | None = None, **kwargs: Any) -> ClientConnection:
    """Connect to a WebSocket server listening on a Unix socket (websockets'
    ``unix_connect``): same keyword arguments as :func:`connect`; ``uri`` defaults to
    ``ws://localhost/`` (``wss://localhost/`` when ``ssl`` is given)."""
    sock = kwargs.get("sock")
    if path is None and sock is None:
        raise ValueError("missing path argument")
    if path is not None and sock is not None:
        raise ValueError("path is incompatible with sock")
    if uri is None:
        secure = kwargs.get("ssl") is not None or kwargs.get("ssl_context") is not None
        uri = "wss://localhost/" if secure else "ws://localhost/"
    if path is None:
        return connect(uri, **kwargs)
    return connect(uri, unix=True, path=path, **kwargs)


def _open(
    uri: str,
    wsuri: WebSocketURI,
    *,
    sock: socket.socket | None,
    deadline: float | None,
    ssl: ssl_module.SSLContext | None,
    server_hostname: str | None,
    origin: str | None,
    subprotocols: Sequence[str] | None,
    compression: str | None,
    additional_headers: HeadersLike | None,
    user_agent_header: str | None,
    proxy: str | bool | None,
    proxy_ssl: ssl_module.SSLContext | None,
    proxy_server_hostname: str | None,
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
    adopted = None
    proxy_params = None
    if sock is not None:
        if wsuri.secure and sock.family == getattr(socket, "AF_UNIX", -1):
            sock.close()
            raise NotImplementedError("balrog.websockets does not run TLS over Unix sockets yet")
        adopted = _adopt(sock)
    else:
        proxy_uri = _proxy_for(wsuri, proxy)
        proxy_params = (
            _proxy_params(proxy_uri, wsuri, user_agent_header, proxy_ssl, proxy_server_hostname)
            if proxy_uri
            else None
        )
    remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    handshake = wait(
        _ws.open(
            wsuri.host,
            wsuri.port,
            request.serialize(),
            remaining,
            tls,
            proxy_params,
            adopted[:2] if adopted is not None else None,
        )
    )
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
    connection = cls(
        native,
        request=request,
        response=response,
        subprotocol=subprotocol,
        logger=logger,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
    )
    if adopted is not None:
        # The native side only knows IP addresses; report the socket's own view.
        connection._addresses = adopted[2:]
    return connection


# At the end: reconnect builds on connect (defined above).
from .reconnect import reconnect, unix_reconnect  # noqa: E402
