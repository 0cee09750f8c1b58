"""Exports at every level: DICOM copies, CSV tables, numpy arrays, in a readable layout."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from builders import Manifest
from readonly import read_only

import dbdicom as db


@pytest.fixture
def database(database_folder: tuple[Path, Manifest]) -> db.Database:
    return db.database(database_folder[0])


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_dicom_export_copies_files_unchanged(database: db.Database, tmp_path: Path) -> None:
    out = database.export_as_dicom(tmp_path / "out")
    exported = sorted(p for p in out.rglob("*.dcm"))
    originals = {_digest(Path(f)) for f in database.files()}
    assert len(exported) == len(database.instances())
    assert {_digest(p) for p in exported} == originals
    depth = {len(p.relative_to(out).parts) for p in exported}
    assert depth == {4}  # patient / study / series / file
    for p in exported:
        assert all(
            part.replace("_", "").replace("-", "").replace(".", "").isalnum()
            for part in p.relative_to(out).parts
        )


def test_a_file_removed_by_another_program_stops_the_export_before_it_starts(
    database: db.Database, tmp_path: Path
) -> None:
    """A trial: a bare FileNotFoundError half-way, one file of three left in the export."""
    series = max(database.series(), key=lambda s: len(s.files()))
    gone = series.files()[1]
    Path(gone).unlink()
    with pytest.raises(db.FileGoneError, match=r"removed or moved by another program.*refresh"):
        series.export_as_dicom(tmp_path / "out")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    database.refresh()
    series = database.series(SeriesInstanceUID=series.SeriesInstanceUID)[0]
    assert len(list(series.export_as_dicom(tmp_path / "again").rglob("*.dcm"))) == len(
        series.files()
    )


def test_exports_at_lower_levels(database: db.Database, tmp_path: Path) -> None:
    study = database.studies(Modality="CT")[0]
    out = study.export_as_dicom(tmp_path / "study")
    files = list(out.rglob("*.dcm"))
    assert len(files) == len(study.instances())
    assert {len(p.relative_to(out).parts) for p in files} == {2}  # series / file
    instance = study.instances()[0]
    one = instance.export_as_dicom(tmp_path / "one")
    assert [_digest(p) for p in one.rglob("*.dcm")] == [_digest(Path(instance.path))]


def test_csv_export(database: db.Database, tmp_path: Path) -> None:
    out = database.export_as_csv(tmp_path / "csv")
    tables = sorted(out.rglob("*.csv"))
    assert len(tables) == len(database.series())
    vfa = database.series(SeriesDescription="VFA")[0]
    table = next(t for t in tables if "VFA" in t.name)
    frame = pd.read_csv(table, dtype=str)
    assert len(frame) == len(vfa.instances())
    assert set(frame["SOPInstanceUID"]) == {i.SOPInstanceUID for i in vfa.instances()}
    assert "PixelData" not in frame.columns
    enhanced = next(t for t in tables if "enhanced" in t.name)
    cell = pd.read_csv(enhanced, dtype=str)["PerFrameFunctionalGroupsSequence"].iloc[0]
    assert cell == "<sequence of 8 items>"


def test_npy_export(database: db.Database, tmp_path: Path) -> None:
    study = database.series(SeriesDescription="VFA")[0].studies()
    out = study.export_as_npy(tmp_path / "npy", sortby=["SliceLocation", "FlipAngle"])
    arrays = {p.stem: np.load(p) for p in out.rglob("*.npy")}
    vfa_key = next(k for k in arrays if "VFA" in k)
    expected, _ = database.series(SeriesDescription="VFA")[0].array(["SliceLocation", "FlipAngle"])
    np.testing.assert_array_equal(arrays[vfa_key], expected)


def test_export_to_a_file_or_read_only_folder(database: db.Database, tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("mine")
    with pytest.raises(NotADirectoryError, match="is a file"):
        database.export_as_dicom(file)
    assert file.read_text() == "mine"
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked, "mode"), pytest.raises(PermissionError, match="read-only"):
        database.export_as_csv(locked)
    assert list(locked.iterdir()) == []


def test_export_reports_progress(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.steps: list[tuple[int, int, str]] = []

        def message(self, text: str) -> None:
            pass

        def progress(self, value: int, total: int, text: str = "") -> None:
            self.steps.append((value, total, text))

    status = Recorder()
    database = db.database(database_folder[0], status=status)
    status.steps.clear()
    database.export_as_dicom(tmp_path / "out")
    assert status.steps[-1][:2] == (len(database.instances()),) * 2
    assert status.steps[-1][2] == "Exporting DICOM"


def test_exported_files_reopen_as_a_database(database: db.Database, tmp_path: Path) -> None:
    out = database.export_as_dicom(tmp_path / "copy")
    copy = db.database(out)
    assert len(copy.series()) == len(database.series())
    assert pydicom.dcmread(copy.files()[0]).SOPInstanceUID in {i.uid for i in database.instances()}


def test_instance_exports_only_its_own_pixels(database: db.Database, tmp_path: Path) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    instance = series.instances()[3]
    out = instance.export_as_npy(tmp_path / "one")
    (saved,) = list(out.rglob("*.npy"))
    expected = pydicom.dcmread(instance.path).pixel_array
    np.testing.assert_array_equal(np.load(saved), expected[None])


def test_npy_export_splits_a_series_that_mixes_orientations(
    demo_folder: Path, tmp_path: Path
) -> None:
    """A localizer (axial, coronal, sagittal frames) does not stop a whole
    database's NPY export: it gives one file per group, largest first, as
    ``to_xarrays`` orders them, and a message says so; exported alone it
    does the same."""
    from recorders import Recorder

    status = Recorder()
    demo = db.database(demo_folder, status=status)
    out = demo.export_as_npy(tmp_path / "npy")
    files = {p.name: p for p in out.rglob("*.npy")}
    assert sorted(n for n in files if "localiser" in n) == [
        "1_localiser_1.npy",
        "1_localiser_2.npy",
        "1_localiser_3.npy",
    ]
    assert len(files) == len(demo.series()) + 2
    assert any("one .npy file per group" in m for m in status.messages)
    (localiser,) = demo.series(SeriesDescription="localiser")
    for k, da in enumerate(localiser.to_xarrays(), start=1):
        np.testing.assert_array_equal(np.load(files[f"1_localiser_{k}.npy"]), da.values)
    vfa = demo.series(SeriesDescription="VFA")[0]
    expected, _ = vfa.array()
    np.testing.assert_array_equal(np.load(files["3_VFA.npy"]), expected)

    alone = localiser.export_as_npy(tmp_path / "alone", pixels_first=True)
    shapes = [np.load(p).shape for p in sorted(alone.glob("*.npy"))]
    assert shapes == [(64, 64, 1)] * 3  # pixel axes first, then the one frame of each group
