"""Reads of tags pydicom's keyword functions do not map one to one.

Overlays (60xx) and curves (50xx) repeat their tags in several groups:
their keyword is the first group's tag, other groups are read by number.
Private creators are LO whatever a file says (Implicit VR, UN), and the
file meta (group 0002) is read from the file meta.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement
from pydicom.uid import ImplicitVRLittleEndian

import dbdicom as db
from dbdicom._index._index import READS_VERSION


def _file(folder: Path, implicit: bool = False) -> Path:
    """MR_small with two overlays, a curve and private creators (one as UN)."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.add_new(0x60000010, "US", 484)
    ds.add_new(0x60000022, "LO", "first overlay")
    ds.add_new(0x60020010, "US", 256)
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x00130010, "LO", "CTP")
    ds[0x00090010] = DataElement(0x00090010, "UN", b"HMC ")
    ds.add_new(0x00091001, "UN", b"\x01\x02")
    folder.mkdir()
    path = folder / "overlays.dcm"
    if implicit:
        del ds[0x00090010], ds[0x00091001]  # (UN has no place in Implicit VR)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_repeating_group_tags_read_by_number_and_keyword(tmp_path: Path, implicit: bool) -> None:
    _file(tmp_path / "db", implicit)
    instance = db.database(tmp_path / "db").instances()[0]
    assert instance[(0x6000, 0x0010)] == 484 and instance[0x60000010] == 484
    assert instance[(0x6002, 0x0010)] == 256  # another group: its own value
    assert instance.OverlayRows == 484 and instance["OverlayRows"] == 484  # group 6000
    assert instance[(0x5000, 0x0005)] == 2 and instance.CurveDimensions == 2
    assert instance[(0x6004, 0x0010)] is None  # a group the file does not have
    assert instance.parent.OverlayRows == [484]
    assert [i.OverlayDescription for i in instance.parent.instances(OverlayRows=484)] == [
        "first overlay"
    ]


def test_repeating_group_tags_are_edited_in_their_own_group(tmp_path: Path) -> None:
    path = _file(tmp_path / "db")
    database = db.database(tmp_path / "db")
    instance = database.instances()[0]
    instance[(0x6000, 0x0022)] = "x"
    assert instance.OverlayDescription == "x"
    instance.OverlayDescription = "y"
    instance[(0x6002, 0x0022)] = "z"
    assert instance[(0x6000, 0x0022)] == "y" and instance[(0x6002, 0x0022)] == "z"
    database.save()
    saved = pydicom.dcmread(path)
    assert saved[0x60000022].value == "y" and saved[0x60020022].value == "z"


def test_an_unknown_column_is_no_bare_key_error(tmp_path: Path) -> None:
    _file(tmp_path / "db")
    index = db.database(tmp_path / "db").index
    with pytest.raises(db.DicomError, match=r"\(group, element\)"):
        index.values(index.ok, "NotAKeyword")


def test_private_creators_read_as_text(tmp_path: Path) -> None:
    _file(tmp_path / "explicit")
    instance = db.database(tmp_path / "explicit").instances()[0]
    assert instance[(0x0009, 0x0010)] == "HMC"  # stored as UN
    assert instance[(0x0013, 0x0010)] == "CTP"
    assert instance[(0x0009, 0x1001)] == b"\x01\x02"  # private data of no known VR: bytes
    _file(tmp_path / "implicit", implicit=True)
    assert db.database(tmp_path / "implicit").instances()[0][(0x0013, 0x0010)] == "CTP"


def test_file_meta_keywords_read_from_the_file_meta(tmp_path: Path) -> None:
    path = _file(tmp_path / "db")
    meta = pydicom.dcmread(path).file_meta
    instance = db.database(tmp_path / "db").instances()[0]
    assert instance.MediaStorageSOPClassUID == meta.MediaStorageSOPClassUID
    assert instance.MediaStorageSOPInstanceUID == meta.MediaStorageSOPInstanceUID
    assert instance.ImplementationClassUID == meta.ImplementationClassUID
    assert instance[(0x0002, 0x0002)] == meta.MediaStorageSOPClassUID


def test_file_meta_read_by_pydicom_too(tmp_path: Path) -> None:
    """A file the fast reader leaves to pydicom (Big Endian) gives its file meta too."""
    (tmp_path / "db").mkdir()
    source = get_testdata_file("MR_small_bigendian.dcm")
    shutil.copy(source, tmp_path / "db" / "big.dcm")
    instance = db.database(tmp_path / "db").instances()[0]
    meta = pydicom.dcmread(source).file_meta
    assert instance.MediaStorageSOPClassUID == meta.MediaStorageSOPClassUID


def test_values_read_on_demand_by_an_older_version_are_read_again(tmp_path: Path) -> None:
    _file(tmp_path / "db")
    database = db.database(tmp_path / "db")
    assert database.instances()[0].MediaStorageSOPClassUID is not None
    database.close()
    manifest = next((tmp_path / "db" / ".dbdicom").rglob("_manifest.json"))
    text = manifest.read_text()
    assert f'"reads": {READS_VERSION}' in text
    manifest.write_text(text.replace(f'"reads": {READS_VERSION}', '"reads": 1'))
    index = db.database(tmp_path / "db").index
    assert "MediaStorageSOPClassUID" not in index.extra_columns()  # dropped: read again
    assert db.database(tmp_path / "db").instances()[0].MediaStorageSOPClassUID is not None


def test_instance_array_points_to_the_series(tmp_path: Path) -> None:
    _file(tmp_path / "db")
    instance = db.database(tmp_path / "db").instances()[0]
    with pytest.raises(db.UnknownAttributeError, match=r"instance\.parent\.array\(\)"):
        instance.array()
    array, instances = instance.parent.array()  # the way out works as written
    assert array.shape[-2:] == (64, 64) and list(instances) == [instance]


def test_many_tags_read_on_demand_do_not_fragment_the_index(tmp_path: Path) -> None:
    """Each tag read on demand was a block of its own: pandas warned after a hundred."""
    folder = tmp_path / "db"
    folder.mkdir()
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for element in range(0x1000, 0x1000 + 150):  # 150 private tags, none in the index
        ds.add_new(0x00190000 | element, "LO", f"v{element}")
    ds.add_new(0x00190010, "LO", "TEST")
    ds.save_as(folder / "many.dcm", enforce_file_format=True)
    database = db.database(folder)
    instance = database.instances()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        values = [instance[(0x0019, e)] for e in range(0x1000, 0x1000 + 150)]
    assert values[0] == "v4096" and values[-1] == "v4245"  # Explicit VR: LO as the file says
    assert database.index.frame[["(0019,1000)", "(0019,1095)"]].shape == (1, 2)
