"""The dbdicom command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from builders import Manifest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbdicom", *args], capture_output=True, text=True, timeout=120
    )


def test_demo(tmp_path: Path) -> None:
    out = run("demo", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "Patient" in out.stdout and "VFA" in out.stdout
    assert "Reopened from the saved index" in out.stdout
    assert "lazy xarray DataArray" in out.stdout and "computed with dask" in out.stdout
    assert (tmp_path / "demo" / ".dbdicom" / "index.arrow").is_file()


def test_demo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine")
    out = run("demo", str(tmp_path))
    assert out.returncode == 2
    assert "not empty" in out.stderr
    assert (tmp_path / "x.txt").read_text() == "mine"


def test_print_and_scan(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    for command in ("print", "scan"):
        out = run(command, str(root))
        assert out.returncode == 0, out.stderr
        assert f"{manifest.n_patients} patients" in out.stdout


def test_print_missing_path(tmp_path: Path) -> None:
    out = run("print", str(tmp_path / "nowhere"))
    assert out.returncode == 1
    assert "does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_help() -> None:
    out = run("--help")
    assert out.returncode == 0 and "demo" in out.stdout
