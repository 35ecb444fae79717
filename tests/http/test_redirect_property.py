"""Property-based differential test of redirects: generated chains of hops (301/302/303/
307/308, Location absolute, relative, scheme-relative, query-only, with fragments, to the
other loopback name) followed by requests and by balrog.requests, with bodies, auth,
cookies set along the way and custom headers. The history, the final URL, and what the
last server hop received (method, target, body, Authorization, Cookie, Content-Type)
must be the same.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
import requests as upstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.requests as ours
from support.servers import ThreadedServer, recv_request

pytestmark = [pytest.mark.timeout(300), pytest.mark.both_modes]


class HopServer(ThreadedServer):
    """``/hop/<spec>``: ``spec`` (base64 JSON) lists the hops left; each is answered with
    its status and Location (and maybe a Set-Cookie); after the last, the server answers
    200 with what it received."""

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = recv_request(conn)
            if request is None:
                return
            head, body = request
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            match = re.match(r"^/hop/([A-Za-z0-9_=-]*)", unquote(target.partition("?")[0]))
            hops = json.loads(base64.urlsafe_b64decode(match.group(1))) if match else []
            if hops:
                status, location, cookie = hops[0]
                rest = base64.urlsafe_b64encode(json.dumps(hops[1:]).encode()).decode()
                extra = f"Set-Cookie: {cookie}\r\n" if cookie else ""
                reply = (
                    f"HTTP/1.1 {status} Moved\r\nLocation: {location.replace('{next}', rest)}\r\n{extra}"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n"
                ).encode()  # (a Latin-1 Location: requests raises, balrog reads it; docs)
            else:
                seen = {
                    "method": method,
                    "target": target,
                    "body": body.decode("latin-1"),
                    "authorization": headers.get("authorization"),
                    "cookie": headers.get("cookie"),
                    "content-type": headers.get("content-type"),
                    "x-custom": headers.get("x-custom"),
                }
                payload = json.dumps(seen).encode()
                reply = (
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
                    + payload
                )
            conn.sendall(reply)


@pytest.fixture(scope="module")
def hops() -> Iterator[HopServer]:
    server = HopServer().start()
    yield server
    server.close()


LOCATIONS = st.sampled_from(
    [
        "http://127.0.0.1:{port}/hop/{next}",
        "http://localhost:{port}/hop/{next}",
        "/hop/{next}",
        "//127.0.0.1:{port}/hop/{next}",
        "/hop/{next}?q=1",
        "/hop/{next}#frag",
        "/hop/./{next}",
        "/hop/{next}?ü=é",
    ]
)
HOP = st.tuples(
    st.sampled_from([301, 302, 303, 307, 308]),
    LOCATIONS,
    st.sampled_from([None, "hop=1; Path=/", "gone=1; Max-Age=0", "scoped=1; Path=/elsewhere"]),
)


def follow(lib: Any, url: str, method: str, kwargs: dict[str, Any]) -> Any:
    try:
        with lib.Session() as session:
            response = session.request(method, url, timeout=10, **kwargs)
            return {
                "status": response.status_code,
                "url": response.url,
                "history": [(r.status_code, r.url) for r in response.history],
                "seen": response.json() if response.status_code == 200 and method != "HEAD" else None,
                "jar": sorted(session.cookies.get_dict().items()),
            }
    except Exception as exc:
        return ("raised", [c.__name__ for c in type(exc).__mro__ if c.__module__ != "builtins"][:3])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    chain=st.lists(HOP, min_size=1, max_size=4),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]),
    data=st.sampled_from([None, b"payload", {"f": "v"}]),
    auth=st.sampled_from([None, ("user", "pw")]),
    headers=st.sampled_from([None, {"X-Custom": "1"}, {"Authorization": "Bearer t"}]),
    cookies=st.sampled_from([None, {"c": "1"}]),
    start=st.sampled_from(["127.0.0.1", "localhost"]),
)
def test_redirects_followed_as_requests(
    hops: HopServer, chain: list[Any], method: str, start: str, **kwargs: Any
) -> None:
    spec = [
        (status, location.replace("{port}", str(hops.port)), cookie) for status, location, cookie in chain
    ]
    first = base64.urlsafe_b64encode(json.dumps(spec).encode()).decode()
    url = f"http://{start}:{hops.port}/hop/{first}"
    assert follow(ours, url, method, kwargs) == follow(upstream, url, method, kwargs)
