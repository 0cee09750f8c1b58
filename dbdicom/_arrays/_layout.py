"""Where each frame of a series goes, and how it is read: shared by the xarray and numpy faces.

:func:`layout` is the one home of the rules that turn index rows into a
grid of frames: which frames there are (:class:`~._frames.Frames`), their
geometry groups, the dims (given, or chosen by :func:`_auto_dims`), the
grid (:func:`~._grid.make_grid`: collisions, holes, the ``n`` axis of the
numpy API), the pixel formats and the output dtype (rescale applied).
:func:`~._xarray.build_dataarray` makes a lazy DataArray of a
:class:`Layout`; :func:`~._numpy.read_array` reads its frames straight into
a numpy array. Neither xarray, dask nor pandas is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _files, _web
from .._errors import GeometryError, GridError, InvalidFileError, ServerError
from .._index import LEVEL_TAGS, Index, check_tag, factorize
from ._dimension_index import INDEX_DIMS, IndexDims, index_dims
from ._frames import Frames, geometry_groups, group_text, row_codes
from ._grid import Grid, make_grid
from ._plain import split_component
from ._read import FrameRef, frame_refs, output_dtype
from ._table import FRAME, why_no_image

__all__ = ["AUTO_DIMS", "INSTANCE_TAGS", "Layout", "layout"]

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
    "AcquisitionNumber",
    "ImageType",
    FRAME,
)
_RESERVED = ("row", "column", "channel", "n")

INSTANCE_TAGS = [
    t for t in LEVEL_TAGS["instance"] if t not in ("SOPInstanceUID", "SpecificCharacterSet")
]


def _distinguish(frames: Frames, at: np.ndarray) -> list[str]:
    """Tags whose values differ among the frames ``at`` (candidates for a further dim)."""
    out = []
    for keyword in (*AUTO_DIMS, "InstanceNumber"):
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
    for keyword in dict.fromkeys((*AUTO_DIMS, *INSTANCE_TAGS)):
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
        if dim in INDEX_DIMS:
            continue  # see _index_values
        parts = split_component(dim)  # one value of a tag of several: see _component_values
        keyword = parts[0] if parts else dim
        if keyword != FRAME:
            check_tag(keyword)
        if frames.absent(keyword).all():
            raise GridError(
                f"no frame of the series has {keyword!r}, so it cannot be a dim. "
                f"Tags that vary here: {_varying(frames)}."
            )
    return list(dims)


def _component_values(frames: Frames, dims: Sequence[str]) -> dict[str, np.ndarray]:
    """The values of the dims given that are one value of a tag of several (``Keyword[i]``).

    Named as such coordinates are (``DimensionIndexValues[1]``,
    ``DiffusionGradientOrientation[0]``); NaN where a frame has no such value.
    """
    out = {}
    for dim in dims:
        parts = split_component(dim)
        if parts is None:
            continue
        keyword, i = parts
        out[dim] = np.array(
            [
                float(v[i])
                if isinstance(v, tuple) and len(v) > i and isinstance(v[i], int | float)
                else np.nan
                for v in frames.raw(keyword)
            ],
            dtype=float,
        )
    return out


def _index_values(frames: Frames, dims: Sequence[str]) -> dict[str, np.ndarray]:
    """The values of the dims given that number the points of the files' Dimension Index.

    Such a dim (``cardiac_phase``...) is one that :func:`index_dims` makes
    of the frames; refused where it makes none of that name.
    """
    wanted = [d for d in dims if d in INDEX_DIMS]
    if not wanted:
        return {}
    found = index_dims(frames)
    missing = [d for d in wanted if not isinstance(found, IndexDims) or d not in found.values]
    if missing:
        why = found if isinstance(found, str) else f"its dims are {found.dims}"
        raise GridError(
            f"{missing[0]!r} numbers the points of a dimension of the Dimension Index of "
            f"enhanced files ({frames.describe(np.arange(len(frames)))}), and theirs gives none: "
            f"{why or 'they have no (0020,9157) Dimension Index Values'}. Choose DICOM "
            f"keywords as dims; tags that vary here: {_varying(frames)}."
        )
    assert isinstance(found, IndexDims)
    return {d: found.values[d] for d in wanted}


def _default_dims(frames: Frames) -> tuple[list[str], dict[str, np.ndarray]]:
    """The dims chosen where none are given, and the values of those that are no tags.

    The enhanced files' own Dimension Index first (:func:`index_dims`),
    else :func:`_auto_dims`; where both fail, the error says why the index
    could not place the frames.
    """
    found = index_dims(frames)
    if isinstance(found, IndexDims):
        return found.dims, found.values
    try:
        return _auto_dims(frames), {}
    except GridError as exc:
        if not found:
            raise
        raise GridError(
            f"{exc} Their (0020,9222) Dimension Index Sequence does not place them either: {found}."
        ) from None


def _codes(arr: np.ndarray) -> np.ndarray | None:
    """Integer codes of a coordinate array (None if a value is missing)."""
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            return None
        return factorize(np.round(arr, 4))[0]
    if arr.dtype == object and any(v is None for v in arr):
        return None
    return factorize(np.asarray(arr))[0]


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
    others = {d: frames.coordinate(d) for d in chosen}
    if (counts == counts[0]).all() and _frame_numbers(frames, others) is not None:
        return [*chosen, FRAME]  # e.g. a cine written one instance per frame
    copies = _copies(frames, combined)
    if copies:
        raise GridError(
            f"{copies}: the frames cannot be put on one grid with both. Take one copy out "
            "of the folder (or instance.remove() it) and call database.refresh()."
        )
    raise GridError(
        f"no set of tags puts the {n} frames on a full grid. Tags that vary: "
        f"{_varying(frames)}. Give the dims explicitly, e.g. to_xarray(dims=[...], fill=True) "
        "for a grid with empty points."
    )


def _copies(frames: Frames, cells: np.ndarray) -> str:
    """Two files of one SOPInstanceUID whose frames share a grid point, said; else ""."""
    uids = frames.column("SOPInstanceUID")
    numbers = np.asarray(frames.table["_frame"])
    seen: dict[tuple[int, Any, Any], int] = {}
    for k, key in enumerate(zip(cells.tolist(), uids.tolist(), numbers.tolist(), strict=True)):
        if key[1] is None:
            continue
        if key in seen:
            first = seen[key]
            return (
                f"{frames.describe(np.array([first]))} and {frames.describe(np.array([k]))} "
                f"hold the same instance (SOPInstanceUID {key[1]}) at the same place"
            )
        seen[key] = k
    return ""


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
            combined = factorize(trial)[0]
            cells = combos
            if cells == n:
                break
    return chosen, combined


def _frame_numbers(frames: Frames, others: dict[str, np.ndarray]) -> np.ndarray | None:
    """The ``frame`` of each frame when every instance holds one: its rank by InstanceNumber.

    The frames at the same values of the dims ``others`` (dim -> its value
    at each frame) are numbered 0, 1,
    ... in InstanceNumber order: a write of a ``frame`` dim stores each
    frame as an instance, numbered in order, and this reads it back. None
    when an instance holds several frames (``frame`` is then the number of
    the frame in its file) or when InstanceNumber is missing or repeated
    among the frames of one point.
    """
    if (frames.table["_frame"] > 0).any():
        return None
    numbers = frames.number("InstanceNumber", np.nan)
    if np.isnan(numbers).any():
        return None
    cell = np.zeros(len(frames), dtype=np.int64)
    for dim in others.values():
        codes = _codes(dim)
        if codes is None:
            return None
        cell = factorize(cell * (int(codes.max()) + 1) + codes)[0]
    order = np.lexsort((numbers, cell))
    same_cell = np.diff(cell[order]) == 0
    if (same_cell & (np.diff(numbers[order]) == 0)).any():
        return None
    starts = np.r_[0, np.flatnonzero(~same_cell) + 1]
    rank = np.empty(len(cell))
    rank[order] = np.arange(len(cell)) - np.repeat(starts, np.diff(np.r_[starts, len(cell)]))
    return rank


def _dim_values(
    frames: Frames, dims: Sequence[str], given: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The value of each dim at every frame (``frame``: see :func:`_frame_numbers`).

    ``given`` holds those of dims that are not tags (see :func:`index_dims`).
    """
    values = {d: given[d] if d in given else frames.coordinate(d) for d in dims}
    if FRAME in values:
        numbers = _frame_numbers(frames, {d: v for d, v in values.items() if d != FRAME})
        if numbers is not None:
            values[FRAME] = numbers
    return values


def _table_bits(frames: Frames, has: np.ndarray, what: str, bits_of: Any) -> np.ndarray:
    """Per frame, the bits of the values a table in its file's header gives (0: none).

    ``has`` says which frames' files have the table (a palette, a Modality
    LUT), ``what`` names it in errors, ``bits_of`` reads its bits from a
    local file (one header read per file). The tables of a DICOMweb archive
    are not in the headers dbdicom reads from it (bulk data): refused.
    """
    out = np.zeros(len(has), np.int64)
    if not has.any():
        return out
    paths = np.asarray(frames.column("_path"), dtype=object)
    bits: dict[str, int] = {}
    for k in np.flatnonzero(has).tolist():
        path = str(paths[k])
        if path not in bits:  # a remote store's object is read from a local copy
            where = frames.index.locations([path])[0]
            if isinstance(where, _web.WebPath):
                raise ServerError(
                    f"{where}: its {what} the server gives as bulk data, not in the headers "
                    "dbdicom reads, so its values cannot be read from the archive. Copy the "
                    "series to a folder database (series.copy_to(database.new_patient()"
                    ".new_study())), which retrieves the whole instances, and read it there."
                )
            with _files.local_copy(where) as local:
                bits[path] = bits_of(local)
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
    is_palette = np.array([str(p).strip() == _files.PALETTE for p in photo], dtype=bool)
    palettes = _table_bits(
        frames, is_palette, f"{_files.PALETTE} palette (0028,1201-1203)", _files.palette_bits
    )
    tables = _table_bits(
        frames,
        frames.column("_modality_lut") == True,  # noqa: E712 (None where not indexed)
        "(0028,3000) 'Modality LUT Sequence'",
        _files.modality_lut_bits,
    )
    numbers = np.column_stack([numbers, np.maximum(floats, 0), palettes, tables])
    syntax = frames.column("TransferSyntaxUID")
    table = np.column_stack([numbers, factorize(photo)[0], factorize(syntax)[0]])
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
            modality_lut_bits=int(numbers[i, 9]),
        )
        for i in first
    ]
    return formats, codes


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


@dataclass
class Layout:
    """The frames of a series placed on a grid, and what reading them needs.

    Attributes
    ----------
    frames : Frames
        The frames (of one geometry group).
    grid : Grid
        Where each goes.
    formats : list of PixelFormat
        The distinct pixel formats; ``which`` gives each frame's.
    slopes, intercepts : numpy.ndarray
        Per frame, the rescale to physical units.
    dtype : numpy.dtype
        Of the values (see :func:`~._read.output_dtype`; a float type when
        the grid has holes).
    """

    frames: Frames
    grid: Grid
    formats: list[_files.PixelFormat]
    which: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    dtype: np.dtype

    @property
    def frame_at(self) -> np.ndarray:
        """Per flat grid point, its frame (-1 for a hole)."""
        return self.grid.frame_at()

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.formats[0].frame_shape

    def paths(self) -> np.ndarray:
        """Per frame, the absolute path of its file (a RemoteFile for a remote store's object)."""
        return self.frames.index.locations(self.frames.column("_path").tolist())

    def refs(self) -> list[FrameRef]:
        """Per frame, where it is read from (see :data:`~._read.FrameRef`)."""
        table = self.frames.table
        return frame_refs(
            self.paths(),
            table["_frame"],
            table["_offset"],
            table["_nbytes"],
            [self.formats[w] for w in self.which],
            self.slopes,
            self.intercepts,
            table["_size"],
            table["_mtime"],
            self.frames.column("SOPInstanceUID"),
        )

    def instance_uids(self) -> np.ndarray:
        """The SOPInstanceUID of the frame at each grid point (``""`` at holes), grid-shaped."""
        frame_at = self.frame_at
        present = frame_at >= 0
        uids = np.full(self.grid.size, "", dtype=object)
        uids[present] = _instance_uids(self.frames)[frame_at[present]]
        return uids.astype(str).reshape(self.grid.shape)


def layout(
    index: Index,
    rows: np.ndarray,
    dims: Sequence[str] | None,
    *,
    fill: bool = False,
    repeats: bool = False,
    group: tuple[Any, ...] | None = None,
) -> Layout:
    """The frames of the instances at ``rows``, placed on the grid of ``dims``.

    ``dims=None`` chooses them (:func:`_auto_dims`; none with ``repeats``);
    ``repeats=True`` enumerates frames sharing a grid point along a last dim
    ``n`` (by InstanceNumber, then frame number: the numpy API); ``group``
    selects one key of :func:`~._frames.geometry_groups`, which must
    otherwise be one. See :meth:`dbdicom.Series.to_xarray` for the errors.
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
    elif len({key[:3] for key in groups}) > 1:  # (spacings alone stack: with no affine)
        listed = "; ".join(group_text(k, len(v)) for k, v in groups.items())
        raise GeometryError(
            f"the frames have {len(groups)} different sizes or orientations, which cannot "
            f"be stacked: {listed}. Use series.to_xarrays(dims) for one DataArray per group."
        )
    given: dict[str, np.ndarray] = {}
    if dims is not None:
        dims = _check_dims(dims, frames)
        given = {**_component_values(frames, dims), **_index_values(frames, dims)}
    elif repeats:
        dims = []
    else:
        dims, given = _default_dims(frames)
    order = None
    if repeats:
        order = frames.number("InstanceNumber", 0) * 1e6 + frames.table["_frame"]
    grid = make_grid(
        _dim_values(frames, dims, given),
        len(frames),
        repeats=order,
        fill=fill,
        describe=frames.describe,
        suggest=lambda at: _distinguish(frames, at),
    )
    formats, which = _pixel_formats(frames)
    tables = np.array([f.modality_lut_bits > 0 for f in formats], dtype=bool)[which]
    _refuse_unreadable_scales(frames, tables)
    # an RT Dose's values are its stored values times its DoseGridScaling (it has no rescale)
    slopes = frames.number("RescaleSlope", 1.0) * frames.number("DoseGridScaling", 1.0)
    intercepts = frames.number("RescaleIntercept", 0.0)
    if tables.any():  # the table makes the values physical, not a rescale (as pydicom)
        slopes, intercepts = np.where(tables, 1.0, slopes), np.where(tables, 0.0, intercepts)
    dtype = np.result_type(
        *[
            output_dtype(f, slopes[which == i], intercepts[which == i])
            for i, f in enumerate(formats)
        ]
    )
    if (grid.frame_at() < 0).any() and dtype.kind != "f":
        dtype = np.result_type(dtype, np.float32)
    return Layout(frames, grid, formats, which, slopes, intercepts, np.dtype(dtype))


#: the tags that make stored values physical ones, as the index's problems name them
_SCALES = tuple(_files.SCALES.values())


def _refuse_unreadable_scales(frames: Frames, tables: np.ndarray) -> None:
    """A :class:`~dbdicom.InvalidFileError` where a frame's rescale or dose scaling cannot be read.

    Read as no value, it would be taken as 1 (or 0), and the stored values
    given as physical ones: a wrong number, worse than an error. Frames a
    Modality LUT Sequence makes physical do not use them.
    """
    warnings = frames.column("_warning")
    for k, text in enumerate(warnings):
        if text and not tables[k]:
            found = [line for line in str(text).splitlines() if line.startswith(_SCALES)]
            if found:
                raise InvalidFileError(
                    f"{frames.describe(np.array([k]))}: {found[0]}, so its stored values "
                    "cannot be made physical ones (rescale, dose scaling). Set the right "
                    "value (instance.RescaleSlope = ..., or DoseGridScaling), or remove the "
                    "file from the series (instance.remove())."
                )
