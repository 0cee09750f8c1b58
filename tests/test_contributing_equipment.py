"""A derived series says that dbdicom processed it: one Contributing Equipment item a write.

A derived image kept its source's General Equipment module (the scanner's
Manufacturer, ManufacturerModelName, SoftwareVersions) and nothing else said
who made it. PS3.3 C.12.1 (SOP Common) has the ContributingEquipmentSequence
for that: each write appends one item, (DCM, 109102, "Processing Equipment"),
dbdicom and its version, the time of the write, to those of the source; the
scanner's equipment stays where it is.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from validators import dciodvfy_errors, program

import dbdicom as db
from dbdicom._records._write import set_xarray
from dbdicom._version import VERSION

FILES = Path(pydicom.__file__).parent / "data" / "test_files"
DATA = Path(pydicom.__file__).parent.parent / "data_store" / "data"
EQUIPMENT = ("Manufacturer", "ManufacturerModelName", "SoftwareVersions")


def _database(path: Path, source: Path) -> db.Database:
    (path / "in").mkdir()
    shutil.copy(source, path / "in" / source.name)
    (path / "in" / source.name).chmod(0o644)
    return db.database(path)


def _derived(series: db.Series, name: str, serialiser: str = "auto") -> Dataset:
    out = series.new_sibling(SeriesDescription=name)
    set_xarray(out, series.to_xarray() * 2, serialiser=serialiser)
    return pydicom.dcmread(out.files()[0], stop_before_pixels=True)


def _new_errors(written: Dataset, source: Path) -> set[str]:
    errors = {e for e in dciodvfy_errors(written.filename) if "Illegal root for UID" not in e}
    return errors - set(dciodvfy_errors(source))


def _assert_dbdicom(item: Dataset, before: datetime) -> None:
    (code,) = item.PurposeOfReferenceCodeSequence
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == (
        "109102",
        "DCM",
        "Processing Equipment",
    )
    assert item.Manufacturer == "dbdicom" and item.ManufacturerModelName == "dbdicom"
    assert item.SoftwareVersions == f"dbdicom {VERSION}"
    when = datetime.strptime(item.ContributionDateTime, "%Y%m%d%H%M%S%z")
    assert before - timedelta(seconds=1) <= when <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("source", "serialiser"),
    [
        (FILES / "MR_small.dcm", "auto"),
        (FILES / "MR_small.dcm", "pydicom"),
        (FILES / "CT_small.dcm", "auto"),
        (FILES / "MR_small_implicit.dcm", "auto"),  # read through pydicom
        (DATA / "eCT_Supplemental.dcm", "auto"),  # enhanced: a classic frame of it
    ],
    ids=["MR", "MR-pydicom", "CT", "MR-implicit", "enhanced-CT"],
)
def test_a_derived_series_names_dbdicom_as_processing_equipment(
    tmp_path: Path, source: Path, serialiser: str
) -> None:
    database = _database(tmp_path, source)
    (series,) = database.series()
    before = datetime.now(UTC)
    ds = _derived(series, "derived", serialiser)
    original = pydicom.dcmread(source, stop_before_pixels=True)
    for keyword in EQUIPMENT:  # the scanner's, as it was
        assert ds.get(keyword) == original.get(keyword), keyword
    (item,) = ds.ContributingEquipmentSequence
    _assert_dbdicom(item, before)
    assert not _new_errors(ds, source)
    database.restore()


def test_each_derivation_appends_its_own_item(tmp_path: Path) -> None:
    """A series derived from a derived one keeps the first step's item, then its own."""
    database = _database(tmp_path, FILES / "MR_small.dcm")
    (series,) = database.series()
    before = datetime.now(UTC)
    first = _derived(series, "first")
    second = _derived(database.series(SeriesDescription="first")[0], "second")
    assert len(second.ContributingEquipmentSequence) == 2
    assert second.ContributingEquipmentSequence[0] == first.ContributingEquipmentSequence[0]
    _assert_dbdicom(second.ContributingEquipmentSequence[1], before)
    assert not _new_errors(second, FILES / "MR_small.dcm")
    database.restore()


@pytest.mark.parametrize("description", ["plain", "Ελλάδα"], ids=["same-charset", "utf-8"])
@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_the_source_items_are_kept_as_they_read(
    tmp_path: Path, description: str, syntax: str
) -> None:
    """Another vendor's item, with Latin-1 text, stays; a header switched to UTF-8 re-encodes it.

    As bytes (Explicit VR Little Endian) and through pydicom (Implicit VR).
    """
    ds = pydicom.dcmread(FILES / "MR_small.dcm")
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SpecificCharacterSet = "ISO_IR 100"
    item = Dataset()
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "109103", "DCM"
    code.CodeMeaning = "Modifying Equipment"
    item.PurposeOfReferenceCodeSequence = [code]
    item.Manufacturer = "Acme"
    item.InstitutionName = "Hôpital Nord"
    ds.ContributingEquipmentSequence = [item]
    source = tmp_path / "MR_acme.dcm"
    ds.save_as(source, enforce_file_format=True)
    (tmp_path / "db").mkdir()
    database = _database(tmp_path / "db", source)
    (series,) = database.series()
    out = series.new_sibling(SeriesDescription=description)
    out.set_xarray(series.to_xarray() * 2)
    written = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    kept, ours = written.ContributingEquipmentSequence
    assert kept.Manufacturer == "Acme" and kept.InstitutionName == "Hôpital Nord"
    assert ours.Manufacturer == "dbdicom"
    assert written.SeriesDescription == description
    assert not _new_errors(written, source)
    database.restore()


def test_an_image_made_from_an_array_alone_has_dbdicom_as_its_equipment(tmp_path: Path) -> None:
    """No source: the General Equipment names dbdicom already, no item is needed."""
    database = db.database(tmp_path)
    series = database.new_patient().new_study().new_series(SeriesDescription="made")
    series.set_array(np.zeros((2, 4, 4), "uint16"))
    ds = pydicom.dcmread(series.files()[0], stop_before_pixels=True)
    assert ds.Manufacturer == "dbdicom" and ds.SoftwareVersions == f"dbdicom {VERSION}"
    assert "ContributingEquipmentSequence" not in ds
    database.restore()


def test_a_derived_instance_was_created_by_the_write_in_its_source_zone(tmp_path: Path) -> None:
    """InstanceCreationDate and Time are the write's, not the source's (CT_small's 2004).

    CT_small's TimezoneOffsetFromUTC (-0500) applies to every date and time of
    the instance: the write's time is said in that zone. Its SeriesDate and
    ContentDate stay the source's, those of the data it was derived from.
    """
    source = FILES / "CT_small.dcm"
    database = _database(tmp_path, source)
    (series,) = database.series()
    before = datetime.now(UTC)
    ds = _derived(series, "derived")
    after = datetime.now(UTC)
    original = pydicom.dcmread(source, stop_before_pixels=True)
    assert original.TimezoneOffsetFromUTC == ds.TimezoneOffsetFromUTC == "-0500"
    made = datetime.strptime(
        f"{ds.InstanceCreationDate}{ds.InstanceCreationTime}-0500", "%Y%m%d%H%M%S%z"
    )
    assert before - timedelta(seconds=1) <= made <= after
    for keyword in ("SeriesDate", "ContentDate", "AcquisitionDate"):
        assert ds[keyword].value == original[keyword].value, keyword
    for keyword in ("SeriesTime", "ContentTime"):  # (written from seconds: 112749.000000)
        assert float(ds[keyword].value) == float(original[keyword].value), keyword
    assert not _new_errors(ds, source)
    database.restore()


def test_a_creation_date_given_in_the_attrs_is_written(tmp_path: Path) -> None:
    database = _database(tmp_path, FILES / "MR_small.dcm")
    (series,) = database.series()
    da = series.to_xarray() * 2
    da.attrs["InstanceCreationDate"] = "20200101"
    out = series.new_sibling(SeriesDescription="dated").set_xarray(da)
    ds = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    assert ds.InstanceCreationDate == "20200101"
    assert ds.InstanceCreationTime  # the write's
    database.restore()


def test_a_source_sequence_stored_as_un_is_read_not_spliced(tmp_path: Path) -> None:
    """Its items are Implicit VR: copied as they are into an SQ, they would not read.

    (A converter that did not know the tag wrote it as UN.)
    """
    item = Dataset()
    item.Manufacturer = "Acme"
    inner = Dataset()
    inner.ContributingEquipmentSequence = [item]
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, True
    write_dataset(fp, inner)
    ds = pydicom.dcmread(FILES / "MR_small.dcm")
    value = fp.getvalue()[8:]  # after the tag and length
    ds[0x0018A001] = RawDataElement(Tag(0x0018A001), "UN", len(value), value, 0, False, True)
    source = tmp_path / "MR_un.dcm"
    ds.save_as(source, enforce_file_format=True)
    (tmp_path / "db").mkdir()
    database = _database(tmp_path / "db", source)
    (series,) = database.series()
    written = _derived(series, "derived")
    kept, ours = written.ContributingEquipmentSequence
    assert kept.Manufacturer == "Acme" and ours.Manufacturer == "dbdicom"
    assert len(kept) == 1
    # pydicom guesses Implicit VR items in an Explicit VR sequence; dciodvfy does not
    report = subprocess.run(
        [program("dciodvfy"), written.filename], capture_output=True, text=True, check=False
    )
    assert "Tag read failed" not in report.stdout + report.stderr
    database.restore()
