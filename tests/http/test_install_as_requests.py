"""``balrog.requests.install_as_requests()``: code that does ``import requests`` itself (an
SDK, a library) gets balrog.requests, submodules included; never mixed with the real one.

Each case runs in a fresh interpreter: the alias is process-wide, and this test process
has the real requests imported for the differential tests.
"""

from __future__ import annotations

import pytest

from support.proc import run_python

pytestmark = pytest.mark.timeout(120)


def test_library_code_importing_requests_gets_balrogs(httpbin):
    done = run_python(
        """
        import sys
        import balrog.requests
        balrog.requests.install_as_requests()
        balrog.requests.install_as_requests()  # idempotent

        # what a library built on requests does, by name
        import requests
        from requests.adapters import HTTPAdapter
        from requests.exceptions import ConnectionError, RequestException
        from requests.packages.urllib3.util.retry import Retry

        assert requests is balrog.requests and requests.__spec__.name == "balrog.requests"
        assert HTTPAdapter is balrog.requests.adapters.HTTPAdapter
        assert sys.modules["requests.exceptions"] is balrog.requests.exceptions
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=Retry(total=1)))
        response = session.get(sys.argv[1] + "/get", params={"a": "1"})
        print(type(response).__module__, response.status_code, response.json()["args"])
        try:
            requests.get("http://127.0.0.1:9/", timeout=2)
        except RequestException as err:
            print(type(err).__module__, type(err).__name__, isinstance(err, ConnectionError))
        assert balrog.requests.installed_as_requests()
        """,
        httpbin.url,
        timeout=110,  # under the test's own 120 s
    )
    assert done.stdout.splitlines() == [
        "balrog.requests.models 200 {'a': '1'}",
        "balrog.requests.exceptions ConnectionError True",
    ], done.stderr


def test_refuses_after_the_real_requests():
    done = run_python(
        """
        import requests
        import balrog, balrog.requests
        try:
            balrog.requests.install_as_requests()
        except balrog.ForeignModuleError as err:
            assert "requests" in err.modules, err.modules
            print("refused:", err)
        assert not balrog.requests.installed_as_requests()
        import requests as again
        assert again.__name__ == "requests"  # the real one, left alone
        """,
        timeout=110,
    )
    assert done.stdout.startswith("refused: the real requests is already imported"), done.stderr
