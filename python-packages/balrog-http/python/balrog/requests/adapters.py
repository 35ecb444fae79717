"""Transport adapters: ``HTTPAdapter`` sends a PreparedRequest through the native client.

Connection pooling, TLS, proxies on the wire, timeouts and content decoding happen in
Rust (``balrog._http``); this module chooses the native client for the request's TLS and
proxy settings, applies retries, and turns the native result into a :class:`Response`.
"""

from __future__ import annotations

import functools
import io
import os
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from greenlet import getcurrent

import balrog
from balrog import _http as _http_native
from balrog._bridge import GreenTask, wait

from . import _uri, _urllib3
from ._raw import RawResponse
from ._retry import RequestHistory, Retry
from .cookies import extract_cookies_to_jar
from .exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ContentDecodingError,
    InvalidHeader,
    InvalidProxyURL,
    InvalidSchema,
    InvalidURL,
    ReadTimeout,
    RequestException,
    RetryError,
)
from .models import Response
from .structures import CaseInsensitiveDict
from .utils import (
    get_auth_from_url,
    get_encoding_from_headers,
    prepend_scheme_if_needed,
    select_proxy,
    urldefragauth,
)

__all__ = ["BaseAdapter", "HTTPAdapter", "Retry"]

DEFAULT_POOLBLOCK = False
DEFAULT_POOLSIZE = 10
DEFAULT_RETRIES = 0
DEFAULT_POOL_TIMEOUT = None


class _RetryBudget:
    """How many more attempts a request may make, from a Retry-like object."""

    def __init__(self, policy: Any) -> None:
        def count(name: str) -> int | None:
            value = getattr(policy, name, None)
            return None if value is None or value is True else (0 if value is False else int(value))

        self.total = count("total")
        self.connect = count("connect")
        self.read = count("read")
        # read=False: a read failure is raised as is, not counted (urllib3's reraise).
        self.read_disabled = getattr(policy, "read", None) is False
        self.status = count("status")
        self.backoff = float(getattr(policy, "backoff_factor", 0) or 0)
        self.forcelist = set(getattr(policy, "status_forcelist", None) or ())
        methods = getattr(policy, "allowed_methods", Retry.DEFAULT_ALLOWED_METHODS)
        self.methods = None if methods is False or methods is None else {m.upper() for m in methods}
        self.raise_on_status = bool(getattr(policy, "raise_on_status", True))
        self.respect_retry_after = bool(getattr(policy, "respect_retry_after_header", True))
        self.attempts = 0
        self.policy = policy
        self.history: list[Any] = list(getattr(policy, "history", None) or ())

    def record(self, method: str, url: str, error: Any = None, status: int | None = None) -> None:
        """One retry taken, for ``response.raw.retries.history``."""
        self.history.append(RequestHistory(method, url, error, status, None))

    def final(self) -> Any:
        """The policy as urllib3 leaves it on the response: counts spent, history kept."""
        new = getattr(self.policy, "new", None)
        if new is None or not self.history:
            return self.policy
        left = {
            "total": self.total,
            "connect": self.connect,
            "read": False if self.read_disabled else self.read,
            "status": self.status,
        }
        # Counts the policy left unlimited (None) or switched off (False) stay as they were.
        changes = {k: v for k, v in left.items() if getattr(self.policy, k, None) not in (None, False)}
        try:
            return new(history=tuple(self.history), **changes)
        except Exception:  # a Retry-like object whose new() takes other arguments
            return self.policy

    def _take(self, specific: str) -> bool:
        left = getattr(self, specific)
        if self.total is not None and self.total <= 0:
            return False
        if left is not None and left <= 0:
            return False
        if self.total is not None:
            self.total -= 1
        if left is not None:
            setattr(self, specific, left - 1)
        self.attempts += 1
        return True

    def retry_connect(self) -> bool:
        return self._take("connect")

    def retry_read(self, method: str) -> bool | None:
        """A failure while waiting for the response: True to retry, False when the retries
        are spent (urllib3's MaxRetryError), None when it is raised as is (read=False, or a
        method not in allowed_methods)."""
        if self.read_disabled or not (self.methods is None or method.upper() in self.methods):
            return None
        return self._take("read")

    def wants_status(self, method: str, status: int) -> bool:
        if status not in self.forcelist:
            return False
        return self.methods is None or method.upper() in self.methods

    def retry_status(self) -> bool:
        return self._take("status")

    def sleep(self, retry_after: str | None = None) -> None:
        delay = 0.0
        if retry_after and self.respect_retry_after:
            try:
                delay = max(0.0, float(retry_after))
            except ValueError:
                delay = 0.0
        elif self.backoff and self.attempts > 1:
            delay = min(self.backoff * (2 ** (self.attempts - 1)), 120.0)
        if delay > 0:
            balrog.sleep(delay)


class BaseAdapter:
    """The base transport adapter."""

    def __init__(self) -> None:
        super().__init__()

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _timeouts(timeout: Any) -> tuple[float | None, float | None]:
    """(connect, read) seconds, checked as requests has urllib3 check them (its Timeout)."""
    if isinstance(timeout, tuple):
        # requests wraps the unpacking and urllib3's checks in one try: a bad value in a
        # pair is reported as a bad pair.
        try:
            connect, read = timeout
            return _seconds(connect, "connect"), _seconds(read, "read")
        except ValueError:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                "or a single float to set both timeouts to the same value."
            ) from None
    # Looked up on the class: a Timeout's read_timeout property raises when `total` is set.
    if hasattr(type(timeout), "connect_timeout") and hasattr(type(timeout), "read_timeout"):
        return _urllib3_timeouts(timeout)
    return _seconds(timeout, "connect"), _seconds(timeout, "read")


def _urllib3_timeouts(timeout: Any) -> tuple[float | None, float | None]:
    """A urllib3 Timeout object (checked when it was made). With ``total``, urllib3 reads
    with what is left of it once connected (``read_timeout`` needs its started timer, so
    it is not asked); here the whole ``total`` bounds the reads, and the read timeout
    when smaller."""
    connect = _default_or(timeout.connect_timeout, "connect")  # min(connect, total) already
    total = getattr(timeout, "total", None)
    if total is None:
        return connect, _default_or(timeout.read_timeout, "read")
    read = getattr(timeout, "_read", None)
    if read is None or _is_unset(read):
        return connect, _seconds(total, "total")
    return connect, _seconds(min(total, read), "read")


def _is_unset(value: Any) -> bool:
    """urllib3's "not set" sentinel (``_DEFAULT_TIMEOUT``), told without importing urllib3."""
    return type(value).__name__ == "_TYPE_DEFAULT"


def _default_or(value: Any, name: str) -> float | None:
    """A urllib3 Timeout's value; its "not set" sentinel means the socket module's default."""
    if _is_unset(value):
        return socket.getdefaulttimeout()
    return _seconds(value, name)


def _seconds(value: Any, name: str) -> float | None:
    """urllib3's Timeout._validate_timeout, its messages included: a timeout must be a
    positive number (0 is refused) or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("Timeout cannot be a boolean value. It must be an int, float or None.")
    wrong_type = f"Timeout value {name} was {value}, but it must be an int, float or None."
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(wrong_type) from None
    try:
        if value <= 0:
            raise ValueError(
                f"Attempted to set {name} timeout to {value}, but the timeout cannot be set to a value "
                "less than or equal to 0."
            )
    except TypeError:  # "1" converts to a float but does not compare with 0
        raise ValueError(wrong_type) from None
    return seconds


# The characters of an HTTP token; urllib3 checks the method against them at putrequest.
_NON_TOKEN = re.compile(r"[^-!#$%&'*+.^_`|~0-9a-zA-Z]")


def _invalid_request(exc: ValueError, method: Any, request: Any) -> Exception:
    """What requests raises for a request the native client refused to build: urllib3's
    ValueError for a method that is not a token (requests lets it through), else
    InvalidHeader (a header name or value hyper refuses)."""
    match = _NON_TOKEN.search(method) if isinstance(method, str) else None
    if match:
        found = match.group()
        return ValueError(f"Method cannot contain non-token characters {method!r} (found at least {found!r})")
    return InvalidHeader(str(exc), request=request)


def _body_for_wire(body: Any) -> Any:
    """bytes or None for a body sent whole; ``_STREAMED`` for a file or an iterator."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        return _STREAMED
    # urllib3's order (util.request.body_to_chunks): the buffer API (array.array...), then
    # iteration; requests prepares anything else (data=5) as it is and urllib3 refuses it.
    try:
        return bytes(memoryview(body))
    except TypeError:
        pass
    try:
        iter(body)
    except TypeError:
        raise TypeError(
            f"'body' must be a bytes-like object, file-like object, or iterable. Instead was {body!r}"
        ) from None
    return _STREAMED


_STREAMED: Any = object()

# How much of a file body is read per chunk (urllib3 reads 16 KiB; the bytes sent are the same).
_UPLOAD_BLOCK = 64 * 1024
# The SOCKS versions requests supports (with PySocks): socks4a and socks5h resolve the
# target's name at the proxy, socks4 and socks5 locally.
_SOCKS_SCHEMES = ("socks4", "socks4a", "socks5", "socks5h")


def _upload_chunks(body: Any) -> Any:
    """The chunks of a streamed body, as urllib3 produces them: a file object is read block
    by block (text encoded as UTF-8), an iterable's items are sent as they come (str as
    UTF-8, empty items skipped, anything else must be bytes-like)."""
    read = getattr(body, "read", None)
    if read is not None:
        encode = isinstance(body, io.TextIOBase)
        while True:
            block = read(_UPLOAD_BLOCK)
            if not block:
                return
            if encode or isinstance(block, str):
                block = block.encode("utf-8")
            elif type(block) is not bytes:
                block = bytes(memoryview(block))
            yield block
    for chunk in body:
        if not chunk:
            continue
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        elif type(chunk) is not bytes:
            try:
                chunk = bytes(memoryview(chunk))
            except TypeError:
                # What urllib3's chunk framing raises for a non-bytes item: it takes len()
                # first, then formats the chunk with %b.
                if not hasattr(chunk, "__len__"):
                    raise TypeError(f"object of type '{type(chunk).__name__}' has no len()") from None
                raise TypeError(
                    f"%b requires a bytes-like object, or an object that implements __bytes__, "
                    f"not '{type(chunk).__name__}'"
                ) from None
        yield chunk


class _BodyFailure:
    """An exception raised by the body's producer (a generator, ``read()``): it reaches the
    caller as is, never as a requests exception."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _upload(
    client: Any,
    method: str,
    url: str,
    headers: Any,
    body: Any,
    timeouts: tuple[float | None, float | None],
    stream: bool,
    green: bool,
) -> Any:
    """Send a request whose body streams from a file object or an iterator: each chunk is
    produced on the caller's thread (in the caller's green task) when the connection wants
    the next one. Returns ``Client.send``'s tuple, or a :class:`_BodyFailure`."""
    connect, read = timeouts
    upload = client.upload(method, url, headers, read, stream, green, connect)
    try:
        result = wait(upload.step())
        if result is not None:
            return result
        chunks = _upload_chunks(body)
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except BaseException as exc:
                upload.abort()
                return _BodyFailure(exc)
            result = wait(upload.step(chunk))
            if result is not None:
                # The response came before the end of the body (requests would have sent it
                # all first): the request stays incomplete and its connection is dropped.
                return result
        return wait(upload.finish())
    except BaseException:
        upload.abort()
        raise


@functools.cache
def _urllib3_user_agent() -> str | None:
    """urllib3's default User-Agent, if urllib3 is installed to name its version."""
    from importlib import metadata

    try:
        return f"python-urllib3/{metadata.version('urllib3')}"
    except metadata.PackageNotFoundError:
        return None


def _header_names(headers: list[tuple[Any, Any]]) -> set[str]:
    """The lower-cased names of header pairs (bytes names read as Latin-1)."""
    return {(name if isinstance(name, str) else name.decode("latin-1")).lower() for name, _ in headers}


def _with_transport_defaults(
    headers: list[tuple[Any, Any]], names: set[str] | None = None
) -> list[tuple[Any, Any]]:
    """The request's headers plus those urllib3 adds on the wire when they are missing
    (``names``: their ``_header_names``, when the caller has them already).

    A session's defaults carry both, so they are missing only when the caller dropped them
    (``headers={"Accept-Encoding": None}``) or sent a PreparedRequest made without a
    session: urllib3 then asks for ``Accept-Encoding: identity`` (an absent header would
    let the server pick any encoding) and sends its own ``User-Agent``.
    """
    if names is None:
        names = _header_names(headers)
    has_encoding, has_agent = "accept-encoding" in names, "user-agent" in names
    if has_encoding and has_agent:
        return headers
    headers = list(headers)
    if not has_encoding:
        headers.append(("Accept-Encoding", "identity"))
    if not has_agent:
        agent = _urllib3_user_agent()
        if agent is not None:
            headers.append(("User-Agent", agent))
    return headers


def _streamed_framing(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The wire headers of a streamed body. requests keeps a caller's Content-Length next
    to its own ``Transfer-Encoding: chunked`` (a generator's length is unknown) and urllib3
    sends both; hyper would frame by the length instead, so a server honouring the chunked
    header (as RFC 9112 says it must) would wait forever. The body goes out chunked, without
    the length that a sender must not send alongside it."""
    chunked = any(
        name.lower() == "transfer-encoding" and "chunked" in value.lower() for name, value in headers
    )
    if not chunked:
        return headers
    return [(name, value) for name, value in headers if name.lower() != "content-length"]


def _pool_name(url: str) -> str:
    parts = urlsplit(url)
    kind = "HTTPSConnectionPool" if parts.scheme == "https" else "HTTPConnectionPool"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{kind}(host={parts.hostname!r}, port={port})"


def _explain(exc: RequestException, request: Any, read_timeout: float | None) -> RequestException:
    """Phrase a native failure the way requests/urllib3 do, and attach the request."""
    message = str(exc)
    url = request.url
    if isinstance(exc, ReadTimeout):
        text = f"{_pool_name(url)}: Read timed out. (read timeout={read_timeout})"
    elif isinstance(exc, (ConnectionError,)) and getattr(exc, "_balrog_connect_phase", False):
        text = f"{_pool_name(url)}: Max retries exceeded with url: {request.path_url} (Caused by {message})"
    else:
        text = message
    # requests attaches the request to failures of the exchange, not to body read errors.
    attach = not isinstance(exc, (ChunkedEncodingError, ContentDecodingError))
    # requests wraps urllib3's exception (args[0] is the exception, str() is its message);
    # code reads e.args[0].reason or e.args[0].args[0], so the same shape is kept.
    cause: Any = text
    if isinstance(exc, ReadTimeout):
        cause = _urllib3.make("ReadTimeoutError", text, pool=None, url=request.path_url)
    elif getattr(exc, "_balrog_connect_phase", False):
        cause = _urllib3.make("MaxRetryError", text, pool=None, url=request.path_url, reason=message)
    explained = type(exc)(cause, request=request if attach else None)
    if hasattr(exc, "_balrog_connect_phase"):
        explained._balrog_connect_phase = True  # type: ignore[attr-defined]
    return explained


def _read_retries_exhausted(
    exc: RequestException, request: Any, read_timeout: float | None
) -> ConnectionError:
    """The last read failure once the read retries are spent: urllib3 raises MaxRetryError,
    which requests turns into a ConnectionError whatever the failure was."""
    url = request.url
    reason: Any
    if isinstance(exc, ReadTimeout):
        text = f"{_pool_name(url)}: Read timed out. (read timeout={read_timeout})"
        reason = _urllib3.make("ReadTimeoutError", text, pool=None, url=request.path_url)
    else:
        reason = _urllib3.classes().ProtocolError("Connection aborted.", str(exc))
    text = f"{_pool_name(url)}: Max retries exceeded with url: {request.path_url} (Caused by {reason!r})"
    cause = _urllib3.make("MaxRetryError", text, pool=None, url=request.path_url, reason=reason)
    return ConnectionError(cause, request=request)


def __getattr__(name: str) -> Any:
    # requests' adapters module re-exports urllib3's exception classes; so does this one,
    # looked up on first use (see _urllib3).
    if name in _urllib3.NAMES:
        return getattr(_urllib3.classes(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class HTTPAdapter(BaseAdapter):
    """The built-in HTTP adapter: keep-alive pools per Session, on reqwest.

    :param pool_connections: accepted for compatibility (pools are per host anyway).
    :param pool_maxsize: idle connections kept per host.
    :param max_retries: an int (retries of failed connections, never of requests that
        reached the server) or a urllib3 ``Retry``-like object.
    """

    __attrs__ = ["max_retries", "config", "_pool_connections", "_pool_maxsize", "_pool_block"]

    def __init__(
        self,
        pool_connections: int = DEFAULT_POOLSIZE,
        pool_maxsize: int = DEFAULT_POOLSIZE,
        max_retries: Any = DEFAULT_RETRIES,
        pool_block: bool = DEFAULT_POOLBLOCK,
    ) -> None:
        # As requests: the default (0) never retries a read; any other count does.
        self.max_retries = (
            Retry(0, read=False) if max_retries == DEFAULT_RETRIES else Retry.from_int(max_retries)
        )
        self.config: dict[str, Any] = {}
        self.proxy_manager: dict[str, Any] = {}
        super().__init__()
        self._pool_connections = pool_connections
        self._pool_maxsize = pool_maxsize
        self._pool_block = pool_block
        self._clients: dict[tuple[Any, ...], Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {attr: getattr(self, attr, None) for attr in self.__attrs__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.proxy_manager = {}
        self.config = {}
        for attr, value in state.items():
            setattr(self, attr, value)
        self._clients = {}

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self._clients = {}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Check the CA bundle and client certificate paths (requests raises OSError)."""
        if url.lower().startswith("https") and verify and verify is not True:
            if not os.path.exists(verify):
                raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {verify}")
        if cert:
            cert_file, key_file = (cert[0], cert[1]) if not isinstance(cert, str) else (cert, None)
            if cert_file and not os.path.exists(cert_file):
                raise OSError(f"Could not find the TLS certificate file, invalid path: {cert_file}")
            if key_file and not os.path.exists(key_file):
                raise OSError(f"Could not find the TLS key file, invalid path: {key_file}")

    def _client(self, url: str, verify: Any, cert: Any, proxy: str | None) -> Any:
        """The native client for these TLS and proxy settings (the timeouts go with each
        request: its connections are shared by requests with any timeout)."""
        if not url.startswith("https:"):
            # Plain HTTP never uses TLS settings, but requests checks that a client
            # certificate's files exist whatever the URL (HTTPAdapter.cert_verify).
            if cert:
                self.cert_verify(None, url, verify, cert)
            verify, cert = True, None
        key = (verify, cert if not isinstance(cert, list) else tuple(cert), proxy)
        client = self._clients.get(key)
        if client is not None:
            return client
        self.cert_verify(None, url, verify, cert)
        ca_file = None
        if verify is True or verify is None:
            ca_file = None
        elif verify:
            ca_file = verify
        if ca_file is not None and os.path.isdir(ca_file):
            ca_file = _bundle_from_dir(ca_file)
        cert_file = key_file = None
        if cert:
            cert_file, key_file = (cert, None) if isinstance(cert, str) else (cert[0], cert[1])
        client = _http_native.Client(
            verify=bool(verify) or verify is None,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            proxy=proxy,
            pool_maxsize=max(1, int(self._pool_maxsize)),
            pool_connections=max(1, int(self._pool_connections)),
        )
        self._clients[key] = client
        return client

    def build_response(self, req: Any, resp: Any) -> Response:
        """A :class:`Response` from a native result (``RawResponse``)."""
        response = Response()
        response.status_code = resp.status
        pairs = getattr(resp, "_header_list", None)
        if pairs is not None:
            # Built lazily from the pairs (requests copies raw.headers: a dict of its own).
            response._header_pairs = pairs
            response.encoding = get_encoding_from_headers(_ContentTypeOnly(pairs))
        else:
            response.headers = CaseInsensitiveDict(getattr(resp, "headers", {}))
            response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        url = req.url
        response.url = url.decode("utf-8") if isinstance(url, bytes) else url
        response.request = req
        if type(resp) is not RawResponse:
            extract_cookies_to_jar(response.cookies, req, resp)
        # else: the cookie jar is filled from the raw headers when first looked at.
        response.connection = self
        return response

    def request_url(self, request: Any, proxies: Any) -> str:
        """The URL as it goes on the request line (absolute through an HTTP proxy)."""
        proxy = select_proxy(request.url, proxies)
        scheme = urlsplit(request.url).scheme
        # A SOCKS proxy only relays bytes: the request line stays origin-form.
        if proxy and scheme != "https" and not proxy.lower().startswith("socks"):
            return urldefragauth(request.url)
        return request.path_url

    def add_headers(self, request: Any, **kwargs: Any) -> None:
        """Hook for subclasses: add headers to the request before it is sent."""

    def proxy_headers(self, proxy: str) -> dict[str, str]:
        """Headers for the proxy (Basic auth from the proxy URL's userinfo). A SOCKS proxy's
        credentials go in its own handshake instead (SOCKS5 user/password)."""
        from .auth import _basic_auth_str

        headers: dict[str, str] = {}
        username, password = get_auth_from_url(proxy)
        if username:
            headers["Proxy-Authorization"] = _basic_auth_str(username, password)
        return headers

    def _proxy_for(self, request: Any, proxies: Any) -> str | None:
        proxy = select_proxy(request.url, proxies)
        if not proxy:
            return None
        if not _has_host(proxy):
            raise InvalidProxyURL("Please check proxy URL. It is malformed and could be missing the host.")
        try:
            proxy = prepend_scheme_if_needed(proxy, "http")
        except ValueError as exc:  # urllib3's LocationParseError: requests' InvalidURL
            raise InvalidURL(exc, request=request) from None
        parts = urlsplit(proxy)
        if not parts.hostname:
            raise InvalidProxyURL("Please check proxy URL. It is malformed and could be missing the host.")
        if proxy.lower().startswith("socks"):
            if parts.scheme not in _SOCKS_SCHEMES:
                # urllib3's SOCKSProxyManager knows these four versions and nothing else.
                raise ValueError(f"Unable to determine SOCKS version from {proxy}")
            username, password = get_auth_from_url(proxy)
            if not (username and password) and "@" in parts.netloc:
                # PySocks offers user/password authentication only with both; otherwise
                # none (reqwest would offer user/password alone, with an empty field).
                proxy = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        elif parts.scheme.lower() not in ("http", "https"):
            # urllib3's ProxyManager refuses it (ProxySchemeUnknown); never go direct instead.
            raise InvalidURL(
                f"Proxy URL had unsupported scheme {parts.scheme}, should use http:// or https://",
                request=request,
            )
        return proxy

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        """Send a PreparedRequest; returns a :class:`Response`."""
        url = request.url
        if not url.startswith(("http://", "https://")):
            scheme = urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise InvalidSchema(f"No connection adapters were found for {url!r}")
        connect, read = _timeouts(timeout)
        proxy = self._proxy_for(request, proxies) if proxies else None
        client = self._client(url, verify, cert, proxy)
        self.add_headers(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        try:
            headers = list(request.headers.items())
        except AttributeError:
            headers = []
        names = _header_names(headers)
        headers = _with_transport_defaults(headers, names)
        body = _body_for_wire(request.body)
        source = request.body
        if body is not None and body is not _STREAMED and "content-length" not in names:
            # requests asks urllib3 for chunked framing whenever a body has no Content-Length
            # (an empty one gets none from prepare_content_length).
            source, body = [body], _STREAMED
            if "transfer-encoding" not in names:
                headers.append(("Transfer-Encoding", "chunked"))
        body_position = None
        if body is _STREAMED:
            headers = _streamed_framing(headers)
            # urllib3 rewinds a file body to here before sending it again (status retries).
            try:
                body_position = request.body.tell()
            except Exception:
                pass
        green = type(getcurrent()) is GreenTask
        method = request.method
        wire = _uri.wire_url(url)
        budget = None
        while True:
            try:
                if body is _STREAMED:
                    result = _upload(client, method, wire, headers, source, (connect, read), stream, green)
                    if type(result) is _BodyFailure:
                        break
                else:
                    result = wait(client.send(method, wire, headers, body, read, stream, green, connect))
                status, reason, version, header_list, payload = result
            except RequestException as exc:
                if getattr(exc, "_balrog_connect_phase", False):
                    if budget is None:
                        budget = _RetryBudget(self.max_retries)
                    if budget.retry_connect():
                        budget.record(method, request.path_url, exc)
                        budget.sleep()
                        continue
                elif getattr(exc, "_balrog_read_phase", False):
                    if budget is None:
                        budget = _RetryBudget(self.max_retries)
                    verdict = budget.retry_read(method)
                    # A streamed body goes again only if it can be rewound (a file).
                    resendable = body is not _STREAMED or body_position is not None
                    if verdict and resendable:
                        budget.record(method, request.path_url, exc)
                        budget.sleep()
                        if body_position is not None:
                            request.body.seek(body_position)
                        continue
                    if verdict is False:
                        raise _read_retries_exhausted(exc, request, read) from None
                raise _explain(exc, request, read) from None
            except UnicodeError:
                raise
            except ValueError as exc:
                raise _invalid_request(exc, method, request) from None
            if self.max_retries.status_forcelist if hasattr(self.max_retries, "status_forcelist") else False:
                if budget is None:
                    budget = _RetryBudget(self.max_retries)
                if budget.wants_status(method, status):
                    retry_after = _header(header_list, "retry-after")
                    if budget.retry_status():
                        budget.record(method, request.path_url, None, status)
                        if not isinstance(payload, bytes):
                            payload.close()
                        budget.sleep(retry_after)
                        if body_position is not None:
                            request.body.seek(body_position)
                        continue
                    if budget.raise_on_status:
                        raise RetryError(
                            f"{_pool_name(url)}: Max retries exceeded with url: {request.path_url} "
                            f"(Caused by ResponseError('too many {status} error responses'))",
                            request=request,
                        )
            break
        if type(result) is _BodyFailure:
            # Raised here, outside the handlers above: the producer's own exception, as is,
            # except an OSError, which urllib3 takes for a failed send (a file's read() fails
            # inside http.client's send) and requests reports as a ConnectionError.
            failure = result.exc
            del result
            if isinstance(failure, OSError) and not isinstance(failure, RequestException):
                raise ConnectionError(f"('Connection aborted.', {failure!r})", request=request) from failure
            raise failure
        raw = RawResponse(status, reason, version, header_list, payload, url)
        raw.retries = budget.final() if budget is not None else self.max_retries
        response = self.build_response(request, raw)
        if isinstance(payload, bytes):
            response._content = payload
            response._content_consumed = True
        return response

    def close(self) -> None:
        """Drop the pooled connections."""
        # Code written for requests may keep its own managers here; requests clears them.
        for manager in self.proxy_manager.values():
            manager.clear()
        for client in self._clients.values():
            client.close()
        self._clients.clear()


# urllib3's reading of a URL (requests validates proxy URLs with it): text before the first
# ":" is a scheme when it looks like one, and only "//" introduces a host.
_LOOKS_LIKE_SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+-]*:|/)")
_AUTHORITY = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?(?://([^\\/?#]*))?", re.DOTALL)


def _has_host(url: str) -> bool:
    """Whether urllib3 would find a host in ``url`` ("http:/x:1" and "http://:1" have none)."""
    if not _LOOKS_LIKE_SCHEME.match(url):
        url = "//" + url
    match = _AUTHORITY.match(url)
    authority = match.group(1) if match else None
    if not authority:
        return False
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return len(host) > 2
    return bool(host.partition(":")[0])


class _ContentTypeOnly:
    """The Content-Type of a header list, looked up as ``headers.get`` would find it."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: Any = None) -> Any:
        wanted = name.lower()
        values = [value for key, value in self._pairs if key.lower() == wanted]
        return ", ".join(values) if values else default


def _header(pairs: list[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _bundle_from_dir(directory: str) -> str:
    """One PEM file holding every certificate of a CA directory (``verify=<dir>``)."""
    import hashlib
    import tempfile

    pems = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                data = handle.read()
            if b"-----BEGIN CERTIFICATE-----" in data:
                pems.append(data)
    bundle = b"\n".join(pems)
    digest = hashlib.sha256(bundle).hexdigest()[:16]
    target = os.path.join(tempfile.gettempdir(), f"balrog-ca-{digest}.pem")
    if not os.path.exists(target):
        with open(target, "wb") as handle:
            handle.write(bundle)
    return target
