"""Which dims a series' frames are placed along: given (checked) or chosen.

:func:`choose_dims` is the one home of the rules that pick the dims where
none are given: an enhanced file's own Dimension Index
(:mod:`._dimension_index`), a diffusion series' volumes
(:mod:`._diffusion`), else the tags of :data:`AUTO_DIMS` that put every
frame at its own grid point (:func:`_auto_dims`), then a cine's phases
(:func:`cardiac_phases`) or ``frame`` where frames still share a point;
:func:`dim_values` gives each dim's value at every frame, for
:func:`~._layout.layout`'s grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import GridError, InvalidValueError
from .._index import LEVEL_TAGS, check_tag, factorize
from ._diffusion import DIFFUSION, Diffusion, find_diffusion, volume_numbers
from ._dimension_index import CARDIAC_PHASE, INDEX_DIMS, IndexDims, index_dims
from ._frames import Frames
from ._plain import split_component
from ._table import FRAME

__all__ = [
    "AUTO_DIMS",
    "INSTANCE_TAGS",
    "STACK_ID",
    "as_dims",
    "choose_dims",
    "dim_values",
    "distinguish",
]

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
#: the stack of a frame: a dim where two stacks share their positions (see _stacks_tell_apart)
STACK_ID = "StackID"

INSTANCE_TAGS = [
    t for t in LEVEL_TAGS["instance"] if t not in ("SOPInstanceUID", "SpecificCharacterSet")
]
#: series attributes that may differ among the files of one SeriesInstanceUID (two
#: acquisitions sent as one series): they tell its frames apart, and say so in messages
SERIES_TAGS = [t for t in LEVEL_TAGS["series"] if t != "SeriesInstanceUID"]


def distinguish(frames: Frames, at: np.ndarray) -> list[str]:
    """Tags whose values differ among the frames ``at`` (candidates for a further dim)."""
    out = []
    for keyword in (*AUTO_DIMS, "InstanceNumber", *SERIES_TAGS):
        values = [frames.raw(keyword)[int(k)] for k in at]
        if None not in values and len({repr(v) for v in values}) == len(values):
            out.append(keyword)
    return out


def _varying(frames: Frames) -> str:
    """The tags that vary among the frames, with their number of values (for messages).

    Those of :data:`AUTO_DIMS` first, then the other instance tags
    (InstanceNumber, positions...), so that a refusal never says that
    nothing varies while something does; then the series attributes
    (:data:`SERIES_TAGS`), with the way to split the series by one.
    """
    parts, split = [], ""
    for keyword in dict.fromkeys((*AUTO_DIMS, *INSTANCE_TAGS, *SERIES_TAGS)):
        distinct = {repr(v) for v in frames.raw(keyword) if v is not None}
        if len(distinct) > 1:
            parts.append(f"{keyword} ({len(distinct)} values)")
            if keyword in SERIES_TAGS and not split:
                split = (
                    f" ({keyword} is a series attribute: the files may be of several series "
                    f"sent under one SeriesInstanceUID; series.subseries({keyword}=...) makes "
                    "a series of each)"
                )
    if parts:
        return ", ".join(parts) + split
    return (
        "none: the frames are alike in every tag that could place them. If they are "
        "copies of one image (database.problems() lists duplicate SOP Instance UIDs), "
        f"keep one. {frames.index.take_out([])}"
    )


def as_dims(dims: str | Iterable[str] | None) -> list[str] | None:
    """``dims`` as a list of names: one name (a ``str``, as xarray takes it) is a list of one.

    Every method that takes ``dims=`` comes here (through
    :func:`choose_dims`), so that ``dims="SliceLocation"`` is never read
    letter by letter. Any other iterable of names (a list, a tuple, a numpy
    array, a ``pd.Index``, ``dict.keys()``) gives its names, as ``str``.

    Examples
    --------
    >>> as_dims("SliceLocation"), as_dims(("SliceLocation", "FlipAngle")), as_dims(None)
    (['SliceLocation'], ['SliceLocation', 'FlipAngle'], None)
    >>> as_dims(np.array(["SliceLocation", "FlipAngle"]))
    ['SliceLocation', 'FlipAngle']
    >>> as_dims(5)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: dims must be a DICOM keyword or a list of them (in their ...
    """
    if dims is None:
        return None
    if isinstance(dims, str):
        return [str(dims)]
    example = 'e.g. "SliceLocation" or ["SliceLocation", "FlipAngle"]'
    if not isinstance(dims, Iterable) or isinstance(dims, bytes | Mapping | set | frozenset):
        raise InvalidValueError(
            f"dims must be a DICOM keyword or a list of them (in their order), {example}; "
            f"got {type(dims).__name__} {dims!r}."
        )
    named = list(dims)
    wrong = [d for d in named if not isinstance(d, str)]
    if wrong:
        raise InvalidValueError(
            f"dims are named by DICOM keywords (str), {example}; got {wrong[0]!r} in {named!r}."
        )
    return [str(d) for d in named]


def _check_dims(dims: Sequence[str], frames: Frames) -> list[str]:
    for dim in dims:
        if dim in _RESERVED:
            raise GridError(f"{dim!r} names a pixel or enumeration dim: choose a DICOM keyword")
        if dim in INDEX_DIMS or dim == DIFFUSION:
            continue  # see _index_values and _diffusion_volumes
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


def _default_dims(
    frames: Frames,
) -> tuple[list[str], dict[str, np.ndarray], Diffusion | None]:
    """The dims chosen where none are given, the values of those that are no tags, the b-values.

    The enhanced files' own Dimension Index first (:func:`index_dims`);
    a diffusion series of single-frame files :func:`_diffusion_dims` (its
    b-values the third item); else :func:`_auto_dims`, its ``frame`` made
    ``cardiac_phase`` for a cine (:func:`cardiac_phases`). Where the index and
    the tags both fail, the error says why the index could not place the
    frames.
    """
    found = index_dims(frames)
    if isinstance(found, IndexDims) and found.dims:  # (one frame: no dim, but its slice's)
        return found.dims, found.values, None
    diffusion = None if frames.per_frame else find_diffusion(frames)
    if diffusion is not None:
        return _diffusion_dims(frames, diffusion), {}, diffusion
    try:
        chosen = _auto_dims(frames)
    except GridError as exc:
        if not found:
            raise
        raise GridError(
            f"{exc} Their (0020,9222) Dimension Index Sequence does not place them either: {found}."
        ) from None
    if chosen and chosen[-1] == FRAME:  # several frames at each point of the tags
        phases = cardiac_phases(frames, chosen[:-1])
        if phases is not None:  # a cine whose trigger times differ from slice to slice
            return [*chosen[:-1], CARDIAC_PHASE], {CARDIAC_PHASE: phases}, None
    return chosen, {}, None


def _given_phases(frames: Frames, dims: Sequence[str]) -> np.ndarray:
    """The ``cardiac_phase`` given as a dim of single-frame files (:func:`cardiac_phases`)."""
    others = [d for d in dims if d != CARDIAC_PHASE]
    _no_slices_mixed(frames, dims, CARDIAC_PHASE)
    phases = cardiac_phases(frames, others)
    if phases is None:
        raise GridError(
            f"{CARDIAC_PHASE!r} numbers the phases of a cine by their TriggerTime at each point "
            f"of the other dims {others}, and these frames have none there that do: no "
            "(0018,1090) CardiacNumberOfImages above 1, a frame without a TriggerTime, two "
            "at one time (add the dim that tells them apart, e.g. EchoTime), points with "
            f"other numbers of frames, or phases that do not line up. Tags that vary here: "
            f"{_varying(frames)}."
        )
    return phases


def _cardiac(frames: Frames) -> bool:
    """Whether the frames say they are the phases of a cardiac cycle.

    (0018,1090) CardiacNumberOfImages above 1 in every frame, as scanners
    write it in a cine: a dynamic series, or repeats of a triggered image,
    have trigger times too, and no phases.
    """
    counts = frames.raw("CardiacNumberOfImages")
    return all(isinstance(c, int | float) and c > 1 for c in counts)


def cardiac_phases(frames: Frames, others: Sequence[str]) -> np.ndarray | None:
    """The cardiac phase (1, 2, ...) of each frame of a cine of single-frame files, or None.

    A cine's trigger times often differ a little from slice to slice (each
    slice is acquired a few ms later in the cycle), so that TriggerTime is
    no dim; the frames at each point of the dims ``others`` (a slice) are
    then its phases, in the order of their TriggerTime. None where the
    frames say no cine (:func:`_cardiac`), a frame has no TriggerTime, two
    frames of a point share one, the points have different numbers of
    frames, or the k-th trigger times of the points are further apart than
    half the time between phases (no one phase each).
    """
    if (frames.table["_frame"] > 0).any():
        return None  # multi-frame files: their Dimension Index says (_dimension_index)
    times = frames.coordinate("TriggerTime")
    if times.dtype.kind != "f" or np.isnan(times).any():
        return None
    cell = np.zeros(len(frames), dtype=np.int64)
    for dim in others:
        codes = _codes(frames.coordinate(dim))
        if codes is None:
            return None
        cell = factorize(cell * (int(codes.max()) + 1) + codes)[0]
    counts = np.bincount(cell)
    if (counts != counts[0]).any() or counts[0] < 2:
        return None
    order = np.lexsort((times, cell))
    table = times[order].reshape(len(counts), counts[0])  # a row per point, times ascending
    gaps = np.diff(table, axis=1)
    if (gaps <= 0).any():
        return None  # two frames of one point at one trigger time
    spread = table.max(axis=0) - table.min(axis=0)  # of each phase over the points
    if spread.max() * 2 >= gaps.min() or not _cardiac(frames):  # (the files read last)
        return None
    rank = np.empty(len(frames))
    rank[order] = np.tile(np.arange(1, counts[0] + 1), len(counts))
    return rank


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
    own point. A single frame gets ``SliceLocation`` when it has one. Where
    the kept tags leave several frames at each point and StackID tells them
    apart, it is the last dim (:func:`_stacks_tell_apart`). When
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
    if _stacks_tell_apart(frames, combined):
        return [*chosen, STACK_ID]  # e.g. two stacks at the same positions, written back
    others = {d: frames.coordinate(d) for d in chosen}
    if (counts == counts[0]).all() and _frame_numbers(frames, others) is not None:
        return [*chosen, FRAME]  # e.g. a cine written one instance per frame
    copies, rels = _copies(frames, combined)
    if copies:
        raise GridError(
            f"{copies}: the frames cannot be put on one grid with both. "
            f"{frames.index.take_out(rels)}."
        )
    raise GridError(
        f"no set of tags puts the {n} frames on a full grid.{_crowded(frames, chosen, combined)} "
        f"Tags that vary: {_varying(frames)}. Give the dims explicitly, e.g. "
        "to_xarray(dims=[...], fill=True) for a grid with empty points."
    )


def _crowded(frames: Frames, chosen: list[str], cells: np.ndarray) -> str:
    """The points of the dims ``chosen`` that hold several frames, said (for a refusal).

    Where no tag tells those frames apart (a series merged from two exports of
    one position), dims and fill=True cannot help: the way out is to leave
    frames out.
    """
    counts = np.bincount(cells)
    crowded = np.flatnonzero(counts > 1)
    if not chosen or not len(crowded):
        return ""
    at = np.flatnonzero(cells == crowded[0])
    hint = distinguish(frames, at)
    how = (
        f"they differ in {', '.join(hint)}"
        if hint
        else "no tag tells them apart: leave one of each out (instance.remove(), undone by "
        "database.restore())"
    )
    return (
        f" {len(crowded)} points of {chosen} hold more than one frame (e.g. "
        f"{frames.describe(at)}): {how}."
    )


def _stacks_tell_apart(frames: Frames, cells: np.ndarray) -> bool:
    """Whether (0020,9056) StackID gives the frames of each grid point ``cells`` their own point.

    Single-frame files have no StackID as scanners write them; dbdicom writes
    it where an array has stacks (read from an enhanced file's Dimension
    Index, whose two stacks at one position are told apart by it). It is not
    in the index: the first frame's file is read for it (the value is kept
    for the next time), and the others only where that one has it.
    """
    if (frames.table["_frame"] > 0).any():
        return False  # multi-frame files: their Dimension Index says (_dimension_index)
    if frames.index.values(frames.rows[:1], STACK_ID)[0] is None:
        return False
    codes = _codes(frames.coordinate(STACK_ID))
    if codes is None or int(codes.max()) == 0:
        return False
    stacks = int(codes.max()) + 1
    together = np.unique(cells * stacks + codes)
    return len(together) == len(frames) == len(np.unique(cells)) * stacks  # a full grid


def _copies(frames: Frames, cells: np.ndarray) -> tuple[str, list[str]]:
    """Two files of one SOPInstanceUID whose frames share a grid point, said, and their paths.

    ``("", [])`` when there are none.
    """
    uids = frames.column("SOPInstanceUID")
    numbers = np.asarray(frames.table["_frame"])
    seen: dict[tuple[int, Any, Any], int] = {}
    for k, key in enumerate(zip(cells.tolist(), uids.tolist(), numbers.tolist(), strict=True)):
        if key[1] is None:
            continue
        if key in seen:
            first = seen[key]
            rels = [str(frames.table["_path"][i]) for i in (first, k)]
            return (
                f"{frames.describe(np.array([first]))} and {frames.describe(np.array([k]))} "
                f"hold the same instance (SOPInstanceUID {key[1]}) at the same place"
            ), rels
        seen[key] = k
    return "", []


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
    rank = np.empty(len(cell), dtype=np.int64)  # an index, as frame numbers in a file
    rank[order] = np.arange(len(cell)) - np.repeat(starts, np.diff(np.r_[starts, len(cell)]))
    return rank


def _diffusion_dims(frames: Frames, found: Diffusion) -> list[str]:
    """The default dims of a diffusion series of single-frame files.

    The slices (``SliceLocation``, where there are several) and
    ``diffusion``, the volumes (see :func:`~._diffusion.volume_numbers`).
    Where the standard DiffusionBValue alone tells the volumes apart (one
    b-value each, no direction), the dims :func:`_auto_dims` chooses, as
    before: a DiffusionBValue dim.
    """
    standard = frames.coordinate("DiffusionBValue")
    if np.isnan(found.directions).all() and np.array_equal(standard, found.b_values):
        try:
            auto = _auto_dims(frames)
        except GridError:
            auto = []
        if "DiffusionBValue" in auto:
            return auto
    slices = _codes(frames.coordinate("SliceLocation"))
    several = slices is not None and int(slices.max()) > 0
    return ["SliceLocation", DIFFUSION] if several else [DIFFUSION]


def _diffusion_volumes(
    frames: Frames, dims: Sequence[str], given: dict[str, np.ndarray], found: Diffusion
) -> np.ndarray:
    """The ``diffusion`` of every frame of a diffusion series of single-frame files ``found``.

    Its volume (:func:`~._diffusion.volume_numbers`) among the frames of
    its cell of the other dims.
    """
    cell = np.zeros(len(frames), dtype=np.int64)
    for dim in dims:
        if dim == DIFFUSION:
            continue
        codes = _codes(given[dim] if dim in given else frames.coordinate(dim))
        if codes is None:
            raise GridError(f"some frames of the series have no {dim!r}: no grid of {dims}")
        cell = factorize(cell * (int(codes.max()) + 1) + codes)[0]
    return volume_numbers(frames, cell, found)


def _given_diffusion(frames: Frames, dims: Sequence[str]) -> Diffusion | None:
    """The b-values of a series of single-frame files whose dims given include ``diffusion``.

    None where they do not (or the files are enhanced: their Dimension
    Index numbers the volumes, see :func:`_index_values`).
    """
    if DIFFUSION not in dims:
        return None
    if frames.per_frame:
        index = index_dims(frames)
        if isinstance(index, IndexDims) and DIFFUSION in index.values:
            return None  # the Dimension Index numbers the volumes (_index_values)
    found = find_diffusion(frames)
    if found is None:
        raise GridError(
            f"{DIFFUSION!r} numbers the volumes of a diffusion series, and no frame "
            "of this one has a b-value above 0 ((0018,9087) DiffusionBValue or a "
            "vendor's private tag): choose DICOM keywords as dims"
        )
    _no_slices_mixed(frames, dims, DIFFUSION)
    return found


def _no_slices_mixed(frames: Frames, dims: Sequence[str], dim: str) -> None:
    """Refuse ``dim`` (which ranks the frames of a point) where it would rank several slices."""
    slices = _codes(frames.coordinate("SliceLocation"))
    if "SliceLocation" not in dims and slices is not None and int(slices.max()) > 0:
        raise GridError(
            f"dims {list(dims)}: the frames are at {int(slices.max()) + 1} slice positions, "
            f"which {dim!r} would mix into its points. Add 'SliceLocation' to the dims "
            f"(to_xarray(dims=['SliceLocation', {dim!r}]))."
        )


def dim_values(
    frames: Frames, dims: Sequence[str], given: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The value of each dim at every frame (``frame``: see :func:`_frame_numbers`).

    ``given`` holds those of dims that are not tags (see :func:`index_dims`
    and :func:`_diffusion_volumes`).
    """
    values = {d: given[d] if d in given else frames.coordinate(d) for d in dims}
    if FRAME in values:
        numbers = _frame_numbers(frames, {d: v for d, v in values.items() if d != FRAME})
        if numbers is not None:
            values[FRAME] = numbers
    return values


def choose_dims(
    frames: Frames, dims: str | Sequence[str] | None, repeats: bool
) -> tuple[list[str], dict[str, np.ndarray], Diffusion | None]:
    """The dims (given, checked, or chosen), the values of those that are no tags, the b-values.

    Without dims: none with ``repeats``, else :func:`_default_dims`. The
    values of dims that are no tags (``Keyword[i]``, the Dimension Index's
    ``cardiac_phase``..., a diffusion series' ``diffusion``) are computed
    here; :func:`dim_values` gives every dim's.
    """
    given: dict[str, np.ndarray] = {}
    found: Diffusion | None = None
    dims = as_dims(dims)
    if dims is not None:
        dims = _check_dims(dims, frames)
        found = _given_diffusion(frames, dims)
        given = _component_values(frames, dims)
        if CARDIAC_PHASE in dims and not frames.per_frame:
            given[CARDIAC_PHASE] = _given_phases(frames, dims)
        index_given = [d for d in dims if d not in given and not (found and d == DIFFUSION)]
        given.update(_index_values(frames, index_given))
    elif repeats:
        dims = []
    else:
        dims, given, found = _default_dims(frames)
    if found is not None and DIFFUSION in dims:
        given[DIFFUSION] = _diffusion_volumes(frames, dims, given, found)
    return list(dims), given, found
