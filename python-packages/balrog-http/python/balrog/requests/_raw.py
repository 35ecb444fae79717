"""``Response.raw``: the body as a file-like object over the native stream.

Like urllib3's response (which is what ``raw`` is in requests): ``read()`` returns the
bytes as sent unless ``decode_content=True``; ``stream()`` yields decoded chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from balrog._bridge import wait

from .structures import CaseInsensitiveDict


class RawResponse:
    """The wire-level response: status line, header list and (when streamed) the body."""

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
        self._header_list = header_list
        self._url = url
        # bytes when the body was read with the headers; a native BodyStream when streamed.
        self._stream = None if isinstance(body, bytes) else body
        self._buffer = b""
        self._eof = self._stream is None
        self._bytes_read = 0
        self._headers: CaseInsensitiveDict | None = None
        self.decode_content = False
        self.closed = False

    @property
    def headers(self) -> CaseInsensitiveDict:
        """All headers, repeated ones joined with ", " (as urllib3 presents them)."""
        if self._headers is None:
            self._headers = headers_from_list(self._header_list)
        return self._headers

    @property
    def msg(self) -> Any:
        return self.headers

    @property
    def url(self) -> str:
        return self._url

    def getheaders(self) -> CaseInsensitiveDict:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)

    def _next_chunk(self, decode: bool) -> bytes:
        if self._eof or self._stream is None:
            return b""
        chunk: bytes = wait(self._stream.read(decode))
        if not chunk:
            self._eof = True
            self._stream = None
        self._bytes_read += len(chunk)
        return chunk

    def read(
        self, amt: int | None = None, decode_content: bool | None = None, cache_content: bool = False
    ) -> bytes:
        """Up to ``amt`` bytes (all that is left when None); ``b""`` at the end."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is None:
            parts = [self._buffer]
            self._buffer = b""
            while True:
                chunk = self._next_chunk(decode)
                if not chunk:
                    break
                parts.append(chunk)
            return b"".join(parts)
        if amt < 0:
            return self.read(None, decode_content)
        while len(self._buffer) < amt:
            chunk = self._next_chunk(decode)
            if not chunk:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:amt], self._buffer[amt:]
        return data

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        """Yield the body in pieces of ``amt`` bytes (as they arrive when None)."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is None or amt <= 0:
            if self._buffer:
                data, self._buffer = self._buffer, b""
                yield data
            while True:
                chunk = self._next_chunk(decode)
                if not chunk:
                    return
                yield chunk
        while True:
            data = self.read(amt, decode)
            if not data:
                return
            yield data

    def __iter__(self) -> Iterator[bytes]:
        return self.stream(None)

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._bytes_read

    @property
    def data(self) -> bytes:
        return self.read()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._eof = True
        self.closed = True

    def release_conn(self) -> None:
        # A fully read body already went back to the pool; a partial one was closed.
        pass

    def isclosed(self) -> bool:
        return self.closed


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
