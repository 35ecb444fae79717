"""SOCKS4/4a/5/5h and https:// proxies: differential tests against websockets (which
uses python-socks for SOCKS), through the local proxies of :mod:`.servers`."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from support.proxies import ConnectProxy, SocksProxy

from .servers import WebsocketsServer
from .test_ws_client import same
from .test_ws_sockets_and_proxies import clean_proxy_env, echo_script  # noqa: F401  (fixture)
from .test_ws_tls_and_modes import tls_server  # noqa: F401  (fixture)

# Every test runs with no proxy in the environment unless it sets one.
pytestmark = [pytest.mark.both_modes, pytest.mark.usefixtures("clean_proxy_env")]

SOCKS_SCHEMES = ("socks5h", "socks5", "socks4a", "socks4")


@pytest.fixture
def socks() -> Iterator[SocksProxy]:
    server = SocksProxy()
    yield server
    server.close()


def localhost_url(server: WebsocketsServer) -> str:
    """The server's URL by name, so that remote and local DNS differ on the wire."""
    return server.url.replace("127.0.0.1", "localhost")


def unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return unused.getsockname()[1]


# ---- SOCKS -------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SOCKS_SCHEMES)
def test_socks_echo(ws_server: WebsocketsServer, socks: SocksProxy, scheme: str) -> None:
    result = same(localhost_url(ws_server), echo_script(proxy=socks.url(scheme)))
    assert result == {"result": ("hello", 300_000, None)}
    # Both clients sent the proxy the same bytes: the name for socks5h/socks4a (remote
    # DNS), the address resolved locally for socks5/socks4.
    assert len(socks.handshakes) == 2 and socks.handshakes[0] == socks.handshakes[1]
    assert (b"localhost" in socks.handshakes[0]) == (scheme in ("socks5h", "socks4a"))


@pytest.mark.parametrize("scheme", SOCKS_SCHEMES)
def test_socks_ip_literal(ws_server: WebsocketsServer, socks: SocksProxy, scheme: str) -> None:
    assert same(ws_server.url, echo_script(proxy=socks.url(scheme)))["result"][0] == "hello"
    assert socks.handshakes[0] == socks.handshakes[1]


@pytest.mark.parametrize("scheme", ["socks4", "socks4a"])
def test_socks4_user_id(ws_server: WebsocketsServer, socks: SocksProxy, scheme: str) -> None:
    # SOCKS4 has no password: the URL's username goes as the user id.
    proxy = socks.url(scheme, "someone:unused")
    assert same(localhost_url(ws_server), echo_script(proxy=proxy))["result"][0] == "hello"
    assert socks.handshakes[0] == socks.handshakes[1]
    assert b"someone\0" in socks.handshakes[0] and b"unused" not in socks.handshakes[0]


def test_socks_wss(tls_server: tuple[str, trustme.CA], socks: SocksProxy) -> None:  # noqa: F811
    url, ca = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url, ssl=context, proxy=socks.url("socks5h")) as ws:
            ws.send("secure through SOCKS")
            return ws.recv()

    assert same(url, script) == {"result": "secure through SOCKS"}
    assert socks.handshakes[0] == socks.handshakes[1]


def test_socks5_authentication(ws_server: WebsocketsServer) -> None:
    guarded = SocksProxy(credentials="user:p@ss")
    try:
        good = guarded.url("socks5h", "user:p%40ss")
        assert same(ws_server.url, echo_script(proxy=good))["result"][0] == "hello"
        assert guarded.handshakes[0] == guarded.handshakes[1]
        # Wrong password; no credentials offered at all.
        for proxy in (guarded.url("socks5h", "user:wrong"), guarded.url("socks5h")):
            assert same(ws_server.url, echo_script(proxy=proxy)) == {"type": "ProxyError"}
    finally:
        guarded.close()


@pytest.mark.parametrize("scheme", ["socks5h", "socks4a"])
def test_socks_refuses_target(ws_server: WebsocketsServer, scheme: str) -> None:
    refusing = SocksProxy(refuse=True)
    try:
        assert same(ws_server.url, echo_script(proxy=refusing.url(scheme))) == {"type": "ProxyError"}
    finally:
        refusing.close()


@pytest.mark.parametrize("scheme", SOCKS_SCHEMES)
def test_socks_proxy_not_listening(ws_server: WebsocketsServer, scheme: str) -> None:
    proxy = f"{scheme}://127.0.0.1:{unused_port()}"

    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/echo", proxy=proxy)
        except OSError as exc:
            # python-socks raises its own OSError subclass; balrog ConnectionRefusedError.
            return "OSError", exc.errno
        return "connected"

    assert same(ws_server.url, script)["result"][0] == "OSError"


def test_socks_proxy_closes_during_handshake(ws_server: WebsocketsServer) -> None:
    # A "proxy" that reads the greeting and hangs up.
    with socket.create_server(("127.0.0.1", 0)) as server:
        proxy = f"socks5h://127.0.0.1:{server.getsockname()[1]}"

        def script(connect: Callable[..., Any], url: str) -> Any:
            def hang_up() -> None:
                conn, _ = server.accept()
                conn.recv(16)
                conn.close()

            thread = threading.Thread(target=hang_up, daemon=True)
            thread.start()
            try:
                return connect(url + "/echo", proxy=proxy)
            finally:
                thread.join(10)

        assert same(ws_server.url, script) == {"type": "ProxyError"}


def test_socks_open_timeout_covers_proxy_handshake(ws_server: WebsocketsServer) -> None:
    # A "proxy" that accepts and never answers the greeting.
    with socket.create_server(("127.0.0.1", 0)) as server:
        proxy = f"socks5h://127.0.0.1:{server.getsockname()[1]}"

        def script(connect: Callable[..., Any], url: str) -> Any:
            try:
                connect(url + "/echo", proxy=proxy, open_timeout=0.5)
            except TimeoutError:
                # python-socks' ProxyTimeoutError is a TimeoutError too.
                return "TimeoutError"
            return "connected"

        assert same(ws_server.url, script) == {"result": "TimeoutError"}


@pytest.mark.parametrize(
    "bad", ["socks6://127.0.0.1:1", "socks5://user@127.0.0.1:1", "socks5h://127.0.0.1:1/x"]
)
def test_invalid_socks_proxy(ws_server: WebsocketsServer, bad: str) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/echo", proxy=bad)
        except Exception as exc:
            return type(exc).__name__, str(exc)

    assert same(ws_server.url, script)["result"][0] == "InvalidProxy"


@pytest.mark.parametrize("variable", ["socks_proxy", "ws_proxy", "all_proxy"])
def test_socks_from_environment(
    ws_server: WebsocketsServer,
    socks: SocksProxy,
    variable: str,
    clean_proxy_env: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    clean_proxy_env.setenv(variable, socks.url("socks5h"))
    outcome = same(ws_server.url, echo_script())
    # websockets' rules: socks_proxy and ws_proxy are used for ws://, all_proxy is not.
    assert outcome["result"][0] == "hello"
    assert len(socks.handshakes) == (0 if variable == "all_proxy" else 2)


def test_socks_environment_over_http_proxy(
    ws_server: WebsocketsServer,
    socks: SocksProxy,
    clean_proxy_env: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    clean_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{unused_port()}")
    clean_proxy_env.setenv("socks_proxy", socks.url("socks4a"))
    assert same(ws_server.url, echo_script())["result"][0] == "hello"
    assert len(socks.handshakes) == 2


# ---- https:// proxies --------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_proxy(proxy_ca: trustme.CA) -> Iterator[ConnectProxy]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    proxy_ca.issue_cert("127.0.0.1", "proxy.test").configure_cert(context)
    server = ConnectProxy(tls=context)
    yield server
    server.close()


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_proxy_ws(
    ws_server: WebsocketsServer,
    https_proxy: ConnectProxy,
    proxy_ca: trustme.CA,
) -> None:
    script = echo_script(proxy=https_proxy.url, proxy_ssl=trusting(proxy_ca))
    assert same(ws_server.url, script) == {"result": ("hello", 300_000, None)}
    assert len(https_proxy.requests) == 2 and https_proxy.requests[0] == https_proxy.requests[1]


def test_https_proxy_wss(
    tls_server: tuple[str, trustme.CA],  # noqa: F811
    https_proxy: ConnectProxy,
    proxy_ca: trustme.CA,
) -> None:
    url, ca = tls_server

    def script(connect: Callable[..., Any], url: str) -> Any:
        # websockets runs TLS in TLS in Python: on a loaded machine its handshake has been
        # seen to outlast the default 10 s open_timeout (the reference timed out, not balrog).
        options = {
            "ssl": trusting(ca),
            "proxy": https_proxy.url,
            "proxy_ssl": trusting(proxy_ca),
            "open_timeout": 60,
        }
        with connect(url, **options) as ws:
            ws.send("TLS in TLS")
            ws.send(b"x" * 200_000)
            return ws.recv(), len(ws.recv())

    assert same(url, script) == {"result": ("TLS in TLS", 200_000)}
    assert https_proxy.requests[0] == https_proxy.requests[1]


def test_https_proxy_server_hostname(
    ws_server: WebsocketsServer,
    https_proxy: ConnectProxy,
    proxy_ca: trustme.CA,
) -> None:
    options = {"proxy_ssl": trusting(proxy_ca)}
    good = echo_script(proxy=https_proxy.url, proxy_server_hostname="proxy.test", **options)
    assert same(ws_server.url, good)["result"][0] == "hello"
    bad = echo_script(proxy=https_proxy.url, proxy_server_hostname="other.test", **options)
    assert same(ws_server.url, bad) == {"type": "SSLCertVerificationError"}


def test_https_proxy_untrusted(ws_server: WebsocketsServer, https_proxy: ConnectProxy) -> None:
    # No proxy_ssl: the default context does not trust the test CA.
    assert same(ws_server.url, echo_script(proxy=https_proxy.url)) == {"type": "SSLCertVerificationError"}


def test_proxy_ssl_with_http_proxy(ws_server: WebsocketsServer) -> None:
    proxy = ConnectProxy()
    try:
        script = echo_script(proxy=proxy.url, proxy_ssl=ssl.create_default_context())
        assert same(ws_server.url, script) == {"type": "ValueError"}
    finally:
        proxy.close()
