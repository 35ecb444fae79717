"""The fused path of ``Session.request`` for plain requests.

Most calls are ``session.get(url)`` with nothing but a timeout: no per-request headers,
params, body, cookies, auth, proxies or hooks, and a session still holding requests'
defaults. For those, the general pipeline (Request → prepare_request → merge settings →
adapter → Response) computes the same answers every time. Here they are computed once and
cached, the request goes out in one native call, and the Response is built with its
expensive attributes (``request``, ``raw``, ``encoding``, ``elapsed``) made on first access,
from the values the general path would have used at send time.

Whatever this path does not handle makes ``send_plain`` return None *before* anything is
sent, and the caller takes the general path. The cached session defaults are keyed on the
header store's contents, so mutating ``session.headers`` (or replacing it) is noticed on the
next request; the other session attributes are read on every call.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from datetime import timedelta
from time import perf_counter
from typing import Any

from greenlet import getcurrent

from balrog._bridge import GreenTask, wait

from ._raw import RawResponse
from .adapters import HTTPAdapter, _explain, _timeouts
from .cookies import RequestsCookieJar, extract_cookies_to_jar
from .exceptions import InvalidHeader, RequestException
from .models import _LAZY_ATTRIBUTES, _URL_CACHE, REDIRECT_STATI, PreparedRequest, Response
from .structures import CaseInsensitiveDict
from .utils import _netrc_paths, get_encoding_from_headers, get_environ_proxies, get_netrc_auth

# Only body-less methods that get no Content-Length: 0 from prepare_body.
_PLAIN_METHODS = {"GET": "GET", "get": "GET", "HEAD": "HEAD", "head": "HEAD"}

_ENVIRON_DATA = getattr(os.environ, "_data", None)
# Everything in the environment that merge_environment_settings and prepare_request read.
_ENV_NAMES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUEST_METHOD",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)
_ENV_KEYS = tuple(map(os.fsencode, _ENV_NAMES))
# (environment snapshot, scheme, host) → the ``verify`` merge_environment_settings gives
# (True, or the CA bundle path from the environment), or None when the environment has a
# proxy for the request.
_env_verdicts: dict[tuple[Any, ...], Any] = {}

# Classes whose request-path methods are Session's own (a subclass may override them).
_plain_classes: dict[type, bool] = {}
_SESSION_METHODS = ("prepare_request", "merge_environment_settings", "send", "get_adapter")


def _environment_snapshot() -> tuple[Any, ...]:
    if _ENVIRON_DATA is None:
        return tuple(map(os.environ.get, _ENV_NAMES))
    # One C-level pass over CPython's byte-keyed store: nothing decoded per request.
    return tuple(map(_ENVIRON_DATA.get, _ENV_KEYS))


def _environment_verify(url: str) -> Any:
    """``verify`` as trust_env makes it, or None when the environment changes more than that
    (a proxy for the URL, netrc credentials for its host)."""
    snapshot = _environment_snapshot()
    key = (snapshot, *url.split("/", 3)[:3])
    verify = _env_verdicts.get(key, False)
    if verify is False:
        if len(_env_verdicts) > 256:
            _env_verdicts.clear()
        if get_environ_proxies(url, no_proxy=None):
            verify = None
        else:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        _env_verdicts[key] = verify
    if verify is None:
        return None
    # requests looks for the netrc file on every request; so does this (a stat per path),
    # and reads it when there is one, as requests does.
    if any(map(os.path.exists, _netrc_paths())) and get_netrc_auth(url) is not None:
        return None
    return verify


def _is_plain_class(cls: type, base: type) -> bool:
    known = _plain_classes.get(cls)
    if known is None:
        known = _plain_classes[cls] = all(
            getattr(cls, name, None) is getattr(base, name) for name in _SESSION_METHODS
        )
    return known


class _SessionHeaders:
    """The session's headers as prepare_request would send them, for one header store."""

    __slots__ = ("key", "prepared", "wire")

    def __init__(self, key: tuple[Any, ...], prepared: CaseInsensitiveDict) -> None:
        self.key = key
        self.prepared = prepared
        self.wire = list(prepared.items())


def _session_headers(session: Any) -> _SessionHeaders | None:
    headers = session.headers
    if type(headers) is not CaseInsensitiveDict:
        return None
    # The store's (name, value) pairs, compared by value: any change made through the
    # mapping API (or by replacing session.headers) gives another key.
    key = tuple(headers._store.values())
    cached: _SessionHeaders | None = session.__dict__.get("_balrog_plain_headers")
    if cached is not None and cached.key == key:
        return cached
    # merge_setting(None, session.headers) is session.headers itself; prepare_headers
    # validates it exactly as the general path would (a bad value goes that way to raise).
    prepared = PreparedRequest()
    try:
        prepared.prepare_headers(headers)
    except Exception:
        return None
    cached = _SessionHeaders(key, prepared.headers)
    session.__dict__["_balrog_plain_headers"] = cached
    return cached


def send_plain(
    session: Any, session_class: type, method: str, url: Any, timeout: Any, allow_redirects: bool
) -> Any:
    """The Response to a plain request, or None when the general path must handle it."""
    verb = _PLAIN_METHODS.get(method) if type(method) is str else None
    if verb is None or type(url) is not str:
        return None
    if not _is_plain_class(type(session), session_class):
        return None
    if (
        session.auth is not None
        or session.params
        or session.proxies
        or session.stream
        or session.verify is not True
        or session.cert is not None
    ):
        return None
    hooks = session.hooks
    if hooks and hooks.get("response"):
        return None
    jar = session.cookies
    if type(jar) is not RequestsCookieJar or jar._cookies:
        return None
    # Only URLs the general path has prepared before (the cache holds its exact output).
    prepared_url = _URL_CACHE.get(url.lstrip())
    if prepared_url is None or "@" in prepared_url or not prepared_url.startswith(("http://", "https://")):
        return None
    verify: Any = True
    if session.trust_env:
        verify = _environment_verify(prepared_url)
        if verify is None:
            return None
    adapter = session.get_adapter(prepared_url)
    if type(adapter) is not HTTPAdapter:
        return None
    retries = adapter.max_retries
    if getattr(retries, "total", None) != 0 or getattr(retries, "status_forcelist", None):
        return None
    headers = _session_headers(session)
    if headers is None:
        return None

    connect, read = (None, None) if timeout is None else _timeouts(timeout)
    # The adapter's own client cache, keyed as HTTPAdapter._client keys it (plain HTTP
    # ignores the TLS settings).
    https = prepared_url.startswith("https:")
    client = adapter._clients.get((verify if https else True, None, None, connect))
    if client is None:
        client = adapter._client(prepared_url, verify, None, None, connect)
    green = type(getcurrent()) is GreenTask
    start = perf_counter()
    try:
        status, reason, version, pairs, payload = wait(
            client.send(verb, prepared_url, headers.wire, None, read, False, green)
        )
    except RequestException as exc:
        raise _explain(exc, _prepared_request(verb, prepared_url, headers.prepared), read) from None
    except UnicodeError:
        raise
    except ValueError as exc:
        request = _prepared_request(verb, prepared_url, headers.prepared)
        raise InvalidHeader(str(exc), request=request) from None
    elapsed = perf_counter() - start

    response = Response.__new__(Response)
    response.__dict__.update(
        {
            "_content": payload,
            "_content_consumed": True,
            "_next": None,
            "status_code": status,
            "_headers": None,
            "_header_pairs": pairs,
            "reason": reason,
            "_cookies": None,
            "history": [],
            "url": prepared_url,
            "connection": adapter,
            "_balrog_plain": (verb, prepared_url, headers.prepared, version, elapsed),
        }
    )
    if status in REDIRECT_STATI:
        # Rare enough to take send's own tail (cookies, then the redirect machinery).
        kwargs = {
            "timeout": timeout,
            "stream": False,
            "verify": verify,
            "cert": None,
            "proxies": OrderedDict(),
        }
        return session._settle(response, response.request, allow_redirects, kwargs)
    for name, _ in pairs:
        if name[:10].lower() == "set-cookie":
            extract_cookies_to_jar(session.cookies, response.request, response.raw)
            break
    return response


def _prepared_request(method: str, url: str, headers: CaseInsensitiveDict) -> PreparedRequest:
    """The PreparedRequest prepare_request builds for a plain request."""
    request = PreparedRequest()
    request.method = method
    request.url = url
    request.headers = headers.copy()
    request._cookies = RequestsCookieJar()
    return request


def _lazy_request(response: Any, plain: tuple[Any, ...]) -> PreparedRequest:
    return _prepared_request(plain[0], plain[1], plain[2])


def _lazy_raw(response: Any, plain: tuple[Any, ...]) -> RawResponse:
    return RawResponse(
        response.status_code, response.reason, plain[3], response._header_pairs, response._content, plain[1]
    )


def _lazy_encoding(response: Any, plain: tuple[Any, ...]) -> str | None:
    from .adapters import _ContentTypeOnly

    return get_encoding_from_headers(_ContentTypeOnly(response._header_pairs))


def _lazy_elapsed(response: Any, plain: tuple[Any, ...]) -> timedelta:
    return timedelta(seconds=plain[4])


# Response attributes a plain response makes on first access (see Response.__getattr__).
_LAZY_ATTRIBUTES.update(
    {
        "request": _lazy_request,
        "raw": _lazy_raw,
        "encoding": _lazy_encoding,
        "elapsed": _lazy_elapsed,
    }
)
