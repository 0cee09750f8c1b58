"""House rules that CI checks: ruff and mypy clean, no bare except."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    assert found, f"{name} is not installed: pip install '.[test]'"
    return [found]


def test_ruff_clean() -> None:
    out = subprocess.run(
        [*_tool("ruff"), "check", "dbdicom", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_clean() -> None:
    out = subprocess.run(
        [*_tool("mypy"), "dbdicom"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_bare_except() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in (ROOT / "dbdicom").rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.match(r"\s*except\s*:", line)
    ]
    assert not bad, bad
