"""Libraries that patch or wrap requests — the mockers `responses` and `requests_mock`, and
`requests_cache` — run on requests or on balrog.

    python requests_libraries_app.py requests|balrog|balrog-green <httpbin url>

Prints one JSON object: what each scenario saw. tests/http/test_requests_libraries.py runs it
once on the real requests and once on balrog.requests (installed as ``requests`` before the
libraries import it, blocking and in a green task) and compares the outputs. Passthrough
and cache scenarios reach the local httpbin; every other URL is mocked (``.test`` names
never resolve).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

MODE, HTTPBIN = sys.argv[1], sys.argv[2]
if MODE.startswith("balrog"):
    import balrog.requests

    balrog.requests.install_as_requests()

import requests  # noqa: E402 - after the alias
import requests_cache  # noqa: E402
import requests_mock  # noqa: E402
import responses  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402
from responses import matchers, registries  # noqa: E402

API = "http://api.example.test"


def raised(call: Any) -> Any:
    try:
        call()
    except Exception as exc:  # the class names and message are the result
        return [type(exc).__name__, isinstance(exc, requests.RequestException), str(exc)[:60]]
    return None


def outcome(response: Any) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "reason": response.reason,
        "url": response.url,
        "ok": response.ok,
        "headers": sorted((k.lower(), v) for k, v in response.headers.items()),
        "text": response.text,
        "encoding": response.encoding,
        "cookies": sorted(response.cookies.items()),
        "history": [(r.status_code, r.url) for r in response.history],
        "request": [response.request.method, response.request.url],
    }


@responses.activate
def with_responses() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    responses.add(responses.GET, API + "/user", json={"id": 1}, status=200, headers={"X-Rate": "9"})
    session = requests.Session()
    seen["module get"] = outcome(requests.get(API + "/user", params={"q": "a b"}))
    seen["session get"] = outcome(session.get(API + "/user"))
    seen["calls"] = [(c.request.method, c.request.url) for c in responses.calls]
    seen["user agent sent"] = responses.calls[0].request.headers["User-Agent"].split("/")[0]

    responses.add(
        responses.POST,
        API + "/items",
        json={"created": True},
        status=201,
        match=[matchers.json_params_matcher({"name": "x"})],
    )
    seen["post matched"] = outcome(session.post(API + "/items", json={"name": "x"}))
    seen["post unmatched"] = raised(lambda: session.post(API + "/items", json={"name": "y"}))

    def echo(request: Any) -> tuple[int, dict[str, str], bytes]:
        return 202, {"X-Echo": "1"}, b"echo:" + (request.body or b"")

    responses.add_callback(responses.PUT, API + "/echo", callback=echo)
    seen["callback"] = outcome(session.put(API + "/echo", data=b"payload"))

    responses.add(
        responses.GET,
        API + "/login",
        body="ok",
        headers={"Set-Cookie": "sid=abc; Path=/"},
    )
    responses.add(responses.GET, API + "/me", body="me")
    seen["cookie set"] = outcome(session.get(API + "/login"))
    session.get(API + "/me")
    seen["cookie sent back"] = responses.calls[-1].request.headers.get("Cookie")
    seen["session cookies"] = sorted(session.cookies.get_dict().items())

    responses.add(responses.GET, API + "/stream", body=b"0123456789")
    streamed = session.get(API + "/stream", stream=True)
    seen["stream chunks"] = [c.decode() for c in streamed.iter_content(4)]

    responses.add(responses.GET, API + "/down", body=requests.exceptions.ConnectTimeout("mocked down"))
    seen["exception body"] = raised(lambda: session.get(API + "/down"))

    responses.add(responses.GET, API + "/missing", status=404, json={"error": "nope"})
    missing = session.get(API + "/missing")
    seen["404"] = [outcome(missing), raised(missing.raise_for_status)]

    responses.add(responses.GET, API + "/old", status=302, headers={"Location": API + "/new"})
    responses.add(responses.GET, API + "/new", body="moved here")
    seen["redirect"] = outcome(session.get(API + "/old"))

    seen["unregistered"] = raised(lambda: session.get(API + "/nothing-here"))

    responses.add_passthru(HTTPBIN)
    seen["passthrough"] = session.get(HTTPBIN + "/get", params={"p": "1"}).json()["args"]
    seen["call count"] = [responses.assert_call_count(API + "/user", 1), len(responses.calls)]
    return seen


def with_responses_retries() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    Retry = requests.packages.urllib3.util.retry.Retry
    with responses.RequestsMock(registry=registries.OrderedRegistry) as mock:
        for status in (500, 500, 200):
            mock.add(responses.GET, API + "/flaky", status=status, body=str(status))
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[500])))
        response = session.get(API + "/flaky")
        seen["retried to 200"] = [response.status_code, response.text, len(mock.calls)]
    with responses.RequestsMock(registry=registries.OrderedRegistry) as mock:
        for _ in range(3):
            mock.add(responses.GET, API + "/broken", status=500)
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=Retry(total=2, status_forcelist=[500])))
        seen["retries spent"] = [raised(lambda: session.get(API + "/broken")), len(mock.calls)]
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, API + "/busy", status=503, headers={"Retry-After": "0"})
        # An int: requests' own Retry (balrog's stand-in); a 503 with Retry-After is retried.
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=2))
        seen["int retries, retry-after"] = [raised(lambda: session.get(API + "/busy")), len(mock.calls)]
        plain = requests.Session()
        seen["default adapter, 503"] = [plain.get(API + "/busy").status_code, len(mock.calls)]
    return seen


def with_requests_mock() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with requests_mock.Mocker() as m:
        m.get(API + "/user", json={"id": 2}, status_code=201, headers={"X-Mock": "yes"})
        session = requests.Session()
        seen["module get"] = outcome(requests.get(API + "/user"))
        seen["session get"] = outcome(session.get(API + "/user", params={"a": "1"}))
        seen["history"] = [m.called, m.call_count, m.last_request.qs, m.last_request.method]

        m.post(API + "/items", text=lambda request, context: f"got {request.json()['n']}", status_code=201)
        seen["callback"] = outcome(session.post(API + "/items", json={"n": 5}))
        seen["posted"] = m.last_request.json()

        m.get(API + "/list", [{"text": "first"}, {"status_code": 500, "text": "second"}])
        seen["response list"] = [session.get(API + "/list").text, session.get(API + "/list").status_code]

        m.get(API + "/timeout", exc=requests.exceptions.ConnectTimeout)
        seen["exc"] = raised(lambda: session.get(API + "/timeout"))

        m.get(API + "/cookie", text="c", cookies={"token": "t1"})
        seen["cookies"] = sorted(session.get(API + "/cookie").cookies.items())

        m.get(API + "/stream", content=b"abcdefgh")
        seen["stream"] = [c.decode() for c in session.get(API + "/stream", stream=True).iter_content(3)]
        seen["unregistered"] = raised(lambda: session.get(API + "/nothing"))

    with requests_mock.Mocker(real_http=True) as m:
        m.get(API + "/only-this", text="mocked")
        session = requests.Session()
        seen["real http"] = [
            session.get(API + "/only-this").text,
            session.get(HTTPBIN + "/get", params={"r": "1"}).json()["args"],
        ]

    adapter = requests_mock.Adapter()
    session = requests.Session()
    session.mount("mock://", adapter)
    adapter.register_uri("GET", "mock://test.com/path", text="data", headers={"X-A": "1"})
    seen["adapter"] = outcome(session.get("mock://test.com/path"))
    return seen


def cached(response: Any) -> list[Any]:
    # Echo bodies name the client's own headers: their arguments are what must agree.
    body = response.json()["args"] if response.ok else response.text
    return [response.status_code, response.from_cache, body, [r.url for r in response.history]]


def with_requests_cache() -> dict[str, Any]:
    seen: dict[str, Any] = {}
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "cache")
    session = requests_cache.CachedSession(path, backend="sqlite", expire_after=300)
    seen["get twice"] = [cached(session.get(HTTPBIN + "/get", params={"a": "1"})) for _ in range(2)]
    seen["other params"] = cached(session.get(HTTPBIN + "/get", params={"a": "2"}))
    seen["post not cached"] = [session.post(HTTPBIN + "/post", data=b"x").from_cache for _ in range(2)]
    seen["redirect"] = [cached(session.get(HTTPBIN + "/redirect/2")) for _ in range(2)]
    streamed = []
    for _ in range(2):
        response = session.get(HTTPBIN + "/bytes/3000", stream=True)
        streamed.append([response.from_cache, len(b"".join(response.iter_content(512)))])
    seen["stream"] = streamed
    seen["404 not cached"] = [cached(session.get(HTTPBIN + "/status/404"))[:2] for _ in range(2)]
    seen["cache keys"] = len(list(session.cache.responses.keys()))
    session.cache.clear()
    seen["after clear"] = cached(session.get(HTTPBIN + "/get", params={"a": "1"}))[:2]

    requests_cache.install_cache(backend="memory")
    try:
        seen["installed globally"] = [
            requests.get(HTTPBIN + "/get").from_cache,
            requests.get(HTTPBIN + "/get").from_cache,
            type(requests.Session()).__name__,
        ]
    finally:
        requests_cache.uninstall_cache()
    seen["uninstalled"] = type(requests.Session()).__name__
    return seen


def main() -> dict[str, Any]:
    return {
        "responses": with_responses(),
        "responses retries": with_responses_retries(),
        "requests_mock": with_requests_mock(),
        "requests_cache": with_requests_cache(),
    }


if __name__ == "__main__":
    if MODE == "balrog-green":
        import balrog

        result = balrog.run(main)
    else:
        result = main()
    print(json.dumps(result, sort_keys=True, default=repr))
