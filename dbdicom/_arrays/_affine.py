"""The geometry of a DataArray, worked out from its coordinates and attrs.

A DataArray of :meth:`dbdicom.Series.to_xarray` holds the geometry as
tags: ``ImageOrientationPatient`` and ``PixelSpacing`` (attrs: one value
for all frames), ``ImagePositionPatient`` (an attr for a single position,
else the coordinates ``ImagePositionPatient[0..2]``, see
:mod:`._plain`) and ``SliceThickness``. The affine is computed from them
when asked for, so that it stays right after a selection
(``da.isel(SliceLocation=slice(2, 5))`` starts at its own first slice).

Selections in the plane are followed too: ``to_xarray`` gives the
coordinates ``frame_row`` and ``frame_column`` (:data:`PIXEL_COORDS`), the
index of each row and column in the frames as stored, and
:func:`in_plane_applied` turns a crop, a stride or a flip they show into
the geometry tags of the array's own first pixel, orientation and spacing
(the affine, NIfTI and the writer all go through it).

Conventions (those of :mod:`dbdicom._geometry`): the affine is 4 x 4 and
maps (column, row, slice) indices to patient LPS millimetres; the slices
are the ``SliceLocation`` dim (a single slice without it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import GeometryError
from .._geometry import affine_matrix, slice_spacing
from ._plain import component

__all__ = [
    "GEOMETRY_TAGS",
    "PIXEL_COORDS",
    "affine_of",
    "in_plane_applied",
    "pixel_coords",
    "tag_vectors",
    "why_no_affine",
]

#: The tags an affine is made of, with their DICOM tag numbers.
GEOMETRY_TAGS = {
    "ImagePositionPatient": "(0020,0032)",
    "ImageOrientationPatient": "(0020,0037)",
    "PixelSpacing": "(0028,0030)",
}
_SIZES = {"ImagePositionPatient": 3, "ImageOrientationPatient": 6, "PixelSpacing": 2}
_SLICE = "SliceLocation"
#: the coordinates of the pixel dims: the index of each row and column in the stored frames
PIXEL_COORDS = {"frame_row": "row", "frame_column": "column"}
_PIXEL_DIMS = ("row", "column", "channel")


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
    dims = [d for d in da.dims if d not in _PIXEL_DIMS]
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


#: how far the orientation (cosines) and PixelSpacing (relative) of frames may differ in one affine
ORIENTATION_TOLERANCE = 1e-4
SPACING_TOLERANCE = 1e-4


def _unplaceable(da: Any) -> str:
    """Why the geometry values of ``da`` place no pixel, else "".

    Cosines of no length or along one line, a spacing that is not positive,
    a position that is not finite: a matrix of NaN, or one that folds the
    image onto a line, or mirrors it.
    """
    orientation = tag_vectors(da, "ImageOrientationPatient", 6)
    if orientation is not None:
        rows = orientation.reshape(-1, 6)
        rows = rows[~np.isnan(rows).any(axis=1)]
        row, column = rows[:, :3], rows[:, 3:]
        lengths = np.concatenate([np.linalg.norm(row, axis=1), np.linalg.norm(column, axis=1)])
        normal = np.linalg.norm(np.cross(row, column), axis=1)
        if not np.isfinite(rows).all() or (lengths < 0.5).any() or (normal < 0.5).any():
            bad = rows[np.argmax(~np.isfinite(rows).all(axis=1) | (normal < 0.5))]
            return (
                f"(0020,0037) ImageOrientationPatient {bad.tolist()} is not two directions "
                "at right angles"
            )
    spacing = tag_vectors(da, "PixelSpacing", 2)
    if spacing is not None:
        rows = spacing.reshape(-1, 2)
        rows = rows[~np.isnan(rows).any(axis=1)]
        wrong = ~np.isfinite(rows).all(axis=1) | (rows <= 0).any(axis=1)
        if wrong.any():
            return f"(0028,0030) PixelSpacing {rows[np.argmax(wrong)].tolist()} is not positive"
    positions = tag_vectors(da, "ImagePositionPatient", 3)
    if positions is not None:
        rows = positions.reshape(-1, 3)
        wrong = np.isinf(rows).any(axis=1)
        if wrong.any():
            bad = rows[np.argmax(wrong)].tolist()
            return f"(0020,0032) ImagePositionPatient {bad} is not finite"
    return ""


def _differing(da: Any) -> str:
    """The geometry tag whose value differs between frames (and two of its values), else ""."""
    for tag, n, rtol, atol in (
        ("ImageOrientationPatient", 6, 0.0, ORIENTATION_TOLERANCE),
        ("PixelSpacing", 2, SPACING_TOLERANCE, 0.0),
    ):
        vectors = tag_vectors(da, tag, n)
        if vectors is None:
            continue
        rows = vectors.reshape(-1, n)
        rows = rows[~np.isnan(rows).any(axis=1)]
        if len(rows) < 2:
            continue
        close = np.isclose(rows, rows[:1], rtol=rtol, atol=atol).all(axis=1)
        if not close.all():
            other = rows[np.argmin(close)]
            return f"{tag} differs between frames ({rows[0].tolist()} and {other.tolist()})"
    return ""


def _slice_positions(da: Any, positions: np.ndarray) -> list[np.ndarray] | None:
    """One position per slice (the first frame of each with one), None if a slice has none.

    The positions along the other dims are the same (see :func:`_moving_dim`).
    """
    dims = [d for d in da.dims if d not in _PIXEL_DIMS]
    if _SLICE in dims:
        moved = np.moveaxis(positions, dims.index(_SLICE), 0)
        out = []
        for k in range(moved.shape[0]):
            first = _first(moved[k])
            if first is None:
                return None
            out.append(first)
        return out
    first = _first(positions)
    return None if first is None else [first]


#: how far (a fraction of the smallest pixel spacing) the frames of one slice may lie apart
_POSITION_TOLERANCE = 0.01


def _moving_dim(da: Any) -> tuple[str, list[float], list[float]] | None:
    """The first dim other than the slices along which ImagePositionPatient changes.

    With two of its positions; None when every slice's frames lie at one
    position (within :data:`_POSITION_TOLERANCE` of a pixel). An affine
    made from the first frame of each slice would put the others there.
    """
    positions = tag_vectors(da, "ImagePositionPatient", 3)
    spacing = tag_vectors(da, "PixelSpacing", 2)
    if positions is None:
        return None
    pixel = np.nanmin(spacing) if spacing is not None and np.isfinite(spacing).any() else 1.0
    tolerance = _POSITION_TOLERANCE * float(pixel) if pixel > 0 else _POSITION_TOLERANCE
    dims = [d for d in da.dims if d not in _PIXEL_DIMS]
    for axis, dim in enumerate(dims):
        if dim == _SLICE or positions.shape[axis] < 2:
            continue
        moved = np.moveaxis(positions, axis, 0)
        spread = np.fmax.reduce(moved, axis=0) - np.fmin.reduce(moved, axis=0)  # NaN: no frame
        distance = np.linalg.norm(np.nan_to_num(spread), axis=-1)
        if distance.size and distance.max() > tolerance:
            worst = int(np.argmax(distance))
            frames = moved.reshape(moved.shape[0], -1, 3)[:, worst]  # the frames of one slice
            frames = frames[~np.isnan(frames).any(axis=1)]
            far = np.linalg.norm(frames - frames[0], axis=1)
            return dim, frames[0].tolist(), frames[int(np.argmax(far))].tolist()
    return None


def _thickness(da: Any) -> float | None:
    value = da.attrs.get("SliceThickness")
    if value is None and "SliceThickness" in da.coords:
        values = np.asarray(da.coords["SliceThickness"].values, dtype=float).ravel()
        values = values[~np.isnan(values)]
        value = float(values[0]) if len(values) else None
    return None if value is None else float(value)


def _mosaic(da: Any) -> bool:
    """Whether the frames of ``da`` are Siemens mosaics (MOSAIC in ImageType).

    Each such image tiles several slices side by side, with the position of
    the whole: its pixels are not where one slice's would be.
    """
    values = [da.attrs.get("ImageType")]
    if "ImageType" in da.coords:
        values += list(np.asarray(da.coords["ImageType"].values, dtype=object).ravel())
    for value in values:
        parts = value.split("\\") if isinstance(value, str) else value
        if isinstance(parts, list | tuple) and any(str(p).strip() == "MOSAIC" for p in parts):
            return True
    return False


def affine_of(da: Any) -> np.ndarray | None:
    """The affine of ``da`` (4 x 4, (column, row, slice) -> LPS mm), None if it has none.

    An ``affine`` attr (one given for a write) is returned (of the pixels selected);
    otherwise the affine is made from the geometry tags (see the module
    notes). There is none when a geometry tag is missing, when the slices
    are not evenly spaced (:func:`dbdicom._geometry.slice_spacing`), when
    positions vary along a dim that is not ``SliceLocation`` (by more than
    1% of a pixel; also where ``SliceLocation`` is a dim), or when the
    frames' orientations or pixel spacings differ, or for Siemens mosaics
    (``MOSAIC`` in ImageType: several slices tiled in one image).

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
    >>> two = xr.concat([da, da + 0], "frame").assign_coords(
    ...     {"ImagePositionPatient[0]": ("frame", [0.0, 180.0])})  # a second stack beside it
    >>> affine_of(two) is None, float(affine_of(two.isel(frame=1))[0, 3])
    (True, 180.0)
    """
    try:
        da = in_plane_applied(da)
    except GeometryError:  # rows or columns selected unevenly: no grid
        return None
    given = da.attrs.get("affine")
    if given is not None:
        return np.asarray(given, dtype=float).reshape(4, 4)
    if _mosaic(da):  # the tiles are slices dbdicom does not separate
        return None
    orientation = _first(tag_vectors(da, "ImageOrientationPatient", 6))
    spacing = _first(tag_vectors(da, "PixelSpacing", 2))
    positions = tag_vectors(da, "ImagePositionPatient", 3)
    if orientation is None or spacing is None or positions is None:
        return None
    if _differing(da) or _unplaceable(da):  # one frame's spacing would misplace the others
        return None
    if _moving_dim(da) is not None:  # stacks side by side, or slices a SliceLocation merged
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
    if _mosaic(da) and da.attrs.get("affine") is None:
        return (
            "no affine: these are Siemens mosaics ((0008,0008) ImageType MOSAIC): each "
            "image tiles several slices side by side, which dbdicom does not separate, so "
            "their pixels have no position in the patient. Convert the series with "
            "dcm2niix, which separates the tiles into slices; the array itself reads "
            "as stored (the tiles in one image)"
        )
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
    try:
        in_plane_applied(da)
    except GeometryError as exc:
        return f"no affine: {exc}"
    unplaceable = _unplaceable(da)
    if unplaceable:
        return (
            f"no affine: {unplaceable}, so it places no pixel in the patient; the file's "
            "geometry is damaged (set the right value, or export without it: to_npy, to_png)"
        )
    differing = _differing(da)
    if differing:
        return (
            f"no affine: {differing}, so no one affine places every pixel; select the "
            "frames that share it (da.where / da.sel), or resample them onto one grid"
        )
    moving = _moving_dim(da)
    if moving is not None:
        return _why_moving(da, *moving)
    return (
        "no affine: the frames do not define one volume (slices not evenly spaced, "
        "or positions that vary along a non-slice dim)"
    )


def _why_moving(da: Any, dim: str, first: list[float], other: list[float]) -> str:
    """Why there is no affine when positions change along ``dim``: what to select."""
    orientation = _first(tag_vectors(da, "ImageOrientationPatient", 6))
    step = np.subtract(other, first)
    hint = ""
    if orientation is not None:
        normal = np.cross(orientation[:3], orientation[3:])
        along = abs(float(np.dot(step, normal))) / (float(np.linalg.norm(step)) or 1.0)
        if along > 0.99 and _SLICE in da.dims:
            hint = (
                ": they are different slices that one SliceLocation value holds "
                "(SliceLocation rounded?)"
            )
        elif along < 0.01:
            hint = ": stacks side by side in one series"
    return (
        f"no affine: the frames of one slice lie at different (0020,0032) "
        f"ImagePositionPatient along the dim {dim!r} ({first} and {other}){hint}, so no "
        f"one affine places them all; select one of them, e.g. da.isel({dim}=0), "
        "to export or place a single stack"
    )


def pixel_coords(rows: int, columns: int) -> dict[str, tuple[str, np.ndarray]]:
    """The :data:`PIXEL_COORDS` of frames of ``rows`` x ``columns`` as stored: 0, 1, 2...

    Examples
    --------
    >>> {k: v[1].tolist() for k, v in pixel_coords(2, 3).items()}
    {'frame_row': [0, 1], 'frame_column': [0, 1, 2]}
    """
    return {
        "frame_row": ("row", np.arange(rows)),
        "frame_column": ("column", np.arange(columns)),
    }


def _start_and_step(da: Any, name: str) -> tuple[float, float]:
    """The first stored row (column) of ``da`` and the step between its rows (columns).

    (0, 1) without the coordinate. Fractions are positions between stored
    pixels (``coarsen(row=2).mean()`` gives 0.5, 2.5...: the centre of each
    two). A :class:`GeometryError` if the rows (columns) are not evenly
    spaced in the stored frames, or have no index (NaN: padded).
    """
    coord = da.coords.get(name)
    dim = PIXEL_COORDS[name]
    if coord is None or len(coord.dims) != 1 or coord.dims[0] not in PIXEL_COORDS.values():
        return 0.0, 1.0
    if coord.size == 0:
        return 0.0, 1.0
    values = np.asarray(coord.values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise GeometryError(
            f"some {dim}s of this array are no stored {dim} ({name} NaN, e.g. added by "
            f"da.pad): they have no position in the patient. Give them their index first, "
            f"e.g. da.assign_coords({name}=('{dim}', np.arange(-2, n - 2))) for 2 {dim}s "
            f"padded before n, or drop the geometry tags."
        )
    step = float(values[1] - values[0]) if values.size > 1 else 1.0
    uneven = values.size > 2 and not np.allclose(np.diff(values), step, rtol=0, atol=1e-6)
    if step == 0 or uneven:
        shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
        raise GeometryError(
            f"the {dim}s of this array were selected unevenly ({name} {shown}): they are "
            f"no grid of pixels, with no position in the patient. Select evenly spaced "
            f"{dim}s (da.isel({dim}=slice(start, stop, step))), or drop the geometry tags."
        )
    return float(values[0]), step


def in_plane_applied(da: Any) -> Any:
    """``da`` with the geometry tags of its own pixels, where it was cut, strided or flipped.

    :data:`PIXEL_COORDS` say which stored rows and columns ``da`` holds;
    where they are not 0, 1, 2..., the ImagePositionPatient of every frame
    moves to its first pixel, ImageOrientationPatient turns along a
    reversed dim and PixelSpacing grows with a step; the pixel coordinates
    then start again at 0 (they describe the new geometry). An ``affine``
    attr (an array given one, e.g. for a write) is composed with the
    selection the same way; an array without geometry keeps its tags.
    A :class:`~dbdicom.GeometryError` where rows or columns were selected
    unevenly and there is a geometry to place them in.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((4, 4)), dims=("row", "column"),
    ...                   coords=pixel_coords(4, 4),
    ...                   attrs={"ImagePositionPatient": np.array([0.0, 0, 0]),
    ...                          "ImageOrientationPatient": np.array([1.0, 0, 0, 0, 1, 0]),
    ...                          "PixelSpacing": np.array([2.0, 0.5])})
    >>> cut = in_plane_applied(da.isel(row=slice(1, 3), column=slice(None, None, -1)))
    >>> cut.attrs["ImagePositionPatient"].tolist(), cut.attrs["ImageOrientationPatient"].tolist()
    ([1.5, 2.0, 0.0], [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    >>> cut.frame_column.values.tolist()
    [0, 1, 2, 3]
    """
    if not any(name in da.coords for name in PIXEL_COORDS):
        return da
    given = da.attrs.get("affine")
    try:
        r0, sr = _start_and_step(da, "frame_row")
        c0, sc = _start_and_step(da, "frame_column")
    except GeometryError:
        if given is None and any(tag_vectors(da, tag, n) is None for tag, n in _SIZES.items()):
            return _renumbered(da)  # nothing to place
        raise
    swapped = _swapped(da)
    if (r0, sr, c0, sc) == (0, 1, 0, 1) and not swapped:
        return da  # the stored frames (most arrays): nothing to work out
    out = _renumbered(da)
    if given is not None:  # (column, row, slice) of the selection -> of the frames
        index_map = np.array([[sc, 0, 0, c0], [0, sr, 0, r0], [0, 0, 1, 0], [0, 0, 0, 1]])
        if swapped:  # its columns run along stored rows, its rows along stored columns
            index_map = index_map[:, [1, 0, 2, 3]]
        out = out.copy(deep=False)
        out.attrs = {**da.attrs, "affine": np.asarray(given, dtype=float).reshape(4, 4) @ index_map}
        return out
    position = tag_vectors(da, "ImagePositionPatient", 3)
    orientation = tag_vectors(da, "ImageOrientationPatient", 6)
    spacing = tag_vectors(da, "PixelSpacing", 2)
    if position is None or orientation is None or spacing is None:
        return out
    along_row, along_column = orientation[..., :3], orientation[..., 3:]
    # PixelSpacing: between rows, then between columns
    moved = position + along_row * (c0 * spacing[..., 1:]) + along_column * (r0 * spacing[..., :1])
    if swapped:  # transposed: a row of it runs along a stored column, and the other way
        turned = np.concatenate([along_column * np.sign(sr), along_row * np.sign(sc)], axis=-1)
        stretched = spacing[..., ::-1] * [abs(sc), abs(sr)]
    else:
        turned = np.concatenate([along_row * np.sign(sc), along_column * np.sign(sr)], axis=-1)
        stretched = spacing * [abs(sr), abs(sc)]
    turned += 0.0  # no -0.0
    for tag, values in (
        ("ImagePositionPatient", moved),
        ("ImageOrientationPatient", turned),
        ("PixelSpacing", stretched),
    ):
        out = _with_vectors(out, tag, values)
    return out


def _swapped(da: Any) -> bool:
    """Whether ``da`` is transposed in the plane: its ``frame_row`` along ``column``.

    (``da.transpose(..., "column", "row").rename(row="column", column="row")``.)
    A :class:`GeometryError` where both pixel coordinates lie along one dim.
    """
    on = {
        name: da.coords[name].dims
        for name in PIXEL_COORDS
        if name in da.coords and da.coords[name].dims
    }
    swapped = {name for name, dims in on.items() if dims != (PIXEL_COORDS[name],)}
    if swapped and len(on) == 2 and len(swapped) == 1:
        raise GeometryError(
            f"the pixel coordinates frame_row and frame_column of this array both lie along "
            f"{on['frame_row']}: its pixels are no grid of stored pixels, with no position in "
            "the patient. Give frame_row along 'row' and frame_column along 'column', or "
            "drop the geometry tags."
        )
    return bool(swapped)


def _renumbered(da: Any) -> Any:
    """``da`` with :data:`PIXEL_COORDS` 0, 1, 2... (those it has)."""
    fresh = pixel_coords(int(da.sizes["row"]), int(da.sizes["column"]))
    return da.assign_coords({name: fresh[name] for name in PIXEL_COORDS if name in da.coords})


def _with_vectors(da: Any, keyword: str, values: np.ndarray) -> Any:
    """``da`` with the tag ``keyword`` set to ``values`` (``(*tag dims, n)``), as it held it.

    An attr stays an attr where every frame has the same value; coordinates
    ``Keyword[i]`` keep only the dims they vary along.
    """
    dims = [d for d in da.dims if d not in _PIXEL_DIMS]
    rows = values.reshape(-1, values.shape[-1])
    same = bool(np.all((rows == rows[:1]) | np.isnan(rows)))
    if keyword in da.attrs and same:
        out = da.copy(deep=False)
        out.attrs = {**da.attrs, keyword: np.asarray(_first(values), dtype=float)}
        return out
    out = da.copy(deep=False)
    out.attrs = {k: v for k, v in da.attrs.items() if k != keyword}
    coords = {}
    for i in range(values.shape[-1]):
        part = values[..., i]
        keep = [
            d
            for axis, d in enumerate(dims)
            if not np.array_equal(
                part, np.take(part, [0], axis=axis).repeat(part.shape[axis], axis), equal_nan=True
            )
        ]
        index = tuple(slice(None) if d in keep else 0 for d in dims)
        coords[component(keyword, i)] = (tuple(keep), part[index] if dims else part)
    return out.assign_coords(coords)
