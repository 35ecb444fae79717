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
        connect_timeout: float | None = None,
        pool_maxsize: int = 10,
    ) -> None: ...
    def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str | bytes, str | bytes]],
        body: bytes | list[bytes] | None = None,
        read_timeout: float | None = None,
        stream: bool = False,
        green: bool = False,
    ) -> Op:
        """Op result: ``(status, reason, http_version, [(name, value)], bytes | BodyStream)``."""
    def close(self) -> None: ...

@final
class BodyStream:
    """A streamed response body: one op per chunk."""

    def read(self, decode: bool = True) -> Op:
        """Op result: the next chunk, ``b""`` at the end."""
    def close(self) -> None: ...

__all__ = ["BodyStream", "Client"]
