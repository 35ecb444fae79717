"""Bad input refused with requests' exception *and words*: the same call through requests
and balrog.requests, the class and the message compared (test_differential.py compares
the classes of many more cases). Found by a differential probe of ~100 edge cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

import balrog.requests as brequests

pytestmark = pytest.mark.both_modes


def words(lib: Any, call: Callable[[Any], Any], base: str) -> tuple[str, str]:
    try:
        call(lib)
    except Exception as exc:
        return type(exc).__name__, str(exc).replace(base, "BASE")
    return "no error", ""


SENT: list[tuple[str, Callable[[Any, str], Any]]] = [
    # urllib3's Timeout checks (0 is refused; a pair with a bad value is a bad pair).
    ("timeout 0", lambda r, u: r.get(u + "/get", timeout=0)),
    ("timeout negative", lambda r, u: r.get(u + "/get", timeout=-1)),
    ("timeout str", lambda r, u: r.get(u + "/get", timeout="1")),
    ("timeout list", lambda r, u: r.get(u + "/get", timeout=[1, 2])),
    ("timeout bool", lambda r, u: r.get(u + "/get", timeout=True)),
    ("timeout pair with 0", lambda r, u: r.get(u + "/get", timeout=(0, 1))),
    ("timeout pair with str", lambda r, u: r.get(u + "/get", timeout=(1, "x"))),
    # urllib3's check of the method at putrequest, let through by requests.
    ("method with space", lambda r, u: r.request("GE T", u + "/get")),
    ("method with newline", lambda r, u: r.request("GET\r\nX: 1", u + "/get")),
    ("method non-ASCII", lambda r, u: r.request("GÉT", u + "/get")),
    # A body neither bytes-like, file-like nor iterable.
    ("data int", lambda r, u: r.post(u + "/post", data=5)),
    ("data float", lambda r, u: r.post(u + "/post", data=1.5)),
    # The client certificate's files are checked whatever the scheme.
    ("cert missing on http", lambda r, u: r.get(u + "/get", cert="/nonexistent/client.pem")),
    ("cert key missing on http", lambda r, u: r.get(u + "/get", cert=(__file__, "/nonexistent/key.pem"))),
]


@pytest.mark.parametrize(("name", "call"), SENT, ids=[name for name, _ in SENT])
def test_same_words_when_sending(httpbin: Any, name: str, call: Callable[[Any, str], Any]) -> None:
    theirs = words(requests, lambda lib: call(lib, httpbin.url), httpbin.url)
    assert theirs[0] != "no error"
    assert words(brequests, lambda lib: call(lib, httpbin.url), httpbin.url) == theirs


URLS = [
    # urllib3 2.8's words for an authority it cannot read.
    "http://127.0.0.1:abc/",
    "http://[::1/",
    "http://[::1]x/",
    "http://[::1]:80x/",
    "http://[zz]/",
    "http://h::80/",
    "http://h:80:80/",
    "http://h:+80/",
    "http://h: 80/",
    "http://h:1e3/",
    "http://h:\uff18\uff10/",  # full-width digits are not a port
    "http://h:99999/",
    "http://h:000000080/",
    "http://a%zzb/",
    "http://a%2/",
    "http://a%00b/",  # a percent-encoded control character in a host
    "http://a%2Fb/",  # escapes in a host upper-cased, unreserved ones decoded
    "http://A%2fB%41/",
    "http://a b/",
]


@pytest.mark.parametrize("url", URLS)
def test_same_words_when_preparing(url: str) -> None:
    def prepare(lib: Any) -> Any:
        return lib.Request("GET", url).prepare().url

    try:
        theirs: Any = ("ok", prepare(requests))
    except Exception as exc:
        theirs = (type(exc).__name__, str(exc))
    try:
        ours: Any = ("ok", prepare(brequests))
    except Exception as exc:
        ours = (type(exc).__name__, str(exc))
    assert ours == theirs


def outcome_class(lib: Any, call: Callable[[Any], Any]) -> Any:
    try:
        response = call(lib)
    except Exception as exc:
        return [c.__name__ for c in type(exc).__mro__ if c.__module__.endswith("exceptions")]
    # The echo endpoints show the client's own Accept-Encoding: the length of a HEAD's body.
    return response.status_code, response.content if response.request.method == "HEAD" else "body"


# Found by a second probe (~680 cases): the classes, and for a response its body.
MORE: list[tuple[str, Callable[[Any, str], Any]]] = [
    # An empty body naming its coding (HEAD, 304): no stream to decode, b"" (was
    # ContentDecodingError for gzip and brotli).
    ("head gzip", lambda r, u: r.head(u + "/gzip")),
    ("head brotli", lambda r, u: r.head(u + "/brotli")),
    ("head deflate", lambda r, u: r.head(u + "/deflate")),
    ("head zstd", lambda r, u: r.head(u + "/zstd")),
    # urllib3 Timeout objects with `total` (their read_timeout needs a started timer).
    ("urllib3 total", lambda r, u: r.get(u + "/get", timeout=_urllib3_timeout(total=5))),
    (
        "urllib3 total bounds reads",
        lambda r, u: r.get(u + "/delay/2", timeout=_urllib3_timeout(total=0.3, read=5)),
    ),
    ("urllib3 connect only", lambda r, u: r.get(u + "/get", timeout=_urllib3_timeout(connect=5))),
    # A proxy URL urllib3 refuses is an error, never a direct connection.
    ("proxy with another scheme", lambda r, u: r.get(u + "/get", proxies={"http": "ftp://127.0.0.1:9"})),
    ("proxy with leading blanks", lambda r, u: r.get(u + "/get", proxies={"http": "  http://127.0.0.1:9"})),
    # https:// on a plain HTTP server: OpenSSL's WRONG_VERSION_NUMBER, an SSLError.
    ("https on a plain server", lambda r, u: r.get(u.replace("http://", "https://") + "/get", verify=False)),
]


def _urllib3_timeout(**kwargs: Any) -> Any:
    import urllib3

    return urllib3.Timeout(**kwargs)


@pytest.mark.parametrize(("name", "call"), MORE, ids=[name for name, _ in MORE])
def test_same_outcome_class(httpbin: Any, name: str, call: Callable[[Any, str], Any]) -> None:
    theirs = outcome_class(requests, lambda lib: call(lib, httpbin.url))
    assert outcome_class(brequests, lambda lib: call(lib, httpbin.url)) == theirs
    if name.startswith("proxy"):
        assert words(brequests, lambda lib: call(lib, httpbin.url), httpbin.url) == words(
            requests, lambda lib: call(lib, httpbin.url), httpbin.url
        )
