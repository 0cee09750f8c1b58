"""Rows added to the index are keyed and placed alone only where a whole pass agrees.

``Index._read_again`` keys the rows it appends without keying the whole
table again (``_keys.keys_of_added``) and puts them in path order by binary
search (``_order.merged_order``). Every time it does, the table must be what
the whole pass gives: sorted by path, keyed by ``assign_keys`` of every row.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
import pytest
import xarray as xr
from builders import build_database

import dbdicom as db
from dbdicom._index import _index, _keys
from dbdicom._index._cells import text_in
from dbdicom._index._keys import assign_keys

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _spoil(root: Path, how: str) -> None:
    """Files without a patient ID, a series UID, or held twice (as other programs leave)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    dicom = [p for p in files if pydicom.misc.is_dicom(str(p))]
    if how == "anonymous":
        for path in dicom[:5]:
            ds = pydicom.dcmread(path)
            del ds.PatientID
            ds.save_as(path)
    elif how == "no-series-uid":
        for path in dicom[-3:]:
            ds = pydicom.dcmread(path)
            del ds.SeriesInstanceUID
            ds.save_as(path)
    elif how == "copies":
        shutil.copy(dicom[0], dicom[0].parent / "a-copy")


def _checked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Check the table after every ``_read_again`` that keyed the added rows alone."""
    fast: list[int] = []
    real_keys, real_read = _keys.keys_of_added, _index.Index._read_again
    taken: list[bool] = []

    def keys_of_added(*args: Any) -> Any:
        keys = real_keys(*args)
        taken.append(keys is not None)
        return keys

    def read_again(
        self: Any, wanted: set[str], files: Any, scanned: Any, keep: bool = False
    ) -> None:
        taken.clear()
        real_read(self, wanted, files, scanned, keep)
        if not (taken and taken[-1]):
            return
        fast.append(len(wanted))
        frame = self.frame
        whole = frame.sort_values("_path", ignore_index=True)
        pd.testing.assert_frame_equal(frame, whole)
        fresh = text_in(whole["_path"], wanted)
        assign_keys(whole, fresh, keep)
        pd.testing.assert_frame_equal(frame, whole)

    monkeypatch.setattr(_keys, "keys_of_added", keys_of_added)
    monkeypatch.setattr(_index.Index, "_read_again", read_again)
    return fast


@pytest.mark.parametrize("how", ["clean", "anonymous", "no-series-uid", "copies"])
def test_added_rows_keyed_as_a_whole_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    root = tmp_path / "db"
    build_database(root)
    _spoil(root, how)
    fast = _checked(monkeypatch)
    database = db.database(root)
    series = database.series()
    target = series[0]
    target.copy()
    target.instances()[0].remove()
    data = xr.DataArray(
        np.ones((6, 8, 8), np.float32),
        dims=["SliceLocation", "row", "column"],
        coords={"SliceLocation": np.arange(6.0)},
    )
    target.new_sibling(SeriesDescription="new").set_xarray(data)
    series[-1].copy()
    [enhanced] = [s for s in series if s.SeriesDescription == "ME enhanced"]
    enhanced.copy()  # a multi-frame file: its frames table too
    moved = series[1]
    moved.move_to(database.studies()[-1])
    series[-1].instances()[-1].remove()
    database.restore()
    database.series()[-1].copy()
    database.save()
    kept = database.index.frame.copy()
    database.close()
    if how == "clean":
        assert fast  # the rows added were keyed alone
    if how in ("clean", "copies"):  # no derived key: a scan agrees
        shutil.rmtree(root / ".dbdicom", ignore_errors=True)
        scanned = _index.Index(root).open().frame
        cols = ["_path", "_patient", "_study", "_series", "_instance"]
        pd.testing.assert_frame_equal(kept[cols], scanned[cols])


def test_rows_that_change_other_keys_are_keyed_whole(tmp_path: Path) -> None:
    """A file copied in (its instance held twice) or naming another patient for a study."""
    root = tmp_path / "db"
    build_database(root)
    database = db.database(root)
    first = sorted(database.index.frame["_path"])[0]
    ds = pydicom.dcmread(root / first)
    ds.PatientID, ds.SOPInstanceUID = "OTHER", pydicom.uid.generate_uid()
    ds.save_as(root / "+other")  # before the first file of its study, in path order
    assert database.index.refresh(full=True)
    frame = database.index.frame
    patients = dict(zip(frame["_path"], frame["_patient"], strict=True))
    assert patients[first] == patients["+other"] == "OTHER"  # the study under its first file's
    (root / "+other").unlink()  # each case from a table keyed by its UIDs alone
    assert database.index.refresh(full=True)
    shutil.copy(root / first, root / "0-copy")
    assert database.index.refresh(full=True)
    frame = database.index.frame
    keys = dict(zip(frame["_path"], frame["_instance"], strict=True))
    assert keys["0-copy"] != keys[first] and "#" in keys[first]  # both keyed as copies
    database.close()
    shutil.rmtree(root / ".dbdicom")
    scanned = _index.Index(root).open().frame
    cols = ["_path", "_patient", "_study", "_series", "_instance"]
    pd.testing.assert_frame_equal(frame[cols], scanned[cols])
