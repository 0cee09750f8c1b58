"""Arrays cut, strided or flipped in the plane keep the right geometry.

A new-user trial found that ``da.isel(row=slice(100, 150))`` kept the
affine of the whole frame (its first pixel 100 rows away from where it
said) and that ``set_xarray`` wrote it there; a flip along a row was not
seen at all. ``to_xarray`` now gives the coordinates ``frame_row`` and
``frame_column`` (each row's and column's index in the stored frames),
which follow every selection; the affine, NIfTI and the writer read the
geometry of the array's own pixels from them. Checked here voxel by voxel:
every voxel of a selection is where the same stored voxel of the whole
array is, in the patient.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from builders import Manifest

import dbdicom as db
from dbdicom._arrays import affine_of, in_plane_applied, pixel_coords, why_no_affine

SELECTIONS = {
    "crop": {"row": slice(3, 20), "column": slice(5, 30)},
    "stride": {"row": slice(1, None, 3), "column": slice(None, None, 2)},
    "flip rows": {"row": slice(None, None, -1)},
    "flip both, cropped": {"row": slice(25, 2, -1), "column": slice(None, 4, -1)},
    "one row": {"row": slice(7, 8)},
}
# axial CT, coronal and sagittal MR, an enhanced MR (per-frame positions)
SERIES = ["CT abdomen", "PD implicit", "T2w", "ME enhanced"]


def _open(folder: tuple[Path, Manifest]) -> db.Database:
    database = db.database(folder[0])
    database.mute()
    return database


def _world(affine: np.ndarray, columns: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Patient positions (LPS mm) of voxels (column, row) of slice ``k``, (rows, columns, 3)."""
    c, r = np.meshgrid(columns, rows)
    points = np.stack([c, r, np.full(c.shape, k), np.ones(c.shape)], axis=-1)
    return (points @ affine.T)[..., :3]


def _slices(da: Any) -> int:
    return int(da.sizes.get("SliceLocation", 1))


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("how", list(SELECTIONS))
def test_every_voxel_of_a_selection_is_where_it_was(
    database_folder: tuple[Path, Manifest], name: str, how: str
) -> None:
    database = _open(database_folder)
    series = database.series(SeriesDescription=name)[0]
    whole = series.to_xarray()
    assert whole.frame_row.values.tolist() == list(range(whole.sizes["row"]))
    part = whole.isel(SELECTIONS[how])
    stored_rows, stored_columns = part.frame_row.values, part.frame_column.values
    before, after = whole.dicom.affine, part.dicom.affine
    for k in range(_slices(whole)):
        np.testing.assert_allclose(
            _world(after, np.arange(part.sizes["column"]), np.arange(part.sizes["row"]), k),
            _world(before, stored_columns, stored_rows, k),
            atol=1e-6,
        )
    database.close()


@pytest.mark.parametrize("name", SERIES)
def test_a_cut_and_flipped_array_is_written_where_it_is(
    database_folder: tuple[Path, Manifest], name: str
) -> None:
    database = _open(database_folder)
    series = database.series(SeriesDescription=name)[0]
    part = series.to_xarray().isel(row=slice(25, 2, -2), column=slice(4, 30))
    out = series.new_sibling(SeriesDescription="cut")
    out.set_xarray(part)
    back = out.to_xarray()
    assert back.shape == part.shape
    np.testing.assert_array_equal(back.values, part.values)
    np.testing.assert_allclose(back.dicom.affine, part.dicom.affine, atol=1e-4)
    # the header of the first frame: its own first pixel, spacing and orientation
    first = pydicom.dcmread(out.files()[0], stop_before_pixels=True)
    assert (first.Rows, first.Columns) == (12, 26)
    assert float(first.PixelSpacing[0]) == pytest.approx(2 * float(part.PixelSpacing[0]))
    assert back.frame_row.values.tolist() == list(range(12))  # its own frames, as stored
    database.close()


def test_an_oblique_selection_moves_along_the_image_axes() -> None:
    """The affine of a selection is the whole one times the selection's index map."""
    cosines = np.array([0.8, 0.6, 0.0, 0.0, 0.0, -1.0])
    first = np.array([1.0, 2.0, 3.0])
    second = first + 2.0 * np.cross(cosines[:3], cosines[3:])  # two slices 2 mm apart
    da = xr.DataArray(
        np.zeros((2, 6, 5)),
        dims=("SliceLocation", "row", "column"),
        coords={
            "SliceLocation": [0.0, 2.0],
            **{
                f"ImagePositionPatient[{i}]": ("SliceLocation", [first[i], second[i]])
                for i in range(3)
            },
            **pixel_coords(6, 5),
        },
        attrs={
            "ImageOrientationPatient": cosines,
            "PixelSpacing": np.array([0.7, 1.3]),
            "SliceThickness": 2.0,
        },
    )
    whole = affine_of(da)
    part = da.isel(row=slice(4, 0, -2), column=slice(1, 5, 3))
    index_map = np.array([[3.0, 0, 0, 1], [0, -2, 0, 4], [0, 0, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(affine_of(part), whole @ index_map, atol=1e-12)
    assert "affine" not in in_plane_applied(part).attrs  # the tags moved, no affine made


def test_rows_picked_unevenly_have_no_affine_and_are_not_written(
    database_folder: tuple[Path, Manifest],
) -> None:
    database = _open(database_folder)
    series = database.series(SeriesDescription="T2w")[0]
    picked = series.to_xarray().isel(row=[0, 2, 7])
    assert affine_of(picked) is None
    assert "rows of this array were selected unevenly (frame_row 0, 2, 7)" in why_no_affine(picked)
    out = series.new_sibling(SeriesDescription="picked")
    with pytest.raises(db.GeometryError, match=r"selected unevenly.*slice\(start, stop, step\)"):
        out.set_xarray(picked)
    assert not out.instances()
    # without a geometry there is nothing to misplace: written as it is
    plain = picked.drop_vars([c for c in picked.coords if "ImagePositionPatient" in str(c)])
    plain.attrs = {k: v for k, v in plain.attrs.items() if k != "ImageOrientationPatient"}
    out.set_xarray(plain)
    np.testing.assert_array_equal(out.to_xarray().values, picked.values)
    database.close()


def test_every_way_to_an_array_has_the_pixel_coordinates(
    database_folder: tuple[Path, Manifest],
) -> None:
    database = _open(database_folder)
    series = database.series(SeriesDescription="CT abdomen")[0]
    lazy = series.to_xarray(chunks=False)  # xarray's lazy indexing, no dask
    opened = xr.open_dataarray(series.files()[0])  # the xarray backend
    for da in (lazy, opened):
        assert da.frame_row.dims == ("row",) and da.frame_column.dims == ("column",)
        flipped = da.isel(column=slice(None, None, -1))
        assert flipped.dicom.affine[0, 0] == -da.dicom.affine[0, 0]
    database.close()


def test_coarsened_and_padded_arrays(database_folder: tuple[Path, Manifest]) -> None:
    """A trial: coarsen() averages frame_row to 0.5, 2.5...: its pixels are between the
    stored ones (it was placed half a pixel off); pad() gives NaN (a message of garbage)."""
    database = _open(database_folder)
    whole = database.series(SeriesDescription="T2w")[0].to_xarray()
    coarse = whole.coarsen(row=2, column=2).mean()
    assert coarse.frame_row.values[:2].tolist() == [0.5, 2.5]
    before, after = whole.dicom.affine, coarse.dicom.affine
    centre = (before @ [0.5, 0.5, 0, 1])[:3]  # the middle of the first 2 x 2 stored pixels
    np.testing.assert_allclose(after[:3, 3], centre, atol=1e-9)
    np.testing.assert_allclose(after[:3, :2], 2 * before[:3, :2], atol=1e-9)
    padded = whole.pad(column=(2, 2))
    assert affine_of(padded) is None
    with pytest.raises(db.GeometryError, match=r"no stored column \(frame_column NaN.*pad"):
        in_plane_applied(padded)
    database.close()


def test_the_position_and_a_given_affine_follow_the_selection(
    database_folder: tuple[Path, Manifest],
) -> None:
    """A review: da.dicom.position kept the stored first pixel while the affine moved; an
    array with an ``affine`` attr (given for a write) ignored a crop."""
    database = _open(database_folder)
    whole = database.series(SeriesDescription="PD implicit")[0].to_xarray()
    part = whole.isel(row=slice(10, 20), column=slice(None, None, -1))
    np.testing.assert_allclose(
        part.dicom.position.isel(SliceLocation=0).values, part.dicom.affine[:3, 3], atol=1e-9
    )
    given = whole.copy()
    given.attrs = {"affine": whole.dicom.affine}  # the geometry as an affine only
    cut = given.isel(row=slice(10, 20), column=slice(None, None, -1))
    np.testing.assert_allclose(affine_of(cut), part.dicom.affine, atol=1e-9)
    database.close()


def test_a_resized_array_without_its_geometry_is_not_written(
    database_folder: tuple[Path, Manifest],
) -> None:
    """A trial: frames zoomed to half their size (scipy, skimage) in a new DataArray lose
    frame_row/frame_column, and the writer copied the source's PixelSpacing: every
    position but the first was wrong. Refused now, unless the array says where its
    pixels are (its own PixelSpacing, an affine) or comes from a selection."""
    database = _open(database_folder)
    series = database.series(SeriesDescription="CT abdomen")[0]
    da = series.to_xarray()
    half = da.values[..., ::2, ::2].astype(np.float32)  # as a zoom by 1/2 gives
    kept = {k: v for k, v in da.coords.items() if not {"row", "column"} & set(v.dims)}
    resized = xr.DataArray(half, dims=da.dims, coords=kept, attrs=da.attrs)
    out = series.new_sibling(SeriesDescription="half")
    with pytest.raises(db.GeometryError, match=r"PixelSpacing.*coarsen.*'affine'") as caught:
        out.set_xarray(resized)
    assert series.files()[0].split("/")[-1] in str(caught.value) or "given" in str(caught.value)
    assert not out.instances()
    with pytest.raises(db.GeometryError, match="PixelSpacing"):  # numpy, with source headers
        series.new_sibling(SeriesDescription="numpy").set_array(
            half, series.instances()[: len(half)]
        )
    with pytest.raises(db.GeometryError, match="PixelSpacing"):  # one multi-frame object
        series.new_sibling(SeriesDescription="pm").set_xarray(resized, kind="parametric map")
    # its own spacing: written with it
    spacing = [2 * float(x) for x in da.attrs["PixelSpacing"]]
    out.set_xarray(resized.assign_attrs(PixelSpacing=spacing))
    assert [float(x) for x in pydicom.dcmread(out.files()[0]).PixelSpacing] == spacing
    # an affine: the affine's spacing
    other = series.new_sibling(SeriesDescription="affine")
    affine = da.dicom.affine @ np.diag([2, 2, 1, 1])
    other.set_xarray(resized.assign_attrs(affine=affine))
    np.testing.assert_allclose(other.to_xarray().dicom.affine, affine)
    # the same size as the source: written as before
    same = xr.DataArray(da.values, dims=da.dims, coords=kept, attrs=da.attrs)
    series.new_sibling(SeriesDescription="same").set_xarray(same)
    database.close()


def _transposed(da: Any) -> Any:
    """``da`` transposed in the plane, its pixel dims renamed so that the last two are
    ``row`` and ``column`` again (what the writer's refusal of a plain transpose says)."""
    swapped = da.transpose(..., "column", "row")
    return swapped.rename(row="column", column="row")


@pytest.mark.parametrize("name", SERIES)
def test_a_transposed_array_is_written_where_its_voxels_are(
    database_folder: tuple[Path, Manifest], name: str
) -> None:
    """A trial: an array transposed in the plane (and renamed, as the refusal of
    da.transpose(..., "column", "row") says) was written with the orientation and
    position of the untransposed frames: every voxel but the diagonal in the wrong place.
    Its ``frame_row`` lies along ``column`` now, ``frame_column`` along ``row``."""
    database = _open(database_folder)
    series = database.series(SeriesDescription=name)[0]
    whole = series.to_xarray()
    refused = series.new_sibling(SeriesDescription="refused")
    with pytest.raises(db.InvalidValueError, match=r"da\.rename\(row='column', column='row'\)"):
        refused.set_xarray(whole.transpose(..., "column", "row"))
    refused.remove()
    for part in (_transposed(whole), _transposed(whole.isel(row=slice(20, 2, -3)))):
        assert part.frame_row.dims == ("column",)
        before, after = whole.dicom.affine, part.dicom.affine
        for k in range(_slices(whole)):  # voxel (row r, column c) is stored (c, r)
            np.testing.assert_allclose(
                np.swapaxes(
                    _world(after, np.arange(part.sizes["column"]), np.arange(part.sizes["row"]), k),
                    0,
                    1,
                ),
                _world(before, part.frame_column.values, part.frame_row.values, k),
                atol=1e-6,
            )
        out = series.new_sibling(SeriesDescription="transposed")
        out.set_xarray(part)
        for path in out.files():  # each file read by pydicom: its voxels where they were
            ds = pydicom.dcmread(path)
            position = np.array(ds.ImagePositionPatient, float)
            cosines = np.array(ds.ImageOrientationPatient, float)
            spacing = np.array(ds.PixelSpacing, float)
            r, c = 2, 3  # a voxel off the diagonal, in the file's own pixels
            there = position + c * spacing[1] * cosines[:3] + r * spacing[0] * cosines[3:]
            stored = [
                _world(before, [part.frame_column.values[r]], [part.frame_row.values[c]], k)
                for k in range(_slices(whole))
            ]
            assert min(np.abs(there - s[0, 0]).max() for s in stored) < 1e-3
        out.remove()
    database.close()
