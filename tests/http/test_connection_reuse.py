"""Which requests share a keep-alive connection, differential against requests.

urllib3 keeps one pool per host, whatever the request. balrog sends plain ``http://``
requests on HTTP/1.1 connections it pools itself (the direct lane, ``direct.rs``) and the
rest through reqwest; these tests check that every kind of request, and closing responses
and sessions, gives the connection pattern requests gives. Both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests as real_requests

import balrog.requests as requests
from support.servers import ConnectionNumberServer

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]


@pytest.fixture
def server() -> Iterator[ConnectionNumberServer]:
    running = ConnectionNumberServer().start()
    yield running
    running.close()


def generator() -> Iterator[bytes]:
    yield b"abc"
    yield b"def"


def mixed_requests(session: Any, url: str) -> list[str]:
    """One of each kind of request, in turn on one session: which connection each used."""
    seen = [
        session.get(url).text,
        session.get(url, params={"q": "1"}).text,
        session.get(url, headers={"X-Extra": "1"}, timeout=5).text,
        # Timeouts go with the request, not with the connection.
        session.get(url, timeout=(3, 7)).text,
        session.post(url, data=b"x", timeout=2).text,
        session.head(url).headers["Content-Length"],
        session.post(url, data=b"bytes").text,
        session.post(url, json={"a": 1}).text,
        session.post(url, data={"form": "x"}).text,
        session.post(url, data=generator()).text,
        session.put(url, data="text").text,
        session.delete(url).text,
        session.options(url).text,
        session.get(url + "redirect").text,
        session.get(url, stream=True).text,
    ]
    with session.get(url + "big", stream=True) as response:
        seen.append(str(sum(len(chunk) for chunk in response.iter_content(65536))))
    seen.append(session.get(url).text)
    return seen


def partly_read_stream_closed(session: Any, url: str) -> list[str]:
    """A streamed body closed half read cannot go back to the pool."""
    first = session.get(url).text
    response = session.get(url + "big", stream=True)
    response.raw.read(10)
    response.close()
    return [first, session.get(url).text, session.get(url).text]


def stream_left_open(session: Any, url: str) -> list[str]:
    """A streamed response nobody read keeps its connection: the next request needs another."""
    first = session.get(url).text
    held = session.get(url + "big", stream=True)
    second = session.get(url).text
    held.close()
    return [first, second]


def connection_close(session: Any, url: str) -> list[str]:
    return [session.get(url).text, session.get(url + "close").text, session.get(url).text]


def session_closed(session: Any, url: str) -> list[str]:
    first = session.get(url).text
    session.close()
    return [first, session.get(url).text, session.post(url, data=b"x").text]


SCENARIOS: dict[str, Callable[[Any, str], list[str]]] = {
    "mixed requests": mixed_requests,
    "partly read stream closed": partly_read_stream_closed,
    "stream left open": stream_left_open,
    "Connection: close": connection_close,
    "session closed": session_closed,
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_connections_as_requests(server: ConnectionNumberServer, scenario: str) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    results = []
    for lib in LIBS:
        # Numbered from 1 for each library.
        server.accepted = 0
        with lib.Session() as session:
            results.append(SCENARIOS[scenario](session, url))
    assert results[1] == results[0]


def test_module_functions_each_use_a_new_connection(server: ConnectionNumberServer) -> None:
    """``requests.get`` makes a session per call: one connection per call."""
    url = f"http://127.0.0.1:{server.port}/"
    results = []
    for lib in LIBS:
        server.accepted = 0
        results.append([lib.get(url).text, lib.post(url, data=b"x").text, lib.get(url).text])
    assert results[1] == results[0] == ["1", "2", "3"]


def test_host_names_resolve(server: ConnectionNumberServer) -> None:
    """A name (not an IP literal) is resolved; the Host header names it, with the port."""
    url = f"http://localhost:{server.port}/"
    results = []
    for lib in LIBS:
        server.accepted = 0
        with lib.Session() as session:
            response = session.get(url)
            results.append((response.status_code, response.text, session.get(url).text))
    assert results[1] == results[0]


def test_pool_keeps_the_hosts_used_last() -> None:
    """With ``pool_connections=2`` only the two hosts used last keep their connections
    (urllib3's PoolManager is an LRU of host pools)."""
    servers = [ConnectionNumberServer().start() for _ in range(3)]
    try:
        a, b, c = (f"http://127.0.0.1:{server.port}/" for server in servers)
        results = []
        for lib in LIBS:
            for server in servers:
                server.accepted = 0
            with lib.Session() as session:
                session.mount("http://", lib.adapters.HTTPAdapter(pool_connections=2))
                results.append([session.get(url).text for url in (a, b, a, c, b, a, a)])
        assert results[1] == results[0]
    finally:
        for server in servers:
            server.close()


def test_https_requests_with_other_timeouts_share_the_connection(tls: dict[str, Any]) -> None:
    """HTTPS goes through reqwest, which takes a connect timeout per client, not per
    request: balrog passes it per request (a task-local the connector reads), so requests
    with different timeouts still share one pool, as under requests."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls["server_cert"].configure_cert(context)
    server = ConnectionNumberServer(tls=context).start()
    try:
        url = f"https://127.0.0.1:{server.port}/"
        results = []
        for lib in LIBS:
            server.accepted = 0
            with lib.Session() as session:
                session.verify = tls["ca_path"]
                results.append(
                    [
                        session.get(url).text,
                        session.get(url, timeout=5).text,
                        session.get(url, timeout=(3, 7)).text,
                        session.post(url, data=b"x", timeout=(2.5, None)).text,
                        session.get(url, timeout=None).text,
                    ]
                )
        assert results[1] == results[0] == ["1"] * 5
    finally:
        server.close()
