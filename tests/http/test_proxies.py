"""Requests through proxies: SOCKS4/4a/5/5h (requests[socks] with PySocks is the reference)
and HTTPS through an HTTP CONNECT proxy. Differential against requests on the same local
servers; the proxies tunnel to loopback only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests as real_requests
from compare import differential

import balrog
import balrog.requests as requests
from support.proxies import ConnectProxy, SocksProxy
from support.servers import ThreadedServer

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]
SOCKS_SCHEMES = ["socks4", "socks4a", "socks5", "socks5h"]


@pytest.fixture
def socks() -> Iterator[SocksProxy]:
    server = SocksProxy()
    yield server
    server.close()


@pytest.fixture
def connect_proxy() -> Iterator[ConnectProxy]:
    server = ConnectProxy()
    yield server
    server.close()


def both(call: Any) -> tuple[Any, Any]:
    """The same call through requests and balrog.requests: (requests', balrog's) outcome."""
    theirs, ours = differential(call)
    assert ours == theirs
    return theirs, ours


@pytest.mark.parametrize("scheme", SOCKS_SCHEMES)
def test_socks_get(httpbin: Any, socks: SocksProxy, scheme: str) -> None:
    proxies = {"http": socks.url(scheme), "https": socks.url(scheme)}
    theirs, _ = both(lambda lib: lib.get(httpbin("/get?x=1"), proxies=proxies))
    assert theirs["status"] == 200
    assert theirs["body"]["args"] == {"x": "1"}
    assert len(socks.handshakes) == 2  # one tunnel each


@pytest.mark.parametrize("scheme", ["socks4a", "socks5h"])
def test_socks_remote_name_resolution(httpbin: Any, socks: SocksProxy, scheme: str) -> None:
    """socks4a/socks5h hand the host name to the proxy, which resolves it."""
    url = httpbin("/get").replace("127.0.0.1", "localhost")
    both(lambda lib: lib.get(url, proxies={"http": socks.url(scheme)}).status_code)
    assert all(b"localhost" in handshake for handshake in socks.handshakes)


@pytest.mark.parametrize("scheme", ["socks4", "socks5"])
def test_socks_local_name_resolution(httpbin: Any, socks: SocksProxy, scheme: str) -> None:
    """socks4/socks5 resolve the name on the client: the proxy sees an address."""
    url = httpbin("/get").replace("127.0.0.1", "localhost")
    for lib in LIBS:
        try:
            lib.get(url, proxies={"http": socks.url(scheme)}, timeout=5)
        except lib.ConnectionError:
            pass  # "localhost" may resolve to ::1 first, where httpbin does not listen
    assert len(socks.handshakes) == 2
    assert not any(b"localhost" in handshake for handshake in socks.handshakes)


def test_socks_https(httpbin_secure: Any, tls: dict[str, Any], socks: SocksProxy) -> None:
    """TLS runs end to end inside the tunnel: the proxy never sees the request."""
    both(
        lambda lib: lib.get(
            httpbin_secure("/get"), proxies={"https": socks.url("socks5h")}, verify=tls["ca_path"]
        ).json()["args"]
    )
    assert all(b"GET /get" not in handshake for handshake in socks.handshakes)


def test_socks_request_line_is_origin_form(httpbin: Any, socks: SocksProxy) -> None:
    """A SOCKS proxy relays bytes: the request line keeps the path only, unlike an HTTP proxy."""
    proxies = {"http": socks.url("socks5")}
    for lib in LIBS:
        prepared = lib.Request("GET", httpbin("/get?q=1")).prepare()
        assert lib.adapters.HTTPAdapter().request_url(prepared, proxies) == "/get?q=1"
    http_proxies = {"http": "http://127.0.0.1:9"}
    urls = [lib.adapters.HTTPAdapter().request_url(prepared, http_proxies) for lib in LIBS]
    assert urls[0] == urls[1] == httpbin("/get?q=1")


@pytest.fixture
def guarded_socks() -> Iterator[SocksProxy]:
    """A SOCKS proxy that requires user "user", password "p@ss" (SOCKS5 only)."""
    server = SocksProxy(credentials="user:p@ss")
    yield server
    server.close()


@pytest.mark.parametrize("userinfo", ["user:p%40ss", "user:p@ss"])
def test_socks5_credentials(httpbin: Any, guarded_socks: SocksProxy, userinfo: str) -> None:
    """User/password authentication (RFC 1929) from the proxy URL, percent-decoded."""
    proxies = {"http": guarded_socks.url("socks5h", userinfo)}
    theirs, _ = both(lambda lib: lib.get(httpbin("/get"), proxies=proxies))
    assert theirs["status"] == 200
    # No Proxy-Authorization header reaches the server through a SOCKS proxy.
    assert "Proxy-Authorization" not in theirs["body"]["headers"]


@pytest.mark.parametrize("userinfo", ["", "user:wrong"])
def test_socks5_refused_credentials(httpbin: Any, guarded_socks: SocksProxy, userinfo: str) -> None:
    """Missing or wrong credentials: a ConnectionError (not ProxyError), as with PySocks."""
    proxies = {"http": guarded_socks.url("socks5h", userinfo)}
    theirs, _ = both(lambda lib: lib.get(httpbin("/get"), proxies=proxies))
    assert theirs["raised"][0] == "ConnectionError"


@pytest.mark.parametrize("scheme", SOCKS_SCHEMES)
def test_socks_target_refused(httpbin: Any, scheme: str) -> None:
    refusing = SocksProxy(refuse=True)
    try:
        theirs, _ = both(lambda lib: lib.get(httpbin("/get"), proxies={"http": refusing.url(scheme)}))
        assert theirs["raised"][0] == "ConnectionError"
    finally:
        refusing.close()


def test_socks_proxy_not_listening(httpbin: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    theirs, _ = both(lambda lib: lib.get(httpbin("/get"), proxies={"http": f"socks5://127.0.0.1:{port}"}))
    assert theirs["raised"][0] == "ConnectionError"


class SilentProxy(ThreadedServer):
    """Accepts and never answers the SOCKS greeting."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            self.release.wait(10)


def test_socks_handshake_counts_against_the_connect_timeout(httpbin: Any) -> None:
    silent = SilentProxy()
    try:
        theirs, _ = both(
            lambda lib: lib.get(
                httpbin("/get"), proxies={"http": f"socks5h://127.0.0.1:{silent.port}"}, timeout=(0.3, 5)
            )
        )
        assert theirs["raised"][:2] == ["ConnectTimeout", "ConnectionError"]
    finally:
        silent.release.set()
        silent.close()


def test_unknown_socks_version(httpbin: Any) -> None:
    theirs, _ = both(lambda lib: lib.get(httpbin("/get"), proxies={"http": "socks6://127.0.0.1:1080"}))
    assert theirs["raised"][0] == "ValueError"


def test_socks_from_environment(httpbin: Any, socks: SocksProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", socks.url("socks5h"))
    both(lambda lib: lib.get(httpbin("/get")).status_code)
    assert len(socks.handshakes) == 2
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    both(lambda lib: lib.get(httpbin("/get")).status_code)
    assert len(socks.handshakes) == 2  # bypassed


def test_socks_session_reuses_its_tunnel(httpbin: Any, socks: SocksProxy) -> None:
    """A Session keeps the tunnelled connection in its pool, as urllib3's SOCKS pool does."""
    tunnels = []
    for lib in LIBS:
        before = len(socks.handshakes)
        with lib.Session() as session:
            session.proxies = {"http": socks.url("socks5h")}
            for n in range(3):
                assert session.get(httpbin(f"/get?n={n}")).json()["args"] == {"n": str(n)}
        tunnels.append(len(socks.handshakes) - before)
    if balrog.mode() == "green":
        # hyper hands a finished connection back to its pool from a task of its own; a green
        # task that asks again at once may race it (about 1 run in 100) and open a second
        # connection. Direct connections behave the same; the request still succeeds.
        assert tunnels[0] == 1 and tunnels[1] <= 2
    else:
        assert tunnels == [1, 1]


def test_socks_upload_and_streamed_download(httpbin: Any, socks: SocksProxy) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    proxies = {"http": socks.url("socks5")}
    for lib in LIBS:
        response = lib.post(httpbin("/anything"), data=chunks(), proxies=proxies)
        assert response.json()["body_length"] == len(payload)
        streamed = lib.get(httpbin("/bytes/300000?seed=1"), proxies=proxies, stream=True)
        assert len(b"".join(streamed.iter_content(8192))) == 300000


def test_concurrent_requests_through_socks(httpbin: Any, socks: SocksProxy) -> None:
    """Concurrent green tasks share the proxy, each tunnel a connection of the pool."""
    with requests.Session() as session:
        session.proxies = {"http": socks.url("socks5h")}

        def fetch(n: int) -> str:
            return session.get(httpbin(f"/delay/0.2?n={n}")).json()["args"]["n"]

        if balrog.mode() == "green":
            results = balrog.gather(*[(lambda n=n: fetch(n)) for n in range(20)])
        else:
            results = [fetch(n) for n in range(5)]
    assert list(results) == [str(n) for n in range(len(results))]
    if balrog.mode() == "green":
        assert len(socks.handshakes) > 1  # the tasks did not wait for one another


# -- HTTPS through an HTTP CONNECT proxy --------------------------------------------------------


def test_https_through_connect_proxy(
    httpbin_secure: Any, tls: dict[str, Any], connect_proxy: ConnectProxy
) -> None:
    theirs, _ = both(
        lambda lib: lib.get(
            httpbin_secure("/get?a=b"), proxies={"https": connect_proxy.url}, verify=tls["ca_path"]
        ).json()["args"]
    )
    assert theirs == {"value": {"a": "b"}}
    port = httpbin_secure("/").split(":")[2].split("/")[0]
    # (urllib3 writes HTTP/1.0 on the CONNECT line, hyper HTTP/1.1 with a Host header.)
    target = f"CONNECT 127.0.0.1:{port} HTTP/1.".encode()
    assert [head[: len(target)] for head in connect_proxy.requests] == [target, target]


@pytest.mark.parametrize("userinfo", ["", "user:wrong@"])
def test_connect_proxy_refuses_credentials(httpbin_secure: Any, tls: dict[str, Any], userinfo: str) -> None:
    guarded = ConnectProxy(credentials="user:secret")
    try:
        url = guarded.url.replace("http://", f"http://{userinfo}")
        theirs, _ = both(
            lambda lib: lib.get(httpbin_secure("/get"), proxies={"https": url}, verify=tls["ca_path"])
        )
        assert theirs["raised"][:2] == ["ProxyError", "ConnectionError"]
    finally:
        guarded.close()


def test_connect_proxy_credentials(httpbin_secure: Any, tls: dict[str, Any]) -> None:
    guarded = ConnectProxy(credentials="user:s3cr:t")
    try:
        url = guarded.url.replace("http://", "http://user:s3cr%3At@")
        theirs, _ = both(
            lambda lib: (
                lib.get(httpbin_secure("/get"), proxies={"https": url}, verify=tls["ca_path"]).status_code
            )
        )
        assert theirs == {"value": 200}
        # The credentials go to the proxy only, never through the tunnel.
        assert all(b"Proxy-Authorization" in head for head in guarded.requests)
    finally:
        guarded.close()


@pytest.mark.parametrize("userinfo", ["alice", "alice:", ":secret"])
def test_socks5_incomplete_credentials_mean_no_authentication(
    httpbin: Any, socks: SocksProxy, userinfo: str
) -> None:
    """A user without a password (or the reverse) is not sent: PySocks offers "no
    authentication" only, and the proxy sees the same greeting from both clients."""
    both(lambda lib: lib.get(httpbin("/get"), proxies={"http": socks.url("socks5", userinfo)}).status_code)
    assert socks.handshakes[0][:3] == socks.handshakes[1][:3] == b"\x05\x01\x00"
