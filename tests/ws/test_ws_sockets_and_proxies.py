"""Differential tests for the ways to reach a server other than a plain TCP connect:
``sock=`` (an already-connected socket), ``unix_connect``, and HTTP CONNECT proxies
(``proxy=`` and the environment). Same servers, same scripts, outcomes compared."""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
import websockets.sync.client as ws_client

from balrog.websockets.sync.client import unix_connect as balrog_unix_connect
from support.proxies import ConnectProxy

from .servers import UnixWebsocketsServer, WebsocketsServer
from .test_ws_client import describe, same
from .test_ws_tls_and_modes import tls_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.both_modes

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "ws_proxy",
    "wss_proxy",
    "all_proxy",
    "socks_proxy",
    "no_proxy",
)


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy configured in the environment unless the test sets one."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    server = ConnectProxy()
    yield server
    server.close()


@pytest.fixture(scope="module")
def unix_server() -> Iterator[UnixWebsocketsServer]:
    with tempfile.TemporaryDirectory() as tmp:
        server = UnixWebsocketsServer(os.path.join(tmp, "ws.sock"))
        yield server
        server.close()


def echo_script(path: str = "/echo", **options: Any) -> Callable[[Callable[..., Any], str], Any]:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + path, **options) as ws:
            ws.send("hello")
            ws.send(b"\x00" * 300_000)
            return ws.recv(), len(ws.recv()), ws.close_code

    return script


# ---- sock= -----------------------------------------------------------------------------------


def test_sock_tcp(ws_server: WebsocketsServer) -> None:
    seen: list[Any] = []

    def script(connect: Callable[..., Any], url: str) -> Any:
        sock = socket.create_connection(("127.0.0.1", ws_server.port))
        local = sock.getsockname()
        with connect(url + "/echo", sock=sock) as ws:
            ws.send("via sock")
            seen.append((ws.local_address == local, ws.remote_address))
            return ws.recv()

    assert same(ws_server.url, script) == {"result": "via sock"}
    assert seen[0] == seen[1] == (True, ("127.0.0.1", ws_server.port))


def test_sock_overrides_uri_host_and_port(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        sock = socket.create_connection(("127.0.0.1", ws_server.port))
        # The URI names another port: only Host and the request path come from it.
        with connect("ws://127.0.0.1:9/headers", sock=sock) as ws:
            import json

            return json.loads(ws.recv())["headers"]["host"]

    assert same(ws_server.url, script) == {"result": "127.0.0.1:9"}


def test_sock_redirect_is_refused(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        sock = socket.create_connection(("127.0.0.1", ws_server.port))
        try:
            connect(url + "/redirect", sock=sock)
        except ValueError as exc:
            return str(exc)

    same(ws_server.url, script)


def test_sock_rejected_handshake(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        sock = socket.create_connection(("127.0.0.1", ws_server.port))
        try:
            connect(url + "/reject/403", sock=sock)
        finally:
            assert sock.fileno() == -1  # closed (websockets) or handed over (balrog)

    assert same(ws_server.url, script)["status"] == 403


def test_sock_with_tls(tls_server: tuple[str, trustme.CA]) -> None:  # noqa: F811
    url, ca = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)
    port = int(url.rsplit(":", 1)[1].strip("/"))

    def script(connect: Callable[..., Any], url: str) -> Any:
        sock = socket.create_connection(("127.0.0.1", port))
        with connect(url, sock=sock, ssl=context) as ws:
            ws.send("tls over a given socket")
            return ws.recv()

    assert same(url, script) == {"result": "tls over a given socket"}


# ---- unix_connect ----------------------------------------------------------------------------


def both_unix(script: Callable[[Callable[..., Any]], Any]) -> dict[str, Any]:
    results = []
    for unix_connect in (ws_client.unix_connect, balrog_unix_connect):
        try:
            results.append({"result": script(unix_connect)})
        except Exception as exc:
            results.append(describe(exc) | {"str": str(exc)})
    assert results[1] == results[0]
    return results[0]


def test_unix_connect_echo(unix_server: UnixWebsocketsServer) -> None:
    def script(unix_connect: Callable[..., Any]) -> Any:
        with unix_connect(unix_server.path, "ws://localhost/echo") as ws:
            ws.send("over unix")
            ws.send(b"\x01" * 200_000)
            return ws.recv(), len(ws.recv()), ws.remote_address, ws.local_address

    assert both_unix(script)["result"][:3] == ("over unix", 200_000, unix_server.path)


def test_unix_connect_default_uri(unix_server: UnixWebsocketsServer) -> None:
    def script(unix_connect: Callable[..., Any]) -> Any:
        with unix_connect(unix_server.path) as ws:
            return ws.request.headers["Host"], ws.request.path

    assert both_unix(script) == {"result": ("localhost", "/")}


def test_unix_connect_with_sock_and_errors(unix_server: UnixWebsocketsServer) -> None:
    def with_sock(unix_connect: Callable[..., Any]) -> Any:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(unix_server.path)
        with unix_connect(uri="ws://localhost/echo", sock=sock) as ws:
            ws.send("given unix socket")
            return ws.recv()

    assert both_unix(with_sock) == {"result": "given unix socket"}
    both_unix(lambda unix_connect: unix_connect())
    both_unix(lambda unix_connect: unix_connect(unix_server.path, sock=socket.socket(socket.AF_UNIX)))
    both_unix(lambda unix_connect: unix_connect(unix_server.path + ".missing"))
    both_unix(lambda unix_connect: unix_connect(unix_server.path, "ws://localhost/reject/404"))


def test_unix_connect_ignores_proxy(unix_server: UnixWebsocketsServer, clean_proxy_env: Any) -> None:
    clean_proxy_env.setenv("http_proxy", "http://127.0.0.1:9")

    def script(unix_connect: Callable[..., Any]) -> Any:
        with unix_connect(unix_server.path, "ws://localhost/echo") as ws:
            ws.send("no proxy")
            return ws.recv()

    assert both_unix(script) == {"result": "no proxy"}


# ---- HTTP CONNECT proxies --------------------------------------------------------------------


def test_proxy_ws(ws_server: WebsocketsServer, proxy: ConnectProxy, clean_proxy_env: Any) -> None:
    assert same(ws_server.url, echo_script(proxy=proxy.url)) == {"result": ("hello", 300_000, None)}
    # Both clients sent the same CONNECT request.
    assert len(proxy.requests) == 2
    assert proxy.requests[0] == proxy.requests[1]
    assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{ws_server.port} HTTP/1.1\r\n".encode())


def test_proxy_wss(tls_server: tuple[str, trustme.CA], proxy: ConnectProxy, clean_proxy_env: Any) -> None:  # noqa: F811
    url, ca = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url, ssl=context, proxy=proxy.url) as ws:
            ws.send("secure through a tunnel")
            return ws.recv()

    assert same(url, script) == {"result": "secure through a tunnel"}
    assert len(proxy.requests) == 2 and proxy.requests[0] == proxy.requests[1]
    assert proxy.requests[0].startswith(b"CONNECT localhost:")


def test_proxy_authorization_from_userinfo(ws_server: WebsocketsServer, clean_proxy_env: Any) -> None:
    guarded = ConnectProxy(credentials="user:p@ss word")
    try:
        good = guarded.url.replace("http://", "http://user:p%40ss%20word@")
        assert same(ws_server.url, echo_script(proxy=good))["result"][0] == "hello"
        assert guarded.requests[0] == guarded.requests[1]
        assert b"\r\nProxy-Authorization: Basic " in guarded.requests[0]
        # Wrong or missing credentials: the proxy's 407 surfaces as InvalidProxyStatus.
        bad = guarded.url.replace("http://", "http://user:wrong@")
        refused = {"type": "InvalidProxyStatus", "status": 407, "body": b""}
        assert same(ws_server.url, echo_script(proxy=bad)) == refused
        assert same(ws_server.url, echo_script(proxy=guarded.url))["type"] == "InvalidProxyStatus"
    finally:
        guarded.close()


def test_proxy_from_environment(
    ws_server: WebsocketsServer, proxy: ConnectProxy, clean_proxy_env: Any
) -> None:
    clean_proxy_env.setenv("http_proxy", proxy.url)
    assert same(ws_server.url, echo_script())["result"][0] == "hello"
    assert len(proxy.requests) == 2
    # proxy=None disables the environment's proxy.
    assert same(ws_server.url, echo_script(proxy=None))["result"][0] == "hello"
    assert len(proxy.requests) == 2
    # no_proxy is honoured.
    clean_proxy_env.setenv("no_proxy", "127.0.0.1")
    assert same(ws_server.url, echo_script())["result"][0] == "hello"
    assert len(proxy.requests) == 2


def test_proxy_environment_prefers_ws_proxy(
    ws_server: WebsocketsServer, proxy: ConnectProxy, clean_proxy_env: Any
) -> None:
    clean_proxy_env.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    clean_proxy_env.setenv("ws_proxy", proxy.url)
    assert same(ws_server.url, echo_script())["result"][0] == "hello"
    assert len(proxy.requests) == 2


def test_proxy_failures(ws_server: WebsocketsServer, clean_proxy_env: Any) -> None:
    # Nobody listening at the proxy's address.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    refused = same(ws_server.url, echo_script(proxy=f"http://127.0.0.1:{port}"))
    assert refused == {"type": "ConnectionRefusedError"}
    # A proxy answering garbage, or refusing the tunnel.
    for reply, expected in (
        (b"garbage\r\n\r\n", "InvalidProxyMessage"),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "InvalidProxyStatus"),
        # A status websockets' parser refuses (httparse takes any three digits).
        (b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", "InvalidProxyMessage"),
    ):
        odd = ConnectProxy(reply=reply)
        try:
            assert same(ws_server.url, echo_script(proxy=odd.url))["type"] == expected
            if expected == "InvalidProxyMessage":
                # The message and the parser's error as __cause__, in websockets' words.
                assert same(ws_server.url, proxy_error_words(odd.url))["result"]
        finally:
            odd.close()


def proxy_error_words(proxy_url: str) -> Callable[[Callable[..., Any], str], Any]:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/echo", proxy=proxy_url)
        except Exception as exc:
            cause = exc.__cause__
            return (str(exc), type(cause).__name__, str(cause))
        return None

    return script


def test_proxy_timeout_says_so(ws_server: WebsocketsServer, clean_proxy_env: Any) -> None:
    # A proxy that accepts and never answers the CONNECT: websockets' own message.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        def script(connect: Callable[..., Any], ws_url: str) -> Any:
            try:
                connect(ws_url + "/echo", proxy=url, open_timeout=0.3)
            except TimeoutError as exc:
                return str(exc)
            return None

        assert same(ws_server.url, script)["result"] == "timed out while connecting to HTTP proxy"


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://127.0.0.1:1",
        "http://",
        "http://127.0.0.1:1/path",
        "http://127.0.0.1:1?q=1",
        "http://user@127.0.0.1:1",
    ],
)
def test_invalid_proxy(ws_server: WebsocketsServer, bad: str, clean_proxy_env: Any) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/echo", proxy=bad)
        except Exception as exc:
            return type(exc).__name__, str(exc)

    same(ws_server.url, script)
