"""Index columns of Python values (tags read on demand) saved as JSON text and read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tree_files import build_mixed_database

import dbdicom as db
from dbdicom._index._store import UNREAD, _to_json, decoded, table_of_frame

# equal in Python (1 == 1.0 == True, -0.0 == 0.0), written apart
VALUES: list[Any] = [1, 1.0, True, -0.0, 0.0, "1", ("a", 1), ("a", 1.0), b"\x00", None, UNREAD]


def test_each_value_is_written_as_its_own_json_and_read_back_alike() -> None:
    column = VALUES * 3
    frame = pd.DataFrame({"x": pd.Series(column, dtype=object)})
    table = table_of_frame(frame)
    assert table.column("x").to_pylist() == [_to_json(v) for v in column]
    back = decoded(table.column("x"))
    assert [(type(v), repr(v)) for v in back] == [(type(v), repr(v)) for v in column]


def _read(folder: Path, keywords: list[str]) -> dict[str, list[str]]:
    with db.database(folder) as database:
        index = database.index
        index.read_on_demand(index.ok, keywords)
        return {k: [repr(v) for v in index.values(np.sort(index.ok), k)] for k in keywords}


def test_tags_read_on_demand_reopen_as_read(tmp_path: Path) -> None:
    build_mixed_database(tmp_path, patients=2, series=5, files=2, bad=False)
    keywords = ["SequenceVariant", "ImagingFrequency", "WindowCenter", "EchoNumbers", "StationName"]
    first = _read(tmp_path, keywords)  # read from the files, saved at close
    assert any(v != "None" for v in first["ImagingFrequency"])
    with db.database(tmp_path) as database:  # held: nothing to read
        index = database.index
        again = {k: [repr(v) for v in index.values(np.sort(index.ok), k)] for k in keywords}
    assert again == first
