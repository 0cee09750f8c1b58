"""``in`` and iteration on records.

Records read tags with ``record[tag]``; without ``__contains__`` and
``__iter__``, Python answered ``'Rows' in instance`` and ``for x in record``
by calling ``record[0]``, ``record[1]``... as tag numbers, never returning
(each a read of the files adding a column to the index).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

PIXELS = np.arange(16, dtype=np.uint16).reshape(4, 4)


@pytest.fixture
def database(tmp_path: Path) -> Any:
    """Two series of one study: one with ImageComments in one of its two files."""
    study = {"PatientID": "P1", "PatientName": "Test", "StudyInstanceUID": "1.2.3.4"}
    for series, number in (("a", 1), ("b", 2)):
        for i in range(2):
            extra = {"ImageComments": "only here"} if (series, i) == ("a", 1) else {}
            ds = mr_image(
                PIXELS,
                **study,
                SeriesInstanceUID=f"1.2.3.4.{number}",
                SeriesDescription=series,
                SeriesNumber=number,
                InstanceNumber=i + 1,
                **extra,
            )
            write_dataset(ds, tmp_path / f"{series}{i}.dcm")
    database = db.database(tmp_path)
    yield database
    database.close()


def _returns(call: Callable[[], Any]) -> Any:
    """``call()``, failing the test if it has not returned in a long time (it hung)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:  # handed to the test below, not swallowed
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the call did not return (it iterated over tag numbers)"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_a_tag_is_in_an_instance_when_its_file_holds_it(database: Any) -> None:
    a0, a1 = database.series(SeriesDescription="a")[0].instances()
    assert _returns(lambda: "Rows" in a0) is True
    assert (0x0028, 0x0010) in a0 and 0x00280010 in a0
    assert "ImageComments" in a1
    assert "ImageComments" not in a0
    assert "ImageComments" in a0.parent  # a series: any of its files
    assert "ImageComments" not in database.series(SeriesDescription="b")[0]
    assert "ImageComments" in database and "ImageComments" in a0.patients()


def test_a_tag_in_a_record_says_what_is_wrong_with_a_bad_one(database: Any) -> None:
    instance = database.instances()[0]
    with pytest.raises(db.DicomError, match="'Rowz' is not a DICOM keyword"):
        _ = "Rowz" in instance
    with pytest.raises(TypeError, match="one tag"):
        _ = ["Rows", "Columns"] in instance


def test_a_record_is_in_the_records_above_it(database: Any) -> None:
    a, b = database.series()
    instance = a.instances()[0]
    assert instance in a and instance in a.parent and instance in database
    assert instance not in b and a not in b and a not in a and a not in instance
    assert a in a.parent and a.parent in a.patients() and a.patients() in database
    instance.remove()
    assert instance not in a
    new = b.new_sibling(SeriesDescription="empty")  # no files yet
    assert new in b.parent and new in database and new not in a


@pytest.mark.parametrize(
    ("level", "instead"),
    [
        ("database", "database.patients()"),
        ("patient", "patient.studies()"),
        ("study", "study.series()"),
        ("series", "series.instances()"),
        ("instance", "instance.Rows"),
    ],
    ids=lambda x: str(x),
)
def test_iterating_a_record_says_what_to_iterate(database: Any, level: str, instead: str) -> None:
    record = database if level == "database" else getattr(database, _PLURAL[level])()[0]
    with pytest.raises(TypeError, match=r"not iterable") as caught:
        _returns(lambda: [x for x in record])
    assert instead in str(caught.value)
    columns = set(database.index.frame.columns)
    with pytest.raises(TypeError):
        list(record)
    assert set(database.index.frame.columns) == columns  # no tag read on the way


_PLURAL = {"patient": "patients", "study": "studies", "series": "series", "instance": "instances"}


def test_a_tag_whose_value_is_read_as_none_is_in_the_files_that_hold_it(tmp_path: Path) -> None:
    r"""SliceThickness ``"1.0\2.0"`` (of one value) is read as none, a problem: it is there."""
    for name, thickness in (("two", ["1.0", "2.0"]), ("none", None)):
        ds = mr_image(PIXELS, PatientID="P1", SeriesInstanceUID=f"1.2.3.{len(name)}")
        ds.SliceThickness = thickness
        ds.ImageComments = ""  # present, empty: no value
        write_dataset(ds, tmp_path / f"{name}.dcm")
    database = db.database(tmp_path)
    database.mute()
    (two,) = database.series(SeriesInstanceUID="1.2.3.3")
    (empty,) = database.series(SeriesInstanceUID="1.2.3.4")
    assert two.instances()[0].SliceThickness is None and two.SliceThickness == []
    assert "SliceThickness" in two and "SliceThickness" in two.instances()[0]
    assert (0x0018, 0x0050) in two.parent and "SliceThickness" in database
    assert "SliceThickness" not in empty and "ImageComments" not in two
    database.close()
