"""Bad input and faults: each gives requests' exception or behaviour, never a hang or panic."""

from __future__ import annotations

import resource
from typing import Any

import pytest
import requests as real_requests

import balrog.requests as requests
from balrog.requests import exceptions as exc
from support.net import unanswered_port

pytestmark = pytest.mark.both_modes


def test_exception_hierarchy() -> None:
    assert issubclass(exc.RequestException, OSError)
    assert issubclass(exc.ConnectTimeout, exc.ConnectionError)
    assert issubclass(exc.ConnectTimeout, exc.Timeout)
    assert issubclass(exc.ReadTimeout, exc.Timeout)
    assert not issubclass(exc.ReadTimeout, exc.ConnectionError)
    assert issubclass(exc.SSLError, exc.ConnectionError)
    assert issubclass(exc.ProxyError, exc.ConnectionError)
    for cls in (exc.InvalidURL, exc.MissingSchema, exc.InvalidSchema, exc.InvalidHeader):
        assert issubclass(cls, ValueError)
    assert issubclass(exc.InvalidProxyURL, exc.InvalidURL)
    assert issubclass(exc.JSONDecodeError, ValueError)
    assert issubclass(exc.StreamConsumedError, TypeError)
    assert requests.ConnectionError is exc.ConnectionError


def test_connect_refused_has_request() -> None:
    with pytest.raises(requests.ConnectionError) as info:
        requests.get("http://127.0.0.1:9/path")
    assert info.value.request is not None
    assert info.value.request.url == "http://127.0.0.1:9/path"
    assert "Max retries exceeded" in str(info.value)


def test_read_timeout(httpbin: Any) -> None:
    with pytest.raises(requests.ReadTimeout) as info:
        requests.get(httpbin("/delay/2"), timeout=0.2)
    assert isinstance(info.value, requests.Timeout)
    assert info.value.request is not None


def test_read_timeout_mid_body_is_connection_error(httpbin: Any) -> None:
    # requests turns a read timeout while streaming the body into ConnectionError.
    with pytest.raises(requests.ConnectionError):
        requests.get(httpbin("/slow-body/2"), timeout=(1, 0.2))


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_connect_timeout_blackhole(scheme: str) -> None:
    # A listening socket whose accept backlog is full: SYNs go unanswered.
    with unanswered_port() as port:
        # requests says ConnectTimeout (urllib3's ConnectTimeoutError), for the connect
        # timeout alone; so does balrog, with and without a pooled connection to reuse.
        # (HTTPS goes through reqwest, with the connect timeout passed per request.)
        raised = []
        session = requests.Session()
        for lib in (real_requests, requests, session, session):
            with pytest.raises(Exception) as info:
                lib.get(f"{scheme}://127.0.0.1:{port}/", timeout=(0.3, 5))
            raised.append((type(info.value).__name__, "Max retries exceeded" in str(info.value)))
        assert raised == [("ConnectTimeout", True)] * 4


def test_server_closes_mid_body(httpbin: Any) -> None:
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(httpbin("/close-mid-body"))


def test_server_closes_mid_body_streamed(httpbin: Any) -> None:
    response = requests.get(httpbin("/close-mid-body"), stream=True)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for _ in response.iter_content(10):
            pass


def test_no_response_is_connection_error(httpbin: Any) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(httpbin("/no-response"))


def test_redirect_loop(httpbin: Any) -> None:
    with pytest.raises(requests.TooManyRedirects) as info:
        requests.get(httpbin("/loop"))
    assert info.value.response is not None
    assert info.value.response.status_code == 302
    assert len(info.value.response.history) == 30


def test_invalid_json(httpbin: Any) -> None:
    response = requests.get(httpbin("/bad-json"))
    with pytest.raises(requests.JSONDecodeError) as info:
        response.json()
    assert isinstance(info.value, ValueError)
    assert info.value.pos == 1
    assert info.value.doc == "{not json"


@pytest.mark.parametrize(
    "url,error",
    [
        ("127.0.0.1/get", exc.MissingSchema),
        ("ftp://127.0.0.1/", exc.InvalidSchema),
        ("http:///nohost", exc.InvalidURL),
        ("http://*.bad/", exc.InvalidURL),
        ("http://127.0.0.1:99999/", exc.InvalidURL),
        ("http://[::1/", exc.InvalidURL),
        ("", exc.MissingSchema),
    ],
)
def test_bad_urls(url: str, error: type) -> None:
    with pytest.raises(error):
        requests.get(url)


@pytest.mark.parametrize("value", ["a\r\nb", " leading", "x\n", 1, None.__class__])
def test_bad_header_values(httpbin: Any, value: Any) -> None:
    with pytest.raises(exc.InvalidHeader):
        requests.get(httpbin("/get"), headers={"X-Bad": value})


def test_unencodable_header_value(httpbin: Any) -> None:
    with pytest.raises(UnicodeEncodeError):
        requests.get(httpbin("/get"), headers={"X-Snowman": "☃"})


def test_unknown_length_body(httpbin: Any) -> None:
    response = requests.get(httpbin("/unknown-length"))
    assert response.content == b"until the end" * 100


def test_bad_gzip(httpbin: Any) -> None:
    with pytest.raises(exc.ContentDecodingError):
        requests.get(httpbin("/bad-gzip"))


def test_stream_consumed_twice(httpbin: Any) -> None:
    response = requests.get(httpbin("/bytes/100"), stream=True)
    list(response.iter_content(10))
    with pytest.raises(exc.StreamConsumedError):
        list(response.iter_content(10))


def test_large_streamed_download_keeps_memory_flat(httpbin: Any) -> None:
    size = 1 << 30
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    total = 0
    with requests.get(httpbin(f"/large/{size}"), stream=True) as response:
        for chunk in response.iter_content(chunk_size=1 << 20):
            total += len(chunk)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert total == size
    assert grown_kib < 64 * 1024, f"memory grew by {grown_kib} KiB while streaming 1 GiB"


def test_retries_on_refused_connection() -> None:
    with requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=2))
        with pytest.raises(requests.ConnectionError):
            session.get("http://127.0.0.1:9/")


def test_retry_status_forcelist(httpbin: Any) -> None:
    retry = requests.adapters.Retry(total=2, status_forcelist=[503], backoff_factor=0)
    with requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
        with pytest.raises(exc.RetryError):
            session.get(httpbin("/status/503"))
