"""Where the frames of a write lie: the slice spacing and count their headers say.

A source's SpacingBetweenSlices (or an attr's, kept by xarray) is untrue of
frames that do not lie as their sources did: every second slice
(``da.thin(SliceLocation=2)``), a selection, an interpolation, a
reversal. So, once per write, the writer works out where each frame will
lie -- its ImagePositionPatient and ImageOrientationPatient as its header
will hold them: the array's coordinates, else its ``affine``, else its
attrs (not for frames made from the template, which are stacked), else its
source frames' (their centre, for several), else the template's stack --
and gives the header plans (:meth:`~dbdicom._dataset.PlanBuilder.slices`)
the step of the grid they lie on along their normal (None where there is
none: one slice, uneven gaps, frames whose place is not known) and the
number of slices (:func:`~dbdicom._geometry.normal_grid`), and the slice
each frame lies in (:func:`~dbdicom._geometry.slice_numbers`), for the
counts the headers say (NumberOfSlices, ImageIndex...: see
:class:`~dbdicom._dataset._counts.Counts`). :func:`temporal_positions`
gives the TemporalPositionIdentifier of each frame, for the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import FrameTags, frames_of
from .._dataset import PlanBuilder, Source
from .._geometry import normal_grid, slice_numbers
from .._index import is_among
from ._record import Record

__all__ = ["temporal_positions", "written_slices"]

_SIZES = {"ImagePositionPatient": 3, "ImageOrientationPatient": 6}


def written_slices(
    series: Record, da: Any, tags: FrameTags, groups: list[list[Source]], planner: PlanBuilder
) -> tuple[float | None, int, np.ndarray]:
    """The step between the slices the frames of ``da`` lie on, their number, each frame's slice.

    See the module notes and :func:`~dbdicom._geometry.normal_grid`;
    ``groups``: the source frames of each frame (C order), ``planner``: the
    write's, whose template stacks the frames without a place.
    """
    positions = tags.numbers("ImagePositionPatient", 3)
    orientations = tags.numbers("ImageOrientationPatient", 6)
    new = np.array([not group for group in groups], dtype=bool)
    _from_attrs(da, "ImageOrientationPatient", orientations, np.ones(len(groups), bool))
    _from_attrs(da, "ImagePositionPatient", positions, ~new)  # the template's are stacked
    todo = np.isnan(positions).any(axis=1) | np.isnan(orientations).any(axis=1)
    if (todo & ~new).any():
        _from_sources(series, groups, todo & ~new, positions, orientations)
    if (todo & new).any():
        _stacked(da, tags, todo & new, planner, positions, orientations)
    return (*normal_grid(positions, orientations), slice_numbers(positions, orientations))


def temporal_positions(
    series: Record, da: Any, tags: FrameTags, groups: list[list[Source]]
) -> tuple[list[float | None], bool]:
    """The TemporalPositionIdentifier of each frame of ``da`` (C order), and whether the user's.

    The user's: a coordinate's, else an attr's; else the one its source
    frames (``groups``) share (None: none, or they differ). A coordinate
    that gives each frame its sources' value (as ``to_xarray`` gives it) is
    theirs, not the user's: it is renumbered as theirs is.
    """
    keyword = "TemporalPositionIdentifier"
    if keyword in da.attrs and keyword not in da.coords:
        value = _numbers(da.attrs[keyword], 1)
        return [None if value is None else float(value[0])] * len(groups), True
    theirs = _source_positions(series, groups, keyword)
    if keyword in da.coords:
        found = [tags.values(index).get(keyword) for index in frames_of(da)]
        given = [None if v is None or v != v else float(v) for v in found]
        return given, given != theirs
    return theirs, False


def _source_positions(
    series: Record, groups: list[list[Source]], keyword: str
) -> list[float | None]:
    """The value of ``keyword`` each frame's sources share (None: none, or they differ)."""
    # by file, not by SOPInstanceUID (files that share one: see _from_sources)
    here = str(series._db._path)  # another database's files may have these names (a review)
    rels = {str(s.rel) for group in groups for s in group if s.dataset is None and s.root == here}
    held: dict[str, Any] = {}
    if rels and keyword in series._db.index.frame.columns:
        index = series._db.index
        ok = index.ok
        rows = ok[is_among(index.array("_path", ok), rels)]
        keys = index.array("_path", rows).tolist()
        held = dict(zip(keys, index.values(rows, keyword), strict=True))
    out: list[float | None] = []
    for group in groups:
        shared: set[float | None] = set()
        for source in group:
            value = source.dataset.get(keyword) if source.dataset is not None else None
            mine = source.root == here
            number = _numbers(held.get(str(source.rel)) if value is None and mine else value, 1)
            shared.add(None if number is None or number[0] != number[0] else float(number[0]))
        out.append(shared.pop() if len(shared) == 1 else None)
    return out


def _numbers(value: Any, n: int) -> np.ndarray | None:
    """``n`` numbers (a sequence, or text joined by backslashes), else None."""
    if isinstance(value, str):
        value = value.split("\\")
    try:
        numbers = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return numbers if numbers.size == n else None


def _from_attrs(da: Any, keyword: str, out: np.ndarray, where: np.ndarray) -> None:
    """The attr ``keyword`` in the rows of ``out`` (``where``) that have none."""
    value = da.attrs.get(keyword)
    numbers = None if value is None else _numbers(value, out.shape[1])
    if numbers is not None:
        empty = np.isnan(out).any(axis=1) & where
        out[empty] = numbers


def _from_sources(
    series: Record,
    groups: list[list[Source]],
    todo: np.ndarray,
    positions: np.ndarray,
    orientations: np.ndarray,
) -> None:
    """The place of the frames ``todo`` from their source frames (from the index, or given headers).

    A frame of several sources lies at their centre where they share an
    orientation (none where they do not: the writer leaves it empty); the
    frames of a multi-frame source are not looked up (no place).
    """
    index = series._db.index
    # by file, not by SOPInstanceUID: files that share one can lie at different places
    here = str(series._db._path)  # another database's files may have these names (a review)
    rels = {
        str(s.rel)
        for k in np.flatnonzero(todo)
        for s in groups[k]
        if s.dataset is None and s.root == here
    }
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if rels:
        ok = index.ok
        rows = ok[is_among(index.array("_path", ok), rels)]
        keys = index.array("_path", rows).tolist()
        names = set(index.frame.columns)
        columns = {}
        for keyword, n in _SIZES.items():
            parts = [f"{keyword}[{i}]" for i in range(n)]
            if all(p in names for p in parts):
                columns[keyword] = np.column_stack([index.array(p, rows) for p in parts])
            else:
                columns[keyword] = np.full((len(rows), n), np.nan)
        for j, rel in enumerate(keys):
            found[str(rel)] = (
                columns["ImagePositionPatient"][j],
                columns["ImageOrientationPatient"][j],
            )
    for k in np.flatnonzero(todo):
        places = [_source_place(s, found, here) for s in groups[k]]
        place = np.stack(places) if places else np.full((1, 9), np.nan)
        if np.abs(place[:, 3:] - place[0, 3:]).max(initial=0.0) > 1e-6:
            place = np.full((1, 9), np.nan)  # orientations differ: emptied, no place
        if np.isnan(positions[k]).any():
            positions[k] = place[:, :3].mean(axis=0)
        if np.isnan(orientations[k]).any():
            orientations[k] = place[0, 3:]


def _source_place(
    source: Source, found: dict[str, tuple[np.ndarray, np.ndarray]], here: str
) -> np.ndarray:
    """A source frame's position and orientation (9 numbers; NaN: not known).

    ``found``: by file of the database at ``here``.
    """
    if source.frame is not None:  # a frame of a multi-frame file: its groups not looked up
        return np.full(9, np.nan)
    if source.dataset is not None:
        ds = source.dataset
        position = _numbers(ds.get("ImagePositionPatient"), 3)
        orientation = _numbers(ds.get("ImageOrientationPatient"), 6)
        return np.concatenate(
            [
                position if position is not None else np.full(3, np.nan),
                orientation if orientation is not None else np.full(6, np.nan),
            ]
        )
    none = (np.full(3, np.nan), np.full(6, np.nan))
    position, orientation = found.get(str(source.rel), none) if source.root == here else none
    return np.concatenate([position, orientation])


def _stacked(
    da: Any,
    tags: FrameTags,
    todo: np.ndarray,
    planner: PlanBuilder,
    positions: np.ndarray,
    orientations: np.ndarray,
) -> None:
    """The place of the frames ``todo`` made from the template: stacked as the plan stacks them."""
    template = planner.template.dataset
    for k, index in enumerate(frames_of(da)):
        if not todo[k]:
            continue
        values = tags.values(index)
        if np.isnan(positions[k]).any():
            stacked = planner.template.stack(tags.stack_index(index), values)
            positions[k] = stacked["ImagePositionPatient"]
        if np.isnan(orientations[k]).any():
            orientations[k] = np.asarray(template.ImageOrientationPatient, dtype=float)
