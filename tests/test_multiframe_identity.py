"""Segmentations and parametric maps take identity values from their parents and sources.

A new-user trial found them written with the templates' made-up patient
(DBD-0001, Smith^John, ACC0001, 'Research SEG'), InstitutionName 'dbdicom
Test Hospital' and PatientPosition HFS over the source's FFS; an empty
Type 1 ContentTime; and derived images of a source without a
SeriesInstanceUID referring to the series 'None'.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset


def _source(tmp_path: Path) -> db.Database:
    folder = tmp_path / "data"
    folder.mkdir()
    for k in range(2):
        ds = mr_image(
            np.full((4, 4), k, np.uint16),
            PatientPosition="FFS",
            ImagePositionPatient=[0, 0, 5 * k],
            SeriesInstanceUID="1.2.3.4",
            StudyInstanceUID="1.2.3",
            ContentTime="",
        )
        for keyword in ("PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber"):
            ds[keyword].value = ""
        for keyword in ("InstitutionName", "StudyDescription", "ReferringPhysicianName"):
            del ds[keyword]
        write_dataset(ds, folder / f"{k}.dcm")
    database = db.database(str(folder))
    database.mute()
    return database


def test_multiframe_objects_take_no_template_identity(tmp_path: Path) -> None:
    database = _source(tmp_path)
    source = database.series()[0]
    da = source.to_xarray()
    for kind, data in (("segmentation", da > 0), ("parametric map", da.astype("float32"))):
        out = source.new_sibling(SeriesDescription=kind)
        out.set_xarray(data, kind=kind)
        ds = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
        assert ds.PatientPosition == "FFS", kind
        assert "InstitutionName" not in ds and "StudyDescription" not in ds, kind
        for keyword in ("PatientID", "PatientBirthDate", "ReferringPhysicianName"):
            assert ds[keyword].value in ("", None), (kind, keyword)
        assert ds.ContentDate and ds.ContentTime, kind  # Type 1
    database.restore()
    database.close()


def test_no_none_uid_for_a_source_without_series_uid(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = get_testdata_file("JPEGLSNearLossless_16.dcm")
    assert path is not None
    shutil.copyfile(path, folder / "a.dcm")
    database = db.database(str(folder))
    database.mute()
    source = database.series()[0]
    out = source.new_sibling(SeriesDescription="half")
    out.set_xarray(source.to_xarray() / 2)
    ds = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    uids = [item.SeriesInstanceUID for item in ds.get("ReferencedSeriesSequence", [])]
    assert "None" not in uids
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID
    database.restore()
    database.close()
