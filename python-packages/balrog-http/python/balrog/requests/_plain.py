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
from asyncio.events import _get_running_loop
from collections import OrderedDict
from datetime import timedelta
from time import perf_counter
from typing import Any

from greenlet import getcurrent

from balrog._bridge import GreenTask, wait
from balrog._http import AbsentFiles, Headers, dict_version, type_version

from . import _uri
from ._environ import CA_BUNDLE_VARIABLES, PROXY_VARIABLES, snapshot_of
from ._raw import RawResponse
from .adapters import HTTPAdapter, _explain, _invalid_request, _timeouts, _with_transport_defaults
from .cookies import RequestsCookieJar, extract_cookies_to_jar
from .exceptions import RequestException
from .models import _LAZY_ATTRIBUTES, _URL_CACHE, REDIRECT_STATI, PreparedRequest, Response
from .structures import CaseInsensitiveDict
from .utils import _netrc_paths, get_encoding_from_headers, get_environ_proxies, get_netrc_auth

# Only body-less methods that get no Content-Length: 0 from prepare_body.
_PLAIN_METHODS = {"GET": "GET", "get": "GET", "HEAD": "HEAD", "head": "HEAD"}

# Everything in the environment that merge_environment_settings and prepare_request read:
# the proxy and CA variables, and those that say where the netrc file is.
_environment_snapshot = snapshot_of(PROXY_VARIABLES + CA_BUNDLE_VARIABLES + ("NETRC", "HOME"))
# (environment snapshot, scheme, host) → the ``verify`` merge_environment_settings gives
# (True, or the CA bundle path from the environment), or None when the environment has a
# proxy for the request.
_env_verdicts: dict[tuple[Any, ...], Any] = {}

# The request-path methods of Session and HTTPAdapter as balrog defines them. A subclass,
# an instance attribute or a mock patched onto the class (`responses` patches
# HTTPAdapter.send, `requests_mock` Session.get_adapter) replaces one, and the request then
# takes the general path, which calls them. A patch may come and go at any time: a class is
# looked at again whenever its version tag moved. Session's are recorded by sessions.py
# when the class is made.
_SESSION_METHODS = ("prepare_request", "merge_environment_settings", "send", "get_adapter")
_session_originals: tuple[tuple[str, Any], ...] = ()
_ADAPTER_ORIGINALS = (("send", HTTPAdapter.send), ("build_response", HTTPAdapter.build_response))
# Classes found to have balrog's methods, and their version tag (type_version) then.
_checked_classes: dict[type, int] = {}


def remember_session_methods(session_class: type) -> None:
    """Record ``session_class``'s own request-path methods (once, as it is defined)."""
    global _session_originals
    _session_originals = tuple((name, session_class.__dict__[name]) for name in _SESSION_METHODS)


def _has_balrogs_methods(cls: type, originals: tuple[tuple[str, Any], ...]) -> bool:
    """Whether ``cls`` (or its bases) has the methods of ``originals`` as balrog made them.

    Callers first try ``_checked_classes.get(cls, -1) == type_version(cls)`` inline: the
    class is unchanged since it was found so (a class without a valid tag, None, or never
    recorded, -1, is looked at in full)."""
    if any(getattr(cls, name, None) is not original for name, original in originals):
        return False
    tag = type_version(cls)  # the lookups just made gave it one if it had none
    if tag is not None:
        _checked_classes[cls] = tag
    return True


def _environment_verify(url: str, route: _Route) -> Any:
    """``verify`` as trust_env makes it, or None when the environment changes more than that
    (a proxy for the URL, netrc credentials for its host)."""
    snapshot = _environment_snapshot()
    # One tuple, assigned at once: a thread sharing the session never pairs one snapshot
    # with another's verdict.
    seen, verify, netrc = route.environment
    # While the environment is unchanged the snapshot is the very same object.
    if snapshot is not seen:
        if snapshot != seen:
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
        netrc = _netrc_watch(_netrc_paths())
        route.environment = (snapshot, verify, netrc)
    if verify is None:
        return None
    # requests looks for the netrc file on every request; so does this (see AbsentFiles),
    # and reads it when there is one, as requests does.
    if not netrc.none_exist() and get_netrc_auth(url) is not None:
        return None
    return verify


class _Candidates:
    """netrc candidates without a common directory: looked for one by one."""

    __slots__ = ("paths",)

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths

    def none_exist(self) -> bool:
        return not any(map(os.path.exists, self.paths))


# netrc candidate paths → what tells whether any of them exists.
_netrc_watches: dict[tuple[str, ...], AbsentFiles | _Candidates] = {}


def _netrc_watch(paths: tuple[str, ...]) -> AbsentFiles | _Candidates:
    """The object whose ``none_exist()`` is ``not any(map(os.path.exists, paths))``: for
    candidates sharing a directory, an ``AbsentFiles``, which answers in one stat while the
    directory is unchanged (see its docs for why that is sound)."""
    watch = _netrc_watches.get(paths)
    if watch is None:
        parents = {os.path.dirname(path) for path in paths}
        directory = parents.pop() if len(parents) == 1 else None
        watch = AbsentFiles(directory, paths) if directory else _Candidates(paths)
        if len(_netrc_watches) > 64:
            _netrc_watches.clear()
        _netrc_watches[paths] = watch
    return watch


class _Route:
    """What a session's plain requests to one URL reuse, each part checked per request."""

    __slots__ = ("adapter", "environment", "prepared_url", "wire_url")

    def __init__(self, prepared_url: str) -> None:
        # prepare_url's output for the URL (a pure function of the URL string), and what
        # goes on the wire for it (urllib3 encodes the target once more at send time).
        self.prepared_url = prepared_url
        self.wire_url = _uri.wire_url(prepared_url)
        # (environment snapshot, the ``verify`` worked out for it, the netrc watch for it).
        self.environment: tuple[Any, Any, Any] = (None, None, None)
        # (session.adapters, its keys, the matching prefix, get_adapter's answer): valid
        # while session.adapters is the same mapping with the same keys in the same order
        # and the same adapter under that prefix.
        self.adapter: tuple[Any, tuple[Any, ...], Any, Any] = (None, (), None, None)


_ROUTES_SIZE = 128


def _route(session: Any, url: str) -> _Route | None:
    routes: dict[str, _Route] | None = session.__dict__.get("_balrog_plain_routes")
    if routes is None:
        routes = session.__dict__["_balrog_plain_routes"] = {}
    route = routes.get(url)
    if route is not None:
        return route
    # Only URLs the general path has prepared before (the cache holds its exact output).
    prepared_url = _URL_CACHE.get(url.lstrip())
    if prepared_url is None or "@" in prepared_url or not prepared_url.startswith(("http://", "https://")):
        return None
    if len(routes) >= _ROUTES_SIZE:
        routes.clear()
    route = routes[url] = _Route(prepared_url)
    return route


def _adapter(session: Any, route: _Route) -> Any:
    adapters = session.adapters
    known, keys, prefix, adapter = route.adapter
    if adapters is known and tuple(adapters) == keys and adapters.get(prefix) is adapter:
        # Same keys in the same order: get_adapter would pick the same prefix.
        return adapter
    adapter = session.get_adapter(route.prepared_url)
    lowered = route.prepared_url.lower()
    prefix = next((key for key in adapters if lowered.startswith(key.lower())), None)
    if prefix is not None and adapters.get(prefix) is adapter:
        route.adapter = (adapters, tuple(adapters), prefix, adapter)
    return adapter


class _SessionHeaders:
    """The session's headers as prepare_request would send them, for one header store."""

    __slots__ = ("key", "native", "prepared", "stamp")

    def __init__(self, key: tuple[Any, ...], prepared: CaseInsensitiveDict, native: Headers) -> None:
        self.key = key
        self.prepared = prepared
        # Converted to wire form once, not on every request.
        self.native = native
        # (the header store, its dict version) when ``key`` was last found equal to its
        # contents; one tuple, replaced at once (threads may share the session).
        self.stamp: tuple[Any, Any] = (None, None)


def _session_headers(session: Any) -> _SessionHeaders | None:
    headers = session.headers
    if type(headers) is not CaseInsensitiveDict:
        return None
    store = headers._store
    version = dict_version(store)
    cached: _SessionHeaders | None = session.__dict__.get("_balrog_plain_headers")
    if cached is not None:
        seen_store, seen_version = cached.stamp
        # The same store with the same version tag: not changed at all since it was last
        # compared (CaseInsensitiveDict changes its store only through dict operations,
        # each of which moves the tag; it never reorders it in place).
        if seen_store is store and version is not None and seen_version == version:
            return cached
    # The store's (name, value) pairs, compared by value: any change made through the
    # mapping API (or by replacing session.headers) gives another key.
    key = tuple(store.values())
    if cached is None or cached.key != key:
        # merge_setting(None, session.headers) is session.headers itself; prepare_headers
        # validates it exactly as the general path would (a bad value goes that way to
        # raise).
        prepared = PreparedRequest()
        try:
            prepared.prepare_headers(headers)
            # A value the wire refuses makes the general path raise its error at send time.
            native = Headers(_with_transport_defaults(list(prepared.headers.items())))
        except Exception:
            return None
        cached = _SessionHeaders(key, prepared.headers, native)
        session.__dict__["_balrog_plain_headers"] = cached
    cached.stamp = (store, version)
    return cached


def send_plain(session: Any, method: str, url: Any, timeout: Any, allow_redirects: bool) -> Any:
    """The Response to a plain request, or None when the general path must handle it."""
    verb = _PLAIN_METHODS.get(method) if type(method) is str else None
    if verb is None or type(url) is not str:
        return None
    cls = type(session)
    if _checked_classes.get(cls, -1) != type_version(cls) and not _has_balrogs_methods(
        cls, _session_originals
    ):
        return None
    attributes = session.__dict__
    if (
        "send" in attributes
        or "get_adapter" in attributes
        or "prepare_request" in attributes
        or "merge_environment_settings" in attributes
    ):
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
    route = _route(session, url)
    if route is None:
        return None
    prepared_url = route.prepared_url
    verify: Any = True
    if session.trust_env:
        verify = _environment_verify(prepared_url, route)
        if verify is None:
            return None
    adapter = _adapter(session, route)
    if (
        type(adapter) is not HTTPAdapter
        or (
            _checked_classes.get(HTTPAdapter, -1) != type_version(HTTPAdapter)
            and not _has_balrogs_methods(HTTPAdapter, _ADAPTER_ORIGINALS)
        )
        or "send" in adapter.__dict__
    ):
        return None
    retries = adapter.max_retries
    if (
        getattr(retries, "total", None) != 0
        or getattr(retries, "status_forcelist", None)
        or getattr(retries, "read", False) is not False  # a read failure would count: general path
    ):
        return None
    headers = _session_headers(session)
    if headers is None:
        return None

    connect, read = (None, None) if timeout is None else _timeouts(timeout)
    # The adapter's own client cache, keyed as HTTPAdapter._client keys it (plain HTTP
    # ignores the TLS settings; the timeouts go with each request).
    https = prepared_url.startswith("https:")
    client = adapter._clients.get((verify if https else True, None, None))
    if client is None:
        client = adapter._client(prepared_url, verify, None, None)
    start = perf_counter()
    try:
        if type(getcurrent()) is GreenTask:
            status, reason, version, pairs, payload, sets_cookie = wait(
                client.send_plain(verb, route.wire_url, headers.native, read, True, connect)
            )
        elif _get_running_loop() is None:
            # A plain thread: send and wait in one native call, no op in between.
            status, reason, version, pairs, payload, sets_cookie = client.fetch(
                verb, route.wire_url, headers.native, read, connect
            )
        else:
            # Inside a running event loop: wait() refuses, or blocks where that is allowed.
            status, reason, version, pairs, payload, sets_cookie = wait(
                client.send_plain(verb, route.wire_url, headers.native, read, False, connect)
            )
    except RequestException as exc:
        raise _explain(exc, _prepared_request(verb, prepared_url, headers.prepared), read) from None
    except UnicodeError:
        raise
    except ValueError as exc:
        request = _prepared_request(verb, prepared_url, headers.prepared)
        raise _invalid_request(exc, verb, request) from None
    elapsed = perf_counter() - start

    response = Response.__new__(Response)
    # The instance dict made in one go (Response.__init__ would set most of these again).
    response.__dict__ = {
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
    if sets_cookie:
        extract_cookies_to_jar(session.cookies, response.request, response.raw)
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
