"""One event loop serves ops of every balrog wheel through core's hub (C-ABI capsule)."""

from __future__ import annotations

import asyncio
import threading

import pytest

import balrog
from support.servers import asgi_server

requests = pytest.importorskip("balrog.requests")
psycopg = pytest.importorskip("balrog.psycopg")


async def slow_app(scope, receive, send):  # type: ignore[no-untyped-def]
    await asyncio.sleep(0.05)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def test_green_tasks_mix_http_postgres_and_timer_ops_on_one_loop(pg_cluster):
    threads: set[int] = set()

    def handler(n: int, base_url: str) -> tuple[str, int]:
        threads.add(threading.get_ident())
        balrog.sleep(0.001)  # balrog-core op
        body = requests.get(f"{base_url}/item/{n}", timeout=30).text  # balrog-http op
        with psycopg.connect(pg_cluster.conninfo) as conn:  # balrog-pg ops
            (value,) = conn.execute("select %s::int * 2", (n,)).fetchone()
        return body, value

    with asgi_server(slow_app) as base_url:

        async def main() -> list[tuple[str, int]]:
            return await asyncio.gather(*(balrog.green(handler)(n, base_url) for n in range(20)))

        results = asyncio.run(main())
    assert results == [(f"/item/{n}", n * 2) for n in range(20)]
    assert len(threads) == 1
