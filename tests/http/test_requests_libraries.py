"""Libraries that patch or wrap requests keep working on balrog after ``install_as_requests()``.

The mockers patch requests at the adapter: `responses` replaces ``HTTPAdapter.send`` and
builds responses from urllib3 objects, driving ``adapter.max_retries`` by hand;
`requests_mock` replaces ``Session.get_adapter``; every request, the fused fast path's
included, must meet the patch. `requests_cache` subclasses Session (or replaces it
process-wide) and copies urllib3 attributes of ``response.raw`` into its cache.

Differential: ``requests_libraries_app.py`` runs the same scenarios on the real requests and on
balrog.requests (blocking, and as a green task), each in a fresh interpreter (the alias is
process-wide); the outputs must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(180)

APP = os.path.join(os.path.dirname(__file__), "requests_libraries_app.py")


def run_app(mode: str, url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, APP, mode, url],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=os.path.dirname(APP),
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def on_requests(httpbin: Any) -> dict[str, Any]:
    return run_app("requests", httpbin.url)


@pytest.mark.parametrize("mode", ["balrog", "balrog-green"])
def test_same_as_on_requests(httpbin: Any, on_requests: dict[str, Any], mode: str) -> None:
    on_balrog = run_app(mode, httpbin.url)
    for library, scenarios in on_requests.items():
        for name, expected in scenarios.items():
            assert on_balrog[library][name] == expected, (library, name)
    assert on_balrog.keys() == on_requests.keys()
