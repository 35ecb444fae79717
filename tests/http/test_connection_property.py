"""Property-based differential test of connection reuse: generated sequences of requests to
three servers — plain GETs and POSTs, streamed uploads, HEADs, responses held open while
streaming and later read to the end or closed half read, `Connection: close` answers and
`Session.close()` — through a session whose adapter has generated `pool_connections` and
`pool_maxsize`, run through requests and through balrog.requests. Each server numbers its
connections; which connection every request used must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests as upstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.requests as ours
from support.servers import ConnectionNumberServer

pytestmark = [pytest.mark.timeout(300), pytest.mark.both_modes]


@pytest.fixture(scope="module")
def servers() -> Iterator[list[ConnectionNumberServer]]:
    running = [ConnectionNumberServer(big_size=256 * 1024).start() for _ in range(3)]
    yield running
    for server in running:
        server.close()


HOST = st.integers(0, 2)
OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["get", "post", "upload", "head", "hold", "close-answer"]), HOST),
    st.tuples(st.sampled_from(["drain", "abandon"]), st.integers(0, 3)),
    st.just(("session-close", 0)),
)


def generator() -> Iterator[bytes]:
    yield b"abc"
    yield b"def"


def run(
    lib: Any, servers: list[ConnectionNumberServer], pool_connections: int, pool_maxsize: int, ops: list[Any]
) -> list[Any]:
    """The ops through ``lib``: per op, (server, connection number) or what happened."""
    for server in servers:
        server.accepted = 0
    urls = [f"http://127.0.0.1:{server.port}/" for server in servers]
    held: list[Any] = []
    seen: list[Any] = []
    with lib.Session() as session:
        adapter = lib.adapters.HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_maxsize)
        session.mount("http://", adapter)
        for op, arg in ops:
            if op in ("get", "post", "upload", "head", "hold", "close-answer"):
                url = urls[arg]
                if op == "get":
                    response = session.get(url, timeout=10)
                elif op == "post":
                    response = session.post(url, data=b"x", timeout=10)
                elif op == "upload":
                    response = session.post(url, data=generator(), timeout=10)
                elif op == "head":
                    response = session.head(url, timeout=10)
                elif op == "hold":
                    response = session.get(url + "big", stream=True, timeout=10)
                    response.raw.read(10)
                    held.append(response)
                else:
                    response = session.get(url + "close", timeout=10)
                seen.append((arg, response.headers["X-Conn"]))
            elif op in ("drain", "abandon"):
                if not held:
                    seen.append("nothing held")
                    continue
                response = held.pop(arg % len(held))
                if op == "drain":
                    seen.append(len(response.content))
                else:
                    response.close()
                    seen.append("closed")
            else:
                session.close()
                seen.append("session closed")
        for response in held:
            response.close()
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pool_connections=st.integers(1, 3),
    pool_maxsize=st.integers(1, 2),
    ops=st.lists(OPERATIONS, min_size=1, max_size=12),
)
def test_same_connections_as_requests(
    servers: list[ConnectionNumberServer], pool_connections: int, pool_maxsize: int, ops: list[Any]
) -> None:
    expected = run(upstream, servers, pool_connections, pool_maxsize, ops)
    assert run(ours, servers, pool_connections, pool_maxsize, ops) == expected
