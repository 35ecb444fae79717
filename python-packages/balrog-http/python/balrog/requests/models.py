"""``Request``, ``PreparedRequest`` and ``Response``, with requests' preparation rules."""

from __future__ import annotations

import datetime
import json as complexjson
from collections.abc import Callable, Iterator, Mapping
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunparse

from . import _encoding, _uri
from ._multipart import encode_multipart
from ._raw import headers_from_list
from .cookies import _copy_cookie_jar, cookiejar_from_dict, extract_cookies_to_jar, get_cookie_header
from .exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    ContentDecodingError,
    HTTPError,
    InvalidJSONError,
    InvalidURL,
    MissingSchema,
    SSLError,
    StreamConsumedError,
)
from .exceptions import JSONDecodeError as RequestsJSONDecodeError
from .hooks import default_hooks
from .status_codes import codes
from .structures import CaseInsensitiveDict
from .utils import (
    check_header_validity,
    get_auth_from_url,
    guess_filename,
    guess_json_utf,
    iter_slices,
    parse_header_links,
    requote_uri,
    stream_decode_response_unicode,
    super_len,
    to_key_val_list,
)

__all__ = ["PreparedRequest", "Request", "RequestEncodingMixin", "RequestHooksMixin", "Response"]

REDIRECT_STATI = (
    codes.moved,
    codes.found,
    codes.other,
    codes.temporary_redirect,
    codes.permanent_redirect,
)
DEFAULT_REDIRECT_LIMIT = 30
CONTENT_CHUNK_SIZE = 10 * 1024
ITER_CHUNK_SIZE = 512

# Prepared URLs of recently used (url, no params) pairs: parsing and requoting a URL costs
# more than the rest of a request's Python side, and real code repeats its URLs.
_URL_CACHE: dict[str, str] = {}
_URL_CACHE_SIZE = 512

# Attributes a Response built by the plain path (``_plain.py``) makes on first access, by
# name: ``maker(response, plain_state)``. Filled in by that module.
_LAZY_ATTRIBUTES: dict[str, Callable[[Any, Any], Any]] = {}


class RequestEncodingMixin:
    url: Any

    @property
    def path_url(self) -> str:
        """The path and query of the URL (what goes on the request line)."""
        split = urlsplit(self.url)
        path = split.path or "/"
        if split.query:
            path += "?" + split.query
        return path

    @staticmethod
    def _encode_params(data: Any) -> Any:
        """Form-encode a dict or list of pairs; str, bytes and files are returned as they are."""
        if isinstance(data, (str, bytes)):
            return data
        if hasattr(data, "read"):
            return data
        if hasattr(data, "__iter__"):
            result = []
            for key, values in to_key_val_list(data) or []:
                if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                    values = [values]
                for value in values:
                    if value is not None:
                        result.append(
                            (
                                key.encode("utf-8") if isinstance(key, str) else key,
                                value.encode("utf-8") if isinstance(value, str) else value,
                            )
                        )
            return urlencode(result, doseq=True)
        return data

    @staticmethod
    def _encode_files(files: Any, data: Any) -> tuple[bytes, str]:
        """Build a multipart/form-data body from ``files`` and the form fields in ``data``."""
        if not files:
            raise ValueError("Files must be provided.")
        if isinstance(data, (str, bytes)):
            raise ValueError("Data must not be a string.")
        parts: list[tuple[str, Any, str | None, str | None, Any]] = []
        for field, values in to_key_val_list(data or {}) or []:
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            for value in values:
                if value is None:
                    continue
                if not isinstance(value, bytes):
                    value = str(value)
                name = field.decode("utf-8") if isinstance(field, bytes) else field
                parts.append((name, value, None, None, None))
        for key, spec in to_key_val_list(files) or []:
            content_type = None
            headers = None
            if isinstance(spec, (tuple, list)):
                if len(spec) == 2:
                    filename, fileobj = spec
                elif len(spec) == 3:
                    filename, fileobj, content_type = spec
                else:
                    filename, fileobj, content_type, headers = spec
            else:
                filename = guess_filename(spec) or key
                fileobj = spec
            if isinstance(fileobj, (str, bytes, bytearray)):
                payload = fileobj
            elif hasattr(fileobj, "read"):
                payload = fileobj.read()
            elif fileobj is None:
                continue
            else:
                payload = fileobj
            if isinstance(payload, bytearray):
                payload = bytes(payload)
            if isinstance(filename, bytes):
                filename = filename.decode("utf-8")
            parts.append((key, payload, filename, content_type, headers))
        return encode_multipart(parts)


class RequestHooksMixin:
    hooks: dict[str, list[Callable[..., Any]]]

    def register_hook(self, event: str, hook: Any) -> None:
        """Register a hook (a callable or an iterable of callables) for ``event``."""
        if event not in self.hooks:
            raise ValueError(f'Unsupported event specified, with event name "{event}"')
        if callable(hook):
            self.hooks[event].append(hook)
        elif hasattr(hook, "__iter__"):
            self.hooks[event].extend(h for h in hook if callable(h))

    def deregister_hook(self, event: str, hook: Any) -> bool:
        """Remove a hook; True if it was registered."""
        try:
            self.hooks[event].remove(hook)
            return True
        except ValueError:
            return False


class Request(RequestHooksMixin):
    """A user-created request, to be turned into a :class:`PreparedRequest` and sent."""

    def __init__(
        self,
        method: str | None = None,
        url: str | bytes | None = None,
        headers: Any = None,
        files: Any = None,
        data: Any = None,
        params: Any = None,
        auth: Any = None,
        cookies: Any = None,
        hooks: Any = None,
        json: Any = None,
    ) -> None:
        data = [] if data is None else data
        files = [] if files is None else files
        headers = {} if headers is None else headers
        params = {} if params is None else params
        hooks = {} if hooks is None else hooks
        self.hooks = default_hooks()
        for event, hook in list(hooks.items()):
            self.register_hook(event=event, hook=hook)
        self.method = method
        self.url = url
        self.headers = headers
        self.files = files
        self.data = data
        self.json = json
        self.params = params
        self.auth = auth
        self.cookies = cookies

    def __repr__(self) -> str:
        return f"<Request [{self.method}]>"

    def prepare(self) -> PreparedRequest:
        """A :class:`PreparedRequest` for transmission."""
        p = PreparedRequest()
        p.prepare(
            method=self.method,
            url=self.url,
            headers=self.headers,
            files=self.files,
            data=self.data,
            json=self.json,
            params=self.params,
            auth=self.auth,
            cookies=self.cookies,
            hooks=self.hooks,
        )
        return p


def _prepare_url(url: str, params: Any) -> str:
    try:
        parts = _uri.parse(url)
    except _uri.ParseError as exc:
        raise InvalidURL(*exc.args) from None
    scheme, userinfo, host, port, path, query, fragment = parts
    if not scheme:
        raise MissingSchema(f"Invalid URL {url!r}: No scheme supplied. Perhaps you meant https://{url}?")
    if not host:
        raise InvalidURL(f"Invalid URL {url!r}: No host supplied")
    if host.startswith(("*", ".")):
        raise InvalidURL("URL has an invalid label.")
    netloc = host
    if port and port != "0":  # requests leaves out a port 0
        netloc += ":" + port
    if userinfo:
        netloc = userinfo + "@" + netloc
    if not path:
        path = "/"
    if isinstance(params, bytes):
        params = params.decode("ascii")  # requests' to_native_string: UnicodeDecodeError
    encoded = RequestEncodingMixin._encode_params(params)
    if encoded:
        if isinstance(encoded, bytes):
            encoded = encoded.decode("utf-8")
        query = f"{query}&{encoded}" if query else encoded
    return requote_uri(urlunparse([scheme, netloc, path, None, query, fragment]))


class PreparedRequest(RequestEncodingMixin, RequestHooksMixin):
    """The exact bytes that will be sent: method, URL, headers and body, ready to go."""

    def __init__(self) -> None:
        self.method: str | None = None
        self.url: str | None = None
        self.headers: CaseInsensitiveDict = None  # type: ignore[assignment]
        self._cookies: Any = None
        self.body: Any = None
        self.hooks = default_hooks()
        self._body_position: Any = None

    def prepare(
        self,
        method: str | None = None,
        url: Any = None,
        headers: Any = None,
        files: Any = None,
        data: Any = None,
        params: Any = None,
        auth: Any = None,
        cookies: Any = None,
        hooks: Any = None,
        json: Any = None,
    ) -> None:
        self.prepare_method(method)
        self.prepare_url(url, params)
        self.prepare_headers(headers)
        self.prepare_cookies(cookies)
        self.prepare_body(data, files, json)
        self.prepare_auth(auth, url)
        # Hooks last: an auth handler may have registered its own.
        self.prepare_hooks(hooks)

    def __repr__(self) -> str:
        return f"<PreparedRequest [{self.method}]>"

    def copy(self) -> PreparedRequest:
        p = PreparedRequest()
        p.method = self.method
        p.url = self.url
        p.headers = self.headers.copy() if self.headers is not None else None  # type: ignore[assignment]
        p._cookies = _copy_cookie_jar(self._cookies)
        p.body = self.body
        p.hooks = self.hooks
        p._body_position = self._body_position
        return p

    def prepare_method(self, method: Any) -> None:
        self.method = method
        if self.method is not None:
            self.method = (
                self.method.decode("ascii") if isinstance(self.method, bytes) else self.method
            ).upper()

    def prepare_url(self, url: Any, params: Any) -> None:
        if isinstance(url, bytes):
            url = url.decode("utf8")
        else:
            url = str(url)
        url = url.lstrip()
        if not params:
            cached = _URL_CACHE.get(url)
            if cached is not None:
                self.url = cached
                return
        # Non-HTTP URLs (data:, file:, custom schemes) are passed through untouched; the
        # adapter lookup rejects them with InvalidSchema.
        if ":" in url and not url.lower().startswith("http"):
            self.url = url
            return
        prepared = _prepare_url(url, params)
        if not params:
            if len(_URL_CACHE) >= _URL_CACHE_SIZE:
                _URL_CACHE.clear()
            _URL_CACHE[url] = prepared
        self.url = prepared

    def prepare_headers(self, headers: Any) -> None:
        self.headers = CaseInsensitiveDict()
        if headers:
            store = self.headers._store
            for header in headers.items():
                check_header_validity(header)
                name, value = header
                if isinstance(name, bytes):
                    name = name.decode("latin1")
                store[name.lower()] = (name, value)

    def prepare_body(self, data: Any, files: Any, json: Any = None) -> None:
        body = None
        content_type = None
        if not data and json is not None:
            content_type = "application/json"
            try:
                body = complexjson.dumps(json, allow_nan=False)
            except ValueError as exc:
                raise InvalidJSONError(exc, request=self) from None
            if not isinstance(body, bytes):
                body = body.encode("utf-8")
        is_stream = hasattr(data, "__iter__") and not isinstance(data, (str, bytes, list, tuple, Mapping))
        if is_stream:
            try:
                length: int | None = super_len(data)
            except (TypeError, AttributeError, OSError):
                length = None
            body = data
            if getattr(body, "tell", None) is not None:
                try:
                    self._body_position = body.tell()
                except OSError:
                    # A unique object: rewind_body knows the position is unusable.
                    self._body_position = object()
            if files:
                raise NotImplementedError("Streamed bodies and files are mutually exclusive.")
            if length:
                self.headers["Content-Length"] = str(length)
            else:
                self.headers["Transfer-Encoding"] = "chunked"
        else:
            if files:
                body, content_type = self._encode_files(files, data)
            elif data:
                body = self._encode_params(data)
                if isinstance(data, (str, bytes)) or hasattr(data, "read"):
                    content_type = None
                else:
                    content_type = "application/x-www-form-urlencoded"
            self.prepare_content_length(body)
            if content_type and "content-type" not in self.headers:
                self.headers["Content-Type"] = content_type
        self.body = body

    def prepare_content_length(self, body: Any) -> None:
        if body is not None:
            length = super_len(body)
            if length:
                self.headers["Content-Length"] = str(length)
        elif self.method not in ("GET", "HEAD") and self.headers.get("Content-Length") is None:
            # A body-less request of a method that may have one says so explicitly.
            self.headers["Content-Length"] = "0"

    def prepare_auth(self, auth: Any, url: str = "") -> None:
        if auth is None:
            # (urlparse, which get_auth_from_url runs, refuses unbalanced brackets)
            if self.url is None or ("@" not in self.url and "[" not in self.url):
                return
            url_auth = get_auth_from_url(self.url)
            auth = url_auth if any(url_auth) else None
        if auth:
            if isinstance(auth, tuple) and len(auth) == 2:
                from .auth import HTTPBasicAuth

                auth = HTTPBasicAuth(*auth)
            prepared = auth(self)
            self.__dict__.update(prepared.__dict__)
            # The auth may have changed the body.
            self.prepare_content_length(self.body)

    def prepare_cookies(self, cookies: Any) -> None:
        """Add the Cookie header for ``cookies`` (a jar or dict) unless one is set already."""
        url = self.url
        if url is not None and ("[" in url or "]" in url):
            # requests reads the URL with urlparse here (for the cookie policy), even with no
            # cookies: a URL it refuses (unbalanced brackets) raises its ValueError.
            urlsplit(url)
        if cookies is None:
            # requests keeps an empty jar here (redirect handling merges into it).
            self._cookies = cookiejar_from_dict(None)
            return
        if isinstance(cookies, CookieJar):
            self._cookies = cookies
        else:
            self._cookies = cookiejar_from_dict(cookies)
        if not self._cookies._cookies:
            return
        cookie_header = get_cookie_header(self._cookies, self)
        if cookie_header is not None and "Cookie" not in self.headers:
            self.headers["Cookie"] = cookie_header

    def prepare_hooks(self, hooks: Any) -> None:
        hooks = hooks or []
        for event in hooks:
            self.register_hook(event, hooks[event])


# A ``raw`` set by a custom adapter may be a urllib3 response: its failures become requests'
# exceptions as they do in requests. Matched by class name, so urllib3 need not be installed.
_URLLIB3_ERRORS = {
    "ProtocolError": ChunkedEncodingError,
    "DecodeError": ContentDecodingError,
    "ReadTimeoutError": ConnectionError,
    "SSLError": SSLError,
}


def _from_urllib3(exc: Exception) -> Exception | None:
    for cls in type(exc).__mro__:
        if cls.__module__.startswith("urllib3"):
            target = _URLLIB3_ERRORS.get(cls.__name__)
            if target is not None:
                return target(exc)
    return None


class Response:
    """The server's response to a request."""

    __attrs__ = [
        "_content",
        "status_code",
        "headers",
        "url",
        "history",
        "encoding",
        "reason",
        "cookies",
        "elapsed",
        "request",
    ]

    def __init__(self) -> None:
        self._content: Any = False
        self._content_consumed = False
        self._next: PreparedRequest | None = None
        self.status_code: int = None  # type: ignore[assignment]
        self._headers: CaseInsensitiveDict | None = None
        # (name, value) pairs as received: ``headers`` is built from them when first used,
        # since most code never looks at the headers of most responses.
        self._header_pairs: list[tuple[str, str]] | None = None
        self.raw: Any = None
        self.url: str = None  # type: ignore[assignment]
        self.encoding: str | None = None
        self.history: list[Response] = []
        self.reason: str = None  # type: ignore[assignment]
        self._cookies: Any = None
        self.elapsed = datetime.timedelta(0)
        self.request: PreparedRequest = None  # type: ignore[assignment]
        self.connection: Any = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes missing from the instance: those a plain response
        # (see _plain.py) leaves to be made on first use, with the values it would have had.
        maker = _LAZY_ATTRIBUTES.get(name)
        plain = self.__dict__.get("_balrog_plain")
        if maker is None or plain is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = maker(self, plain)
        self.__dict__[name] = value
        return value

    @property
    def headers(self) -> CaseInsensitiveDict:
        """The response headers (a CaseInsensitiveDict; repeated ones joined with ", ")."""
        headers = self._headers
        if headers is None:
            pairs = self._header_pairs
            headers = self._headers = headers_from_list(pairs) if pairs is not None else CaseInsensitiveDict()
        return headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value

    @property
    def cookies(self) -> Any:
        """The cookies the server set (a RequestsCookieJar, made on first use)."""
        if self._cookies is None:
            self._cookies = cookiejar_from_dict({})
            raw = self.raw
            if raw is not None and self.request is not None:
                extract_cookies_to_jar(self._cookies, self.request, raw)
        return self._cookies

    @cookies.setter
    def cookies(self, jar: Any) -> None:
        self._cookies = jar

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        if not self._content_consumed:
            _ = self.content  # read the body now
        return {attr: getattr(self, attr, None) for attr in self.__attrs__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._content_consumed = True
        self.raw = None
        self._next = None
        self.connection = None

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def __bool__(self) -> bool:
        return self.ok

    def __nonzero__(self) -> bool:
        return self.ok

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_content(128)

    @property
    def ok(self) -> bool:
        """True unless the status is 4xx or 5xx."""
        try:
            self.raise_for_status()
        except HTTPError:
            return False
        return True

    @property
    def is_redirect(self) -> bool:
        """True for a redirect that would be followed automatically."""
        # The status first: it settles most responses without building the headers.
        return self.status_code in REDIRECT_STATI and "location" in self.headers

    @property
    def is_permanent_redirect(self) -> bool:
        return (
            self.status_code
            in (
                codes.moved_permanently,
                codes.permanent_redirect,
            )
            and "location" in self.headers
        )

    @property
    def next(self) -> PreparedRequest | None:
        """The next request of a redirect chain, when redirects were not followed."""
        return self._next

    @property
    def apparent_encoding(self) -> str | None:
        """The encoding guessed from the content (charset_normalizer when installed)."""
        return _encoding.detect(self.content)

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[Any]:
        """Iterate over the body in chunks of ``chunk_size`` bytes (as they come when None).

        With ``stream=True`` this reads from the network, one native op per chunk.
        """
        if self._content_consumed and isinstance(self._content, bool):
            raise StreamConsumedError()
        if chunk_size is not None and not isinstance(chunk_size, int):
            raise TypeError(f"chunk_size must be an int, it is instead a {type(chunk_size)}.")
        if self._content_consumed:
            chunks: Iterator[Any] = iter_slices(self._content, chunk_size)
        else:
            chunks = self._generate(chunk_size)
        if decode_unicode:
            chunks = stream_decode_response_unicode(chunks, self)
        return chunks

    def _generate(self, chunk_size: int | None) -> Iterator[bytes]:
        raw = self.raw
        try:
            if hasattr(raw, "stream"):
                yield from raw.stream(chunk_size, decode_content=True)
            else:
                while True:
                    chunk = raw.read(chunk_size)
                    if not chunk:
                        break
                    yield chunk
        except Exception as exc:
            translated = _from_urllib3(exc)
            if translated is None:
                raise
            raise translated from exc
        self._content_consumed = True

    def iter_lines(
        self,
        chunk_size: int = ITER_CHUNK_SIZE,
        decode_unicode: bool = False,
        delimiter: str | bytes | None = None,
    ) -> Iterator[Any]:
        """Iterate over the body line by line (not reentrant safe, as in requests)."""
        pending = None
        for chunk in self.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode):
            if pending is not None:
                chunk = pending + chunk
            lines = chunk.split(delimiter) if delimiter else chunk.splitlines()
            if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
                pending = lines.pop()
            else:
                pending = None
            yield from lines
        if pending is not None:
            yield pending

    @property
    def content(self) -> bytes | None:
        """The body as bytes (read in full on first access)."""
        if self._content is False:
            if self._content_consumed:
                raise RuntimeError("The content for this response was already consumed")
            if self.status_code == 0 or self.raw is None:
                self._content = None
            else:
                self._content = b"".join(self.iter_content(CONTENT_CHUNK_SIZE)) or b""
        self._content_consumed = True
        return self._content  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        """The body decoded with ``encoding`` (or the apparent encoding when unknown)."""
        content = self.content
        if not content:
            return ""
        encoding = self.encoding
        if encoding is None:
            encoding = self.apparent_encoding
        try:
            return str(content, encoding, errors="replace")  # type: ignore[arg-type]
        except (LookupError, TypeError):
            # An unknown or None encoding: fall back to the default, replacing errors.
            return str(content, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """Decode the body as JSON; raises requests' ``JSONDecodeError`` on bad JSON."""
        content = self.content
        if not self.encoding and content and len(content) > 3:
            # No declared charset: JSON is UTF-8/16/32, which the NUL bytes reveal.
            encoding = guess_json_utf(content)
            if encoding is not None:
                try:
                    return complexjson.loads(content.decode(encoding), **kwargs)
                except UnicodeDecodeError:
                    pass
                except complexjson.JSONDecodeError as exc:
                    raise RequestsJSONDecodeError(exc.msg, exc.doc, exc.pos) from None
        try:
            return complexjson.loads(self.text, **kwargs)
        except complexjson.JSONDecodeError as exc:
            raise RequestsJSONDecodeError(exc.msg, exc.doc, exc.pos) from None

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The parsed Link header, keyed by ``rel`` (or URL)."""
        header = self.headers.get("link")
        resolved: dict[str, dict[str, str]] = {}
        if header:
            for link in parse_header_links(header):
                key = link.get("rel") or link.get("url")
                resolved[key] = link  # type: ignore[index]
        return resolved

    def raise_for_status(self) -> None:
        """Raise :class:`HTTPError` for a 4xx or 5xx status."""
        reason: Any = self.reason
        if isinstance(reason, bytes):
            try:
                reason = reason.decode("utf-8")
            except UnicodeDecodeError:
                reason = reason.decode("iso-8859-1")
        message = ""
        if 400 <= self.status_code < 500:
            message = f"{self.status_code} Client Error: {reason} for url: {self.url}"
        elif 500 <= self.status_code < 600:
            message = f"{self.status_code} Server Error: {reason} for url: {self.url}"
        if message:
            raise HTTPError(message, response=self)

    def close(self) -> None:
        """Release the connection (a partly read body closes it)."""
        if not self._content_consumed and self.raw is not None:
            self.raw.close()
        release_conn = getattr(self.raw, "release_conn", None)
        if release_conn is not None:
            release_conn()
