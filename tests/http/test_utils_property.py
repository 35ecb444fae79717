"""Property-based differential test of ``requests.utils``: the helpers code calls directly
(header parsing, URL quoting, proxy selection, JSON encoding guesses...) must return what
requests' return, or raise the same exception class, for generated inputs.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

import pytest
import requests.utils as theirs
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import balrog.requests.utils as ours

# Characters that matter to the parsers, and a few others.
PIECES = st.text(alphabet=st.sampled_from(list("ab Z09=;,\"\\'<>/:@?#%&+~-._ \tüé\r\n*[]{}()")), max_size=24)
URLS = st.builds(
    lambda scheme, auth, host, port, rest: scheme + auth + host + port + rest,
    st.sampled_from(["http://", "https://", "", "socks5://", "HTTP://", "//"]),
    st.sampled_from(["", "u@", "u:p@", "%75:%70@", "ü:é@", ":@"]),
    st.sampled_from(["example.com", "EXAMPLE.com", "127.0.0.1", "[::1]", "bücher.de", "", "a_b"]),
    st.sampled_from(["", ":80", ":8080", ":", ":x"]),
    PIECES,
)
PROXIES = st.dictionaries(
    st.sampled_from(["http", "https", "all", "http://example.com", "all://example.com", "https://127.0.0.1"]),
    st.sampled_from(["http://proxy:3128", "socks5://p:1080", "", "http://other"]),
    max_size=4,
)


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        result = fn(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__)
    if isinstance(result, (list, tuple)) and not isinstance(result, str):
        return [tuple(item) if isinstance(item, list) else item for item in result]
    if isinstance(result, dict):
        return dict(result)
    return result


def same(name: str, *args: Any) -> None:
    assert outcome(getattr(ours, name), *args) == outcome(getattr(theirs, name), *args), (name, args)


@pytest.mark.filterwarnings("ignore:In requests 3.0:DeprecationWarning")
@settings(max_examples=300, deadline=None)
@given(value=PIECES)
@pytest.mark.parametrize(
    "name",
    [
        "parse_dict_header",
        "parse_list_header",
        "parse_header_links",
        "unquote_header_value",
        "requote_uri",
        "unquote_unreserved",
        "get_encodings_from_content",
        "is_ipv4_address",
        "is_valid_cidr",
        "to_native_string",
    ],
)
def test_string_helpers_as_requests(name: str, value: str) -> None:
    same(name, value)


@settings(max_examples=300, deadline=None)
@given(url=URLS)
@pytest.mark.parametrize("name", ["get_auth_from_url", "urldefragauth", "requote_uri"])
def test_url_helpers_as_requests(name: str, url: str) -> None:
    same(name, url)


@settings(max_examples=300, deadline=None)
@given(url=URLS, scheme=st.sampled_from(["http", "https"]))
def test_prepend_scheme_as_requests(url: str, scheme: str) -> None:
    # requests crashes on userinfo without a host ("http://h@": TypeError joining None).
    assume(outcome(theirs.prepend_scheme_if_needed, url, scheme) != ("raised", "TypeError"))
    same("prepend_scheme_if_needed", url, scheme)


@settings(max_examples=300, deadline=None)
@given(url=URLS, proxies=PROXIES)
def test_select_proxy_as_requests(url: str, proxies: dict[str, str]) -> None:
    same("select_proxy", url, proxies)


@settings(max_examples=300, deadline=None)
@given(
    content_type=PIECES
    | st.sampled_from(["text/html; charset=UTF-8", "application/json", 'text/x; charset="a"'])
)
def test_encoding_from_headers_as_requests(content_type: str) -> None:
    same("get_encoding_from_headers", {"content-type": content_type})


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=6),
    codec=st.sampled_from(
        ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
    ),
)
def test_guess_json_utf_as_requests(text: str, codec: str) -> None:
    data = (
        ('"' + text + '"').encode(codec, "surrogatepass")
        if text.isprintable()
        else text.encode(codec, "replace")
    )
    same("guess_json_utf", data)
    same("guess_json_utf", data[:3])
    same("guess_json_utf", codecs.BOM_UTF8 + data[:2])


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.none(),
        st.dictionaries(PIECES, PIECES, max_size=3),
        st.lists(st.tuples(PIECES, PIECES), max_size=3),
        PIECES,
        st.integers(),
    )
)
@pytest.mark.parametrize("name", ["to_key_val_list", "from_key_val_list"])
def test_key_val_helpers_as_requests(name: str, value: Any) -> None:
    same(name, value)


@settings(max_examples=300, deadline=None)
@given(header=st.tuples(PIECES | st.binary(max_size=6), PIECES | st.binary(max_size=6) | st.integers()))
def test_check_header_validity_as_requests(header: tuple[Any, Any]) -> None:
    same("check_header_validity", header)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40) | PIECES, size=st.integers(1, 9))
def test_iter_slices_as_requests(data: Any, size: int) -> None:
    assert list(ours.iter_slices(data, size)) == list(theirs.iter_slices(data, size))


# Proxy selection from the environment: requests reads the proxy variables (urllib's
# getproxies) and NO_PROXY each call; both libraries see the same generated environment.
NO_PROXY = st.lists(
    st.sampled_from(
        [
            "127.0.0.1",
            "localhost",
            ".example.com",
            "example.com",
            "*",
            "127.8.0.0/16",
            "127.0.0.0/24",
            "::1",
            "[::1]",
            "example.com:8080",
            " spaced.org ",
            "",
            "bücher.de",
        ]
    ),
    max_size=4,
).map(",".join)
ENV_URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["http://", "https://", "ftp://", "HTTP://"]),
    st.sampled_from(
        [
            "example.com",
            "sub.example.com",
            "127.0.0.1",
            "127.0.0.5",
            "127.8.1.2",
            "[::1]",
            "localhost",
            "other.org",
            "spaced.org",
            "bücher.de",
        ]
    ),
    st.sampled_from(["", ":8080", ":80"]),
    st.sampled_from(["", "/", "/p?q=1"]),
)


@settings(max_examples=300, deadline=None)
@given(
    url=ENV_URLS,
    no_proxy_env=st.none() | NO_PROXY,
    no_proxy_arg=st.none() | NO_PROXY,
    proxies=st.dictionaries(
        st.sampled_from(["http_proxy", "HTTPS_PROXY", "all_proxy", "ftp_proxy"]),
        st.sampled_from(["http://proxy:3128", "socks5://p:1080"]),
        max_size=3,
    ),
)
def test_environment_proxies_as_requests(
    url: str, no_proxy_env: str | None, no_proxy_arg: str | None, proxies: dict[str, str]
) -> None:
    import os

    saved = {k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")}
    try:
        for key in saved:
            del os.environ[key]
        os.environ.update(proxies)
        if no_proxy_env is not None:
            os.environ["no_proxy"] = no_proxy_env
        same("should_bypass_proxies", url, no_proxy_arg)
        same("get_environ_proxies", url, no_proxy_arg)
    finally:
        for key in [k for k in os.environ if k.lower().endswith("_proxy")]:
            del os.environ[key]
        os.environ.update(saved)
