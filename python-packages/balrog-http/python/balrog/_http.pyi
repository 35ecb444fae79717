"""Native half of balrog.requests (reqwest on tokio). Every network call returns an op to
pass to ``balrog._bridge.wait``."""

from typing import final

from balrog._core import Op

@final
class Client:
    """Connection pools for one TLS/proxy configuration (blocking and green sides)."""

    def __init__(
        self,
        *,
        verify: bool = True,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        proxy: str | None = None,
        pool_maxsize: int = 10,
        pool_connections: int = 10,
    ) -> None:
        """``pool_maxsize``: idle connections kept per host; ``pool_connections``: hosts
        whose idle connections are kept (plain HTTP; reqwest's pools for HTTPS keep every
        host)."""
    def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str | bytes, str | bytes]],
        body: bytes | None = None,
        read_timeout: float | None = None,
        stream: bool = False,
        green: bool = False,
        connect_timeout: float | None = None,
    ) -> Op:
        """Op result: ``(status, reason, http_version, [(name, value)], bytes | BodyStream)``.
        ``connect_timeout`` bounds making a new connection for it, if one is needed."""
    def upload(
        self,
        method: str,
        url: str,
        headers: list[tuple[str | bytes, str | bytes]],
        read_timeout: float | None = None,
        stream: bool = False,
        green: bool = False,
        connect_timeout: float | None = None,
    ) -> Upload:
        """Start a request whose body the caller streams chunk by chunk (the framing headers,
        Content-Length or Transfer-Encoding, are the caller's)."""
    def send_plain(
        self,
        method: str,
        url: str,
        headers: Headers,
        read_timeout: float | None = None,
        green: bool = False,
        connect_timeout: float | None = None,
    ) -> Op:
        """A body-less request read whole. Op result: ``send``'s tuple (with ``bytes``)
        followed by whether the response sets a cookie."""
    def fetch(
        self,
        method: str,
        url: str,
        headers: Headers,
        read_timeout: float | None = None,
        connect_timeout: float | None = None,
    ) -> tuple[int, str | None, int, list[tuple[str, str]], bytes, bool]:
        """``send_plain``, sent and waited for on this thread (a caller that may block)."""
    def close(self) -> None: ...

@final
class Headers:
    """A header block converted and validated once (str values are sent as Latin-1)."""

    def __init__(self, headers: list[tuple[str | bytes, str | bytes]]) -> None: ...
    def __len__(self) -> int: ...

@final
class Upload:
    """One request whose body the caller produces: ``step()`` first, then ``step(chunk)``
    per chunk, then ``finish()``. Each op's result is None while hyper wants more, or
    ``Client.send``'s tuple once the exchange is over (possibly before the body's end)."""

    def step(self, chunk: bytes | None = None) -> Op: ...
    def finish(self) -> Op: ...
    def abort(self) -> None:
        """Give up: the server never sees the request as complete; the connection closes."""
    @property
    def complete(self) -> bool:
        """Whether hyper has read the whole body."""

@final
class BodyStream:
    """A streamed response body: one op per chunk."""

    def read(self, decode: bool = True) -> Op:
        """Op result: the next chunk, ``b""`` at the end."""
    def close(self) -> None: ...

@final
class EnvironSnapshot:
    """The values of some keys of ``os.environ._data`` (None when missing), read again only
    when that dict changed (PEP 509 version tag); otherwise the previous tuple itself."""

    def __init__(self, data: dict[bytes, bytes], keys: tuple[bytes, ...]) -> None: ...
    def __call__(self) -> tuple[bytes | None, ...]: ...

@final
class AbsentFiles:
    """Files of one directory that usually do not exist (the netrc candidates)."""

    def __init__(self, directory: str, paths: tuple[str, ...]) -> None: ...
    def none_exist(self) -> bool:
        """``not any(map(os.path.exists, paths))``, in one stat of the directory while it
        is unchanged since none of them existed."""

def dict_version(d: dict[object, object]) -> int | None:
    """The dict's PEP 509 version tag (None where the interpreter keeps none)."""

def type_version(cls: type) -> int | None:
    """The class's CPython version tag (None when it has no valid one now): equal tags mean
    the same class, unchanged (no attribute of it or of a base set or deleted since)."""

__all__ = [
    "AbsentFiles",
    "BodyStream",
    "Client",
    "EnvironSnapshot",
    "Headers",
    "dict_version",
    "type_version",
]
