"""The shared local servers of the harness answer (checked with the original libraries)."""

from __future__ import annotations

import requests
from websockets.sync.client import connect

from support.servers import asgi_server, echo, websocket_server


async def hello_app(scope, receive, send):  # type: ignore[no-untyped-def]
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_asgi_server_fixture_serves_http():
    with asgi_server(hello_app) as url:
        response = requests.get(url + "/anything", timeout=10)
        assert (response.status_code, response.text) == (200, "hello")


def test_websocket_echo_server():
    with websocket_server(echo) as url, connect(url) as ws:
        ws.send("ping")
        assert ws.recv(timeout=10) == "ping"
