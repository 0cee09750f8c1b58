"""The dbdicom command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom
from bad_files import BadFiles
from builders import Manifest
from pydicom.data import get_testdata_file

import dbdicom as db


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
    assert "T1 map fitted voxel by voxel" in out.stdout
    # the map written back as a derived series, the tree printed again with it
    assert "Wrote the T1 map back as a derived series '4: T1 map'" in out.stdout
    assert "DERIVED\\SECONDARY" in out.stdout and "the 4 VFA images of its slice" in out.stdout
    assert out.stdout.count("Series 4: T1 map  [MR]  6 instances") == 1
    assert out.stdout.count("Database ") == 2
    assert "no unsaved changes" in out.stdout
    # the database in demo/dicom, saved, with the map; the exports beside it
    dicom = tmp_path / "demo" / "dicom"
    assert (dicom / ".dbdicom" / "index" / "_manifest.json").is_file()
    database = db.database(dicom)
    assert not database.unsaved and not len(database.problems())
    (t1,) = database.series(SeriesDescription="T1 map")
    assert len(t1.instances()) == 6 and t1.ImageType[0][:2] == ("DERIVED", "SECONDARY")
    assert sorted(p.name for p in (tmp_path / "demo" / "nifti").rglob("*")) == [
        "4_T1_map.json",
        "4_T1_map.nii.gz",
    ]
    assert len(list((tmp_path / "demo" / "png").rglob("*.png"))) == 6
    for place in ("dicom", "nifti", "png"):
        assert str(tmp_path / "demo" / place) in out.stdout
    database.close()


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


def test_print_and_scan_fail_on_problems_under_strict(
    bad_files_folder: tuple[Path, BadFiles], database_folder: tuple[Path, Manifest]
) -> None:
    """A folder with files left out is listed with exit code 0 (the listing was asked
    for); ``--strict`` makes its problems exit code 1, for ``dbdicom print --strict
    DIR && next``. A clean folder passes ``--strict``."""
    bad, files = bad_files_folder
    n = len(db.database(bad).problems())
    out = run("print", str(bad))
    assert out.returncode == 0, out.stderr
    assert "Problems (" in out.stdout and "notes.txt: not a DICOM file" in out.stdout
    for command in ("print", "scan"):
        out = run(command, "--strict", str(bad))
        assert out.returncode == 1
        assert "Problems (" in out.stdout  # the listing is the same
        last = out.stderr.splitlines()[-1]
        assert last.startswith(f"dbdicom {command}: {n} problem(s) in "), out.stderr
    clean, _ = database_folder
    out = run("print", "--strict", str(clean))
    assert out.returncode == 0 and out.stderr == "", out.stderr
    placed = run("info", str(files.missing_patient_id[0]))
    assert placed.returncode == 0 and "no (0010,0020) 'Patient ID'" in placed.stderr
    strict = run("info", "--strict", str(files.missing_patient_id[0]))
    assert strict.returncode == 1 and strict.stderr == placed.stderr
    assert run("info", "--strict", str(files.valid[0])).returncode == 0


def test_print_missing_path(tmp_path: Path) -> None:
    out = run("print", str(tmp_path / "nowhere"))
    assert out.returncode == 1
    assert "does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_help() -> None:
    out = run("--help")
    assert out.returncode == 0 and "demo" in out.stdout


def test_info(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    root, manifest = database_folder
    path = root / manifest.series_by_description("CT abdomen").files[0]
    out = run("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "Transfer syntax: 1.2.840.10008.1.2.1 (Explicit VR Little Endian)" in out.stdout
    assert "(0008,103E) Series Description" in out.stdout and "CT abdomen" in out.stdout
    text = tmp_path / "notes.txt"
    text.write_text("not dicom")
    for bad, why in (
        (text, "not a DICOM file"),
        (tmp_path / "nowhere", "not found"),
        (root, "is a folder"),
    ):
        out = run("info", str(bad))
        assert out.returncode == 1 and why in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def _broken_files(folder: Path) -> dict[str, Path]:
    """CT_small.dcm with an unknown VR code, cut mid-header, and a length past the end."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.save_as(folder / "ok.dcm")
    data = (folder / "ok.dcm").read_bytes()
    i = data.find(b"\x28\x00\x30\x00DS")  # Pixel Spacing
    j = data.find(b"\x08\x00\x80\x00")  # Institution Name: its 2-byte length
    files = {
        "bad_vr": data[: i + 4] + b"XX" + data[i + 6 :],
        "cut": data[:600],
        "past_end": data[: j + 6] + (60000).to_bytes(2, "little") + data[j + 8 :],
    }
    for name, content in files.items():
        (folder / f"{name}.dcm").write_bytes(content)
    return {name: folder / f"{name}.dcm" for name in files}


def test_info_says_what_problems_says_of_a_broken_file(tmp_path: Path) -> None:
    """A trial saw a 35-line traceback for an unknown VR, and a truncated file's
    header (with 58 lines of pydicom warnings) printed with exit code 0."""
    files = _broken_files(tmp_path)
    problems = db.database(tmp_path).problems()
    for name in ("cut", "past_end"):  # left out of a database: not read
        out = run("info", str(files[name]))
        said = problems[problems["path"] == f"{name}.dcm"]["problem"].tolist()
        assert said and said[0].startswith("truncated"), said
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr.splitlines() == [f"dbdicom info: {files[name]}: {said[0]}"]
    out = run("info", str(files["bad_vr"]))  # read, its Pixel Spacing as no value
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "(0028,0010) Rows" in out.stdout and "(0028,0030) Pixel Spacing" in out.stdout
    said = problems[problems["path"] == "bad_vr.dcm"]["problem"].tolist()
    listed = [line.strip() for line in out.stderr.splitlines()[1:]]
    assert [p for p in said if "duplicate" not in p] == listed  # ok.dcm is the other copy
    assert "Unknown Value Representation 'XX'" in out.stderr


def test_print_a_file_instead_of_a_folder(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    out = run("print", str(root / manifest.files[0]))
    assert out.returncode == 1
    assert "is a file, not a folder" in out.stderr and "Traceback" not in out.stderr


def test_export(database_folder: tuple[Path, Manifest], tmp_path: Path) -> None:
    root, manifest = database_folder
    out = run("export", str(root), "--to", "dicom", "--out", str(tmp_path / "all"))
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "all").rglob("*.dcm"))) == manifest.n_instances
    out = run(
        "export", str(root), "--to", "csv", "--out", str(tmp_path / "ct"), "--series", "CT abdomen"
    )
    assert out.returncode == 0, out.stderr
    assert [p.name for p in (tmp_path / "ct").rglob("*.csv")] == ["1_CT_abdomen.csv"]
    out = run("export", str(root), "--to", "npy", "--out", str(tmp_path / "x"), "--series", "nope")
    assert out.returncode == 1 and "no series 'nope'" in out.stderr
    file = tmp_path / "file.txt"
    file.write_text("mine")
    out = run("export", str(root), "--to", "dicom", "--out", str(file))
    assert out.returncode == 1 and "is a file" in out.stderr and "Traceback" not in out.stderr
    assert file.read_text() == "mine"
    out = run("export", str(root), "--to", "gif", "--out", str(tmp_path / "y"))
    assert out.returncode == 2  # argparse: not a format


def test_export_to_a_read_only_folder(
    database_folder: tuple[Path, Manifest], tmp_path: Path
) -> None:
    from readonly import read_only

    root, _ = database_folder
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        for fmt in ("dicom", "nifti", "png", "zarr"):
            out = run("export", str(root), "--to", fmt, "--out", str(locked / "out"))
            assert out.returncode == 1, (fmt, out.stderr)
            assert "Traceback" not in out.stderr and str(locked) in out.stderr
    assert list(locked.iterdir()) == []  # nothing half-written


def test_export_of_a_series_name_found_in_two_studies(tmp_path: Path) -> None:
    from dbdicom._demo import build_demo

    folder = build_demo(tmp_path / "demo")
    database = db.database(folder)
    t2w = database.series(SeriesDescription="T2w")[0]
    t2w.copy_to(database.studies(StudyDescription="MR phantom")[0])
    database.save()
    database.close()
    out = run(
        "export", str(folder), "--to", "dicom", "--out", str(tmp_path / "x"), "--series", "T2w"
    )
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "x").rglob("*.dcm"))) == 12  # none overwritten


def test_a_reader_that_leaves_early_gets_no_error_message(tmp_path: Path) -> None:
    """``dbdicom info FILE | head -1``: the pipe closes; a trial saw 'Broken pipe' printed."""
    from pydicom.data import get_testdata_file

    command = [sys.executable, "-m", "dbdicom", "info", str(get_testdata_file("CT_small.dcm"))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before a line is written
    errors = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Broken pipe" not in errors and "Traceback" not in errors, errors
