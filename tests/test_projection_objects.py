"""Segmentations and parametric maps of projection images are refused, not placed.

Their sources (X-ray, ultrasound, secondary captures) have no position in
the patient; the template's axial 1.5 mm stack would be made-up geometry
(a trial found a new Frame of Reference and positions on an RF image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db


@pytest.mark.parametrize("kind", ["segmentation", "parametric map"])
def test_an_object_placed_in_the_patient_needs_positions(tmp_path: Path, kind: str) -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))  # made a projection image
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "FrameOfReferenceUID"):
        delattr(ds, keyword)
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "projection.dcm")
    database = db.database(tmp_path)
    projection = database.series(SeriesInstanceUID=ds.SeriesInstanceUID)[0]
    da = projection.to_xarray()
    values = (da > da.mean()) if kind == "segmentation" else da.astype(np.float32) / 2
    out = projection.new_sibling(SeriesDescription=kind)
    with pytest.raises(db.InvalidValueError, match="give a position for each frame.*'image'"):
        out.set_xarray(values, kind=kind)
    assert out.files() == []
    out.set_xarray(values)  # as images: their sources' (no) geometry
    assert "ImagePositionPatient" not in pydicom.dcmread(out.files()[0])
