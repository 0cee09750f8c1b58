"""The notebooks cannot rot: each one runs from top to bottom in a real kernel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def _outputs(book: Any) -> list[dict[str, Any]]:
    return [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _shows_trees_and_bars(book: Any) -> None:
    """05: the HTML tree of a record, tqdm widgets that reached their end, logs and warnings."""
    outputs = _outputs(book)
    pages = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    database, series = pages[0], pages[1]
    assert 'class="dbdicom-tree"' in database and database.count("<details") == 6
    assert "2 patients, 3 studies, 5 series, 48 instances" in database
    assert "Phantom^Alpha" in database and "3: VFA" in database
    assert "<b>Instance</b> instance 24" in series
    bars = [o["data"]["text/plain"] for o in outputs if WIDGET in o.get("data", {})]
    assert [b.split(":")[0] for b in bars] == ["Reading DICOM headers", "Fitting"]
    state = book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    progress = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert sorted((p["value"], p["max"]) for p in progress) == [(24, 24), (48, 48)]
    streams = [(o["name"], o["text"]) for o in outputs if o["output_type"] == "stream"]
    assert ("stdout", "Fitting done\n") in streams  # logging not set up: printed
    assert ("stderr", "dbdicom: Fitting done, logged\n") in streams  # set up: logging's
    warned = [t for name, t in streams if name == "stderr" and "DicomWarning" in t]
    assert len(warned) == 1 and "1 file(s) not imported" in warned[0]  # muted: not again


CHECKS: dict[str, Callable[[Any], None]] = {"05_in_a_notebook.ipynb": _shows_trees_and_bars}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots render without a screen
    book = nbformat.read(path, as_version=4)
    NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [o for o in _outputs(book) if o.get("output_type") == "error"]
    assert not errors
    assert any(c.get("outputs") for c in book.cells if c.cell_type == "code")
    CHECKS.get(path.name, lambda book: None)(book)


def test_notebook_05_is_checked() -> None:
    assert set(CHECKS) <= {p.name for p in NOTEBOOKS}
