"""Cookies: ``RequestsCookieJar`` (a ``http._cj.CookieJar`` that is also a dict-like
mapping) and the glue that lets the stdlib cookie policy see our requests and responses."""

from __future__ import annotations

import calendar
import copy
import threading
import time
from collections.abc import Iterator, MutableMapping
from http import cookiejar as _cj
from http.cookies import Morsel
from typing import Any
from urllib.parse import urlparse, urlunparse

__all__ = [
    "CookieConflictError",
    "MockRequest",
    "MockResponse",
    "RequestsCookieJar",
    "cookiejar_from_dict",
    "create_cookie",
    "extract_cookies_to_jar",
    "get_cookie_header",
    "merge_cookies",
    "morsel_to_cookie",
    "remove_cookie_by_name",
]


class MockRequest:
    """Presents a PreparedRequest the way ``http.cookiejar`` expects a urllib Request.

    The jar reads the URL and headers and may add a Cookie header, which is kept aside in
    ``new_headers`` rather than written into the request's own headers.
    """

    def __init__(self, request: Any) -> None:
        self._r = request
        self._new_headers: dict[str, str] = {}
        self.type = urlparse(self._r.url).scheme

    def get_type(self) -> str:
        return self.type

    def get_host(self) -> str:
        return urlparse(self._r.url).netloc

    def get_origin_req_host(self) -> str:
        return self.get_host()

    def get_full_url(self) -> str:
        # A Host header (virtual hosting) decides the cookie domain, as a browser would.
        host = self._r.headers.get("Host")
        if not host:
            return self._r.url
        if isinstance(host, bytes):
            host = host.decode("utf-8")
        parsed = urlparse(self._r.url)
        return urlunparse([parsed.scheme, host, parsed.path, parsed.params, parsed.query, parsed.fragment])

    def is_unverifiable(self) -> bool:
        return True

    def has_header(self, name: str) -> bool:
        return name in self._r.headers or name in self._new_headers

    def get_header(self, name: str, default: Any = None) -> Any:
        return self._r.headers.get(name, self._new_headers.get(name, default))

    def add_header(self, key: str, val: str) -> None:
        raise NotImplementedError("Cookie headers should be added with add_unredirected_header()")

    def add_unredirected_header(self, name: str, value: str) -> None:
        self._new_headers[name] = value

    def get_new_headers(self) -> dict[str, str]:
        return self._new_headers

    @property
    def unverifiable(self) -> bool:
        return self.is_unverifiable()

    @property
    def origin_req_host(self) -> str:
        return self.get_origin_req_host()

    @property
    def host(self) -> str:
        return self.get_host()


class _HeaderView:
    """The ``get_all`` view of response headers that ``http.cookiejar`` reads."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get_all(self, name: str, default: Any = None) -> Any:
        lower = name.lower()
        found = [value for key, value in self._pairs if key.lower() == lower]
        return found or default

    def getheaders(self, name: str) -> list[str]:
        return self.get_all(name, [])


class MockResponse:
    """Presents response headers the way ``http.cookiejar`` expects (``info().get_all``)."""

    def __init__(self, headers: Any) -> None:
        if not isinstance(headers, _HeaderView):
            headers = _HeaderView(_header_pairs(headers))
        self._headers = headers

    def info(self) -> Any:
        return self._headers

    def getheaders(self, name: str) -> list[str]:
        return self._headers.getheaders(name)


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    if hasattr(headers, "get_all") and hasattr(headers, "items"):
        return list(headers.items())
    if isinstance(headers, list):
        return headers
    return list(headers.items()) if headers is not None else []


def extract_cookies_to_jar(jar: _cj.CookieJar, request: Any, response: Any) -> None:
    """Store the cookies a response sets; ``response`` is the raw response (``r.raw``)."""
    pairs = getattr(response, "_header_list", None)
    if pairs is None:
        original = getattr(response, "_original_response", None)
        if original is None or not hasattr(original, "msg"):
            return
        pairs = _header_pairs(original.msg)
    # Most responses set no cookie: skip the (slow) cookie policy machinery for them.
    if not any(key.lower() in ("set-cookie", "set-cookie2") for key, _ in pairs):
        return
    jar.extract_cookies(MockResponse(_HeaderView(pairs)), MockRequest(request))  # type: ignore[arg-type]


def get_cookie_header(jar: _cj.CookieJar, request: Any) -> str | None:
    """The Cookie header value the jar gives this request, or None."""
    mock = MockRequest(request)
    jar.add_cookie_header(mock)  # type: ignore[arg-type]
    return mock.get_new_headers().get("Cookie")


def remove_cookie_by_name(
    cookiejar: _cj.CookieJar, name: str, domain: str | None = None, path: str | None = None
) -> None:
    """Unset every cookie called ``name`` (optionally only for ``domain``/``path``)."""
    doomed = []
    for cookie in cookiejar:
        if cookie.name != name:
            continue
        if domain is not None and domain != cookie.domain:
            continue
        if path is not None and path != cookie.path:
            continue
        doomed.append((cookie.domain, cookie.path, cookie.name))
    for domain_, path_, name_ in doomed:
        cookiejar.clear(domain_, path_, name_)


class CookieConflictError(RuntimeError):
    """There are two cookies that meet the criteria specified in the cookie jar."""


class RequestsCookieJar(_cj.CookieJar, MutableMapping):  # type: ignore[type-arg]
    """A CookieJar with a dict interface: ``jar["name"]``, ``jar.get("name", domain=...)``.

    Dict access by name alone is ambiguous when several domains set the same name: then
    :class:`CookieConflictError` is raised and ``get(name, domain=..., path=...)`` picks.
    """

    def get(self, name: str, default: Any = None, domain: str | None = None, path: str | None = None) -> Any:
        try:
            return self._find_no_duplicates(name, domain, path)
        except KeyError:
            return default

    def set(self, name: str, value: Any, **kwargs: Any) -> Any:
        """Set a cookie; ``value=None`` removes it. Extra keywords as in :func:`create_cookie`."""
        if value is None:
            remove_cookie_by_name(self, name, domain=kwargs.get("domain"), path=kwargs.get("path"))
            return None
        if isinstance(value, Morsel):
            cookie = morsel_to_cookie(value)
        else:
            cookie = create_cookie(name, value, **kwargs)
        self.set_cookie(cookie)
        return cookie

    def iterkeys(self) -> Iterator[str]:
        for cookie in iter(self):
            yield cookie.name

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self.iterkeys())

    def itervalues(self) -> Iterator[Any]:
        for cookie in iter(self):
            yield cookie.value

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(self.itervalues())

    def iteritems(self) -> Iterator[tuple[str, Any]]:
        for cookie in iter(self):
            yield cookie.name, cookie.value

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return list(self.iteritems())

    def list_domains(self) -> list[str]:
        domains: list[str] = []
        for cookie in iter(self):
            if cookie.domain not in domains:
                domains.append(cookie.domain)
        return domains

    def list_paths(self) -> list[str]:
        paths: list[str] = []
        for cookie in iter(self):
            if cookie.path not in paths:
                paths.append(cookie.path)
        return paths

    def multiple_domains(self) -> bool:
        seen: list[str] = []
        for cookie in iter(self):
            if cookie.domain is not None and cookie.domain in seen:
                return True
            seen.append(cookie.domain)
        return False

    def get_dict(self, domain: str | None = None, path: str | None = None) -> dict[str, Any]:
        """Name → value for the cookies matching ``domain`` and ``path`` (None: any)."""
        return {
            cookie.name: cookie.value
            for cookie in iter(self)
            if (domain is None or cookie.domain == domain) and (path is None or cookie.path == path)
        }

    def __contains__(self, name: object) -> bool:
        try:
            return super().__contains__(name)
        except CookieConflictError:
            return True

    def __getitem__(self, name: str) -> Any:
        return self._find_no_duplicates(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        remove_cookie_by_name(self, name)

    def __len__(self) -> int:
        return _cj.CookieJar.__len__(self)

    def __iter__(self) -> Iterator[_cj.Cookie]:  # type: ignore[override]
        return _cj.CookieJar.__iter__(self)

    def set_cookie(self, cookie: _cj.Cookie, *args: Any, **kwargs: Any) -> None:
        # A quoted value has its escaped quotes undone, as requests does.
        value = cookie.value
        if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            cookie.value = value.replace('\\"', "")
        super().set_cookie(cookie, *args, **kwargs)

    def update(self, other: Any = (), **kwargs: Any) -> None:  # type: ignore[override]
        """Copy cookies from another jar (all of them, with domains) or from a mapping."""
        if isinstance(other, _cj.CookieJar):
            for cookie in other:
                self.set_cookie(copy.copy(cookie))
        else:
            MutableMapping.update(self, other, **kwargs)

    def _find(self, name: str, domain: str | None = None, path: str | None = None) -> Any:
        for cookie in iter(self):
            if cookie.name == name and (domain is None or cookie.domain == domain):
                if path is None or cookie.path == path:
                    return cookie.value
        raise KeyError(f"name={name!r}, domain={domain!r}, path={path!r}")

    def _find_no_duplicates(self, name: str, domain: str | None = None, path: str | None = None) -> Any:
        found = None
        for cookie in iter(self):
            if cookie.name == name and (domain is None or cookie.domain == domain):
                if path is None or cookie.path == path:
                    if found is not None:
                        raise CookieConflictError(f"There are multiple cookies with name, {name!r}")
                    found = cookie.value
        if found is None:
            raise KeyError(f"name={name!r}, domain={domain!r}, path={path!r}")
        return found

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # A lock cannot be pickled; a new one is made on unpickling.
        state.pop("_cookies_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_cookies_lock" not in self.__dict__:
            self._cookies_lock = threading.RLock()

    def copy(self) -> RequestsCookieJar:
        clone = RequestsCookieJar()
        clone.set_policy(self.get_policy())
        clone.update(self)
        return clone

    def get_policy(self) -> _cj.CookiePolicy:
        return self._policy  # type: ignore[attr-defined,no-any-return]

    def __repr__(self) -> str:
        return _cj.CookieJar.__repr__(self)


def _copy_cookie_jar(jar: Any) -> Any:
    if jar is None:
        return None
    if hasattr(jar, "copy"):
        return jar.copy()
    clone = copy.copy(jar)
    clone.clear()
    for cookie in jar:
        clone.set_cookie(copy.copy(cookie))
    return clone


def create_cookie(name: str, value: Any, **kwargs: Any) -> _cj.Cookie:
    """A Cookie with requests' defaults (domain "", path "/", no expiry)."""
    result: dict[str, Any] = {
        "version": 0,
        "name": name,
        "value": value,
        "port": None,
        "domain": "",
        "path": "/",
        "secure": False,
        "expires": None,
        "discard": True,
        "comment": None,
        "comment_url": None,
        "rest": {"HttpOnly": None},
        "rfc2109": False,
    }
    unexpected = set(kwargs) - set(result)
    if unexpected:
        raise TypeError(f"create_cookie() got unexpected keyword arguments: {sorted(unexpected)}")
    result.update(kwargs)
    result["port_specified"] = bool(result["port"])
    result["domain_specified"] = bool(result["domain"])
    result["domain_initial_dot"] = result["domain"].startswith(".")
    result["path_specified"] = bool(result["path"])
    return _cj.Cookie(**result)


def morsel_to_cookie(morsel: Morsel[Any]) -> _cj.Cookie:
    """Convert a ``http.cookies.Morsel`` into a Cookie."""
    expires = None
    if morsel["max-age"]:
        try:
            expires = int(time.time() + int(morsel["max-age"]))
        except ValueError:
            raise TypeError(f"max-age: {morsel['max-age']} must be integer") from None
    elif morsel["expires"]:
        expires = calendar.timegm(time.strptime(morsel["expires"], "%a, %d-%b-%Y %H:%M:%S GMT"))
    return create_cookie(
        comment=morsel["comment"],
        comment_url=bool(morsel["comment"]),
        discard=False,
        domain=morsel["domain"],
        expires=expires,
        name=morsel.key,
        path=morsel["path"],
        port=None,
        rest={"HttpOnly": morsel["httponly"]},
        rfc2109=False,
        secure=bool(morsel["secure"]),
        value=morsel.value,
        version=morsel["version"] or 0,
    )


def cookiejar_from_dict(
    cookie_dict: Any, cookiejar: _cj.CookieJar | None = None, overwrite: bool = True
) -> Any:
    """A jar holding the cookies of ``cookie_dict`` (added to ``cookiejar`` if given)."""
    if cookiejar is None:
        cookiejar = RequestsCookieJar()
    if cookie_dict is not None:
        present = [cookie.name for cookie in cookiejar]
        for name in cookie_dict:
            if overwrite or name not in present:
                cookiejar.set_cookie(create_cookie(name, cookie_dict[name]))
    return cookiejar


def merge_cookies(cookiejar: Any, cookies: Any) -> Any:
    """Add ``cookies`` (a dict or a jar) to ``cookiejar`` and return it."""
    if not isinstance(cookiejar, _cj.CookieJar):
        raise ValueError("You can only merge into CookieJar")
    if isinstance(cookies, dict):
        cookiejar = cookiejar_from_dict(cookies, cookiejar=cookiejar, overwrite=False)
    elif isinstance(cookies, _cj.CookieJar):
        try:
            cookiejar.update(cookies)  # type: ignore[attr-defined]
        except AttributeError:
            for cookie in cookies:
                cookiejar.set_cookie(cookie)
    return cookiejar
