"""Names made from header values: safe, at most 255 bytes, unique, the same in every format."""

from __future__ import annotations

import shutil
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from readonly import read_only

import dbdicom as db
from dbdicom._export._layout import MAX_NAME_BYTES, bids_label, safe_name, written

pytestmark = pytest.mark.filterwarnings("ignore:The (PN component|value) length")

# SeriesDescriptions as real-world files hold them (dbdicom itself refuses
# most: they are written with pydicom, which only warns)
NAMES = [
    *("x" * 500, "..", "/", ".", "a/../b", "Séquence T1 (ß) 日本 Йод"),
    *("dup", "dup", "", "a\x00b"),
]
FORMATS = ["dicom", "csv", "npy", "nifti", "png", "zarr"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    first = db.series(np.ones((2, 8, 8)), SeriesDescription="s0", PatientName="p")
    for i in range(1, len(NAMES)):
        first.parent.new_series(SeriesDescription=f"s{i}").set_array(np.ones((2, 8, 8)))
    path = tmp_path_factory.mktemp("names") / "db"
    first._db.save(path)
    for file in path.rglob("*"):
        if not file.is_file() or ".dbdicom" in file.parts:
            continue
        ds = pydicom.dcmread(file)
        k = int(ds.SeriesDescription[1:])
        ds.SeriesDescription = NAMES[k]
        if NAMES[k] == "dup":
            ds.SeriesNumber = 7  # the same name and number: told apart by the UID
        ds.PatientName = "P" * 500
        ds.SpecificCharacterSet = "ISO_IR 192"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(file)
    shutil.rmtree(path / ".dbdicom", ignore_errors=True)  # scanned again when opened
    return path


def _names(out: Path) -> set[str]:
    """The series names (without extension) of an export: folders or file stems."""
    found = set()
    for p in out.rglob("*"):
        depth = len(p.relative_to(out).parts)
        if depth != 3:
            continue
        name = p.name
        for ext in (".nii.gz", ".json", ".npy", ".csv", ".zarr"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        found.add(name)
    return found


def test_safe_name_rule() -> None:
    assert safe_name("T1 map: ax/5°") == "T1_map_ax_5"
    assert safe_name("Séquence ß x") == "Sequence_ß_x"  # accents folded, other letters kept
    for bad in ("", ".", "..", "/", "\x00", "._.", "\u0301", "\x7f\u200b"):
        assert safe_name(bad) == "series"
    assert safe_name("a\x00b/c") == "a_b_c"
    assert safe_name("T1__map  ax") == "T1__map_ax"  # its own _ kept; a run of others: one _
    assert safe_name("a\tb\u202ec\u2215d／e") == "a_b_c_d_e"  # controls, slashes of all widths
    assert len(safe_name("é" * 1000, ".nii.gz").encode()) <= MAX_NAME_BYTES
    longest = safe_name("x" * 1000) + "_" + "1." * 32 + "_99.nii.gz"  # with a UID and a group
    assert len(longest.encode()) <= MAX_NAME_BYTES


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Люкceмбypг", "Люкceмбypг"),  # Cyrillic with Latin look-alikes: all kept
        ("Йошкар-Ола", "Йошкар-Ола"),  # й is not и and a mark
        ("山田^太郎", "山田_太郎"),
        ("Παπαδόπουλος Ά", "Παπαδόπουλος_Ά"),
        ("हिन्दी", "हिन्दी"),  # vowel signs are marks, not letters: kept with theirs
        ("한국어", "한국어"),  # decomposed into jamo by NFKD, composed again
        ("Ｔ１ ｍａｐ", "T1_map"),  # full-width Latin: ASCII
    ],
    ids=["cyrillic-latin", "short-i", "japanese", "greek", "devanagari", "hangul", "fullwidth"],
)
def test_safe_name_keeps_letters_of_other_scripts(text: str, name: str) -> None:
    """Trial: a Cyrillic patient name kept only its Latin look-alikes; Japanese became _."""
    assert safe_name(text) == name
    assert safe_name(text) == unicodedata.normalize("NFC", safe_name(text))


def test_safe_name_cuts_bytes_not_characters() -> None:
    for text in ("日本" * 100, "й" * 300, "и\u0306" * 300, "a" + "𠀀" * 100, "हि" * 100):
        whole = unicodedata.normalize("NFC", text)
        stem = safe_name(text, ".nii.gz").removesuffix(".nii.gz")
        assert 100 < len(stem.encode()) <= 120 and whole.startswith(stem), text[:3]
        assert not unicodedata.category(whole[len(stem)]).startswith("M")  # no letter cut off


def test_bids_label_is_ascii_or_the_default() -> None:
    assert bids_label("Groß-Øre 2") == "GrossOre2"
    for text in ("Иванов", "Люкceмбypг", "山田", "Иванов-001"):  # never a few of its letters
        assert bids_label(text) == "" and bids_label(text, default="01") == "01"


def test_nul_in_description_is_kept_by_pydicom(folder: Path) -> None:
    values = {str(s.SeriesDescription) for s in db.database(folder).series()}
    assert "a\x00b" in values and "x" * 500 in values


@pytest.fixture(scope="module")
def exports(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    database = db.database(folder)
    root = tmp_path_factory.mktemp("exports")
    for fmt in FORMATS:
        getattr(database, f"export_as_{fmt}")(root / fmt)
    return {fmt: root / fmt for fmt in FORMATS}


def test_every_series_exported_with_safe_unique_names(exports: dict[str, Path]) -> None:
    reference = _names(exports["dicom"])
    assert len(reference) == len(NAMES)  # every series, the duplicates apart
    for fmt, out in exports.items():
        assert _names(out) == reference, fmt  # the same names in every format
        for p in out.rglob("*"):
            assert len(p.name.encode()) <= MAX_NAME_BYTES
            assert p.name not in (".", "..") and not p.name.startswith(".dbdicom-")
            assert p.name.isprintable() and p.name == unicodedata.normalize("NFC", p.name)
    assert "6_Sequence_T1_ß_日本_Йод" in reference
    assert len([n for n in reference if n.startswith("7_dup")]) == 2


def test_every_format_writes_every_series(exports: dict[str, Path]) -> None:
    assert len(list(exports["dicom"].rglob("*.dcm"))) == 2 * len(NAMES)
    assert len(list(exports["png"].rglob("*.png"))) == 2 * len(NAMES)
    for fmt, ext in (("csv", ".csv"), ("npy", ".npy"), ("nifti", ".nii.gz"), ("zarr", ".zarr")):
        assert len(list(exports[fmt].rglob(f"*{ext}"))) == len(NAMES), fmt


def test_zarr_store_opens_with_the_name_of_the_series_array(
    folder: Path, exports: dict[str, Path]
) -> None:
    names = {str(db.open_zarr(p).name) for p in exports["zarr"].rglob("*.zarr")}
    assert names == {str(s.to_xarray().name) for s in db.database(folder).series()}
    assert {"pixels", "_", "a_.._b", "a_b", "x" * MAX_NAME_BYTES} <= names


def test_one_array_name_everywhere_that_netcdf_and_zarr_take(tmp_path: Path) -> None:
    """A trial: 'T2w 5/5mm' (pydicom-data's 693_UNCR.dcm: '5/5mm Plain') named the array
    of to_xarray, and 'T2w 5_5mm' that of the backend and the tree: to_netcdf refused it
    and to_zarr put the pixels in a sub-group."""
    series = db.series(np.ones((2, 4, 4)), SeriesDescription="T2w 5/5mm")
    series._db.save(tmp_path / "db")
    database = db.database(tmp_path / "db")
    (series,) = database.series()
    da = series.to_xarray()
    assert da.name == "T2w 5_5mm" and series.SeriesDescription == "T2w 5/5mm"
    for group in ("T2w 5/5mm", "T2w 5_5mm"):  # found by the description or the name
        assert xr.open_dataarray(tmp_path / "db", engine="dbdicom", group=group).name == da.name
    (node,) = [n for n in database.to_datatree().subtree if n.data_vars]
    assert list(node.data_vars) == [da.name]
    da.to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    da.to_zarr(tmp_path / "a.zarr")
    for path, engine in ((tmp_path / "a.nc", "h5netcdf"), (tmp_path / "a.zarr", "zarr")):
        assert xr.open_dataarray(path, engine=engine).name == da.name
    # written back as a new series: the description it was made of
    new = (da + 1).dicom.write_to(series.parent)
    assert new.SeriesDescription == "T2w 5/5mm"
    database.close()


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.npy"
    with pytest.raises(RuntimeError), written(target) as temporary:
        np.save(temporary, np.zeros(3))
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    with written(target) as temporary:
        np.save(temporary, np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbdicom", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_exports_such_names(folder: Path, tmp_path: Path) -> None:
    out = _cli("export", str(folder), "--to", "zarr", "--out", str(tmp_path / "z"))
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "z").rglob("*.zarr"))) == len(NAMES)


def test_cli_failing_export_is_one_line(folder: Path, tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    with read_only(target):
        out = _cli("export", str(folder), "--to", "nifti", "--out", str(target / "x"))
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_failed_zarr_export_leaves_no_store(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbdicom._export import _zarr

    def half_written(da: object, target: Path, **options: object) -> Path:
        (Path(target) / "image").mkdir(parents=True)  # part of a store, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_zarr, "write_zarr", half_written)
    with pytest.raises(OSError, match="No space"):
        db.database(folder).export_as_zarr(tmp_path / "z")
    assert not [p for p in (tmp_path / "z").rglob("*") if p.is_file() or "zarr" in p.name]
    assert not [p for p in (tmp_path / "z").rglob(".dbdicom-*")]


def test_a_series_without_a_description_has_one_name_in_every_export(
    folder: Path, tmp_path: Path
) -> None:
    """Trial J: export_as_npy of a series without a description named it by its UID, where
    export_as_png named it 9_series; a described one keeps <SeriesDescription>.npy."""
    database = db.database(folder)
    (series,) = [s for s in database.series() if not s.SeriesDescription]
    names = {}
    for fmt in FORMATS:
        out = tmp_path / fmt
        getattr(series, f"export_as_{fmt}")(out)
        (names[fmt],) = {p.name.split(".")[0] for p in out.iterdir()}  # NIfTI: .nii.gz, .json
    assert set(names.values()) == {"9_series"}, names


def test_the_micro_sign_is_a_unit_s_u() -> None:
    """A review: ``µ`` (U+00B5) became Greek mu by NFKD, so the BIDS label of this was empty."""
    assert bids_label("DWI b1000 \u00b5m\u00b2/s") == "DWIb1000um2s"
    assert safe_name("DWI b1000 \u00b5m\u00b2/s") == "DWI_b1000_um2_s"
    greek = "\u03bc\u03ad\u03c1\u03b1"  # a Greek word keeps its mu
    assert safe_name(greek) == greek
