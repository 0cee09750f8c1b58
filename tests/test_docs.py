"""The docs cannot rot: every code block runs, and the site builds in strict mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from servers import need_orthanc

import dbdicom as db
from dbdicom._demo import build_demo

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("page", PAGES)
def test_every_code_block_runs(page: str, tmp_path: Path) -> None:
    """Blocks of a page run in order, in one namespace, on a fresh demo database.

    A page that starts a server (``<!-- needs: orthanc``) skips without it,
    or fails under ``DBDICOM_REQUIRE_SERVERS=1``.
    """
    if "<!-- needs: orthanc" in (DOCS / page).read_text():
        need_orthanc()
    folder = tmp_path / "demo"
    build_demo(folder)
    namespace = {"db": db, "database": db.database(folder), "folder": str(folder)}
    blocks = BLOCK.findall((DOCS / page).read_text())
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page}, code block {i + 1}", "exec"), namespace)  # noqa: S102


def test_every_page_has_code_or_is_reference() -> None:
    for page in PAGES:
        text = (DOCS / page).read_text()
        assert BLOCK.search(text) or ":::" in text, f"{page} shows no example"


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    assert mkdocs.exists(), "mkdocs is not installed: pip install -e '.[test]'"
    out = subprocess.run(
        [str(mkdocs), "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "to_xarray" in api and "DialogLike" in api  # the reference comes from docstrings
