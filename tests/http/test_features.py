"""Features beyond a single exchange: streaming, sessions, hooks, adapters, proxies, IPv6."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest

import balrog
import balrog.requests as requests
from balrog.requests.structures import CaseInsensitiveDict

pytestmark = pytest.mark.both_modes


def test_iter_content_sizes(httpbin: Any) -> None:
    response = requests.get(httpbin("/bytes/10000"), stream=True)
    chunks = list(response.iter_content(chunk_size=1024))
    assert [len(c) for c in chunks[:-1]] == [1024] * 9
    assert len(chunks[-1]) == 10000 - 9 * 1024
    assert b"".join(chunks) == requests.get(httpbin("/bytes/10000")).content


def test_iter_lines(httpbin: Any) -> None:
    response = requests.get(httpbin("/stream/20"), stream=True)
    lines = [line for line in response.iter_lines() if line]
    assert len(lines) == 20
    assert lines[3].startswith(b'{"id": 3')


def test_iter_lines_decode_unicode(httpbin: Any) -> None:
    response = requests.get(httpbin("/encoding?charset=utf-8"), stream=True)
    text = "".join(response.iter_lines(decode_unicode=True))
    assert "Grüße" in text


def test_raw_read(httpbin: Any) -> None:
    response = requests.get(httpbin("/gzip"), stream=True)
    raw = response.raw.read(10)
    assert raw[:2] == b"\x1f\x8b"  # still gzip: raw.read() does not decode by default
    rest = response.raw.read()
    import gzip
    import json

    assert json.loads(gzip.decompress(raw + rest))["gzipped"] is True


def test_raw_read_decoded(httpbin: Any) -> None:
    response = requests.get(httpbin("/gzip"), stream=True)
    assert b'"gzipped": true' in response.raw.read(decode_content=True)


def test_stream_then_content(httpbin: Any) -> None:
    response = requests.get(httpbin("/bytes/3000"), stream=True)
    assert len(response.content) == 3000
    assert len(list(response.iter_content(1000))) == 3


def test_stream_close_early_then_reuse(httpbin: Any) -> None:
    with requests.Session() as session:
        for _ in range(3):
            response = session.get(httpbin(f"/large/{10 << 20}"), stream=True)
            next(response.iter_content(1024))
            response.close()
        assert session.get(httpbin("/get")).status_code == 200


def test_zstd_and_brotli(httpbin: Any) -> None:
    assert requests.get(httpbin("/zstd")).json()["zstd"] is True
    assert requests.get(httpbin("/brotli")).json()["brotli"] is True
    response = requests.get(httpbin("/zstd"))
    assert response.headers["Content-Encoding"] == "zstd"


def test_response_attributes(httpbin: Any) -> None:
    response = requests.get(httpbin("/get"))
    assert response.ok and bool(response)
    assert isinstance(response.headers, CaseInsensitiveDict)
    assert response.headers["content-type"] == response.headers["CONTENT-TYPE"]
    assert response.elapsed.total_seconds() > 0
    assert response.apparent_encoding in ("ascii", "utf-8")
    assert repr(response) == "<Response [200]>"
    assert response.raw.status == 200
    assert requests.codes.ok == 200 and requests.codes["not_found"] == 404
    with response as same:
        assert same is response


def test_response_pickle(httpbin: Any) -> None:
    response = requests.get(httpbin("/get"))
    clone = pickle.loads(pickle.dumps(response))
    assert clone.status_code == 200 and clone.content == response.content


def test_session_pickle() -> None:
    session = requests.Session()
    session.headers["X"] = "1"
    clone = pickle.loads(pickle.dumps(session))
    assert clone.headers["X"] == "1"


def test_hooks_can_replace_response(httpbin: Any) -> None:
    calls = []

    def hook(response: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("timeout"))
        return response

    with requests.Session() as session:
        session.hooks["response"].append(hook)
        session.get(httpbin("/get"), timeout=5)
    assert calls == [5]


def test_mount_longest_prefix(httpbin: Any) -> None:
    class Marking(requests.adapters.HTTPAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            response = super().send(request, **kwargs)
            response.headers["X-Adapter"] = "marking"
            return response

    with requests.Session() as session:
        session.mount(httpbin.url + "/get", Marking())
        assert session.get(httpbin("/get")).headers["X-Adapter"] == "marking"
        assert "X-Adapter" not in session.get(httpbin("/headers")).headers
        assert next(iter(session.adapters)) == httpbin.url + "/get"


def test_proxy_http(httpbin: Any) -> None:
    # The httpbin server answers absolute-form requests itself: it acts as the proxy.
    response = requests.get("http://proxied.invalid/get?x=1", proxies={"http": httpbin.url})
    assert response.json()["args"] == {"x": "1"}
    assert response.json()["headers"]["Host"] == "proxied.invalid"


def test_proxy_from_environment(httpbin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", httpbin.url)
    response = requests.get("http://from-env.invalid/get")
    assert response.json()["headers"]["Host"] == "from-env.invalid"
    monkeypatch.setenv("NO_PROXY", "from-env.invalid")
    with pytest.raises(requests.ConnectionError):
        requests.get("http://from-env.invalid/get", timeout=2)


def test_proxy_trust_env_off(httpbin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with requests.Session() as session:
        session.trust_env = False
        assert session.get(httpbin("/get")).status_code == 200


def test_ipv6(httpbin_ipv6: Any) -> None:
    response = requests.get(httpbin_ipv6("/get"))
    assert response.status_code == 200
    assert response.url.startswith("http://[::1]:")


def test_chunked_upload_generator(httpbin: Any) -> None:
    def body() -> Any:
        yield b"abc"
        yield "déf"

    response = requests.post(httpbin("/post"), data=body())
    assert response.json()["data"] == "abcdéf"
    assert response.json()["headers"]["Transfer-Encoding"] == "chunked"


def test_file_upload_content_length(httpbin: Any) -> None:
    response = requests.put(httpbin("/put"), data=io.BytesIO(b"x" * 1000))
    assert response.json()["headers"]["Content-Length"] == "1000"


def test_large_post(httpbin: Any) -> None:
    payload = b"p" * (10 << 20)
    response = requests.post(
        httpbin("/post"), data=payload, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.json()["body_length"] == len(payload)


def test_netrc(httpbin: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert requests.get(httpbin("/basic-auth/user/pass")).status_code == 200


def test_auth_stripped_on_host_change(httpbin: Any, httpbin_ipv6: Any) -> None:
    target = httpbin_ipv6("/headers")
    response = requests.get(httpbin(f"/redirect-to?url={target}"), auth=("u", "p"))
    assert "Authorization" not in response.json()["headers"]
    same_host = requests.get(httpbin("/redirect-to?url=/headers"), auth=("u", "p"))
    assert same_host.json()["headers"]["Authorization"].startswith("Basic ")


def test_next_and_history(httpbin: Any) -> None:
    with requests.Session() as session:
        first = session.get(httpbin("/redirect/2"), allow_redirects=False)
        assert first.is_redirect and first.next is not None
        second = session.send(first.next, allow_redirects=False)
        assert second.status_code == 302


def test_prepared_request_roundtrip(httpbin: Any) -> None:
    request = requests.Request("POST", httpbin("/post"), data={"a": "1"}, params={"q": "x"})
    prepared = request.prepare()
    assert prepared.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert prepared.body == "a=1"
    assert prepared.path_url == "/post?q=x"
    copy = prepared.copy()
    with requests.Session() as session:
        assert session.send(copy).json()["form"] == {"a": "1"}


def test_custom_auth_callable(httpbin: Any) -> None:
    class Token(requests.auth.AuthBase):
        def __call__(self, r: Any) -> Any:
            r.headers["X-Token"] = "secret"
            return r

    assert requests.get(httpbin("/headers"), auth=Token()).json()["headers"]["X-Token"] == "secret"


def test_shared_session_across_threads(httpbin: Any) -> None:
    if balrog.mode() == "green":
        pytest.skip("threads are a blocking-mode concern")
    from concurrent.futures import ThreadPoolExecutor

    with requests.Session() as session, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda i: session.get(httpbin(f"/get?i={i}")).json()["args"]["i"], range(64))
        )
    assert statuses == [str(i) for i in range(64)]


def test_green_fan_out(httpbin: Any) -> None:
    if balrog.mode() != "green":
        pytest.skip("fan-out of green tasks")
    with requests.Session() as session:
        results = balrog.gather(
            *[lambda i=i: session.get(httpbin(f"/delay/0.2?i={i}")).json()["args"]["i"] for i in range(20)]
        )
    assert results == [str(i) for i in range(20)]


def test_header_names_keep_their_usual_spelling(httpbin: Any) -> None:
    # hyper lowercases HTTP/1 header names; balrog shows them as servers usually spell
    # them, which for this server (sending these spellings) is what requests shows.
    import requests as real_requests

    names = ["ETag", "WWW-Authenticate", "X-RateLimit-Limit", "Content-MD5", "X-Custom-Thing"]
    url = httpbin("/response-headers?" + "&".join(f"{name}=1" for name in names))

    def shown(lib: Any) -> list[str]:
        return [
            name for name in lib.get(url).headers if name in names or name.lower() in map(str.lower, names)
        ]

    assert shown(requests) == shown(real_requests)
