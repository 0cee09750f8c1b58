"""OME-Zarr (OME-NGFF 0.5, and 0.4 for Zarr format 2) metadata of a series' DataArray.

How a DataArray becomes an OME-Zarr image
-----------------------------------------
OME-Zarr has 2 to 5 axes, in this order: at most one ``time`` axis ``t``,
at most one ``channel`` axis ``c``, then 2 or 3 ``space`` axes ``z``,
``y``, ``x``. The dims of a DataArray of :meth:`dbdicom.Series.to_xarray`
go to them as follows:

* ``row`` is ``y`` and ``column`` is ``x`` (for another DataArray, the
  last two dims);
* ``SliceLocation`` is ``z``; an image with an ``affine`` but no
  ``SliceLocation`` dim (a single slice) gets a ``z`` of size 1, so that
  its position along the normal is kept;
* the first dim that is a time (TriggerTime, AcquisitionTime,
  ContentTime, TemporalPositionIdentifier..., or a coordinate of
  ``datetime64``/``timedelta64`` values) is ``t``;
* every other dim (FlipAngle, EchoTime, DiffusionBValue, ``frame``, the
  colour ``channel``...) goes to ``c``: several such dims are flattened
  into one ``c`` axis (C order: the last dim varies fastest), so that any
  series is one valid image. The dbdicom metadata beside it (``"axes"``:
  which dims each axis holds) undoes it.

Units and transformations
-------------------------
Space axes are in ``millimeter``. With an ``affine`` (see
:mod:`dbdicom._geometry`), scale and translation describe the image in
its own frame (:func:`dbdicom._geometry.image_frame`): ``x`` along a row
(ImageOrientationPatient's row cosines), ``y`` along a column, ``z``
along the slice normal, the origin at LPS (0, 0, 0). OME-NGFF 0.5 has no
rotation: for an axial stack of orientation [1, 0, 0, 0, 1, 0] this frame
is LPS itself, and for every other orientation (sagittal, coronal,
oblique) it is LPS rotated. Nothing is resampled: the pixels are those of
the files, and the rotation is kept in the dbdicom metadata (``"frame"``:
the LPS direction of ``x``, ``y`` and ``z``), so that ``LPS = x * frame.x
+ y * frame.y + z * frame.z``. Two series line up in an OME viewer when
they share an orientation. A stack whose slice step is not perpendicular
to its planes (gantry tilt) is shown unsheared (``z`` is the distance
between planes); its ``affine`` attr has the exact geometry.

Without an affine, ``y`` and ``x`` are scaled by PixelSpacing (when the
series has one) and ``z`` by the step between SliceLocations (when they
are evenly spaced); an axis whose spacing is not known gets scale 1 and
no unit. The time axis is in ``second`` (TriggerTime's milliseconds
converted), scaled by the step between its values when they are evenly
spaced and translated by the first; otherwise scale 1, no unit. ``c`` has
scale 1 and no unit.

Pyramid
-------
``levels`` > 1 adds levels ``1``, ``2``...: each the mean of 2 x 2 blocks
of rows and columns of the level above (integers rounded to the nearest),
a row or column left over at the end dropped; slices, time and channels
are kept. A level's scale along ``y`` and ``x`` doubles, and its
translation moves by half the new pixel less half the old one, so that a
pixel's centre is the centre of the block it averages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array
import numpy as np
import xarray as xr

from .. import _arrays
from .._geometry import image_frame

__all__ = ["OmeLayout", "ome_layout"]

SPACE_UNIT = "millimeter"
TIME_UNIT = "second"
#: time tags and the seconds in their unit (None: a position in time, without a unit)
TIME_TAGS: dict[str, float | None] = {
    "TriggerTime": 1e-3,
    "FrameReferenceTime": 1e-3,
    "AcquisitionTime": 1.0,
    "ContentTime": 1.0,
    "AcquisitionDateTime": 1.0,
    "FrameAcquisitionDateTime": 1.0,
    "TemporalPositionIdentifier": None,
    "TemporalPositionIndex": None,
}
#: what a pyramid level averages, and how (the multiscale's "type" and "metadata")
DOWNSCALING = {
    "type": "local_mean",
    "metadata": {
        "description": (
            "each level the mean of 2 x 2 blocks of rows and columns (y, x) of the "
            "level above, integers rounded to the nearest; other axes kept"
        ),
        "method": "dask.array.coarsen",
    },
}
#: the most bytes a chunk of the image holds (z slices are added up to it)
CHUNK_BYTES = 1 << 20
#: the most rows or columns a chunk holds
TILE = 256


@dataclass
class _Axis:
    """One OME axis: its name, type, the DataArray dims it holds, scale and translation."""

    name: str
    type: str
    dims: list[str]
    scale: float = 1.0
    translation: float = 0.0
    unit: str | None = None

    def metadata(self) -> dict[str, str]:
        out = {"name": self.name, "type": self.type}
        if self.unit is not None:
            out["unit"] = self.unit
        return out


@dataclass
class OmeLayout:
    """Where the dims of a DataArray go among the OME axes, and how each is scaled.

    Built by :func:`ome_layout`; :meth:`to_ome` and :meth:`from_ome` move
    the values between the DataArray's dims and the OME axes.
    """

    dims: list[str]
    sizes: dict[str, int]
    axes: list[_Axis]
    frame: np.ndarray | None = field(default=None)

    @property
    def names(self) -> list[str]:
        """The OME axes' names, e.g. ``["c", "z", "y", "x"]``."""
        return [a.name for a in self.axes]

    @property
    def order(self) -> list[str]:
        """The DataArray's dims in the order of the OME axes."""
        return [d for a in self.axes for d in a.dims]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of level 0."""
        return tuple(int(np.prod([self.sizes[d] for d in a.dims], dtype=int)) for a in self.axes)

    @property
    def max_levels(self) -> int:
        """The most pyramid levels: rows and columns halve to one pixel at the last."""
        y, x = self.shape[-2:]
        return int(np.log2(max(1, min(y, x)))) + 1

    def level_shape(self, level: int) -> tuple[int, ...]:
        """The shape of pyramid level ``level`` (``y`` and ``x`` halved at each level)."""
        f = 2**level
        return tuple(
            n // f if a.name in "yx" else n for a, n in zip(self.axes, self.shape, strict=True)
        )

    def transforms(self, level: int) -> list[dict[str, Any]]:
        """The coordinateTransformations of pyramid level ``level``: scale, then translation."""
        f = 2**level
        scale, translation = [], []
        for a in self.axes:
            step = f if a.name in "yx" else 1
            scale.append(float(a.scale * step))
            translation.append(float(a.translation + (step - 1) / 2 * a.scale))
        return [
            {"type": "scale", "scale": scale},
            {"type": "translation", "translation": translation},
        ]

    def chunks(self, itemsize: int, wanted: Mapping[str, int] | None = None) -> tuple[int, ...]:
        """The chunks of level 0: by default, for viewers.

        ``y`` and ``x`` in tiles of at most :data:`TILE`; one time point and
        one channel a chunk; ``z`` in as many slices as fit in
        :data:`CHUNK_BYTES`. ``wanted`` (grid points per chunk along
        DataArray dims, -1 for the whole dim) overrides this along ``t``,
        ``z`` and a ``c`` that holds one dim.
        """
        shape = dict(zip(self.names, self.shape, strict=True))
        out = {n: min(shape[n], TILE) for n in "yx"}
        plane = out["y"] * out["x"] * itemsize
        for a in self.axes:
            n = shape[a.name]
            if a.name in "yx":
                continue
            if len(a.dims) == 1 and wanted and a.dims[0] in wanted:
                k = int(wanted[a.dims[0]])
                out[a.name] = n if k == -1 else max(1, min(n, k))
            elif a.name == "z":
                out[a.name] = max(1, min(n, CHUNK_BYTES // max(plane, 1)))
            else:
                out[a.name] = 1
        return tuple(out[n] for n in self.names)

    def dim_chunks(self, chunks: Sequence[int]) -> dict[str, int]:
        """The chunks along the DataArray's dims that give ``chunks`` along the OME axes.

        A dim that shares its axis with others (a flattened ``c``) has one
        point a chunk.
        """
        out = {}
        for a, n in zip(self.axes, chunks, strict=True):
            for d in a.dims:
                out[d] = n if len(a.dims) == 1 else 1
        return {d: out[d] for d in self.dims}

    def to_ome(self, data: Any) -> Any:
        """A dask array of the DataArray's dims as the OME axes (a view: nothing computed)."""
        moved = dask.array.transpose(data, [self.dims.index(d) for d in self.order])
        return moved.reshape(self.shape, merge_chunks=False)

    def metadata(self) -> dict[str, Any]:
        """What dbdicom keeps beside the OME metadata to undo :meth:`to_ome`."""
        frame = None
        if self.frame is not None:
            frame = {n: self.frame[:, k].tolist() for k, n in enumerate("xyz")}
        return {
            "dims": list(self.dims),
            "sizes": dict(self.sizes),
            "axes": {a.name: list(a.dims) for a in self.axes},
            "frame": frame,
        }

    def multiscales(self, name: str | None, levels: int, zarr_format: int) -> dict[str, Any]:
        """The group attributes of the OME image: 0.5 (``ome``) or 0.4 (Zarr format 2)."""
        multiscale: dict[str, Any] = {
            "axes": [a.metadata() for a in self.axes],
            "datasets": [
                {"path": str(k), "coordinateTransformations": self.transforms(k)}
                for k in range(levels)
            ],
        }
        if name is not None:
            multiscale["name"] = name
        if levels > 1:
            multiscale.update(DOWNSCALING)
        if zarr_format == 2:
            return {"multiscales": [{"version": "0.4", **multiscale}]}
        return {"ome": {"version": "0.5", "multiscales": [multiscale]}}


def from_ome(data: Any, metadata: Mapping[str, Any]) -> Any:
    """A dask array of level 0 (OME axes) back in the DataArray's dims.

    ``metadata`` is :meth:`OmeLayout.metadata`, as a store keeps it.

    Examples
    --------
    >>> import dask.array
    >>> values = np.arange(24).reshape(2, 3, 2, 2)
    >>> da = xr.DataArray(values, dims=["FlipAngle", "n", "row", "column"])
    >>> layout = ome_layout(da)
    >>> layout.names, layout.shape
    (['c', 'y', 'x'], (6, 2, 2))
    >>> ome = layout.to_ome(dask.array.from_array(da.values, chunks=1))
    >>> back = from_ome(ome, layout.metadata())
    >>> bool((back.compute() == da.values).all()), back.chunks[:2]
    (True, ((1, 1), (1, 1, 1)))
    """
    dims, sizes = list(metadata["dims"]), metadata["sizes"]
    order = [d for held in metadata["axes"].values() for d in held]
    split = data.reshape([int(sizes[d]) for d in order], merge_chunks=False)
    return dask.array.transpose(split, [order.index(d) for d in dims])


def _regular(values: np.ndarray) -> tuple[float, float] | None:
    """(first, step) of evenly spaced ascending values; None if they are not."""
    if values.size < 2 or not np.isfinite(values).all():
        return None
    steps = np.diff(values)
    step = float((values[-1] - values[0]) / (values.size - 1))
    if step <= 0 or np.abs(steps - step).max() > max(1e-3 * step, 1e-6):
        return None
    return float(values[0]), step


def _seconds(values: np.ndarray, factor: float | None) -> np.ndarray | None:
    """Times as float seconds (None for values that are not times)."""
    if values.dtype.kind == "m":
        return values / np.timedelta64(1, "s")
    if values.dtype.kind == "M":
        return (values - np.datetime64(0, "s")) / np.timedelta64(1, "s")
    if factor is None or values.dtype.kind not in "iuf":
        return None
    return values.astype(float) * factor


def _is_time(da: xr.DataArray, dim: str) -> bool:
    return dim in TIME_TAGS or (dim in da.coords and da[dim].dtype.kind in "Mm")


def _time_axis(da: xr.DataArray, dim: str) -> _Axis:
    axis = _Axis("t", "time", [dim])
    if dim not in da.coords:
        return axis
    values = _seconds(np.asarray(da[dim].values), TIME_TAGS.get(dim, 1.0))
    if values is None or not np.isfinite(values).all():
        return axis
    regular = _regular(values)
    if regular is not None:
        axis.translation, axis.scale = regular
        axis.unit = TIME_UNIT
    elif values.size == 1:
        axis.translation, axis.unit = float(values[0]), TIME_UNIT
    return axis


def _affine(da: xr.DataArray) -> np.ndarray | None:
    affine = _arrays.affine_of(da)  # from the coordinates (or an affine attr of the user's)
    if affine is None:
        return None
    a = np.asarray(affine, dtype=float)
    return a if a.shape == (4, 4) and np.isfinite(a).all() else None


def _frame(affine: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`~dbdicom._geometry.image_frame` of an affine with a plane, else None."""
    if affine is None:
        return None
    rows, columns = affine[:3, 0], affine[:3, 1]
    if np.linalg.norm(np.cross(rows, columns)) <= 1e-12 * max(1.0, float(np.abs(affine).max())):
        return None  # a zero PixelSpacing, or rows along columns: no plane
    return image_frame(affine)


def _plain_space(da: xr.DataArray, z: _Axis | None, y: _Axis, x: _Axis) -> None:
    """Scales from PixelSpacing and SliceLocation, when there is no affine."""
    spacing = da.attrs.get("PixelSpacing")
    if isinstance(spacing, Sequence) and len(spacing) == 2 and y.dims == ["row"]:
        y.scale, x.scale = float(spacing[0]), float(spacing[1])
        y.unit = x.unit = SPACE_UNIT
    if z is None or z.dims != ["SliceLocation"] or "SliceLocation" not in da.coords:
        return
    values = np.asarray(da["SliceLocation"].values, dtype=float)
    regular = _regular(values)
    if regular is not None:
        z.translation, z.scale = regular
        z.unit = SPACE_UNIT


def ome_layout(da: xr.DataArray) -> OmeLayout:
    """Where each dim of ``da`` goes among the OME axes, with scales (see the module docs).

    Examples
    --------
    >>> vfa = database.series(SeriesDescription="VFA")[0].to_xarray()
    >>> layout = ome_layout(vfa)
    >>> layout.names, layout.shape, layout.order
    (['c', 'z', 'y', 'x'], (4, 6, 64, 64), ['FlipAngle', 'SliceLocation', 'row', 'column'])
    >>> [a["unit"] for a in layout.multiscales("VFA", 1, 3)["ome"]["multiscales"][0]["axes"][1:]]
    ['millimeter', 'millimeter', 'millimeter']
    >>> scale, translation = layout.transforms(0)
    >>> scale["scale"], translation["translation"]
    ([1.0, 5.0, 3.75, 3.75], [0.0, -12.5, -118.125, -118.125])
    >>> layout.transforms(1)[1]["translation"][2:]  # moved by half a pixel of level 0
    [-116.25, -116.25]
    """
    dims = [str(d) for d in da.dims]
    if len(dims) < 2:
        raise ValueError(f"an OME-Zarr image has rows and columns; this DataArray has dims {dims}")
    y_dim = "row" if "row" in dims else dims[-2]
    x_dim = "column" if "column" in dims else dims[-1]
    y, x = _Axis("y", "space", [y_dim]), _Axis("x", "space", [x_dim])
    rest = [d for d in dims if d not in (y_dim, x_dim)]
    affine = _affine(da) if (y_dim, x_dim) == ("row", "column") else None
    z: _Axis | None = None
    if "SliceLocation" in rest:
        z = _Axis("z", "space", ["SliceLocation"])
        rest.remove("SliceLocation")
    elif affine is not None:
        z = _Axis("z", "space", [])  # one slice: a z of size 1 keeps its position
    t: _Axis | None = None
    times = [d for d in rest if _is_time(da, d)]
    if times:
        t = _time_axis(da, times[0])
        rest.remove(times[0])
    c = _Axis("c", "channel", rest) if rest else None
    geometry = _frame(affine) if z is not None else None
    frame = None
    if geometry is not None and z is not None:
        spacing, origin, frame = geometry
        for axis, k in ((x, 0), (y, 1), (z, 2)):
            axis.scale, axis.translation, axis.unit = (
                float(spacing[k]),
                float(origin[k]),
                SPACE_UNIT,
            )
        if not z.scale > 0:  # slices at one position
            z.scale = 1.0
    else:
        _plain_space(da, z, y, x)
    axes = [a for a in (t, c, z, y, x) if a is not None]
    return OmeLayout(dims, {d: int(da.sizes[d]) for d in dims}, axes, frame)
