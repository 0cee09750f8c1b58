"""Series as lazy, labelled :class:`xarray.DataArray` objects."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from .. import _files
from .._errors import GeometryError, GridError
from .._facade import pandas as pd
from .._index import LEVEL_TAGS, Index, check_tag
from ._frames import Frames, geometry_groups, group_text, row_codes
from ._grid import Grid, make_grid
from ._lazy import WEB_CHUNK_BYTES, auto_block, lazy_frames, output_dtype
from ._plain import attr_value, labels, per_frame_arrays, same_along
from ._read import locations
from ._table import FRAME, why_no_image

__all__ = ["AUTO_DIMS", "build_dataarray", "stack"]

#: tags tried, in this order, when dims are not given
AUTO_DIMS = (
    "SliceLocation",
    "FlipAngle",
    "EchoTime",
    "InversionTime",
    "RepetitionTime",
    "TriggerTime",
    "DiffusionBValue",
    "TemporalPositionIdentifier",
    "TemporalPositionIndex",
    "AcquisitionTime",
    "ImageType",
    FRAME,
)
_RESERVED = ("row", "column", "channel", "n")
_UPPER = frozenset(LEVEL_TAGS["patient"] + LEVEL_TAGS["study"] + LEVEL_TAGS["series"])
_INSTANCE = [
    t for t in LEVEL_TAGS["instance"] if t not in ("SOPInstanceUID", "SpecificCharacterSet")
]


def _distinguish(frames: Frames, at: np.ndarray) -> list[str]:
    """Tags whose values differ among the frames ``at`` (candidates for a further dim)."""
    out = []
    for keyword in (*AUTO_DIMS, "InstanceNumber", "AcquisitionNumber"):
        values = [frames.raw(keyword)[int(k)] for k in at]
        if None not in values and len({repr(v) for v in values}) == len(values):
            out.append(keyword)
    return out


def _varying(frames: Frames) -> str:
    """The tags that vary among the frames, with their number of values (for messages).

    Those of :data:`AUTO_DIMS` first, then the other instance tags
    (InstanceNumber, positions...), so that a refusal never says that
    nothing varies while something does.
    """
    parts = []
    for keyword in dict.fromkeys((*AUTO_DIMS, *_INSTANCE)):
        distinct = {repr(v) for v in frames.raw(keyword) if v is not None}
        if len(distinct) > 1:
            parts.append(f"{keyword} ({len(distinct)} values)")
    if parts:
        return ", ".join(parts)
    return (
        "none: the frames are alike in every tag that could place them. If they are "
        "copies of one image (database.problems() lists duplicate SOP Instance UIDs), "
        "keep one: instance.remove() the others (undone by database.restore())"
    )


def _check_dims(dims: Sequence[str], frames: Frames) -> list[str]:
    for dim in dims:
        if dim in _RESERVED:
            raise GridError(f"{dim!r} names a pixel or enumeration dim: choose a DICOM keyword")
        if dim != FRAME:
            check_tag(dim)
        if frames.absent(dim).all():
            raise GridError(
                f"no frame of the series has {dim!r}, so it cannot be a dim. "
                f"Tags that vary here: {_varying(frames)}."
            )
    return list(dims)


def _codes(arr: np.ndarray) -> np.ndarray | None:
    """Integer codes of a coordinate array (None if a value is missing)."""
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            return None
        return pd.factorize(np.round(arr, 4))[0]
    if arr.dtype == object and any(v is None for v in arr):
        return None
    return pd.factorize(pd.Series(list(arr), dtype=object))[0]


def _auto_dims(frames: Frames) -> list[str]:
    """The dims that put every frame at its own grid point, slice position first.

    Tags of :data:`AUTO_DIMS` that every frame has and that vary are tried in
    order; one is kept when it tells more frames apart and the kept tags
    still form a full grid (no empty points). Done when every frame has its
    own point. A single frame gets ``SliceLocation`` when it has one. When
    the kept tags leave several frames at each point, as many at each, and
    every instance holds one frame, those are numbered along ``frame`` in
    InstanceNumber order (see :func:`_frame_numbers`): how a ``frame`` dim
    was written.
    """
    n = len(frames)
    if n == 1:
        return ["SliceLocation"] if frames.raw("SliceLocation")[0] is not None else []
    chosen, combined = _grid_dims(frames)
    if len(np.unique(combined)) == n:
        return chosen
    counts = np.bincount(combined)
    if (counts == counts[0]).all() and _frame_numbers(frames, chosen) is not None:
        return [*chosen, FRAME]  # e.g. a cine written one instance per frame
    raise GridError(
        f"no set of tags puts the {n} frames on a full grid. Tags that vary: "
        f"{_varying(frames)}. Give the dims explicitly, e.g. to_xarray(dims=[...], fill=True) "
        "for a grid with empty points."
    )


def _grid_dims(frames: Frames) -> tuple[list[str], np.ndarray]:
    """The tags of :data:`AUTO_DIMS` kept by :func:`_auto_dims`, and each frame's cell code."""
    n = len(frames)
    chosen: list[str] = []
    combined = np.zeros(n, dtype=np.int64)
    cells = 1
    for keyword in AUTO_DIMS:
        codes = _codes(frames.coordinate(keyword))
        if codes is None:
            continue
        count = int(codes.max()) + 1
        if count < 2:
            continue
        trial = combined * count + codes
        combos = len(np.unique(trial))
        if combos > cells and combos == cells * count:
            chosen.append(keyword)
            combined = pd.factorize(trial)[0]
            cells = combos
            if cells == n:
                break
    return chosen, combined


def _frame_numbers(frames: Frames, others: Sequence[str]) -> np.ndarray | None:
    """The ``frame`` of each frame when every instance holds one: its rank by InstanceNumber.

    The frames at the same values of the dims ``others`` are numbered 0, 1,
    ... in InstanceNumber order: a write of a ``frame`` dim stores each
    frame as an instance, numbered in order, and this reads it back. None
    when an instance holds several frames (``frame`` is then the number of
    the frame in its file) or when InstanceNumber is missing or repeated
    among the frames of one point.
    """
    if (frames.table["_frame"].to_numpy() > 0).any():
        return None
    numbers = frames.number("InstanceNumber", np.nan)
    if np.isnan(numbers).any():
        return None
    cell = np.zeros(len(frames), dtype=np.int64)
    for dim in others:
        codes = _codes(frames.coordinate(dim))
        if codes is None:
            return None
        cell = pd.factorize(cell * (int(codes.max()) + 1) + codes)[0]
    order = np.lexsort((numbers, cell))
    same_cell = np.diff(cell[order]) == 0
    if (same_cell & (np.diff(numbers[order]) == 0)).any():
        return None
    starts = np.r_[0, np.flatnonzero(~same_cell) + 1]
    rank = np.empty(len(cell))
    rank[order] = np.arange(len(cell)) - np.repeat(starts, np.diff(np.r_[starts, len(cell)]))
    return rank


def _dim_values(frames: Frames, dims: Sequence[str]) -> dict[str, np.ndarray]:
    """The value of each dim at every frame (``frame``: see :func:`_frame_numbers`)."""
    values = {d: frames.coordinate(d) for d in dims}
    if FRAME in values:
        numbers = _frame_numbers(frames, [d for d in dims if d != FRAME])
        if numbers is not None:
            values[FRAME] = numbers
    return values


def _palette_bits(frames: Frames, photo: np.ndarray) -> np.ndarray:
    """Per frame, the bits per entry of its palette (PALETTE COLOR), 0 for other images.

    Read from the header of each PALETTE COLOR file (one read per file): a
    palette image reads as RGB in the dtype its tables give.
    """
    out = np.zeros(len(photo), np.int64)
    is_palette = np.array([str(p).strip() == _files.PALETTE for p in photo], dtype=bool)
    if not is_palette.any():
        return out
    root = str(frames.index.root)
    paths = np.asarray(frames.column("_path"), dtype=object)
    bits: dict[str, int] = {}
    for k in np.flatnonzero(is_palette).tolist():
        path = str(paths[k])
        if path not in bits:
            bits[path] = _files.palette_bits(root + os.sep + path)
        out[k] = bits[path]
    return out


def _pixel_formats(frames: Frames) -> tuple[list[Any], np.ndarray]:
    """The distinct pixel formats of the frames, and which one each frame has."""
    defaults = (
        ("Rows", 0),
        ("Columns", 0),
        ("SamplesPerPixel", 1),
        ("BitsAllocated", 16),
        ("PixelRepresentation", 0),
        ("BitsStored", 0),
        ("PlanarConfiguration", 0),
    )
    numbers = np.column_stack([np.nan_to_num(frames.column(c), nan=d) for c, d in defaults]).astype(
        np.int64
    )
    floats = np.nan_to_num(frames.column("_float_bits"), nan=0).astype(np.int64)
    photo = frames.column("PhotometricInterpretation")
    palettes = _palette_bits(frames, photo)
    numbers = np.column_stack([numbers, np.maximum(floats, 0), palettes])
    syntax = frames.column("TransferSyntaxUID")
    table = np.column_stack([numbers, pd.factorize(photo)[0], pd.factorize(syntax)[0]])
    codes, first = row_codes(table)
    formats = [
        _files.PixelFormat(
            rows=int(numbers[i, 0]),
            columns=int(numbers[i, 1]),
            samples=int(numbers[i, 2]),
            bits_allocated=int(numbers[i, 3]),
            pixel_representation=int(numbers[i, 4]),
            bits_stored=int(numbers[i, 5]),
            planar_configuration=int(numbers[i, 6]),
            photometric=photo[i] if isinstance(photo[i], str) else "MONOCHROME2",
            transfer_syntax=str(syntax[i]),
            float_bits=int(numbers[i, 7]),
            palette_bits=int(numbers[i, 8]),
        )
        for i in first
    ]
    return formats, codes


def build_dataarray(
    index: Index,
    rows: np.ndarray,
    dims: Sequence[str] | None,
    *,
    fill: bool = False,
    repeats: bool = False,
    name: str | None = None,
    token: str = "",
    group: tuple[Any, ...] | None = None,
    chunks: dict[str, int] | bool | None = None,
) -> xr.DataArray:
    """The lazy DataArray of the frames of the instances at ``rows``.

    ``repeats=True`` enumerates frames sharing a grid point along a last tag
    dim ``n`` (the numpy API); ``group`` selects one key of
    :func:`geometry_groups`; ``chunks=False`` gives a lazily indexed array
    without dask (see :meth:`dbdicom.Series.to_xarray`).
    """
    frames = Frames(index, rows)
    if not len(frames) and len(frames.left_out):
        raise GridError(f"it holds no image: {why_no_image(index, frames.left_out)}")
    if not len(frames):
        raise GridError(
            "the series has no instances, so no frames to stack: write them first "
            "(series.set_array(array) or series.set_xarray(da))"
        )
    groups = geometry_groups(frames)
    if group is not None:
        frames = frames.subset(groups[group])
    elif len(groups) > 1:
        listed = "; ".join(group_text(k, len(v)) for k, v in groups.items())
        raise GeometryError(
            f"the frames have {len(groups)} different sizes or orientations, which cannot be "
            f"stacked: {listed}. Use series.to_xarrays(dims) for one DataArray per group."
        )
    if dims is not None:
        dims = _check_dims(dims, frames)
    else:
        dims = [] if repeats else _auto_dims(frames)
    order = None
    if repeats:
        order = frames.number("InstanceNumber", 0) * 1e6 + frames.table["_frame"].to_numpy()
    grid = make_grid(
        _dim_values(frames, dims),
        len(frames),
        repeats=order,
        fill=fill,
        describe=frames.describe,
        suggest=lambda at: _distinguish(frames, at),
    )
    block: list[int] | Literal[False] | None = False if chunks is False else None
    if chunks and not isinstance(chunks, bool):
        unknown = set(chunks) - set(grid.dims)
        if unknown:
            raise GridError(
                f"chunks name {sorted(unknown)}, which are not tag dims of this array "
                f"({grid.dims}); pixel dims are never split"
            )
        block = [
            n if chunks.get(d, 1) in (-1, None) else max(1, int(chunks.get(d, 1)))
            for d, n in zip(grid.dims, grid.shape, strict=True)
        ]
    return _assemble(frames, grid, name, token, block)


def _assemble(
    frames: Frames,
    grid: Grid,
    name: str | None,
    token: str,
    block: list[int] | Literal[False] | None = None,
) -> xr.DataArray:
    index = frames.index
    table = frames.table
    frame_at = grid.frame_at()
    present = frame_at >= 0
    pick = frame_at[present]
    formats, which = _pixel_formats(frames)
    slopes = frames.number("RescaleSlope", 1.0)
    intercepts = frames.number("RescaleIntercept", 0.0)
    dtype = np.result_type(
        *[
            output_dtype(f, slopes[which == i], intercepts[which == i])
            for i, f in enumerate(formats)
        ]
    )
    if not present.all() and dtype.kind != "f":
        dtype = np.result_type(dtype, np.float32)
    root = str(index.root)
    if block is None and index.remote is not None:  # frames on a server: larger chunks
        frame_bytes = dtype.itemsize * int(np.prod(formats[0].frame_shape))
        block = auto_block(grid.shape, frame_bytes, WEB_CHUNK_BYTES)
    data = lazy_frames(
        grid.shape,
        frame_at,
        locations(root, index.remote, frames.column("_path").tolist()),
        table["_frame"].to_numpy(),
        table["_offset"].to_numpy(),
        table["_nbytes"].to_numpy(),
        [formats[w] for w in which],
        slopes,
        intercepts,
        dtype,
        token=token,
        block=block,
        sizes=table["_size"].to_numpy(),
        mtimes=table["_mtime"].to_numpy(),
    )
    pixel_dims = ["row", "column"] + (["channel"] if len(formats[0].frame_shape) > 2 else [])
    coords: dict[str, Any] = {d: labels(grid.coords[d]) for d in grid.dims}
    uids = np.full(grid.size, "", dtype=object)
    uids[present] = _instance_uids(frames)[pick]
    coords["SOPInstanceUID"] = (grid.dims, uids.astype(str).reshape(grid.shape))
    if (table["_frame"].to_numpy() > 0).any() and FRAME not in grid.dims:
        coords[FRAME] = (grid.dims, _spread(table["_frame"].to_numpy()[pick], present, grid, -1))
    attrs: dict[str, Any] = {}
    absent = index.absent() if not frames.per_frame else frozenset()
    for keyword in _frame_keywords(frames):
        if keyword in grid.dims or keyword in absent:
            continue
        same = frames.constant(keyword)
        if same is None:
            values = frames.raw(keyword, read=False)
            picked = [values[int(k)] for k in pick]
            same = len({repr(v) for v in picked}) == 1
            value = picked[0]
        else:
            value = frames.value_at(keyword, int(pick[0])) if same else None
        if same:
            _shared(keyword, value, attrs, coords)
        elif grid.dims:
            arrays = per_frame_arrays(keyword, frames.coordinate(keyword)[pick])
            spread = {key: _spread(arr, present, grid) for key, arr in arrays.items()}
            dims = _varying_dims(list(spread.values()), grid.dims)
            for key, arr in spread.items():
                coords[key] = (dims, _reduce(arr, grid.dims, dims))
    for keyword in _UPPER - absent:
        if keyword not in coords:
            _shared(keyword, frames.value_at(keyword, int(pick[0])), attrs, coords)
    da = xr.DataArray(
        data,
        dims=[*grid.dims, *pixel_dims],
        coords=coords,
        attrs=dict(sorted(attrs.items())),
        name=name,
    )
    return da


def _shared(keyword: str, value: Any, attrs: dict[str, Any], coords: dict[str, Any]) -> None:
    """Put a value shared by all frames in the attrs, or (a date) in the scalar coords."""
    where, plain = attr_value(keyword, value)
    if where == "attr":
        attrs[keyword] = plain
    elif where == "coord":
        coords[keyword] = ((), plain)


def _varying_dims(arrays: list[np.ndarray], dims: Sequence[str]) -> tuple[str, ...]:
    """The dims along which any of ``arrays`` (laid on the grid) varies."""
    return tuple(d for axis, d in enumerate(dims) if not all(same_along(a, axis) for a in arrays))


def _reduce(values: np.ndarray, dims: Sequence[str], keep: Sequence[str]) -> np.ndarray:
    """``values`` (on ``dims``) along the dims ``keep`` only (the same along the others)."""
    index = tuple(slice(None) if d in keep else 0 for d in dims)
    return values[index]


def _instance_uids(frames: Frames) -> np.ndarray:
    """The SOP Instance UID of each frame's file, as an object array of ``str``.

    A file without one has the UID the tree places it under (derived from its
    path, as ``problems()`` says), never the text ``"None"``: the coordinate
    names the instance that ``array()`` and ``set_xarray()`` look up.
    """
    uids = frames.column("SOPInstanceUID")
    missing = np.array([not (isinstance(u, str) and u) for u in uids.tolist()], dtype=bool)
    if not missing.any():
        return uids
    uids = uids.copy()
    uids[missing] = frames.column("_instance")[missing]
    return uids


def _spread(values: np.ndarray, present: np.ndarray, grid: Grid, empty: Any = None) -> np.ndarray:
    """Values of the present frames laid on the grid (``empty`` elsewhere)."""
    kind = values.dtype.kind
    if kind == "f":
        out = np.full(grid.size, np.nan)
    elif kind == "M":
        out = np.full(grid.size, np.datetime64("NaT"), dtype=values.dtype)
    elif kind in "iu":
        out = np.full(grid.size, empty if empty is not None else 0, dtype=values.dtype)
    else:
        out = np.full(grid.size, "" if kind == "U" else None, dtype=object)
    out[present] = values
    if kind == "U":
        out = out.astype(str)
    return out.reshape(grid.shape)


def _frame_keywords(frames: Frames) -> list[str]:
    """Tags that may vary per frame: instance tags of the index, and per-frame ones.

    SOPInstanceUID is never one: a frame belongs to the instance of its file.
    """
    keys = list(_INSTANCE)
    if frames.per_frame:
        columns = [c for c in frames.index.frames.columns if not c.startswith("_")]
        keys += [c.split("[")[0] for c in columns if c != "SOPInstanceUID"]
    return list(dict.fromkeys(keys))


def stack(
    series: Sequence[Any], dims: Sequence[str] | None = None, *, fill: bool = False
) -> xr.DataArray:
    """Several series of one database as one DataArray, stacked along tag dims.

    Series that differ by a tag become one dim of it: two series of the same
    slices at flip angles 5 and 10 give ``dims=["SliceLocation", "FlipAngle"]``.
    The frames are placed exactly as the frames of one series would be.
    """
    if not series:
        raise GridError("no series given to stack")
    if len({id(s.database) for s in series}) > 1:
        raise GridError("the series to stack come from different databases")
    db = series[0].database
    rows = np.unique(np.concatenate([s._rows() for s in series]))
    return build_dataarray(db.index, rows, dims, fill=fill, token="stack")
