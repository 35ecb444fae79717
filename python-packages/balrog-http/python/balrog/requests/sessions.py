"""``Session``: settings, cookies and connection pools kept across requests, plus redirect
handling with requests' rules (method rewriting, auth stripping, cookie carrying)."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urljoin, urlparse

from ._environ import PROXY_VARIABLES, snapshot_of
from ._environ import raw as raw_environ
from ._plain import remember_session_methods, send_plain
from .adapters import HTTPAdapter
from .auth import _basic_auth_str
from .cookies import (
    RequestsCookieJar,
    cookiejar_from_dict,
    extract_cookies_to_jar,
    merge_cookies,
)
from .exceptions import (
    ChunkedEncodingError,
    ContentDecodingError,
    InvalidSchema,
    TooManyRedirects,
)
from .hooks import default_hooks, dispatch_hook
from .models import DEFAULT_REDIRECT_LIMIT, PreparedRequest, Request
from .status_codes import codes
from .structures import CaseInsensitiveDict
from .utils import (
    DEFAULT_PORTS,
    default_headers,
    get_auth_from_url,
    get_environ_proxies,
    get_netrc_auth,
    requote_uri,
    resolve_proxies,
    rewind_body,
    to_key_val_list,
)

__all__ = ["Session", "SessionRedirectMixin", "merge_hooks", "merge_setting", "session"]

preferred_clock = time.perf_counter


def merge_setting(request_setting: Any, session_setting: Any, dict_class: Any = OrderedDict) -> Any:
    """Combine a per-request setting with the session's; a request value of None removes a key."""
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    if not (isinstance(session_setting, Mapping) and isinstance(request_setting, Mapping)):
        return request_setting
    if not request_setting:
        # The common case (no per-request value): a copy of the session's, minus Nones.
        merged = dict_class(session_setting)
        # CaseInsensitiveDict's store is scanned directly: its values() view walks the
        # mapping through Python-level __iter__/__getitem__ calls.
        store = getattr(merged, "_store", None)
        values = (pair[1] for pair in store.values()) if store is not None else merged.values()
        if None in values:
            for key in [k for k, v in merged.items() if v is None]:
                del merged[key]
        return merged
    merged = dict_class(to_key_val_list(session_setting))
    merged.update(to_key_val_list(request_setting))
    for key in [k for k, v in merged.items() if v is None]:
        del merged[key]
    return merged


def merge_hooks(request_hooks: Any, session_hooks: Any, dict_class: Any = OrderedDict) -> Any:
    """Like merge_setting, but an empty hook list does not override the other side."""
    if session_hooks is None or session_hooks.get("response") == []:
        return request_hooks
    if request_hooks is None or request_hooks.get("response") == []:
        return session_hooks
    return merge_setting(request_hooks, session_hooks, dict_class)


# The environment's proxies for an origin, cached by the proxy variables' values: finding
# them means scanning the whole environment, which costs more than the request itself.
_GET_NETRC_AUTH = get_netrc_auth
_GET_ENVIRON_PROXIES = get_environ_proxies
_env_proxy_cache: dict[tuple[Any, ...], dict[str, str]] = {}
_proxy_env_snapshot = snapshot_of(PROXY_VARIABLES)


def _environ_proxies(url: str, no_proxy: str | None) -> dict[str, str]:
    snapshot = _proxy_env_snapshot()
    origin = url.split("/", 3)[:3]
    key = (snapshot, no_proxy, *origin)
    found = _env_proxy_cache.get(key)
    if found is None:
        if len(_env_proxy_cache) > 256:
            _env_proxy_cache.clear()
        found = _env_proxy_cache[key] = get_environ_proxies(url, no_proxy=no_proxy)
    return dict(found)


class SessionRedirectMixin:
    """Following redirects, as requests does."""

    max_redirects: int
    trust_env: bool
    cookies: Any

    def get_redirect_target(self, resp: Any) -> str | None:
        """The Location a redirect response points to, or None."""
        if resp.is_redirect:
            location = resp.headers["location"]
            # Header values arrive as Latin-1; most servers mean UTF-8.
            try:
                location = location.encode("latin1").decode("utf8")
            except UnicodeError:
                pass
            return str(location)
        return None

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        """Whether Authorization must be dropped when following old_url → new_url."""
        old_parsed = urlparse(old_url)
        new_parsed = urlparse(new_url)
        if old_parsed.hostname != new_parsed.hostname:
            return True
        # Upgrading http → https on the default ports keeps the credentials.
        if (
            old_parsed.scheme == "http"
            and old_parsed.port in (80, None)
            and new_parsed.scheme == "https"
            and new_parsed.port in (443, None)
        ):
            return False
        changed_port = old_parsed.port != new_parsed.port
        changed_scheme = old_parsed.scheme != new_parsed.scheme
        default_port = (DEFAULT_PORTS.get(old_parsed.scheme, None), None)
        if not changed_scheme and old_parsed.port in default_port and new_parsed.port in default_port:
            return False
        return changed_port or changed_scheme

    def resolve_redirects(
        self,
        resp: Any,
        req: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
        yield_requests: bool = False,
        **adapter_kwargs: Any,
    ) -> Any:
        """Yield the responses (or only the requests) of a redirect chain."""
        hist = []
        url = self.get_redirect_target(resp)
        previous_fragment = urlparse(req.url).fragment
        while url:
            prepared_request = req.copy()
            # Each response's history is the chain before it (never itself).
            resp.history = hist[:]
            hist.append(resp)
            try:
                _ = resp.content  # read the body now
            except (ChunkedEncodingError, ContentDecodingError, RuntimeError):
                resp.raw.read(decode_content=False)
            if len(resp.history) >= self.max_redirects:
                raise TooManyRedirects(f"Exceeded {self.max_redirects} redirects.", response=resp)
            resp.close()
            if url.startswith("//"):
                url = f"{urlparse(resp.url).scheme}:{url}"
            parsed = urlparse(url)
            if parsed.fragment == "" and previous_fragment:
                parsed = parsed._replace(fragment=previous_fragment)
            elif parsed.fragment:
                previous_fragment = parsed.fragment
            url = parsed.geturl()
            # Relative Location headers are resolved against the response URL.
            if not parsed.netloc:
                url = urljoin(resp.url, requote_uri(url))
            else:
                url = requote_uri(url)
            prepared_request.url = url
            self.rebuild_method(prepared_request, resp)
            if resp.status_code not in (codes.temporary_redirect, codes.permanent_redirect):
                # The method became GET (or stayed body-less): the body goes.
                for header in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                    prepared_request.headers.pop(header, None)
                prepared_request.body = None
            headers = prepared_request.headers
            headers.pop("Cookie", None)
            extract_cookies_to_jar(prepared_request._cookies, req, resp.raw)
            merge_cookies(prepared_request._cookies, self.cookies)
            prepared_request.prepare_cookies(prepared_request._cookies)
            proxies = self.rebuild_proxies(prepared_request, proxies)
            self.rebuild_auth(prepared_request, resp)
            rewindable = prepared_request._body_position is not None and (
                "Content-Length" in headers or "Transfer-Encoding" in headers
            )
            if rewindable:
                rewind_body(prepared_request)
            req = prepared_request
            if yield_requests:
                yield req
            else:
                resp = self.send(  # type: ignore[attr-defined]
                    req,
                    stream=stream,
                    timeout=timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                    allow_redirects=False,
                    **adapter_kwargs,
                )
                extract_cookies_to_jar(self.cookies, prepared_request, resp.raw)
                url = self.get_redirect_target(resp)
                yield resp

    def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
        """Drop Authorization on a redirect to another host; re-apply netrc auth."""
        headers = prepared_request.headers
        url = prepared_request.url
        if "Authorization" in headers and self.should_strip_auth(response.request.url, url):
            del headers["Authorization"]
        new_auth = get_netrc_auth(url) if self.trust_env else None
        if new_auth is not None:
            prepared_request.prepare_auth(new_auth)

    def rebuild_proxies(self, prepared_request: Any, proxies: Any) -> dict[str, str]:
        """Proxies for the redirected request, and its Proxy-Authorization header."""
        headers = prepared_request.headers
        scheme = urlparse(prepared_request.url).scheme
        new_proxies = resolve_proxies(prepared_request, proxies, self.trust_env)
        if "Proxy-Authorization" in headers:
            del headers["Proxy-Authorization"]
        try:
            username, password = get_auth_from_url(new_proxies[scheme])
        except KeyError:
            username, password = None, None
        # An HTTPS request's proxy credentials go in the CONNECT, not in the request.
        if not scheme.startswith("https") and username and password:
            headers["Proxy-Authorization"] = _basic_auth_str(username, password)
        return new_proxies

    def rebuild_method(self, prepared_request: Any, response: Any) -> None:
        """Rewrite the method as browsers do (303 → GET, 302 → GET, 301 POST → GET)."""
        method = prepared_request.method
        if response.status_code == codes.see_other and method != "HEAD":
            method = "GET"
        if response.status_code == codes.found and method != "HEAD":
            method = "GET"
        if response.status_code == codes.moved and method == "POST":
            method = "GET"
        prepared_request.method = method


class Session(SessionRedirectMixin):
    """A requests Session: cookie persistence, connection pooling and configuration.

    >>> with Session() as s:
    ...     s.get("https://example.org")
    """

    __attrs__ = [
        "headers",
        "cookies",
        "auth",
        "proxies",
        "hooks",
        "params",
        "verify",
        "cert",
        "adapters",
        "stream",
        "trust_env",
        "max_redirects",
    ]

    def __init__(self) -> None:
        self.headers = default_headers()
        self.auth: Any = None
        self.proxies: dict[str, str] = {}
        self.hooks = default_hooks()
        self.params: Any = {}
        self.stream = False
        self.verify: Any = True
        self.cert: Any = None
        self.max_redirects = DEFAULT_REDIRECT_LIMIT
        self.trust_env = True
        self.cookies = cookiejar_from_dict({})
        self.adapters: OrderedDict[str, Any] = OrderedDict()
        self.mount("https://", HTTPAdapter())
        self.mount("http://", HTTPAdapter())

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def prepare_request(self, request: Request) -> PreparedRequest:
        """Merge the session's settings into a Request and prepare it."""
        cookies = request.cookies or None
        if cookies is not None and not isinstance(cookies, CookieJar):
            cookies = cookiejar_from_dict(cookies)
        merged_cookies = RequestsCookieJar()
        # Copying empty jars is skipped: most sessions and requests carry no cookies.
        if self.cookies._cookies:
            merge_cookies(merged_cookies, self.cookies)
        if cookies is not None and cookies._cookies:
            merge_cookies(merged_cookies, cookies)
        auth = request.auth
        if self.trust_env and not auth and not self.auth:
            auth = get_netrc_auth(request.url)
        p = PreparedRequest()
        p.prepare(
            method=request.method.upper(),  # type: ignore[union-attr]
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=merge_setting(request.headers, self.headers, dict_class=CaseInsensitiveDict),
            params=merge_setting(request.params, self.params),
            auth=merge_setting(auth, self.auth),
            cookies=merged_cookies,
            hooks=merge_hooks(request.hooks, self.hooks),
        )
        return p

    def request(
        self,
        method: str,
        url: str | bytes,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: bool | None = None,
        verify: Any = None,
        cert: Any = None,
        json: Any = None,
    ) -> Any:
        """Construct a Request, prepare it with the session's settings and send it."""
        if (
            params is None
            and data is None
            and headers is None
            and cookies is None
            and files is None
            and auth is None
            and proxies is None
            and hooks is None
            and stream is None
            and verify is None
            and cert is None
            and json is None
            # Code (requests' own tests among it) patches these names on this module.
            and get_netrc_auth is _GET_NETRC_AUTH
            and get_environ_proxies is _GET_ENVIRON_PROXIES
        ):
            # Nothing per request: the fused path, unless the session needs the general one.
            response = send_plain(self, method, url, timeout, allow_redirects)
            if response is not None:
                return response
        req = Request(
            method=method.upper(),
            url=url,
            headers=headers,
            files=files,
            data=data or {},
            json=json,
            params=params or {},
            auth=auth,
            cookies=cookies,
            hooks=hooks,
        )
        prep = self.prepare_request(req)
        proxies = proxies or {}
        settings = self.merge_environment_settings(prep.url, proxies, stream, verify, cert)
        send_kwargs = {"timeout": timeout, "allow_redirects": allow_redirects}
        send_kwargs.update(settings)
        return self.send(prep, **send_kwargs)

    def get(self, url: str | bytes, **kwargs: Any) -> Any:
        if (
            not kwargs
            # What request() would do, without its frame, unless it was replaced (by a
            # subclass or on the instance).
            and type(self).request is _SESSION_REQUEST
            and "request" not in self.__dict__
            and get_netrc_auth is _GET_NETRC_AUTH
            and get_environ_proxies is _GET_ENVIRON_PROXIES
        ):
            response = send_plain(self, "GET", url, None, True)
            if response is not None:
                return response
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str | bytes, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str | bytes, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str | bytes, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def send(self, request: PreparedRequest, **kwargs: Any) -> Any:
        """Send a PreparedRequest (following redirects unless allow_redirects=False)."""
        kwargs.setdefault("stream", self.stream)
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        if "proxies" not in kwargs:
            kwargs["proxies"] = resolve_proxies(request, self.proxies, self.trust_env)
        if isinstance(request, Request):
            raise ValueError("You can only send PreparedRequests.")
        allow_redirects = kwargs.pop("allow_redirects", True)
        hooks = request.hooks
        adapter = self.get_adapter(url=request.url)  # type: ignore[arg-type]
        start = preferred_clock()
        r = adapter.send(request, **kwargs)
        r.elapsed = timedelta(seconds=preferred_clock() - start)
        if hooks["response"]:
            r = dispatch_hook("response", hooks, r, **kwargs)
        return self._settle(r, request, allow_redirects, kwargs)

    def _settle(self, r: Any, request: Any, allow_redirects: bool, kwargs: dict[str, Any]) -> Any:
        """What send does after the adapter: keep cookies, follow redirects, read the body."""
        stream = kwargs.get("stream")
        if r.history:
            # Cookies set along an auth handler's retries.
            for resp in r.history:
                extract_cookies_to_jar(self.cookies, resp.request, resp.raw)
        extract_cookies_to_jar(self.cookies, request, r.raw)
        if r.is_redirect:
            if allow_redirects:
                gen = self.resolve_redirects(r, request, **kwargs)
                history = [resp for resp in gen]
                if history:
                    history.insert(0, r)
                    r = history.pop()
                    r.history = history
            else:
                try:
                    r._next = next(self.resolve_redirects(r, request, yield_requests=True, **kwargs))
                except StopIteration:
                    pass
        if not stream:
            _ = r.content  # read the body now
        return r

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """Fold in the environment (proxies, REQUESTS_CA_BUNDLE) when trust_env is set."""
        if self.trust_env:
            no_proxy = proxies.get("no_proxy") if proxies is not None else None
            env_proxies = _environ_proxies(url, no_proxy)
            for key, value in env_proxies.items():
                proxies.setdefault(key, value)
            if verify is True or verify is None:
                if raw_environ("REQUESTS_CA_BUNDLE") or raw_environ("CURL_CA_BUNDLE"):
                    verify = (
                        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
                    )
        proxies = merge_setting(proxies, self.proxies)
        stream = merge_setting(stream, self.stream)
        verify = merge_setting(verify, self.verify)
        cert = merge_setting(cert, self.cert)
        return {"proxies": proxies, "stream": stream, "verify": verify, "cert": cert}

    def get_adapter(self, url: str) -> Any:
        """The adapter mounted on the longest prefix of ``url``."""
        lowered = url.lower()
        for prefix, adapter in self.adapters.items():
            if lowered.startswith(prefix.lower()):
                return adapter
        raise InvalidSchema(f"No connection adapters were found for {url!r}")

    def close(self) -> None:
        """Close every adapter (and so every pooled connection)."""
        for adapter in self.adapters.values():
            adapter.close()

    def mount(self, prefix: str, adapter: Any) -> None:
        """Register an adapter for a URL prefix; longer prefixes win."""
        self.adapters[prefix] = adapter
        keys_to_move = [k for k in self.adapters if len(k) < len(prefix)]
        for key in keys_to_move:
            self.adapters[key] = self.adapters.pop(key)

    def __getstate__(self) -> dict[str, Any]:
        return {attr: getattr(self, attr, None) for attr in self.__attrs__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for attr, value in state.items():
            setattr(self, attr, value)


_SESSION_REQUEST = Session.request
remember_session_methods(Session)


def session() -> Session:
    """A new :class:`Session` (deprecated spelling kept by requests)."""
    return Session()
