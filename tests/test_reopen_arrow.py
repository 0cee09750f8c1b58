"""After a reopen the index is the saved Arrow table; the answers are those of a scan's frame.

A scan makes the index as a pandas frame; a reopen holds the Arrow table
it saved and reads columns from it (no pandas) until something needs a
frame. Every answer must be the same either way: navigation and its order,
queries, attribute reads, arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import Manifest

import dbdicom as db

QUERIES: list[dict[str, Any]] = [
    {},
    {"SeriesDescription": "VFA"},
    {"SeriesDescription": ["VFA", "T2w"]},
    {"SeriesDescription": "*RLE"},
    {"Modality": "CT"},
    {"PatientName": "Bravo^Ben"},
    {"SeriesNumber": 2},
    {"StudyDate": "20230301-20230510"},
    {"FlipAngle": 10.0},
    {"ImageType": ("ORIGINAL", "PRIMARY")},
]


def _answers(database: db.Database, series_uid: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "patients": [p.uid for p in database.patients()],
        "studies": [s.label() for s in database.studies()],
        "instances": [i.uid for i in database.instances()],
        "descriptions": database.SeriesDescription,
        "by uid": [s.uid for s in database.series(SeriesInstanceUID=series_uid)],
    }
    for k, query in enumerate(QUERIES):
        out[f"query {k}"] = [s.uid for s in database.series(**query)]
    study = database.studies()[0]
    out["study flip angles"] = study.FlipAngle
    out["study positions"] = study.ImagePositionPatient
    vfa = database.series(SeriesDescription="VFA")[0]
    array, header = vfa.array(["SliceLocation", "FlipAngle"])
    out["array"] = (array.shape, str(array.dtype), array.tobytes())
    out["header"] = [h.uid if h else None for h in header.ravel()]
    return out


@pytest.mark.parametrize("first", ["navigation", "query"], ids=["navigate first", "query first"])
def test_a_reopen_answers_as_the_scan_did(database_folder: tuple[Path, Manifest], first: str):
    root, manifest = database_folder
    scanned = db.database(root)
    uid = scanned.series()[-1].uid
    expected = _answers(scanned, uid)
    scanned.close()
    reopened = db.database(root)
    assert reopened.index._saved is not None  # the Arrow table, no frame yet
    if first == "query":  # a query on a text column makes the frame: the rest from it
        reopened.series(SeriesDescription="*VFA*")
    got = _answers(reopened, uid)
    for key, value in expected.items():
        assert got[key] == value, key
    assert len(got["patients"]) == len(manifest.patients)
    reopened.close()


def test_a_uid_query_after_a_reopen_makes_no_frame(database_folder: tuple[Path, Manifest]):
    root, _ = database_folder
    first = db.database(root)
    uid = first.series(SeriesDescription="VFA")[0].uid
    first.close()
    database = db.database(root)
    found = database.series(SeriesInstanceUID=uid)
    assert [s.uid for s in found] == [uid]
    assert database.index._frame is None  # matched on the Arrow dictionary's codes
    database.series(SeriesDescription="V*")  # a pattern: matched on a frame
    assert database.index._frame is not None
    np.testing.assert_array_equal(found[0].array("SliceLocation")[0].shape, (4, 3, 32, 32))
    database.close()
