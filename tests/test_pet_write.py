"""Series written from a dynamic PET source are valid PET and keep what is true of each frame.

A derived PET image is DERIVED\\PRIMARY (the PET Image module's Value 2 is
PRIMARY alone), keeps its frame's ActualFrameDuration (Type 2 there, not
the Cine attribute of a multi-frame object), the PET attributes of its
source (Units, DecayCorrection, CorrectedImage...) and a rescale of
intercept 0. A frame that combines several time frames or slices (a mean)
has no FrameReferenceTime, DecayFactor or SliceSensitivityFactor of its
own, Type 1 or 1C in the PET Image module: it is a Secondary Capture, and
says no frame duration (a mean of three 60 s frames is not 60 s long).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
import xarray as xr
from pet_files import DURATION, write_pet
from pydicom.uid import PositronEmissionTomographyImageStorage, SecondaryCaptureImageStorage
from validators import dciodvfy_errors

import dbdicom as db

DIMS = ["SliceLocation", "FrameReferenceTime"]


@pytest.fixture
def pet(tmp_path: Path) -> db.Database:
    write_pet(tmp_path / "pet")
    return db.database(tmp_path / "pet")


def _written(database: db.Database, da: xr.DataArray) -> list[pydicom.Dataset]:
    source = database.series(SeriesDescription="dynamic PET")[0]
    out = source.new_sibling(SeriesDescription="derived")
    out.set_xarray(da)
    return [pydicom.dcmread(i.path) for i in out.instances()]


def test_the_source_is_valid_pet(pet: db.Database) -> None:
    """The premise: dciodvfy finds no error in the source files."""
    for instance in pet.series(SeriesDescription="dynamic PET")[0].instances():
        assert dciodvfy_errors(instance.path) == [], instance.path


KEEP: dict[str, Callable[[xr.DataArray], xr.DataArray]] = {
    "one time": lambda da: da.isel(FrameReferenceTime=1),
    "every second slice": lambda da: da.isel(SliceLocation=slice(None, None, 2)),
    "float": lambda da: (da * 1.37).astype("float32"),
    "integers": lambda da: da.round().astype("int32"),
}


@pytest.mark.parametrize("name", list(KEEP))
def test_a_derived_pet_is_valid_pet(pet: db.Database, name: str) -> None:
    da = pet.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=DIMS)
    files = _written(pet, KEEP[name](da))
    for ds in files:
        assert ds.SOPClassUID == PositronEmissionTomographyImageStorage
        assert list(ds.ImageType[:2]) == ["DERIVED", "PRIMARY"]
        assert int(ds.ActualFrameDuration) == DURATION  # each frame's own: still true
        assert float(ds.RescaleIntercept) == 0.0 and float(ds.RescaleSlope) > 0
        assert (ds.Units, ds.DecayCorrection) == ("BQML", "START")
        assert "ATTN" in ds.CorrectedImage and ds.SeriesType[0] == "DYNAMIC"
        assert dciodvfy_errors(ds.filename) == [], ds.filename


def test_a_pet_of_integers_has_a_rescale(pet: db.Database) -> None:
    """Integer values need no rescale, but a PET image has one (Type 1): slope 1, intercept 0."""
    da = pet.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=DIMS)
    for ds in _written(pet, da.round().astype("int32")):
        assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, 0.0)


def test_values_read_back(pet: db.Database) -> None:
    """With no intercept, float values still read back within the quantisation."""
    da = pet.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=DIMS)
    source = pet.series(SeriesDescription="dynamic PET")[0]
    out = source.new_sibling(SeriesDescription="float")
    scaled = (da * 1.37).compute()
    out.set_xarray(scaled)
    back = out.to_xarray(dims=DIMS)
    step = float(scaled.max()) / 65535
    assert float(abs(back.values - scaled.values).max()) <= step


COMBINE: dict[str, Callable[[xr.DataArray], xr.DataArray]] = {
    "mean over time": lambda da: da.mean("FrameReferenceTime"),
    "mean over time, reference time given": lambda da: da.mean("FrameReferenceTime").assign_attrs(
        FrameReferenceTime=90000.0
    ),
    "mean over slices": lambda da: da.mean("SliceLocation"),
    "negative values": lambda da: da - 100.5,
}


@pytest.mark.parametrize("name", list(COMBINE))
def test_what_no_pet_image_can_say_is_a_secondary_capture(pet: db.Database, name: str) -> None:
    """A mean's FrameReferenceTime and DecayFactor are no source's; PET has no intercept."""
    da = pet.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=DIMS)
    for ds in _written(pet, COMBINE[name](da)):
        assert ds.SOPClassUID == SecondaryCaptureImageStorage
        assert "ActualFrameDuration" not in ds  # never 60 s for three frames of 60 s
        assert dciodvfy_errors(ds.filename) == [], ds.filename


def test_a_mean_over_time_given_its_reference_time_says_no_duration(tmp_path: Path) -> None:
    """Not decay corrected, a mean given its FrameReferenceTime stays PET: its duration is empty.

    The three sources share their ActualFrameDuration (60 s); the mean is not
    60 s long, and the attribute is Type 2: present, with no value.
    """
    write_pet(tmp_path / "pet", decay=False)
    database = db.database(tmp_path / "pet")
    da = database.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=DIMS)
    mean = da.mean("FrameReferenceTime").assign_attrs(FrameReferenceTime=90000.0)
    for ds in _written(database, mean):
        assert ds.SOPClassUID == PositronEmissionTomographyImageStorage
        assert float(ds.FrameReferenceTime) == 90000.0
        assert ds["ActualFrameDuration"].is_empty
        assert dciodvfy_errors(ds.filename) == [], ds.filename


def test_a_dynamic_cut_short_keeps_its_number_of_time_slices(pet: db.Database) -> None:
    """A review: the first 5 of 12 frames (slices of uneven counts) lost NumberOfTimeSlices,
    Type 1C in a DYNAMIC series; it is the time slices the frames reach."""
    da = pet.series(SeriesDescription="dynamic PET")[0].to_xarray(dims=["InstanceNumber"])
    files = _written(pet, da.isel(InstanceNumber=slice(0, 5)))
    assert {int(f.NumberOfTimeSlices) for f in files} == {2}
    indices = [int(f.ImageIndex) for f in files]
    assert len(set(indices)) == 5 and max(indices) <= 2 * int(files[0].NumberOfSlices)
    for f in files:
        assert dciodvfy_errors(f.filename) == [], f.filename
