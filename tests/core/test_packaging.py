"""The `balrog` namespace: balrog-core alone works, and other wheels extend it.

Installs the release wheels from dist/ (built by scripts/setup) into fresh virtualenvs.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[2] / "dist"


def wheel(name: str) -> str | None:
    """The release wheel of ``name`` for this interpreter (dist/ may hold other Pythons')."""
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    found = sorted(glob.glob(str(DIST / f"{name}-*-{tag}-*.whl")))
    found = found or sorted(glob.glob(str(DIST / f"{name}-*-py3-none-any.whl")))
    return found[-1] if found else None


def make_venv(path: Path, *wheels: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *wheels],
        check=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    return python


@pytest.mark.skipif(
    wheel("balrog_core") is None, reason="no release wheel in dist/ (run scripts/build-wheels)"
)
def test_balrog_core_alone_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    core = wheel("balrog_core")
    assert core is not None
    python = make_venv(tmp_path / "venv", core)
    check = textwrap.dedent(
        """
        import importlib.util, balrog
        balrog.sleep(0.001)
        assert balrog.run(balrog.mode) == "green"
        for other in ("balrog.psycopg", "balrog.requests", "balrog.websockets", "balrog.django"):
            assert importlib.util.find_spec(other) is None, other
        print("ok", balrog.__version__)
        """
    )
    out = subprocess.run([str(python), "-c", check], check=True, capture_output=True, text=True)
    assert out.stdout.startswith("ok")


@pytest.mark.skipif(
    wheel("balrog_core") is None or wheel("balrog_http") is None, reason="release wheels not built"
)
def test_a_driver_wheel_extends_the_namespace(tmp_path: Path) -> None:
    core, http = wheel("balrog_core"), wheel("balrog_http")
    assert core is not None and http is not None
    python = make_venv(tmp_path / "venv", core, http)
    check = (
        "import balrog, balrog.requests, importlib.util; "
        "assert importlib.util.find_spec('balrog.psycopg') is None; print('ok')"
    )
    out = subprocess.run([str(python), "-c", check], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "ok"
