"""Grey images shown inverted (MONOCHROME1, as CR and DX often are) stay so when derived.

Values derived from such a source keep their sense (the lowest shown white):
written as MONOCHROME2, every viewer would show the result as a negative of
its source.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

PIXELS = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16)


@pytest.mark.parametrize("syntax", ["explicit", "implicit"])
@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
def test_a_derived_image_keeps_how_its_grey_values_show(
    tmp_path: Path, syntax: str, photometric: str
) -> None:
    ds = mr_image(PIXELS, PatientID="P", SeriesDescription="cr")
    ds.PhotometricInterpretation = photometric
    if syntax == "implicit":  # read through pydicom, not as bytes
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    write_dataset(ds, tmp_path / "source.dcm")
    database = db.database(tmp_path)
    source = database.series()[0]
    crop = source.to_xarray().isel(row=slice(2, 10), column=slice(0, 8))
    derived = source.new_sibling(SeriesDescription="crop")
    derived.set_xarray(crop * 2)
    database.save()
    written = pydicom.dcmread(derived.files()[0])
    assert written.PhotometricInterpretation == photometric
    values = pydicom.pixels.apply_modality_lut(written.pixel_array, written)
    assert np.allclose(values, PIXELS[2:10, 0:8] * 2)
