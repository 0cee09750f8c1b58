"""A rescaled frame of a class whose Modality LUT needs RescaleType gets one.

A new-user trial found a float array derived from a Computed Radiography
image written with RescaleSlope and RescaleIntercept but no RescaleType,
Type 1C with them in the CR IOD's Modality LUT module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

import dbdicom as db


def test_a_rescaled_cr_frame_has_a_rescale_type(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = get_testdata_file("RG3_UNCR.dcm")
    assert path is not None
    shutil.copyfile(path, folder / "cr.dcm")
    database = db.database(str(folder))
    database.mute()
    source = database.series()[0]
    da = source.to_xarray().isel(row=slice(0, 32), column=slice(0, 32))
    out = source.new_sibling(SeriesDescription="float")
    out.set_xarray(da.astype("float32") * 0.37 + 12.5)
    ds = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    assert ds.SOPClassUID == pydicom.uid.ComputedRadiographyImageStorage
    assert "RescaleIntercept" in ds and ds.RescaleType == "US"
    database.restore()
    database.close()
