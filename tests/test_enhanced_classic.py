"""A frame derived from an enhanced source carries the source's values, never a template's.

A new-user trial found derived images of an Enhanced CT and of a
Segmentation written as MR Image Storage with the MR template's
acquisition values (EchoTime 2, FlipAngle 15, 1.5 T, ScanningSequence GR,
BodyPartExamined HEAD), and derived images of an Enhanced MR with the
template's MagneticFieldStrength, ImagingFrequency, acquisition date and
sequence name in place of the source's. A frame of an enhanced source now
starts from the template of the class that holds it (MR Image, CT Image,
else Secondary Capture, as docs/writing.md says), each of its values the
source's, from the functional groups, or empty (Type 2), else left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import CTImageStorage, MRImageStorage, SecondaryCaptureImageStorage

import dbdicom as db
from dbdicom._templates import enhanced_mr_image, write_dataset

#: the MR template's made-up acquisition values
_MR_TEMPLATE = ("EchoTime", "FlipAngle", "MagneticFieldStrength", "ScanningSequence")


def _derived(folder: Path) -> pydicom.Dataset:
    database = db.database(str(folder))
    database.mute()
    source = database.series()[0]
    da = source.to_xarray()
    out = source.new_sibling(SeriesDescription="scaled")
    out.set_xarray(da.astype("float32") * 0.5)
    ds = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    database.restore()
    database.close()
    return ds


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    path = get_testdata_file(name)
    assert path is not None
    shutil.copyfile(path, folder / name)
    return folder


def test_an_enhanced_ct_gives_ct_images_without_mr_values(tmp_path: Path) -> None:
    ds = _derived(_copy(tmp_path, "eCT_Supplemental.dcm"))
    assert ds.SOPClassUID == CTImageStorage
    assert not [k for k in _MR_TEMPLATE if k in ds]
    assert ds.get("BodyPartExamined") is None  # the source has none: not the template's
    assert ds.get("InstitutionName") != "dbdicom Test Hospital"
    # the source's PixelPresentation COLOR (kept in the attrs) asked for a palette
    assert "PixelPresentation" not in ds


def test_a_segmentation_gives_secondary_captures_without_mr_values(tmp_path: Path) -> None:
    ds = _derived(_copy(tmp_path, "liver.dcm"))
    assert ds.SOPClassUID == SecondaryCaptureImageStorage
    assert not [k for k in _MR_TEMPLATE if k in ds]
    assert ds.get("BodyPartExamined") is None
    source = pydicom.dcmread(get_testdata_file("liver.dcm"), stop_before_pixels=True)
    for keyword in ("PatientID", "StudyDescription", "InstitutionName", "StationName"):
        assert ds.get(keyword) in (source.get(keyword), "", None), keyword


def test_an_enhanced_mr_gives_its_own_acquisition_values(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    enhanced = enhanced_mr_image(
        np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8),
        MagneticFieldStrength=3,
        PulseSequenceName="B-TFE",
        AcquisitionDateTime="20210616111515.81",
        TransmitterFrequency=127.749096,
        PatientPosition="FFS",
        InstitutionName="Own Hospital",
    )
    enhanced.EchoPulseSequence = "GRADIENT"
    write_dataset(enhanced, folder / "enhanced.dcm")
    ds = _derived(folder)
    assert ds.SOPClassUID == MRImageStorage
    assert float(ds.MagneticFieldStrength) == 3.0
    assert float(ds.ImagingFrequency) == 127.749096
    assert (ds.AcquisitionDate, ds.AcquisitionTime) == ("20210616", "111515.81")
    assert ds.SequenceName == "B-TFE"
    assert ds.PatientPosition == "FFS" and ds.InstitutionName == "Own Hospital"
    assert ds.ScanningSequence == "GR"
