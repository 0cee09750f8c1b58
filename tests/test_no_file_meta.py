"""Files the scan reads although pydicom needs force=True: every other path reads them too.

pydicom's ``rtstruct.dcm`` has no preamble, ``SC_rgb_jpeg.dcm`` says Explicit VR
and is Implicit VR. The scan indexed them; CSV export, ``dbdicom info``, a
sequence read on demand, an edit and the pixels then stopped with
"File is missing DICOM File Meta Information header" or blamed the data.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from servers import Orthanc, _remove_patient

import dbdicom as db


@pytest.fixture
def rtstruct(tmp_path: Path) -> Path:
    path = Path(get_testdata_file("rtstruct.dcm"))
    assert path.read_bytes()[128:132] != b"DICM"  # no preamble, no file meta
    folder = tmp_path / "rt"
    folder.mkdir()
    shutil.copy(path, folder / "rtstruct.dcm")
    return folder


def test_csv_export_reads_a_file_without_file_meta(rtstruct: Path, tmp_path: Path) -> None:
    database = db.database(rtstruct)
    database.export_as_csv(tmp_path / "csv")
    (written,) = list((tmp_path / "csv").rglob("*.csv"))
    assert "StructureSetLabel" in written.read_text()


def test_a_sequence_is_read_on_demand(rtstruct: Path) -> None:
    (instance,) = db.database(rtstruct).instances()
    expected = pydicom.dcmread(rtstruct / "rtstruct.dcm", force=True).ROIContourSequence
    assert len(instance["ROIContourSequence"]) == len(expected) == 3


def test_an_edit_is_saved(rtstruct: Path) -> None:
    database = db.database(rtstruct)
    (instance,) = database.instances()
    instance.StructureSetLabel = "edited"
    database.save()
    ds = pydicom.dcmread(rtstruct / "rtstruct.dcm", force=True)
    assert ds.StructureSetLabel == "edited" and len(ds.ROIContourSequence) == 3


def test_the_command_line_prints_it(rtstruct: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dbdicom", "info", str(rtstruct / "rtstruct.dcm")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "StructureSetLabel" in out.stdout or "Structure Set Label" in out.stdout


def test_pixels_of_a_data_set_in_another_encoding_than_its_meta_says(tmp_path: Path) -> None:
    path = get_testdata_file("SC_rgb_jpeg.dcm")
    shutil.copy(path, tmp_path / "sc.dcm")
    database = db.database(tmp_path)
    assert any("says Explicit VR" in p for p in database.problems()["problem"])
    expected = pydicom.dcmread(path).pixel_array
    values = database.series()[0].to_xarray().values
    assert np.array_equal(values.reshape(expected.shape), expected)


def test_a_copy_is_a_part_10_file(rtstruct: Path) -> None:
    """A trial: the copies of a file without preamble and file meta were none either, so
    pydicom (without force), dciodvfy and viewers refused the new files."""
    database = db.database(rtstruct)
    (series,) = database.series()
    copy = series.copy()
    database.save()
    (written,) = copy.files()
    ds = pydicom.dcmread(written)  # no force: a Part 10 file
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == copy.instances()[0].uid
    source = pydicom.dcmread(rtstruct / "rtstruct.dcm", force=True)
    assert ds.SOPInstanceUID != source.SOPInstanceUID
    assert len(ds.ROIContourSequence) == len(source.ROIContourSequence)
    assert (rtstruct / "rtstruct.dcm").read_bytes()[128:132] != b"DICM"  # the source as it was


@pytest.mark.parametrize("change", ["set_xarray", "edit", "copy"])
def test_a_data_set_in_another_encoding_than_its_meta_says_is_written_from(
    tmp_path: Path, change: str
) -> None:
    """A trial: a series derived from SC_rgb_jpeg.dcm (its meta says Explicit VR, its data set
    is Implicit VR) stopped in pydicom's writer with "TypeError: With tag (0008,0064) got
    exception: encoding without a string argument" (pydicom keeps its elements raw, without
    VRs, and writes them as Explicit VR ones): so did an edit and a copy of it."""
    path = get_testdata_file("SC_rgb_jpeg.dcm")
    shutil.copy(path, tmp_path / "sc.dcm")
    database = db.database(tmp_path)
    (series,) = database.series()
    source = series.to_xarray()
    if change == "set_xarray":
        made = series.new_sibling(SeriesDescription="derived")
        made.set_xarray(source)
    elif change == "edit":
        series.PatientName = "Edited^Name"
        made = series
    else:
        made = series.copy()
    database.save()
    (written,) = made.files()
    ds = pydicom.dcmread(written)  # Part 10, readable without force
    assert ds.ConversionType == "WSD" or ds.ConversionType == pydicom.dcmread(path).ConversionType
    np.testing.assert_array_equal(made.to_xarray().values, source.values)
    if change == "edit":
        assert ds.PatientName == "Edited^Name"


@pytest.mark.parametrize("name", ["rtstruct.dcm", "SC_rgb_jpeg.dcm"])
def test_such_a_file_is_stored_into_a_dicomweb_archive(
    orthanc: Orthanc, tmp_path: Path, name: str
) -> None:
    """A trial: ``series.export_as_dicom(dicomweb_url)`` (STOW-RS) of rtstruct.dcm stopped
    with pydicom's InvalidDicomError ("File is missing DICOM File Meta Information header"),
    of SC_rgb_jpeg.dcm with a TypeError from pydicom's writer: the files are sent as the
    scan read them."""
    path = Path(get_testdata_file(name))
    (tmp_path / "in").mkdir()
    shutil.copy(path, tmp_path / "in" / name)
    source = pydicom.dcmread(path, force=True)
    study = str(source.StudyInstanceUID)
    session = orthanc.session()
    try:
        (series,) = db.database(tmp_path / "in").series()
        assert series.export_as_dicom(orthanc.db_url) == orthanc.url
        web = db.dicomweb(
            orthanc.url, session=session, cache=tmp_path / "cache", StudyInstanceUID=study
        )
        (instance,) = web.instances()
        assert instance.SOPInstanceUID == source.SOPInstanceUID
        assert instance.Modality == source.Modality
        web.close()
        root = orthanc.url.removesuffix("/dicom-web")
        (found,) = session.post(f"{root}/tools/lookup", data=source.SOPInstanceUID).json()
        stored = session.get(f"{root}{found['Path']}/file", timeout=30).content
        assert stored[128:132] == b"DICM"  # sent as a Part 10 file
    finally:
        _remove_patient(orthanc, session, study)  # (lookup takes any of its identifiers)


def test_an_edit_and_a_copy_of_a_data_set_in_another_encoding_than_its_meta_says(
    tmp_path: Path,
) -> None:
    """A trial: any edit or copy of ``SC_rgb_jpeg.dcm`` stopped in pydicom's writer.

    pydicom reads the data set as Implicit VR, as it is, but keeps the
    meta's Explicit VR as the encoding it was read in: written in that, its
    elements (no VR: read as Implicit VR) raised a bare ``TypeError: With
    tag (0008,0008) got exception: encoding without a string argument``.
    Written now as the meta says, every value and the pixel bytes as they were.
    """
    path = get_testdata_file("SC_rgb_jpeg.dcm")
    shutil.copy(path, tmp_path / "sc.dcm")
    database = db.database(tmp_path)
    (instance,) = database.instances()
    instance.ImageComments = "edited"
    copy = instance.parent.copy()
    database.save()
    source = pydicom.dcmread(path)
    for written in [tmp_path / "sc.dcm", *copy.files()]:
        ds = pydicom.dcmread(written)
        assert ds.ImageComments == "edited"
        assert ds.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
        assert ds.PixelData == source.PixelData
        own = {0x00080018, 0x0020000E, 0x00200011, 0x00200013}  # a copy's UIDs and numbers
        kept = {e.tag for e in source} - own
        assert all(ds[tag].value == source[tag].value for tag in kept)
    assert "says Explicit VR" not in " ".join(db.database(tmp_path).problems()["problem"])
