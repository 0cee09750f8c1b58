"""Every layout the reader gives, written back, reads back with the same dims, coordinates, voxels.

``series.to_xarray()`` chooses the dims from the files (slices, tags, the
frames of a point, a cine's ``cardiac_phase``, a diffusion series'
``diffusion``, an enhanced file's Dimension Index with its ``StackID``...).
A write makes single-frame images: their headers must make the reader
choose the same dims again, or the write is refused, saying what would be
lost -- never a different layout without a word. Each case builds its
source, writes its array into a new series, and reads it from a database
opened again (what the files hold, not what the index remembers).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dimension_index_files as dif
import numpy as np
import pydicom
import pytest
import xarray as xr
from diffusion_files import write_dwi
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from validators import dciodvfy_errors

import dbdicom as db

#: coordinates compared besides the dims' own (those the layouts are read by)
_KEPT = ("TriggerTime", "DiffusionBValue", "DiffusionGradientOrientation", "StackID")


def _cine(folder: Path) -> None:
    """3 slices x 4 phases of single-frame files, trigger times staggered by slice."""
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    rng = np.random.default_rng(0)
    study, series = generate_uid(), generate_uid()
    folder.mkdir(parents=True)
    for t in range(4):
        for k in range(3):
            ds = copy.deepcopy(base)
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.ImagePositionPatient, ds.SliceLocation = [-5.0, -4.0, 3.0 * k], 3.0 * k
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.TriggerTime, ds.CardiacNumberOfImages = 40.0 * t + 2.5 * k, 4
            ds.InstanceNumber = 10 * k + t + 1
            ds.Rows = ds.Columns = 8
            ds.PixelData = rng.integers(0, 3000, (8, 8)).astype(np.int16).tobytes()
            ds.save_as(folder / f"IM{t}{k}.dcm", enforce_file_format=True)


def _enhanced(frames: Any, pointers: Any) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        dif.write_file(folder / "enhanced.dcm", frames, pointers)

    return build


def _shipped(name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        folder.mkdir(parents=True)
        shutil.copy(get_testdata_file(name), folder / name)

    return build


#: name -> (how to build the source, the dims it reads with)
SOURCES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "slices": (_shipped("MR_small.dcm"), ("SliceLocation",)),
    "frame": (_shipped("emri_small.dcm"), ("frame",)),
    "colour": (_shipped("SC_rgb.dcm"), ()),
    "cine": (_cine, ("SliceLocation", "cardiac_phase")),
    "enhanced cine": (
        _enhanced(dif.cine_frames(), [dif.STACK, dif.TRIGGER, dif.IN_STACK]),
        ("SliceLocation", "cardiac_phase"),
    ),
    "enhanced dwi": (
        _enhanced(dif.dwi_frames(), [dif.STACK, dif.IN_STACK, dif.BVALUE, dif.GRADIENT]),
        ("SliceLocation", "diffusion"),
    ),
    "dwi": (lambda folder: write_dwi(folder), ("SliceLocation", "diffusion")),
    "two stacks": (
        _enhanced(dif.two_stack_frames(), [dif.STACK, dif.IN_STACK]),
        ("SliceLocation", "StackID"),
    ),
    "temporal index": (
        _enhanced(
            [
                dif.Frame(z=3.0 * k, in_stack=k + 1, index=(1, t + 1, k + 1), temporal=t + 1)
                for t in range(3)
                for k in range(2)
            ],
            [dif.STACK, dif.TEMPORAL, dif.IN_STACK],
        ),
        ("SliceLocation", "TemporalPositionIndex"),
    ),
}


def _frame_dims(da: xr.DataArray) -> tuple[str, ...]:
    return tuple(str(d) for d in da.dims if d not in ("row", "column", "channel"))


def _assert_same(before: xr.DataArray, after: xr.DataArray) -> None:
    assert after.dims == before.dims
    for name in before.coords:
        if name in before.dims or str(name).startswith(_KEPT):
            assert name in after.coords, name
            a, b = before[name], after[name]
            assert a.dims == b.dims, name
            if a.dtype.kind in "fiu":
                np.testing.assert_allclose(b.values, a.values, atol=1e-4, err_msg=str(name))
            else:
                np.testing.assert_array_equal(b.values, a.values, err_msg=str(name))
    np.testing.assert_array_equal(after.values, before.values)


def _written_back(tmp_path: Path, source: db.Series, da: xr.DataArray) -> xr.DataArray:
    """``da`` written into a new series next to ``source``, read from the database opened again."""
    new = source.new_sibling(SeriesDescription="written back")
    new.set_xarray(da)
    uid = new.uid
    source.database.save()
    again = db.database(source.database.path)
    again.mute()
    (series,) = [s for s in again.series() if s.uid == uid]
    return series.to_xarray()


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_layout_reads_back_as_it_was_written(tmp_path: Path, name: str) -> None:
    build, dims = SOURCES[name]
    build(tmp_path / "db" / "source")
    database = db.database(tmp_path / "db")
    database.mute()
    (source,) = database.series()
    da = source.to_xarray()
    assert _frame_dims(da) == dims  # the layout this case is about
    _assert_same(da, _written_back(tmp_path, source, da))


def test_written_files_of_a_cine_and_of_stacks_stay_valid(tmp_path: Path) -> None:
    """The tags that keep a layout (CardiacNumberOfImages, StackID) add no dciodvfy error."""
    for name in ("enhanced cine", "two stacks"):
        SOURCES[name][0](tmp_path / name / "source")
        database = db.database(tmp_path / name)
        database.mute()
        (source,) = database.series()
        new = source.new_sibling(SeriesDescription="written back")
        new.set_xarray(source.to_xarray())
        written = sorted(new.files())[0]
        assert pydicom.dcmread(written).get("CardiacNumberOfImages") == (
            3 if name == "enhanced cine" else None
        )
        # (a TriggerTime without ScanOptions CG is dciodvfy's Type 2C error in the
        # source's classic form already: not the tags that keep the layout)
        errors = " ".join(dciodvfy_errors(written))
        assert "CardiacNumberOfImages" not in errors and "StackID" not in errors
        assert "Stack ID" not in errors and "Cardiac Number" not in errors


def _hand(dims: tuple[str, ...], coords: dict[str, Any]) -> xr.DataArray:
    shape = tuple(len(coords[d]) if d in coords else 4 for d in dims)
    data = np.arange(np.prod(shape) * 64, dtype=np.uint16).reshape(*shape, 8, 8)
    return xr.DataArray(data, dims=(*dims, "row", "column"), coords=coords)


_SLICES = {"SliceLocation": [0.0, 5.0, 10.0]}
_TIMES = (("SliceLocation", "cardiac_phase"), 40.0 * np.arange(4) + 2.0 * np.arange(3)[:, None])

#: arrays made by hand with the dims the reader gives, and the dims they read back with
HAND_MADE = {
    "cine": _hand(("SliceLocation", "cardiac_phase"), {**_SLICES, "TriggerTime": _TIMES}),
    "frames of a point": _hand(("frame",), {}),
    "stacks": _hand(("SliceLocation", "StackID"), {**_SLICES, "StackID": ["1", "2"]}),
    "diffusion": _hand(
        ("SliceLocation", "diffusion"),
        {
            **_SLICES,
            "DiffusionBValue": ("diffusion", [0.0, 1000.0, 1000.0, 1000.0]),
            **{
                f"DiffusionGradientOrientation[{i}]": ("diffusion", np.r_[np.nan, np.eye(3)[i]])
                for i in range(3)
            },
        },
    ),
    "echoes": _hand(("SliceLocation", "EchoTime"), {**_SLICES, "EchoTime": [10.0, 20.0]}),
}


@pytest.mark.parametrize("name", list(HAND_MADE))
@pytest.mark.filterwarnings("ignore:No source frames")
def test_a_hand_made_layout_reads_back(demo: db.Database, name: str) -> None:
    da = HAND_MADE[name]
    study = demo.studies()[0]
    new = study.new_series(SeriesDescription=name)
    new.set_xarray(da)
    _assert_same(da, new.to_xarray())
    demo.restore()


#: arrays whose dims single-frame files cannot give back, and what the refusal names
REFUSED = {
    "phases without trigger times": (
        _hand(("SliceLocation", "cardiac_phase"), _SLICES),
        "TriggerTime",
    ),
    "phases named by their trigger times": (
        _hand(("cardiac_phase",), {"TriggerTime": ("cardiac_phase", [0.0, 40.0, 80.0, 120.0])}),
        "swap_dims",
    ),
    "diffusion without b-values": (_hand(("diffusion",), {}), "DiffusionBValue"),
    "diffusion by b-value alone": (
        _hand(("diffusion",), {"DiffusionBValue": ("diffusion", [0.0, 500.0, 1000.0, 2000.0])}),
        "swap_dims",
    ),
    "volume": (_hand(("SliceLocation", "volume"), _SLICES), "Dimension Index"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_layout_that_would_read_back_otherwise_is_refused(demo: db.Database, name: str) -> None:
    da, said = REFUSED[name]
    changes = len(demo.changes())
    with pytest.raises(db.InvalidValueError, match=said):
        demo.studies()[0].new_series(SeriesDescription=name).set_xarray(da)
    assert len(demo.changes()) == changes  # refused before any file is written
