"""Records without files: the original README's "James Bond / Scarface" database.

``database.new_patient(...)`` and ``patient.new_study(...)`` make records
that have no file yet. They print, count, read the attributes they were
given, and hand those attributes to the first file written below them.
Every public method of every record either works on them or raises a
:class:`dbdicom.DicomError` that says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dbdicom as db


def _james_bond() -> dict[str, Any]:
    """The README's database: two patients with two studies each, no file."""
    database = db.database()
    james_bond = database.new_patient(PatientName="James Bond")
    mri = james_bond.new_study(StudyDescription="MRI", StudyDate="19550220")
    xray = james_bond.new_study(StudyDescription="Xray", StudyDate="19550510")
    scarface = database.new_patient(PatientName="Scarface")
    scarface.new_study(StudyDescription="MRI", StudyDate="19850220")
    scarface.new_study(StudyDescription="Xray", StudyDate="19850510")
    return {"database": database, "patient": james_bond, "study": mri, "xray": xray}


def test_the_readme_database_prints_its_tree(capsys: pytest.CaptureFixture[str]) -> None:
    made = _james_bond()
    made["database"].print()
    out = capsys.readouterr().out
    assert "2 patients, 4 studies, 0 series, 0 instances" in out
    assert "Patient James Bond" in out and "Patient Scarface" in out
    assert "Study MRI [19550220]" in out and "Study Xray [19850510]" in out
    made["patient"].print()
    made["study"].print()
    made["study"].new_series(SeriesDescription="T1").print()
    out = capsys.readouterr().out
    assert "Study MRI [19550220]" in out and "no instances yet" in out


def test_the_readme_database_counts_its_records() -> None:
    made = _james_bond()
    database, james_bond = made["database"], made["patient"]
    assert len(database.patients()) == 2
    assert len(james_bond.studies()) == 2
    assert len(database.studies()) == 4
    assert len(database.studies(StudyDescription="MRI")) == 2
    assert database.series() == [] and database.instances() == []
    assert james_bond.series() == [] and made["study"].instances() == []


def test_empty_records_read_the_attributes_they_were_given() -> None:
    made = _james_bond()
    mri = made["study"]
    assert mri.StudyDescription == "MRI" and mri.StudyDate == "19550220"
    assert mri.PatientName == "James Bond"
    assert made["patient"].PatientName == "James Bond"
    assert mri["StudyDescription"] == "MRI"
    series = mri.new_series(SeriesDescription="T1")
    assert series.SeriesDescription == "T1" and series.PatientName == "James Bond"
    assert series.StudyDate == "19550220"


@pytest.mark.parametrize("how", ["set_array", "zeros", "series_zeros"])
def test_attributes_are_saved_with_the_first_file_below(tmp_path: Path, how: str) -> None:
    made = _james_bond()
    database, mri = made["database"], made["study"]
    if how == "set_array":
        mri.new_series(SeriesDescription="T1").set_array(np.zeros((2, 8, 8)))
    elif how == "series_zeros":
        mri.new_series(SeriesDescription="T1").zeros((2, 8, 8))
    else:
        mri.zeros((2, 8, 8), SeriesDescription="T1")
    database.save(tmp_path / "saved")
    reopened = db.database(tmp_path / "saved")
    files = reopened.files()
    assert len(files) == 2
    for path in files:
        ds = pydicom.dcmread(path)
        assert str(ds.PatientName) == "James Bond"
        assert ds.StudyDescription == "MRI" and ds.StudyDate == "19550220"
        assert ds.SeriesDescription == "T1"
    series = reopened.series()[0]
    assert series.PatientName == "James Bond" and series.StudyDescription == "MRI"


def test_empty_records_copy_and_move_with_their_attributes() -> None:
    made = _james_bond()
    scarface = made["database"].patients(PatientName="Scarface")[0]
    copy = made["study"].copy_to(scarface)
    assert copy.StudyDescription == "MRI" and copy.PatientName == "Scarface"
    assert len(scarface.studies()) == 3
    elsewhere = db.database()
    moved = made["patient"].move_to(elsewhere)
    assert moved.PatientName == "James Bond" and len(moved.studies()) == 2
    assert [p.PatientName for p in made["database"].patients()] == ["Scarface"]


def test_a_copy_keeps_the_new_records_below_a_record_with_files() -> None:
    made = _james_bond()
    made["xray"].new_series(SeriesDescription="chest").set_array(np.zeros((1, 4, 4)))
    copy = made["patient"].copy()
    assert sorted(s.StudyDescription for s in copy.studies()) == ["MRI", "Xray"]
    assert [s.SeriesDescription for s in copy.series()] == ["chest"]


def test_methods_that_need_files_say_so() -> None:
    made = _james_bond()
    series = made["study"].new_series(SeriesDescription="T1")
    with pytest.raises(db.EmptyRecordError, match="no file yet.*set_array"):
        made["study"].export_as_dicom("unused")
    with pytest.raises(db.GridError, match="no instances.*set_array"):
        series.to_xarray()
    assert series.files() == [] and made["database"].files() == []
    with pytest.raises(db.InvalidValueError, match="database has no parent"):
        made["database"].new_sibling()


# ------------------------------------------------- every public method, no file


def _all_methods(cls: type) -> list[str]:
    return [m for m in dir(cls) if not m.startswith("_")]


def _call(record: Any, name: str, tmp_path: Path, other: Any) -> Any:
    """Call ``record.name`` with sensible arguments (a property is read)."""
    attr = getattr(record, name)
    if not callable(attr):
        return attr
    out = tmp_path / "out"
    calls: dict[str, Callable[[], Any]] = {
        "copy_to": lambda: attr(other),
        "move_to": lambda: attr(other),
        "get": lambda: attr("PatientName"),
        "unique": lambda: attr("StudyDate"),
        "message": lambda: attr("hello"),
        "progress": lambda: attr(1, 2, "working"),
        "set_values": lambda: attr(StudyDescription="MRI 2"),
        "zeros": lambda: attr((2, 4, 4)),
        "set_array": lambda: attr(np.zeros((2, 4, 4))),
        "import_dicom": lambda: attr([]),
        "map_to": lambda: attr(other),
        "map_mask_to": lambda: attr(other),
        "save": lambda: attr(tmp_path / "saved"),
        "import_nifti": lambda: attr(_nifti(tmp_path)),
        "to_virtual_zarr": lambda: attr(tmp_path / "refs.json"),
    }
    if name.startswith("export_as_"):
        return attr(out)
    if name == "set_xarray":
        xr = pytest.importorskip("xarray")
        return attr(xr.DataArray(np.zeros((2, 4, 4)), dims=("z", "row", "column")))
    return calls.get(name, attr)()


def _nifti(tmp_path: Path) -> Path:
    nib = pytest.importorskip("nibabel")
    path = tmp_path / "image.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), dtype=np.float32), np.eye(4)), path)
    return path


def _records() -> dict[str, Any]:
    made = _james_bond()
    series = made["study"].new_series(SeriesDescription="T1")
    made["series"] = series
    target = made["xray"].new_series(SeriesDescription="target")
    target.set_array(np.zeros((2, 4, 4)))
    made["target"] = target
    made["elsewhere"] = {
        "database": made["patient"],
        "patient": db.database(),
        "study": made["database"].patients(PatientName="Scarface")[0],
        "series": made["xray"],
    }
    return made


_CASES = [
    (level, name)
    for level, cls in [
        ("database", db.Database),
        ("patient", db.Patient),
        ("study", db.Study),
        ("series", db.Series),
    ]
    for name in _all_methods(cls)
]


@pytest.mark.parametrize(("level", "name"), _CASES)
def test_every_public_method_works_or_says_why_not(tmp_path: Path, level: str, name: str) -> None:
    made = _records()
    record = made[level]
    if level == "database":  # a database with new records only: no file at all
        made["target"].remove()
    other = made["target"] if name.startswith("map") else made["elsewhere"][level]
    try:
        _call(record, name, tmp_path, other)
    except db.DicomError as error:
        assert str(error), f"{level}.{name} raised {type(error).__name__} without a message"
        print(f"{level}.{name}: {type(error).__name__}: {error}")


@pytest.mark.parametrize("name", _all_methods(db.Instance))
def test_every_method_of_the_first_instance_of_a_new_tree(tmp_path: Path, name: str) -> None:
    made = _records()
    instance = made["series"].new_instance()
    try:
        _call(instance, name, tmp_path, made["xray"])
    except db.DicomError as error:
        assert str(error)
