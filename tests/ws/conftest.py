from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import RawServer, WebsocketsServer


@pytest.fixture(scope="session")
def ws_server() -> Iterator[WebsocketsServer]:
    server = WebsocketsServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def ws_server_plain() -> Iterator[WebsocketsServer]:
    """The same server without permessage-deflate."""
    server = WebsocketsServer(compression=None)
    yield server
    server.close()


@pytest.fixture(scope="session")
def raw_server() -> Iterator[RawServer]:
    server = RawServer().start()
    yield server
    server.close()
