"""Property-based differential test of request preparation: ``Request(...).prepare()`` in
balrog.requests and in requests, for generated URLs (IDNA hosts, IPv6, ports, userinfo,
unicode and percent-encoded paths), params, bodies, JSON, headers and auth, must give the
same method, URL, headers and body, or fail with the same exception class.

Nothing goes on the wire: preparation is requests' pure-Python half, which balrog
reimplements (models.py), so every difference found here is one a user would see.
"""

from __future__ import annotations

from typing import Any

import requests as upstream
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import balrog.requests as ours

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=0x20, max_codepoint=0x2FF), max_size=8
)
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)

# Characters that matter to URL parsing, and a few others.
URL_TEXT = st.text(alphabet=st.sampled_from(list("aZ09-._~!$&'()*+,;=:@/?#[]% \"<>\\^`{|}üé€\t")), max_size=6)

HOSTS = st.sampled_from(
    [
        "example.com",
        "EXAMPLE.com",
        "127.0.0.1",
        "[::1]",
        "[2001:db8::1]",
        "bücher.example",
        "xn--bcher-kva.example",
        "ünïcödé.テスト",
        "a.b-c.d",
        "localhost",
        "",
        "exa mple.com",
        "*.example.com",
        "example.com.",
    ]
)
PATH_PARTS = st.sampled_from(
    ["", "/", "/a b", "/a/../b", "/./c/.", "/ü", "/%20", "/%zz", "/?", "/#", "/;p=1", "/~user", "/%E2%82%AC"]
)


@st.composite
def urls(draw: Any) -> str:
    scheme = draw(st.sampled_from(["http://", "https://", "HTTP://", "", "ftp://", "http:/"]))
    userinfo = draw(st.sampled_from(["", "user@", "user:pass@", "ü:p@", ":@", "%41:%zz@", "a b:c@"]))
    host = draw(HOSTS | URL_TEXT)
    port = draw(st.sampled_from(["", ":80", ":8080", ":0", ":65536", ":x"]))
    path = draw(st.lists(PATH_PARTS | URL_TEXT.map(lambda t: "/" + t), max_size=3).map("".join))
    query = draw(
        st.sampled_from(["", "?", "?a=1", "?a=1&a=2", "?ü=ö", "?x=%20y", "?a b=c"])
        | URL_TEXT.map(lambda t: "?" + t)
    )
    fragment = draw(st.sampled_from(["", "#frag", "#ü"]) | URL_TEXT.map(lambda t: "#" + t))
    return scheme + userinfo + host + port + path + query + fragment


SCALARS = st.one_of(TEXT, st.binary(max_size=6), st.integers(-5, 5), st.none())
PARAMS = st.one_of(
    st.none(),
    st.dictionaries(TEXT, st.one_of(SCALARS, st.lists(SCALARS, max_size=3)), max_size=3),
    st.lists(st.tuples(TEXT, SCALARS), max_size=3),
    TEXT,
    st.binary(max_size=8),
)
DATA = st.one_of(
    st.none(),
    st.dictionaries(TEXT, st.one_of(TEXT, st.lists(TEXT, max_size=2)), max_size=3),
    st.lists(st.tuples(TEXT, TEXT), max_size=3),
    ANY_TEXT,
    st.binary(max_size=8),
)
JSON = st.one_of(
    st.none(),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=6,
    ),
)
HEADER_NAMES = st.sampled_from(
    ["X-Test", "x-test", "Content-Type", "Accept", "X Bad", " X-Lead", "X-Ü", b"X-Bytes"]
)
HEADER_VALUES = st.one_of(
    st.sampled_from(["v", "", " lead", "trail ", "a\nb", "a\r\nb", "ü", "a\tb", b"bytes", 5, None]),
    TEXT,
)
HEADERS = st.one_of(st.none(), st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=3))
AUTH = st.one_of(st.none(), st.tuples(TEXT, TEXT), st.tuples(st.binary(max_size=4), st.binary(max_size=4)))
METHODS = st.sampled_from(["GET", "get", "POST", "PUT", "patch", "DELETE", "HEAD", "OPTIONS", "PROPFIND"])


def prepared(lib: Any, kwargs: dict[str, Any]) -> Any:
    try:
        request = lib.Request(**kwargs).prepare()
    except Exception as exc:
        # The exception's class and requests' bases, by name (the two trees are separate).
        return ("raised", [c.__name__ for c in type(exc).__mro__ if c.__module__ != "builtins"][:3])
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    return (request.method, request.url, dict(request.headers), body)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=METHODS,
    url=urls(),
    params=PARAMS,
    data=DATA,
    json=JSON,
    headers=HEADERS,
    auth=AUTH,
)
@example(
    method="GET",
    url="http://bücher.example/ü?q=1",
    params={"a": "ö"},
    data=None,
    json=None,
    headers=None,
    auth=None,
)
def test_prepare_as_requests(
    method: str, url: str, params: Any, data: Any, json: Any, headers: Any, auth: Any
) -> None:
    kwargs = {
        "method": method,
        "url": url,
        "params": params,
        "data": data,
        "json": json,
        "headers": headers,
        "auth": auth,
    }
    assert prepared(ours, kwargs) == prepared(upstream, kwargs)
