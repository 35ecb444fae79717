"""``Response.raw``: the body as a file-like object over the native stream.

In requests ``raw`` is urllib3's ``HTTPResponse``, an ``io.IOBase``; code reaches for it to
copy a body to a file (``shutil.copyfileobj(r.raw, f)``), to read lines, or to see every
value of a repeated header (``r.raw.headers.getlist("Set-Cookie")``). This class keeps that
surface: ``read()`` returns the bytes as sent unless ``decode_content=True``, ``stream()``
and iteration decode, and ``headers`` is an :class:`HTTPHeaderDict`.
"""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from balrog._bridge import wait

from .structures import CaseInsensitiveDict

_MISSING: Any = object()
_VERSION_STRINGS = {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2", 30: "HTTP/3"}
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class HTTPHeaderDict(MutableMapping[str, str]):
    """urllib3's header mapping: case-insensitive, a repeated header keeps each value.

    ``h[name]`` joins the values with ", "; ``getlist(name)`` gives them one by one and
    ``items()`` yields one pair per value, in the order received.
    """

    def __init__(self, headers: Any = None, **kwargs: str) -> None:
        # lower-case name -> [name as first received, value, value, ...]
        self._store: dict[str, list[str]] = {}
        if headers is not None:
            self.extend(headers)
        if kwargs:
            self.extend(kwargs)

    def __getitem__(self, key: str) -> str:
        return ", ".join(self._store[key.lower()][1:])

    def __setitem__(self, key: str, value: str) -> None:
        self._store[key.lower()] = [key, value]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._store

    def __iter__(self) -> Iterator[str]:
        for entry in self._store.values():
            yield entry[0]

    def __len__(self) -> int:
        return len(self._store)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping) and not hasattr(other, "keys"):
            return False
        if not isinstance(other, HTTPHeaderDict):
            other = HTTPHeaderDict(other)
        return dict(_lowered(self.itermerged())) == dict(_lowered(other.itermerged()))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.itermerged())})"

    def add(self, key: str, val: str, *, combine: bool = False) -> None:
        """Add a value; with ``combine`` it joins the last value with ", " instead."""
        entry = self._store.get(key.lower())
        if entry is None:
            self._store[key.lower()] = [key, val]
        elif combine:
            entry[-1] = f"{entry[-1]}, {val}"
        else:
            entry.append(val)

    def extend(self, *args: Any, **kwargs: str) -> None:
        """Add every value of a mapping, an iterable of pairs or keyword arguments."""
        if len(args) > 1:
            raise TypeError(f"extend() takes at most 1 positional argument ({len(args)} given)")
        other = args[0] if args else ()
        if isinstance(other, HTTPHeaderDict):
            pairs: Iterable[tuple[str, str]] = other.iteritems()
        elif isinstance(other, Mapping):
            pairs = other.items()
        elif hasattr(other, "keys"):
            pairs = ((key, other[key]) for key in other.keys())
        else:
            pairs = other
        for key, value in pairs:
            self.add(key, value)
        for key, value in kwargs.items():
            self.add(key, value)

    def getlist(self, key: str, default: Any = _MISSING) -> Any:
        """Every value of ``key`` (``[]``, or ``default`` if given, when absent)."""
        entry = self._store.get(key.lower())
        if entry is None:
            return [] if default is _MISSING else default
        return entry[1:]

    # The names http.client and http.cookiejar use for getlist.
    getheaders = getallmatchingheaders = iget = get_all = getlist

    def iteritems(self) -> Iterator[tuple[str, str]]:
        for entry in self._store.values():
            for value in entry[1:]:
                yield entry[0], value

    def itermerged(self) -> Iterator[tuple[str, str]]:
        for entry in self._store.values():
            yield entry[0], ", ".join(entry[1:])

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        """One pair per value (urllib3's item view), repeated names included."""
        return list(self.iteritems())

    def copy(self) -> HTTPHeaderDict:
        clone = type(self)()
        clone._store = {key: list(entry) for key, entry in self._store.items()}
        return clone

    def __or__(self, other: Any) -> HTTPHeaderDict:
        merged = self.copy()
        merged.extend(other)
        return merged

    def __ior__(self, other: Any) -> HTTPHeaderDict:
        self.extend(other)
        return self


def _lowered(pairs: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for key, value in pairs:
        yield key.lower(), value


class RawResponse(io.IOBase):
    """The wire-level response: status line, headers and (when streamed) the body."""

    def __init__(
        self,
        status: int,
        reason: str | None,
        version: int,
        header_list: list[tuple[str, str]],
        body: Any,
        url: str,
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.version_string = _VERSION_STRINGS.get(version, "HTTP/?")
        self._header_list = header_list
        self._url = url
        # bytes when the body was read with the headers; a native BodyStream when streamed.
        self._stream = None if isinstance(body, bytes) else body
        # Unread bytes: `_buffer[_offset:]` (an offset, so small reads do not copy the rest).
        self._buffer = b""
        self._offset = 0
        self._eof = self._stream is None
        self._bytes_read = len(body) if isinstance(body, bytes) else 0
        self._body: bytes | None = None
        self._headers: HTTPHeaderDict | None = None
        self.decode_content = False
        self.auto_close = True
        self.enforce_content_length = True
        self.retries: Any = None

    # -- status line and headers ---------------------------------------------------------------

    @property
    def headers(self) -> HTTPHeaderDict:
        """Every header as received; repeated ones joined with ", " by ``[]``."""
        if self._headers is None:
            self._headers = HTTPHeaderDict(self._header_list)
        return self._headers

    @property
    def msg(self) -> Any:
        return self.headers

    @property
    def _original_response(self) -> OriginalResponse:
        """What code reaches through urllib3 for http.client's response: its status line
        and its headers as an ``http.client.HTTPMessage`` (``msg``)."""
        return OriginalResponse(self)

    @property
    def url(self) -> str:
        """The request target, as urllib3 records it (the path and query)."""
        parts = urlsplit(self._url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def _request_url(self) -> str:
        """urllib3's attribute behind ``url`` (requests-cache copies it)."""
        return self.url

    @property
    def chunked(self) -> bool:
        encodings = self.headers.get("transfer-encoding", "").lower().split(",")
        return "chunked" in (encoding.strip() for encoding in encodings)

    @property
    def length_remaining(self) -> int | None:
        """Body bytes still expected by Content-Length (None when the length is unknown)."""
        if self.status in (204, 304) or 100 <= self.status < 200:
            return 0
        length = self.headers.get("content-length")
        if length is None or self.chunked:
            return None
        try:
            values = {int(value) for value in length.split(",")}
        except ValueError:
            return None
        if len(values) != 1 or (total := values.pop()) < 0:
            return None
        return max(total - self._bytes_read, 0)

    @property
    def connection(self) -> None:
        """Always None: the native pool owns the connection (urllib3's is None once released)."""
        return None

    def getheaders(self) -> HTTPHeaderDict:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)

    def info(self) -> HTTPHeaderDict:
        return self.headers

    def geturl(self) -> str:
        return self.url

    def get_redirect_location(self) -> str | bool | None:
        if self.status in _REDIRECT_STATUSES:
            return self.headers.get("location")
        return False

    # -- reading ----------------------------------------------------------------------------

    def _next_chunk(self, decode: bool) -> bytes:
        if self._eof or self._stream is None:
            return b""
        chunk: bytes = wait(self._stream.read(decode))
        if not chunk:
            self._eof = True
            self._stream = None
        self._bytes_read += len(chunk)
        return chunk

    def _take_buffered(self, amt: int | None = None) -> bytes:
        start = self._offset
        end = len(self._buffer) if amt is None else min(start + amt, len(self._buffer))
        data = self._buffer[start:end]
        if end >= len(self._buffer):
            self._buffer, self._offset = b"", 0
        else:
            self._offset = end
        return data

    def _buffered(self) -> int:
        return len(self._buffer) - self._offset

    def read(  # type: ignore[override]
        self, amt: int | None = None, decode_content: bool | None = None, cache_content: bool = False
    ) -> bytes:
        """Up to ``amt`` bytes (all that is left when None); ``b""`` at the end."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is None or amt < 0:
            parts = [self._take_buffered()]
            while chunk := self._next_chunk(decode):
                parts.append(chunk)
            data = b"".join(parts)
            if cache_content:
                self._body = data
            return data
        while self._buffered() < amt:
            chunk = self._next_chunk(decode)
            if not chunk:
                break
            self._buffer = self._buffer[self._offset :] + chunk
            self._offset = 0
        return self._take_buffered(amt)

    def read1(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:  # type: ignore[override]
        """What is buffered, or else one chunk from the network (at most ``amt`` bytes)."""
        if amt == 0:
            return b""
        if amt is not None and amt < 0:
            amt = None
        if not self._buffered():
            decode = self.decode_content if decode_content is None else decode_content
            self._buffer, self._offset = self._next_chunk(decode), 0
        return self._take_buffered(amt)

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def peek(self, size: int = 0) -> bytes:
        """Buffered bytes without consuming them (lets ``readline()`` avoid byte-wise reads)."""
        if not self._buffered():
            self._buffer, self._offset = self._next_chunk(self.decode_content), 0
        return self._buffer[self._offset :]

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        """Yield the body in pieces of ``amt`` bytes (as they arrive when None)."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is None or amt <= 0:
            if self._buffered():
                yield self._take_buffered()
            while chunk := self._next_chunk(decode):
                yield chunk
            return
        if self.chunked or (self.version == 20 and "content-length" not in self.headers):
            # urllib3 reads a chunked body chunk by chunk (read_chunked): each piece is handed
            # on as soon as it is in, at most ``amt`` bytes, not held back until ``amt``
            # bytes have come (a server-sent event stream reads line by line as it is sent).
            # HTTP/2 bodies of unknown length, which urllib3 never meets, are read alike.
            while self._buffered():
                yield self._take_buffered(amt)
            while chunk := self._next_chunk(decode):
                for start in range(0, len(chunk), amt):
                    yield chunk[start : start + amt]
            return
        while data := self.read(amt, decode):
            yield data

    def __iter__(self) -> Iterator[bytes]:
        """The decoded body line by line, each with its b"\\n" (urllib3's iteration)."""
        pending: list[bytes] = []
        for chunk in self.stream(None, decode_content=True):
            lines = chunk.split(b"\n")
            for line in lines[:-1]:
                pending.append(line)
                yield b"".join(pending) + b"\n"
                pending = []
            if lines[-1]:
                pending.append(lines[-1])
        if pending:
            yield b"".join(pending)

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    @property
    def data(self) -> bytes:
        """The whole (rest of the) body, kept once read this way."""
        if self._body:
            return self._body
        return self.read(cache_content=True)

    def json(self) -> Any:
        return json.loads(self.data.decode("utf-8"))

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Body bytes received so far."""
        return self._bytes_read

    def fileno(self) -> int:
        raise OSError("The file-like object this HTTPResponse is wrapped around has no file descriptor")

    def flush(self) -> None:
        pass

    # -- the connection ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:  # type: ignore[override]
        """True once the body is fully read or the response closed (urllib3's auto_close)."""
        if not self.auto_close:
            return bool(io.IOBase.closed.__get__(self))  # type: ignore[attr-defined]
        return self._eof and not self._buffered()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._eof = True
        self._buffer, self._offset = b"", 0
        if not self.auto_close:
            io.IOBase.close(self)

    def shutdown(self) -> None:
        """Stop receiving the body (a blocked read ends)."""
        if self._stream is None:
            raise RuntimeError("Cannot shutdown as connection has already been released to the pool")
        self._stream.close()
        self._stream = None
        self._eof = True

    def release_conn(self) -> None:
        # A fully read body already went back to the pool; a partial one was closed.
        pass

    def drain_conn(self) -> None:
        """Read and drop what is left of the body, ignoring errors (urllib3's drain_conn)."""
        try:
            while self._next_chunk(False):
                pass
        except Exception:  # urllib3 swallows every read error here
            self.close()
        self._buffer, self._offset = b"", 0

    def isclosed(self) -> bool:
        return self._eof


def headers_from_list(pairs: list[tuple[str, str]]) -> CaseInsensitiveDict:
    headers = CaseInsensitiveDict()
    store = headers._store
    for name, value in pairs:
        lower = name.lower()
        previous = store.get(lower)
        if previous is None:
            store[lower] = (name, value)
        else:
            store[lower] = (previous[0], f"{previous[1]}, {value}")
    return headers


class OriginalResponse:
    """The metadata of ``http.client.HTTPResponse`` (urllib3's ``_original_response``):
    status line, ``msg``/``headers`` as an ``HTTPMessage`` with repeated headers kept, and
    ``getheader(s)``. The body is read through the raw response, not here."""

    def __init__(self, raw: RawResponse) -> None:
        self._raw = raw
        self.status = raw.status
        self.code = raw.status
        self.reason = raw.reason
        # http.client's numbers: 10, 11 (and urllib3's 20 for HTTP/2).
        self.version = raw.version
        self.will_close = False
        self._msg: http.client.HTTPMessage | None = None

    @property
    def msg(self) -> http.client.HTTPMessage:
        if self._msg is None:
            message = http.client.HTTPMessage()
            for key, value in self._raw._header_list:
                message[key] = value  # email.message appends: repeated headers stay
            self._msg = message
        return self._msg

    headers = msg

    def getheader(self, name: str, default: Any = None) -> Any:
        values = self.msg.get_all(name)
        return default if not values else ", ".join(values)

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self._raw._header_list)

    def info(self) -> http.client.HTTPMessage:
        return self.msg

    def geturl(self) -> str:
        return self._raw._url

    def getcode(self) -> int:
        return self.status

    def isclosed(self) -> bool:
        return self._raw.closed
