"""Exports above the series level skip the series they cannot write, say why, and go on.

A database, patient or study exports every series it can; a series that
cannot be exported (no image, no affine, no grid...) is skipped with a
message naming it once, and the folder returned lists it. A series exported
on its own raises.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from builders import Manifest
from pydicom.data import get_testdata_file
from recorders import Recorder

import dbdicom as db
from dbdicom._export import _csv

FORMATS = ["dicom", "csv", "npy", "nifti", "png", "zarr"]


def _testdata(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None
    return str(path)


@pytest.fixture
def mixed_folder(database_folder: tuple[Path, Manifest]) -> tuple[Path, Manifest]:
    """The built database, with an RT plan (no image) and a secondary capture (no position)."""
    root, manifest = database_folder
    shutil.copy(_testdata("rtplan.dcm"), root / "rtplan.dcm")
    shutil.copy(_testdata("SC_rgb.dcm"), root / "SC_rgb.dcm")
    return root, manifest


@pytest.fixture(scope="module")
def pydicom_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of pydicom's own test folder (not ours to write in)."""
    source = Path(pydicom.__file__).parent / "data" / "test_files"
    root = tmp_path_factory.mktemp("pydicom") / "test_files"
    shutil.copytree(source, root)
    for folder, _, files in os.walk(root):
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    return root


def _files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("fmt", ["npy", "nifti", "png", "zarr"])
def test_a_database_export_skips_what_it_cannot_write(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path, fmt: str
) -> None:
    root, _ = mixed_folder
    status = Recorder()
    database = db.database(root, status=status)
    plan = database.series(Modality="RTPLAN")[0]
    out = getattr(database, f"export_as_{fmt}")(tmp_path / fmt)
    assert isinstance(out, Path) and out == tmp_path / fmt
    assert out.exported >= 4 and _files(out)
    skipped = {s.series: s for s in out.skipped}
    assert plan.label() in skipped
    assert skipped[plan.label()].reason.startswith("holds no image")
    said = [m for m in status.messages if m.startswith(f"Series {plan.label()!r} skipped")]
    assert len(said) == 1 and said[0].count(repr(plan.label())) == 1  # named once
    assert status.messages[-1].startswith(f"{len(out.skipped)} of ")
    assert skipped[plan.label()].folder in status.messages[-1]


@pytest.mark.parametrize("fmt", ["dicom", "csv"])
def test_formats_that_need_no_image_skip_nothing(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path, fmt: str
) -> None:
    root, manifest = mixed_folder
    database = db.database(root, status=Recorder())
    out = getattr(database, f"export_as_{fmt}")(tmp_path / fmt)
    assert out.skipped == () and out.exported == len(database.series())


def test_a_csv_export_skips_a_series_whose_headers_cannot_be_read(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = mixed_folder
    database = db.database(root, status=Recorder())
    plan = database.series(Modality="RTPLAN")[0]
    broken = plan.files()[0]
    row = _csv._row

    def damaged(path: str, name: str = "") -> dict[str, str]:
        if path == broken:
            raise db.InvalidFileError(f"the header of {name or path} cannot be read: damaged")
        return row(path, name)

    monkeypatch.setattr(_csv, "_row", damaged)
    out = database.export_as_csv(tmp_path / "csv")
    assert [s.series for s in out.skipped] == [plan.label()]
    assert len(list(out.rglob("*.csv"))) == len(database.series()) - 1
    with pytest.raises(db.InvalidFileError, match="cannot be read"):
        plan.export_as_csv(tmp_path / "alone")


def test_a_csv_export_reads_files_without_a_preamble(tmp_path: Path) -> None:
    root = tmp_path / "db"
    root.mkdir()
    shutil.copy(_testdata("ExplVR_LitEndNoMeta.dcm"), root / "no_meta.dcm")
    shutil.copy(_testdata("rtplan.dcm"), root / "rtplan.dcm")
    database = db.database(root, status=Recorder())
    assert len(database.series()) == 2
    out = database.export_as_csv(tmp_path / "csv")
    assert out.skipped == () and len(list(out.rglob("*.csv"))) == 2


@pytest.mark.parametrize("fmt", ["npy", "nifti", "png", "zarr"])
def test_a_series_exported_alone_still_raises(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path, fmt: str
) -> None:
    root, _ = mixed_folder
    plan = db.database(root, status=Recorder()).series(Modality="RTPLAN")[0]
    with pytest.raises(db.GridError, match="holds no image"):
        getattr(plan, f"export_as_{fmt}")(tmp_path / fmt)


def test_nifti_says_which_geometry_tags_are_missing(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    root, _ = mixed_folder
    capture = db.database(root, status=Recorder()).series(Modality="OT")[0]
    with pytest.raises(db.GridError) as info:
        capture.export_as_nifti(tmp_path / "sc")
    text = str(info.value)
    assert "(0020,0032) ImagePositionPatient" in text
    assert "(0020,0037) ImageOrientationPatient" in text
    assert "position or orientation" in text
    assert "PixelSpacing" not in text  # SC_rgb.dcm has one
    assert "not evenly spaced" not in text
    assert not _files(tmp_path / "sc")


def test_a_study_export_skips_too(mixed_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    root, _ = mixed_folder
    database = db.database(root, status=Recorder())
    study = database.series(Modality="RTPLAN")[0].parent
    out = study.export_as_nifti(tmp_path / "study")
    assert out.exported == 0 and len(out.skipped) == len(study.series())


@pytest.mark.parametrize("fmt", FORMATS)
def test_pydicom_test_folder_exports_what_it_can(
    pydicom_folder: Path, tmp_path: Path, fmt: str
) -> None:
    status = Recorder()
    database = db.database(pydicom_folder, status=status)
    out = getattr(database, f"export_as_{fmt}")(tmp_path / fmt)
    assert out.exported > 0 and _files(out)
    assert out.exported + len(out.skipped) == len([s for s in database.series() if s.files()])
    for skip in out.skipped:
        assert skip.reason and not skip.reason.startswith("Series ")
        said = f"Series {skip.series!r} skipped: {skip.reason}"
        assert said in status.messages and said.count(repr(skip.series)) == 1
    if out.skipped:
        assert status.messages[-1].startswith(f"{len(out.skipped)} of ")
    if fmt == "nifti":
        reasons = [s.reason for s in out.skipped if s.series.endswith("Cervical LAT")]
        assert reasons and "ImagePositionPatient" in reasons[0]


def test_print_counts_files_with_problems(
    pydicom_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = db.database(pydicom_folder, status=Recorder())
    problems = database.problems()
    files = problems["path"].nunique()
    assert files < len(problems)  # some files have several
    database.print()
    shown = capsys.readouterr().out
    assert f"Problems ({files} files, {len(problems)} problems; see" in shown


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbdicom", *args], capture_output=True, text=True, timeout=300
    )


def test_the_command_exports_what_it_can(
    mixed_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    root, _ = mixed_folder
    done = run("export", str(root), "--to", "nifti", "--out", str(tmp_path / "nii"))
    assert done.returncode == 0, done.stderr
    assert "2 series skipped:" in done.stderr and "holds no image" in done.stderr
    assert "ImagePositionPatient" in done.stderr and "Traceback" not in done.stderr
    assert list((tmp_path / "nii").rglob("*.nii.gz"))
    assert f"Exported nifti to {tmp_path / 'nii'}" in done.stdout


def test_the_command_fails_when_nothing_can_be_exported(tmp_path: Path) -> None:
    root = tmp_path / "plans"
    root.mkdir()
    shutil.copy(_testdata("rtplan.dcm"), root / "rtplan.dcm")
    done = run("export", str(root), "--to", "zarr", "--out", str(tmp_path / "zarr"))
    assert done.returncode == 1
    assert "1 series skipped" in done.stderr and "nothing could be exported" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_binary_value_that_does_not_decode_is_no_value_in_every_export(
    tmp_path: Path, fmt: str
) -> None:
    """A new-user trial: CT_small.dcm with a (0018,9087) DiffusionBValue FD of 6 bytes
    (the scan lists it and reads it as no value) beside MR_small.dcm. The CSV and NIfTI
    exports of the whole database stopped at pydicom's BytesLengthException ('Expected
    total bytes to be an even multiple of bytes per value'), naming no file, and wrote
    neither series: the table and the sidecar read every element of the header. The
    value is no value there too: the CSV cell gives its size, the sidecar leaves it out."""
    ds = pydicom.dcmread(_testdata("CT_small.dcm"))
    tag = pydicom.tag.Tag(0x00189087)
    ds[tag] = pydicom.dataelem.RawDataElement(tag, "FD", 6, b"\1\2\3\4\5\0", 0, False, True)
    (tmp_path / "db" / "bad").mkdir(parents=True)
    ds.save_as(tmp_path / "db" / "bad" / "bad.dcm")
    shutil.copy(_testdata("MR_small.dcm"), tmp_path / "db" / "MR_small.dcm")
    database = db.database(tmp_path / "db")
    database.mute()
    assert "FD value of 6 bytes" in " ".join(database.problems()["problem"])
    out = getattr(database, f"export_as_{fmt}")(tmp_path / "out")
    assert out.exported == 2 and not out.skipped
    if fmt == "csv":
        (table,) = [p for p in out.rglob("*.csv") if "DiffusionBValue" in p.read_text()]
        with open(table, newline="", encoding="utf-8") as f:
            (row,) = list(csv.DictReader(f))
        assert row["DiffusionBValue"] == "<6 bytes>" and row["Rows"] == "128"
    if fmt == "nifti":
        assert len(list(out.rglob("*.json"))) == 2
    database.close()
