"""Values of the attrs DICOM cannot hold that are their sources' own do not stop a write.

They come from the source files' own headers, kept by xarray (an
80-character ProtocolName, an ImageType with a '/'): a trial's
``set_xarray(da * 2)`` failed on them, although the user never set them.
A value the user set is still an error. Nor do the attrs xarray code sets
to describe an array (``units``, ``long_name``...), which are not tags;
a misspelt keyword still is an error.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

LONG = "T1_MPRAGE_sag_p2_iso_1mm_with_a_long_site_specific_suffix_added_by_the_scanner"


def test_a_source_value_dicom_cannot_hold_is_kept_as_it_is(tmp_path: Path) -> None:
    for i in range(2):
        ds = mr_image(np.full((4, 4), i, np.uint16), PatientID="P", InstanceNumber=i + 1)
        ds.ProtocolName = LONG  # 80 characters in an LO (64 at most)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.4"
        ds.ImagePositionPatient = [0, 0, 3.0 * i]
        write_dataset(ds, tmp_path / f"{i}.dcm")
    database = db.database(tmp_path)
    source = database.series()[0]
    da = source.to_xarray()
    assert da.attrs["ProtocolName"] == LONG
    derived = source.new_sibling(SeriesDescription="doubled")
    with pytest.warns(db.DicomWarning, match="'ProtocolName'.* is not written.*keep it as it"):
        derived.set_xarray(da * 2)
    database.save()
    for path in derived.files():
        assert pydicom.dcmread(path).ProtocolName == LONG


def test_a_source_description_of_several_values_says_nothing_untrue(tmp_path: Path) -> None:
    r"""A SeriesDescription 'T1\T2' (two values in a tag of one) of the source, in the attrs.

    The new series' own attributes win over the attrs (see docs/writing.md):
    the new files hold no SeriesDescription, as any new_sibling()'s; the
    attr is not written, and no warning says the files keep it (a review).
    """
    ds = mr_image(np.zeros((4, 4), np.uint16), PatientID="P")
    ds.SeriesDescription = ["T1", "T2"]
    write_dataset(ds, tmp_path / "a.dcm")
    database = db.database(tmp_path)
    source = database.series()[0]
    da = source.to_xarray()
    assert da.attrs["SeriesDescription"] == "T1\\T2"
    derived = source.new_sibling()
    with warnings.catch_warnings():
        warnings.simplefilter("error", db.DicomWarning)
        derived.set_xarray(da)
    assert "SeriesDescription" not in pydicom.dcmread(derived.files()[0])
    named = source.new_sibling(SeriesDescription="named")
    named.set_xarray(da.assign_attrs(SeriesDescription="x" * 80))  # the series' own wins
    assert pydicom.dcmread(named.files()[0]).SeriesDescription == "named"


def test_an_invalid_value_the_user_sets_is_an_error(tmp_path: Path) -> None:
    """A review: a value set on purpose, and not the source's, must not vanish silently."""
    database = db.database(tmp_path)
    series = database.new_patient().new_study().new_series(SeriesDescription="new")
    da = xr.DataArray(
        np.zeros((2, 4, 4), np.float32),
        dims=("SliceLocation", "row", "column"),
        coords={"SliceLocation": [0.0, 3.0]},
    )
    da.attrs["ProtocolName"] = LONG
    with pytest.raises(db.InvalidValueError, match="ProtocolName"):
        series.set_xarray(da)
    assert series.files() == []


def _files_of(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if ".dbdicom" not in p.parts}


def test_a_write_refused_half_way_by_a_coordinate_leaves_nothing(tmp_path: Path) -> None:
    """A value refused at the fourth frame: the three written go, and nothing is left to save.

    The files written before the refusal were removed, but their lines stayed
    in the journal: ``unsaved`` was True with nothing to save.
    """
    for i in range(2):
        ds = mr_image(np.full((4, 4), i, np.uint16), PatientID="P", InstanceNumber=i + 1)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.4"
        ds.ImagePositionPatient = [0, 0, 3.0 * i]
        write_dataset(ds, tmp_path / f"{i}.dcm")
    database = db.database(tmp_path)
    before = _files_of(tmp_path)
    source = database.series()[0]
    da = xr.DataArray(
        np.ones((6, 4, 4), np.float32),
        dims=("SliceLocation", "row", "column"),
        coords={
            "SliceLocation": 3.0 * np.arange(6),
            "PatientAge": ("SliceLocation", ["045Y"] * 3 + ["1234567"] * 3),
        },
    )
    for target in (source.new_sibling(SeriesDescription="new"), source):  # new, and replacing
        with pytest.raises(db.InvalidValueError, match=r"coordinate 'PatientAge'.*drop_vars"):
            target.set_xarray(da)
        assert not database.unsaved
        assert _files_of(tmp_path) == before
        assert [s.files() != [] for s in database.series()] in ([True], [True, False])
        assert source.to_xarray().shape == (2, 4, 4)
    database.close()
    assert len(db.database(tmp_path).series()) == 1


def test_coordinates_of_some_values_of_a_tag_are_said_not_written(tmp_path: Path) -> None:
    """ImagePositionPatient[2] alone: the tag cannot be written from it, and a warning says so."""
    database = db.database(tmp_path)
    series = database.new_patient().new_study().new_series(SeriesDescription="new")
    da = xr.DataArray(
        np.zeros((2, 4, 4), np.float32),
        dims=("SliceLocation", "row", "column"),
        coords={
            "SliceLocation": [0.0, 3.0],
            "ImagePositionPatient[2]": ("SliceLocation", [0.0, 3.0]),
        },
        attrs={"SeriesInstanceUID": "1.2.3"},
    )
    with pytest.warns(
        db.DicomWarning, match=r"ImagePositionPatient\[0\], ImagePositionPatient\[1\]"
    ):
        series.set_xarray(da)
    assert len(series.files()) == 2


def _stack() -> xr.DataArray:
    return xr.DataArray(
        np.arange(32, dtype=np.float32).reshape(2, 4, 4),
        dims=("SliceLocation", "row", "column"),
        coords={"SliceLocation": [0.0, 3.0]},
    )


@pytest.mark.parametrize("kind", ["image", "parametric map"])
def test_the_attrs_xarray_code_sets_to_describe_an_array_do_not_stop_a_write(
    tmp_path: Path, kind: str
) -> None:
    """A trial: the README's ``set_xarray(fit(da))`` failed on the fit's ``units`` attr.

    They are not written into the headers, and nothing is said about them.
    """
    database = db.database(tmp_path)
    series = database.new_patient().new_study().new_series(SeriesDescription="T1")
    described = {
        "units": "ms",
        "long_name": "T1 relaxation time",
        "standard_name": "t1",
        "description": "DESPOT1 fit",
        "comment": "background NaN",
    }
    da = _stack().assign_attrs(described, ImageComments="fitted")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a word about them
        series.set_xarray(da, kind=kind)
    database.save()
    (header, *_) = [pydicom.dcmread(path) for path in series.files()]
    written = {element.keyword for element in header.iterall()}
    assert not set(described) & written
    assert kind != "image" or header.ImageComments == "fitted"


@pytest.mark.parametrize(
    ("name", "hint"),
    [("RepetitionTim", "Did you mean 'RepetitionTime'"), ("unit", ""), ("longname", "")],
)
def test_an_attr_that_is_neither_a_keyword_nor_a_description_is_still_refused(
    tmp_path: Path, name: str, hint: str
) -> None:
    database = db.database(tmp_path)
    series = database.new_patient().new_study().new_series(SeriesDescription="new")
    refused = f"the attr '{name}' is not a DICOM keyword.*{hint}"
    with pytest.raises(db.InvalidValueError, match=refused):
        series.set_xarray(_stack().assign_attrs({name: 5.0}))
    assert series.files() == [] and not database.unsaved
