"""Tools no one here wrote, run on the files the tests make: dciodvfy and dcmdump.

``.ci/run`` installs them (Debian packages dicom3tools and dcmtk); a test that
needs one fails, rather than skips, when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def tool(name: str, package: str) -> str:
    """The path of a command-line tool, or a failure naming its package."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {package}")
    return path


def dciodvfy(path: str | Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) reported by dciodvfy for ``path``."""
    result = subprocess.run(
        [tool("dciodvfy", "dicom3tools"), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    lines = (result.stdout + result.stderr).splitlines()
    return (
        [line for line in lines if line.startswith("Error")],
        [line for line in lines if line.startswith("Warning")],
    )


def dciodvfy_errors(path: str | Path) -> list[str]:
    """The errors dciodvfy reports for ``path``."""
    return dciodvfy(path)[0]


def dcmdump(path: str | Path) -> str:
    """dcmtk's dump of ``path``, which must parse without error."""
    result = subprocess.run(
        [tool("dcmdump", "dcmtk"), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "E:" not in result.stderr, result.stderr
    return result.stdout
