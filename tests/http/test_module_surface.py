"""requests' module-level names, as code that swaps the import uses them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import requests

import balrog.requests as brequests

# requests' own imports that leak into its namespace, not API.
_NOT_API = {"annotations", "warnings", "logging"}


def test_top_level_names_like_requests():
    missing = {n for n in dir(requests) if not n.startswith("_")} - set(dir(brequests)) - _NOT_API
    missing -= {name for name in missing if hasattr(brequests, name)}  # lazy ones
    assert sorted(missing) == []
    assert brequests.compat.urljoin("http://a/b", "c") == requests.compat.urljoin("http://a/b", "c")
    assert brequests.certs.where()
    assert brequests.NullHandler is requests.NullHandler
    assert issubclass(brequests.RequestsDependencyWarning, Warning)
    assert brequests.DependencyWarning is requests.DependencyWarning
    assert brequests.urllib3 is requests.urllib3
    brequests.check_compatibility("2.5.0", None, "3.5.2")


def test_packages_aliases_are_the_real_modules():
    # Both idioms, attribute access and import statements, give requests' objects, so a
    # warning filter or an except clause written either way matches urllib3's own classes.
    from requests.packages.urllib3.exceptions import InsecureRequestWarning as theirs

    from balrog.requests.packages.urllib3.exceptions import InsecureRequestWarning

    assert InsecureRequestWarning is theirs
    assert brequests.packages.urllib3 is importlib.import_module("urllib3")
    retry = importlib.import_module("balrog.requests.packages.urllib3.util.retry")
    assert retry is importlib.import_module("urllib3.util.retry")
    assert retry.__spec__.name == "urllib3.util.retry"
    assert brequests.packages.idna is importlib.import_module("idna")


def test_import_stays_light():
    # balrog.requests does not need urllib3: importing it must not import urllib3 (requests
    # does, eagerly), and the aliases still work afterwards.
    code = (
        "import sys, balrog.requests as r; assert 'urllib3' not in sys.modules, 'eager';"
        "from balrog.requests.packages.urllib3.exceptions import InsecureRequestWarning as W;"
        "import urllib3.exceptions as x; assert W is x.InsecureRequestWarning; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
