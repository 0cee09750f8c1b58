"""An array written without source headers gets the SOP class of its Modality.

A trial: a CT array (attrs Modality CT) written into a new series gave MR
Image Storage instances with Modality CT. The template of a write follows
the Modality the series or the attrs give (:func:`modality_image`): CT
Image for CT, MR Image for MR or none, else a Secondary Capture with that
Modality (PET, US... need acquisition attributes no template makes up).
Values read back as written; dciodvfy reports no error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom import uid
from validators import dciodvfy_errors

import dbdicom as db
from dbdicom._records._write import set_xarray

CASES = [
    ("CT", np.arange(-64, 64, dtype=np.int16), uid.CTImageStorage),
    ("CT", np.linspace(-1000.5, 3000.25, 128), uid.CTImageStorage),
    ("MR", np.arange(128, dtype=np.uint16), uid.MRImageStorage),
    (None, np.linspace(0.0, 1.0, 128), uid.MRImageStorage),
    ("PT", np.linspace(0.0, 3.5, 128), uid.SecondaryCaptureImageStorage),
    ("US", np.arange(-64, 64, dtype=np.int16), uid.SecondaryCaptureImageStorage),
]
IDS = ["CT-int", "CT-float", "MR-int", "none-float", "PT-float", "US-int"]


def _array(modality: str | None, values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        values.reshape(2, 8, 8),
        dims=("SliceLocation", "row", "column"),
        coords={"SliceLocation": [0.0, 2.0]},
        attrs={} if modality is None else {"Modality": modality},
    )


@pytest.mark.parametrize("serialiser", ["auto", "pydicom"])
@pytest.mark.parametrize(("modality", "values", "sop_class"), CASES, ids=IDS)
def test_a_template_write_has_the_class_of_its_modality(
    tmp_path: Path, modality: str | None, values: np.ndarray, sop_class: str, serialiser: str
) -> None:
    (tmp_path / "db").mkdir()
    database = db.database(tmp_path / "db")
    series = database.new_patient().new_study().new_series(SeriesDescription="x")
    set_xarray(series, _array(modality, values), serialiser=serialiser)
    database.save()
    files = [pydicom.dcmread(path) for path in series.files()]
    assert [f.SOPClassUID for f in files] == [sop_class] * 2
    assert {f.Modality for f in files} == {modality or "MR"}
    for path in series.files():
        assert dciodvfy_errors(path) == []
    back = series.to_xarray(dims=["SliceLocation"])
    assert back.SliceLocation.values.tolist() == [0.0, 2.0]
    if values.dtype.kind in "iu":
        assert np.array_equal(back.values, values.reshape(2, 8, 8))
    else:  # within half a step of the stored values
        slope = float(files[0].RescaleSlope)
        assert np.abs(back.values - values.reshape(2, 8, 8)).max() <= slope / 2 + 1e-6 * slope
    database.close()


def test_the_series_modality_wins_over_the_attrs(tmp_path: Path) -> None:
    """The series' Modality is written over the attrs' (a later layer): the class follows it."""
    (tmp_path / "db").mkdir()
    database = db.database(tmp_path / "db")
    series = database.new_patient().new_study().new_series(Modality="CT")
    series.set_xarray(_array("MR", np.arange(128, dtype=np.int16)))
    files = [pydicom.dcmread(path) for path in series.files()]
    assert {(f.SOPClassUID, f.Modality) for f in files} == {(uid.CTImageStorage, "CT")}
    database.close()


@pytest.mark.parametrize(
    ("modality", "sop_class"),
    [("CT", uid.CTImageStorage), ("US", uid.SecondaryCaptureImageStorage)],
    ids=["CT", "US"],
)
def test_a_new_instance_has_the_class_of_its_series_modality(
    tmp_path: Path, modality: str, sop_class: str
) -> None:
    """``new_instance`` in a series of another Modality than MR: its class is true of it."""
    (tmp_path / "db").mkdir()
    database = db.database(tmp_path / "db")
    series = database.new_patient().new_study().new_series(Modality=modality)
    instance = series.new_instance()
    ds = pydicom.dcmread(instance.path)
    assert (ds.SOPClassUID, ds.Modality) == (sop_class, modality)
    assert dciodvfy_errors(instance.path) == []
    database.close()
