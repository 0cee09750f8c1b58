"""The geometry of a DataArray, worked out from its coordinates and attrs.

A DataArray of :meth:`dbdicom.Series.to_xarray` holds the geometry as
tags: ``ImageOrientationPatient`` and ``PixelSpacing`` (attrs: one value
for all frames), ``ImagePositionPatient`` (an attr for a single position,
else the coordinates ``ImagePositionPatient[0..2]``, see
:mod:`._plain`) and ``SliceThickness``. The affine is computed from them
when asked for, so that it stays right after a selection
(``da.isel(SliceLocation=slice(2, 5))`` starts at its own first slice).

Conventions (those of :mod:`dbdicom._geometry`): the affine is 4 x 4 and
maps (column, row, slice) indices to patient LPS millimetres; the slices
are the ``SliceLocation`` dim (a single slice without it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._geometry import affine_matrix, slice_spacing
from ._plain import component

__all__ = ["GEOMETRY_TAGS", "affine_of", "tag_vectors", "why_no_affine"]

#: The tags an affine is made of, with their DICOM tag numbers.
GEOMETRY_TAGS = {
    "ImagePositionPatient": "(0020,0032)",
    "ImageOrientationPatient": "(0020,0037)",
    "PixelSpacing": "(0028,0030)",
}
_SIZES = {"ImagePositionPatient": 3, "ImageOrientationPatient": 6, "PixelSpacing": 2}
_SLICE = "SliceLocation"


def tag_vectors(da: Any, keyword: str, n: int) -> np.ndarray | None:
    """The ``n`` values of ``keyword`` at every frame: shape ``(*tag dims, n)``, NaN if none.

    From the attr (the same at every frame) or the coordinates
    ``Keyword[0]`` ... ``Keyword[n-1]``, broadcast to the tag dims; None
    when the DataArray has neither.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3, 3)), dims=("SliceLocation", "row", "column"),
    ...                   coords={"ImagePositionPatient[2]": ("SliceLocation", [0.0, 5.0]),
    ...                           "ImagePositionPatient[0]": 1.0, "ImagePositionPatient[1]": 2.0})
    >>> tag_vectors(da, "ImagePositionPatient", 3).tolist()
    [[1.0, 2.0, 0.0], [1.0, 2.0, 5.0]]
    """
    dims = [d for d in da.dims if d not in ("row", "column", "channel")]
    shape = tuple(int(da.sizes[d]) for d in dims)
    if keyword in da.attrs:
        value = np.asarray(da.attrs[keyword], dtype=float).ravel()
        if value.size != n:
            return None
        return np.broadcast_to(value, (*shape, n)).copy()
    names = [component(keyword, i) for i in range(n)]
    if not any(name in da.coords for name in names):
        return None
    out = np.full((*shape, n), np.nan)
    for i, name in enumerate(names):
        if name in da.coords:
            coord = da.coords[name]
            if any(d not in dims for d in coord.dims):
                return None
            order = [d for d in dims if d in coord.dims]
            values = np.asarray(coord.transpose(*order).values, dtype=float)
            expand = tuple(slice(None) if d in coord.dims else None for d in dims)
            out[..., i] = np.broadcast_to(values[expand] if dims else values, shape)
    return out


def _first(vectors: np.ndarray | None) -> np.ndarray | None:
    """The first row without NaN of ``(..., n)`` vectors."""
    if vectors is None:
        return None
    rows = vectors.reshape(-1, vectors.shape[-1])
    good = ~np.isnan(rows).any(axis=1)
    return rows[np.argmax(good)] if good.any() else None


def _slice_positions(da: Any, positions: np.ndarray) -> list[np.ndarray] | None:
    """One position per slice (the first frame of each with one), None if a slice has none."""
    dims = [d for d in da.dims if d not in ("row", "column", "channel")]
    if _SLICE in dims:
        moved = np.moveaxis(positions, dims.index(_SLICE), 0)
        out = []
        for k in range(moved.shape[0]):
            first = _first(moved[k])
            if first is None:
                return None
            out.append(first)
        return out
    rows = positions.reshape(-1, 3)
    rows = rows[~np.isnan(rows).any(axis=1)]
    if not len(rows) or not (rows == rows[0]).all():
        return None  # positions that vary along a dim that is not the slices
    return [rows[0]]


def _thickness(da: Any) -> float | None:
    value = da.attrs.get("SliceThickness")
    if value is None and "SliceThickness" in da.coords:
        values = np.asarray(da.coords["SliceThickness"].values, dtype=float).ravel()
        values = values[~np.isnan(values)]
        value = float(values[0]) if len(values) else None
    return None if value is None else float(value)


def affine_of(da: Any) -> np.ndarray | None:
    """The affine of ``da`` (4 x 4, (column, row, slice) -> LPS mm), None if it has none.

    An ``affine`` attr (one given for a write) is returned as it is;
    otherwise the affine is made from the geometry tags (see the module
    notes). There is none when a geometry tag is missing, when the slices
    are not evenly spaced (:func:`dbdicom._geometry.slice_spacing`), or when
    positions vary along a dim that is not ``SliceLocation``.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3, 3)), dims=("SliceLocation", "row", "column"),
    ...                   coords={f"ImagePositionPatient[{i}]": ("SliceLocation", [0.0, i * 2.0])
    ...                           for i in range(3)},
    ...                   attrs={"ImageOrientationPatient": np.array([1.0, 0, 0, 0, 1, 0]),
    ...                          "PixelSpacing": np.array([0.5, 0.25])})
    >>> affine_of(da)[:3].tolist()
    [[0.25, 0.0, 0.0, 0.0], [0.0, 0.5, 2.0, 0.0], [0.0, 0.0, 4.0, 0.0]]
    >>> affine_of(da.isel(SliceLocation=[1]))[:3, 3].tolist()  # the slice selected
    [0.0, 2.0, 4.0]
    """
    given = da.attrs.get("affine")
    if given is not None:
        return np.asarray(given, dtype=float).reshape(4, 4)
    orientation = _first(tag_vectors(da, "ImageOrientationPatient", 6))
    spacing = _first(tag_vectors(da, "PixelSpacing", 2))
    positions = tag_vectors(da, "ImagePositionPatient", 3)
    if orientation is None or spacing is None or positions is None:
        return None
    slices = _slice_positions(da, positions)
    if slices is None:
        return None
    steps = [p.tolist() for p in slices]
    if not slice_spacing(steps)[1]:
        return None
    return affine_matrix(orientation.tolist(), spacing.tolist(), steps, _thickness(da))


def why_no_affine(da: Any) -> str:
    """Why ``da`` has no affine: the geometry tags it lacks, or the slices' layout.

    Examples
    --------
    >>> import xarray as xr
    >>> why_no_affine(xr.DataArray(np.zeros((2, 2)), dims=("row", "column")))[:60]
    'no affine: the images have no (0020,0032) ImagePositionPatie'
    """
    missing = []
    for tag, number in GEOMETRY_TAGS.items():
        vectors = tag_vectors(da, tag, _SIZES[tag])
        if vectors is None or _first(vectors) is None:
            missing.append(f"{number} {tag}")
    if missing:
        return (
            "no affine: the images have no " + " and no ".join(missing) + ", so they have no "
            "position or orientation in the patient (as X-ray, ultrasound and secondary "
            "capture images often do); NIfTI needs them"
        )
    return (
        "no affine: the frames do not define one volume (slices not evenly spaced, "
        "or positions that vary along a non-slice dim)"
    )
