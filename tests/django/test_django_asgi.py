"""The green ASGI application under uvicorn: views, middleware, transactions, streaming."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time

import pytest
from http_load import fire_sync, request


def get(server, target: str):
    return asyncio.run(request(server.host, server.port, target))


@pytest.fixture
def app(serve):
    return serve(pool_max=4)


def test_sync_view_runs_green_with_middlewares(app):
    reply = get(app, "/whoami/")
    assert reply.status == 200, reply.body
    data = reply.json()
    assert data["mode"] == "green"
    assert data["middleware_mode"] == "green"
    # The async-only middleware ran on the loop as a coroutine, and handed back to the green task.
    assert data["async_middleware_mode"] == "async"
    assert reply.headers["x-sync-middleware-mode"] == "green"
    assert reply.headers["x-async-middleware-mode"] == "async"
    assert data["backend_pid"] is not None


def test_atomic_rolls_back_per_task(app):
    replies = fire_sync(app.host, app.port, [f"/atomic-fail/?client=af{i}" for i in range(20)], 20)
    assert [r.status for r in replies] == [200] * 20
    assert {r.json()["left"] for r in replies} == {0}


def test_on_commit_runs_after_commit(app):
    replies = fire_sync(app.host, app.port, [f"/on-commit/?name=oc{i}" for i in range(10)], 10)
    for reply in replies:
        assert reply.status == 200, reply.body
        assert reply.json() == {"inside": 0, "after": 1}


def test_savepoints_per_task(app):
    replies = fire_sync(app.host, app.port, [f"/savepoint/?client=sp{i}" for i in range(10)], 10)
    for reply in replies:
        assert reply.json() == {"seqs": [1, 3]}


def test_select_for_update_serializes(app, django_project):
    from testproject.shop.models import Order

    Order.objects.create(client="counter", seq=0, tags=[])
    replies = fire_sync(app.host, app.port, [f"/lock/?tag=t{i}" for i in range(15)], 15)
    assert [r.status for r in replies] == [200] * 15
    assert sorted(r.json()["tags"] for r in replies) == list(range(1, 16))
    assert len(Order.objects.get(client="counter", seq=0).tags) == 15


def test_streaming_response_queries_in_its_task(app):
    replies = fire_sync(app.host, app.port, [f"/stream/?name=st{i}" for i in range(5)], 5)
    for reply in replies:
        assert reply.status == 200
        lines = reply.body.decode().splitlines()
        assert lines == [f"{i}:{i + 1}:green" for i in range(5)]


def test_async_streaming_response(app):
    reply = get(app, "/async-stream/")
    assert reply.status == 200
    assert reply.body == b"part0\npart1\npart2\n"


def test_request_body(app):
    payload = bytes(range(256)) * 8192  # 2 MiB: spills to a temporary file
    reply = asyncio.run(request(app.host, app.port, "/body/", method="POST", body=payload))
    assert reply.status == 200, reply.body
    assert reply.json() == {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def test_request_state_is_per_task(app):
    cases = [("de", "Europe/Berlin", 3), ("fr", "Asia/Tokyo", 5), ("en", "America/Lima", 2)] * 5
    targets = [f"/isolation/?lang={lang}&tz={tz}&n={n}" for lang, tz, n in cases]
    replies = fire_sync(app.host, app.port, targets, len(targets))
    for (lang, tz, n), reply in zip(cases, replies, strict=True):
        assert reply.status == 200, reply.body
        assert reply.json() == {"lang": lang, "tz": tz, "queries": n}


def test_async_view_uses_the_async_orm(app):
    reply = get(app, "/async-view/?client=nobody")
    assert reply.status == 200, reply.body
    assert reply.json()["count"] == 0
    assert reply.json()["mode"] == "async"


def test_orm_on_the_bare_loop_is_still_refused(app):
    reply = get(app, "/async-unsafe/")
    assert reply.status == 200, reply.body
    assert reply.json() == {"raised": "SynchronousOnlyOperation"}


def test_spawned_green_tasks_get_their_own_connections(app):
    reply = get(app, "/spawn/")
    assert reply.status == 200, reply.body
    data = reply.json()
    assert len({data["mine"], *data["others"]}) == 3


def test_persistent_connections_are_reused_across_requests(serve):
    server = serve(env={"BALROG_DJANGO_CONN_MAX_AGE": "60"})
    pids = [get(server, "/whoami/").json()["backend_pid"] for _ in range(5)]
    assert len(set(pids)) == 1


def test_stock_handler_still_runs_the_project(serve):
    """Reference point: Django's own ASGI handler runs sync views in threads."""
    server = serve("testproject.stock_asgi:application")
    data = get(server, "/whoami/").json()
    assert data["mode"] == "blocking"


def _wait_for_event(name: str) -> None:
    """Poll until the view wrote ``name`` (a condition, with a generous deadline)."""
    from testproject.shop.models import Event

    deadline = time.monotonic() + 60
    while not Event.objects.filter(name=name).exists():
        assert time.monotonic() < deadline, f"no {name!r} event"
        time.sleep(0.05)


def test_client_disconnect_cancels_the_green_view(app):
    with socket.create_connection((app.host, app.port)) as sock:
        sock.sendall(b"GET /wait-for-disconnect/?name=dc HTTP/1.1\r\nHost: x\r\n\r\n")
        _wait_for_event("dc:started")
    _wait_for_event("dc:cancelled")
    # The server still serves, and the cancelled task's connection went back to the pool.
    assert get(app, "/whoami/").json()["mode"] == "green"


def test_same_project_under_a_threaded_wsgi_server(serve):
    """Nothing changes for WSGI: the ENGINE blocks in each server thread, like psycopg."""
    server = serve(wsgi=True)
    targets = [f"/load/?client=wsgi-{i}&seq={i}&sleep=0.01" for i in range(20)]
    replies = fire_sync(server.host, server.port, targets, 20)
    assert [r.status for r in replies] == [200] * 20, replies[0]
    assert {r.json()["mode"] for r in replies} == {"blocking"}
    assert {r.json()["middleware_mode"] for r in replies} == {"blocking"}
