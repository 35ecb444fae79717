"""Sync-style endpoints as green tasks under uvicorn, reached with websockets' client and
balrog's; the registry and the Django-style router."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
import websockets.exceptions as wse
import websockets.sync.client as ws_client

import balrog
from balrog.websockets.asgi import ServerConnection, registry
from balrog.websockets.routing import path, re_path, router
from balrog.websockets.sync.client import connect as balrog_connect
from support.net import free_port, wait_for_port


def chat(ws: ServerConnection, room: str) -> None:
    assert balrog.mode() == "green"
    ws.send(f"joined {room}")
    for message in ws:
        ws.send(message.upper() if isinstance(message, str) else message[::-1])


def customer(ws: ServerConnection, customer_id: int) -> None:
    with registry.register(ws, f"customer:{customer_id}"):
        ws.send("registered")
        for message in ws:
            if message == "bye":
                ws.close(4001, "see you")
                return


def closer(ws: ServerConnection, code: str) -> None:
    ws.close(int(code), "server says bye")


def failing(ws: ServerConnection) -> None:
    raise RuntimeError("endpoint bug")


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The 'Django' side: an HTTP view that notifies a customer's open connection."""
    if scope["type"] != "http":
        return

    def notify() -> bytes:
        customer_id = scope["path"].rsplit("/", 1)[1]
        count = registry.send(f"customer:{customer_id}", f"Order #42 for {customer_id} shipped")
        return str(count).encode()

    body = await balrog.green(notify)()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def _django_routes() -> list[Any]:
    try:
        from django.conf import settings
        from django.urls import path as django_path
    except ImportError:
        return []
    if not settings.configured:
        settings.configure()
    return [django_path("django/<int:number>/", lambda ws, number: ws.send(f"django {number * 2}"))]


application = router(
    [
        path("ws/chat/<str:room>/", chat),
        path("ws/customer/<int:customer_id>/", customer),
        re_path(r"^ws/close/(?P<code>[0-9]+)$", closer),
        path("ws/failing/", failing),
        *_django_routes(),
    ],
    fallback=http_app,
)


@pytest.fixture(scope="module")
def asgi_url() -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.both_modes
@pytest.mark.parametrize("client", ["websockets", "balrog"])
def test_green_endpoint_echo(asgi_url: str, client: str) -> None:
    connect = ws_client.connect if client == "websockets" else balrog_connect
    with connect(f"ws://{asgi_url}/ws/chat/lobby/") as ws:
        assert ws.recv() == "joined lobby"
        ws.send("hello")
        assert ws.recv() == "HELLO"
        ws.send(b"abc")
        assert ws.recv() == b"cba"


@pytest.mark.both_modes
def test_server_close_code(asgi_url: str) -> None:
    outcomes = []
    for connect in (ws_client.connect, balrog_connect):
        with connect(f"ws://{asgi_url}/ws/close/4003") as ws:
            try:
                ws.recv()
            except Exception as exc:
                outcomes.append((type(exc).__name__, exc.rcvd.code, exc.rcvd.reason))
    assert outcomes[0] == outcomes[1] == ("ConnectionClosedError", 4003, "server says bye")


def test_unknown_path_is_rejected(asgi_url: str) -> None:
    statuses = []
    for connect, exc_type in ((ws_client.connect, wse.InvalidStatus), (balrog_connect, None)):
        try:
            connect(f"ws://{asgi_url}/ws/nowhere/")
        except Exception as exc:
            if exc_type is not None:
                assert isinstance(exc, exc_type)
            statuses.append(exc.response.status_code)  # type: ignore[attr-defined]
    assert statuses == [403, 403]


def test_endpoint_exception_closes_1011(asgi_url: str) -> None:
    with balrog_connect(f"ws://{asgi_url}/ws/failing/") as ws:
        with pytest.raises(Exception) as info:
            ws.recv()
    assert info.value.rcvd.code == 1011  # type: ignore[attr-defined]


@pytest.mark.both_modes
def test_registry_notifies_live_connection_from_http_view(asgi_url: str) -> None:
    import urllib.request

    with balrog_connect(f"ws://{asgi_url}/ws/customer/7/") as ws:
        assert ws.recv() == "registered"
        # An HTTP request served by another green task sends to this connection.
        with balrog.allow_blocking():
            count = urllib.request.urlopen(f"http://{asgi_url}/notify/7", timeout=10).read()
        assert count == b"1"
        assert ws.recv(timeout=10) == "Order #42 for 7 shipped"
        # And from a plain thread of this process.
        assert registry.send("customer:7", "from a thread") == 1
        assert ws.recv(timeout=10) == "from a thread"
        ws.send("bye")
        with pytest.raises(Exception) as info:
            ws.recv()
        assert info.value.rcvd.code == 4001  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while registry.get("customer:7") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert registry.send("customer:7", "nobody") == 0


def test_django_url_patterns(asgi_url: str) -> None:
    pytest.importorskip("django")
    with balrog_connect(f"ws://{asgi_url}/django/21/") as ws:
        assert ws.recv() == "django 42"


def test_many_green_endpoints_at_once(asgi_url: str) -> None:
    def client(i: int) -> str:
        with balrog_connect(f"ws://{asgi_url}/ws/chat/room{i}/") as ws:
            ws.recv()
            ws.send(f"m{i}")
            return ws.recv()  # type: ignore[no-any-return]

    def fan_out() -> list[Any]:
        return balrog.gather(*[lambda i=i: client(i) for i in range(100)])

    assert balrog.run(fan_out) == [f"M{i}" for i in range(100)]
