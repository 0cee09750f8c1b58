"""Doctests in dbdicom/ get ``db`` and a fresh demo ``database`` to work on."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _doctest_database(
    request: pytest.FixtureRequest, doctest_namespace: dict[str, object], tmp_path: Path
) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    import dbdicom as db
    from dbdicom._demo import build_demo

    build_demo(tmp_path / "demo")
    doctest_namespace["db"] = db
    doctest_namespace["database"] = db.database(tmp_path / "demo")
