"""The frames of some instances, with per-frame values computed once each.

Values come from the index columns as numpy arrays where they can (no
Python conversion per frame: building a DataArray must cost milliseconds per
thousand frames), and from the per-frame table of enhanced multi-frame files
or the files themselves (tags not indexed) otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._geometry import slice_position
from .._index import (
    JOINED,
    NUMERIC_VRS,
    TAGS,
    VECTORS,
    Index,
    cell_value,
    factorize,
    to_plain,
    vr_of,
)
from ._affine import ORIENTATION_TOLERANCE, SPACING_TOLERANCE
from ._table import FRAME, frame_table, frame_values, has_image, to_coordinate

__all__ = ["DATE_OF", "DAY", "Frames", "geometry_groups", "group_text", "near_rows", "row_codes"]

_NUMERIC = frozenset(k for k in TAGS if vr_of(k) in NUMERIC_VRS and k not in VECTORS)
TEXT = frozenset(k for k in TAGS if k not in _NUMERIC and k not in VECTORS)


#: the date of each time of day (VR TM) that has one (the writer's pairs too:
#: see :mod:`._day_times`)
DATE_OF = {
    "AcquisitionTime": "AcquisitionDate",
    "ContentTime": "ContentDate",
    "SeriesTime": "SeriesDate",
}
#: seconds in a day
DAY = 86400.0


#: frames of one stored SliceLocation further apart than this (mm) are different slices
APART = 0.01


def _merges_apart(stored: np.ndarray, along: np.ndarray) -> bool:
    """Whether frames of one ``stored`` value lie more than :data:`APART` apart ``along``.

    Examples
    --------
    >>> _merges_apart(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.5, 1.0, 1.5]))
    True
    >>> _merges_apart(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    False
    """
    groups, inverse = np.unique(stored.round(4), return_inverse=True)
    low = np.full(len(groups), np.inf)
    high = np.full(len(groups), -np.inf)
    np.minimum.at(low, inverse, along)
    np.maximum.at(high, inverse, along)
    return bool((high - low > APART).any())


class Frames:
    """The frames of the instances at index positions ``rows``.

    Instances without an image (:func:`has_image`) have no frame: their
    index positions are ``left_out``.
    """

    def __init__(self, index: Index, rows: np.ndarray) -> None:
        self.index = index
        self.left_out = rows[~has_image(index, rows)]
        self.table = frame_table(index, rows)
        self.rows = self.table["_row"]
        self.per_frame = bool((self.table["_fpos"] >= 0).any())
        self._raw: dict[str, list[Any]] = {}
        self._coord: dict[str, np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        """An index column at each frame: floats, or objects (str/None) for text."""
        if name not in self._columns:
            self._columns[name] = self.index.array(name, self.rows)
        return self._columns[name]

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, keep: np.ndarray) -> Frames:
        """The frames at positions ``keep``."""
        sub = Frames.__new__(Frames)
        sub.index = self.index
        sub.left_out = self.left_out
        sub.table = {k: v[keep] for k, v in self.table.items()}
        sub.rows = self.rows[keep]
        sub.per_frame = self.per_frame
        sub._raw = {k: [v[int(i)] for i in keep] for k, v in self._raw.items()}
        sub._coord = {k: v[keep] for k, v in self._coord.items()}
        sub._columns = {k: v[keep] for k, v in self._columns.items()}
        return sub

    def _from_index(self, keyword: str) -> bool:
        """Whether the index columns alone give this tag's value at every frame."""
        if keyword == FRAME:
            return False
        if self.per_frame:
            cols = self.index.frames.columns
            if keyword in cols or f"{keyword}[0]" in cols:
                return False
        return keyword in TAGS

    def raw(self, keyword: str, read: bool = True) -> list[Any]:
        """Per-frame plain Python values; ``read=False`` reads no file for a tag not indexed."""
        if keyword not in self._raw:
            values = frame_values(self.index, self.table, keyword, read=read)
            if keyword == "SliceLocation":
                values = self._own_locations(values)
            self._raw[keyword] = values
        return self._raw[keyword]

    def _own_locations(self, values: list[Any]) -> list[Any]:
        """The frames' SliceLocations: stored, or their positions along the normal.

        The positions replace the stored values for every frame where some
        frame has none (enhanced, oblique...: a stored value may be from a
        landmark, another scale), where several frames have one value while
        their positions are slices apart (an exporter's constant 0), and
        where frames of one value lie apart (a location rounded to whole mm
        for slices 0.5 mm apart): those values are not the slices' own.
        """
        known = [float(v) for v in values if v is not None]
        if len(known) == len(values) and len({round(v, 4) for v in known}) == len(known):
            return values  # one value per frame: nothing merged, nothing missing
        ipp = self.raw("ImagePositionPatient")
        iop = self.raw("ImageOrientationPatient")
        computed = [
            slice_position(p, o) if p and o else None for p, o in zip(ipp, iop, strict=True)
        ]
        if None in values or (self._one_location(values) and not self._one_location(computed)):
            return computed
        if None not in computed and _merges_apart(np.array(known), np.array(computed)):
            return computed
        return values

    def _merged_in_index(self, stored: np.ndarray) -> bool:
        """Whether frames of one indexed SliceLocation lie apart (see :meth:`_own_locations`).

        Vectorised over the index columns where they give every frame's
        position; where they cannot, any repeated value sends the question
        to :meth:`raw`.
        """
        if len(np.unique(stored.round(4))) == len(stored):
            return False
        if not (
            self._from_index("ImagePositionPatient") and self._from_index("ImageOrientationPatient")
        ):
            return True
        ipp = np.column_stack([self.column(f"ImagePositionPatient[{i}]") for i in range(3)])
        iop = np.column_stack([self.column(f"ImageOrientationPatient[{i}]") for i in range(6)])
        normal = np.cross(iop[:, :3], iop[:, 3:])
        along = np.einsum("ij,ij->i", ipp, normal)
        return not np.isnan(along).any() and _merges_apart(stored, along)

    @staticmethod
    def _one_location(values: list[Any]) -> bool:
        """Whether several frames have one SliceLocation (an exporter's constant 0).

        Where their positions are slices apart, the stored value is not
        theirs: the position along the normal is, as where none is stored.
        """
        found = {round(float(v), 4) for v in values if v is not None}
        return len(values) > 1 and len(found) == 1 and None not in values

    def value_at(self, keyword: str, k: int) -> Any:
        """The value of one frame (without computing the others)."""
        if keyword in self._raw or not self._from_index(keyword):
            return self.raw(keyword)[k]
        if keyword in VECTORS:
            cells = [self.column(f"{keyword}[{i}]")[k] for i in range(VECTORS[keyword])]
            return None if np.isnan(cells[0]) else tuple(float(c) for c in cells)
        if keyword in self.index.extra_columns():
            return cell_value(self.index.frame, int(self.rows[k]), keyword)
        return to_plain(self.column(keyword)[k], keyword)

    def coordinate(self, keyword: str) -> np.ndarray:
        """Per-frame values as a coordinate array (see :func:`to_coordinate`)."""
        if keyword not in self._coord:
            arr = None
            if keyword in _NUMERIC and self._from_index(keyword):
                arr = self.column(keyword)
                if keyword == "SliceLocation" and (
                    np.isnan(arr).any()
                    or self._one_location(arr.tolist())
                    or self._merged_in_index(arr)
                ):
                    arr = None  # computed where not stored, or not the slices' own (see raw)
            elif keyword in TEXT and self._from_index(keyword):
                text: list[Any] = [v if isinstance(v, str) else None for v in self.column(keyword)]
                if keyword in JOINED:
                    text = [tuple(v.split("\\")) if v and "\\" in v else v for v in text]
                arr = to_coordinate(text, keyword)
            elif keyword in VECTORS and self._from_index(keyword):
                cols = [f"{keyword}[{i}]" for i in range(VECTORS[keyword])]
                block = np.column_stack([self.column(c) for c in cols])
                arr = np.empty(len(block), dtype=object)
                arr[:] = [None if r[0] != r[0] else tuple(r) for r in block.tolist()]
            if arr is None:
                arr = to_coordinate(self.raw(keyword), keyword)
            if keyword in DATE_OF and arr.dtype.kind == "f":
                arr = self._past_midnight(arr, DATE_OF[keyword])
            self._coord[keyword] = arr
        return self._coord[keyword]

    def _past_midnight(self, seconds: np.ndarray, date: str) -> np.ndarray:
        """Times of a series acquired across midnight, those of its second day counted on.

        23:59:50 of one day then comes before 00:00:10 of the next (86410 s),
        and ``% 86400`` gives the time of day again, as the writer does. Only
        where the dates are two days in a row and every time of the second
        is earlier than those of the first: dates that differ otherwise (one
        file's date wrong) leave the times of day as they are.
        """
        dates = self.coordinate(date)
        if dates.dtype.kind != "M":
            return seconds
        known = ~np.isnat(dates) & ~np.isnan(seconds)
        if not known.any():
            return seconds
        days = (dates[known] - dates[known].min()).astype("timedelta64[D]").astype(float)
        later = days == 1.0
        if not later.any() or (days > 1.0).any():
            return seconds
        times = seconds[known]
        if times[later].max() >= times[~later].min():  # no wrap past midnight
            return seconds
        out = seconds.copy()
        out[known] += days * DAY
        return out

    def absent(self, keyword: str) -> np.ndarray:
        """Per frame, whether it has no value of the tag."""
        arr = self.coordinate(keyword)
        if arr.dtype.kind == "f":
            return np.isnan(arr)
        if arr.dtype.kind == "M":
            return np.isnat(arr)
        if arr.dtype.kind == "U":
            return arr == ""
        return np.array([v is None for v in arr], dtype=bool)

    def number(self, keyword: str, default: float) -> np.ndarray:
        """A numeric tag per frame as float64, ``default`` where absent."""
        arr = self.coordinate(keyword)
        if arr.dtype.kind != "f":
            arr = np.array([default if v is None else v for v in self.raw(keyword)], float)
        return np.where(np.isnan(arr), default, arr)

    def constant(self, keyword: str) -> bool | None:
        """Whether the tag has one value at all frames (None: cannot tell cheaply)."""
        if not self._from_index(keyword):
            return None
        if keyword in VECTORS:
            block = np.column_stack(
                [self.column(f"{keyword}[{i}]") for i in range(VECTORS[keyword])]
            )
            return bool(np.all((block == block[:1]) | (np.isnan(block) & np.isnan(block[:1]))))
        if keyword in self.index.extra_columns():
            return None
        arr = self.column(keyword)
        if arr.dtype.kind == "f":
            return bool(np.all((arr == arr[0]) | (np.isnan(arr) & np.isnan(arr[0]))))
        return bool((arr == arr[0]).all())

    def describe(self, frames: np.ndarray) -> str:
        """The files of some frames, for error messages."""
        paths = self.table["_path"][frames]
        names = list(dict.fromkeys(str(p) for p in paths))
        text = ", ".join(names[:3])
        return text + (f" and {len(names) - 3} more files" if len(names) > 3 else "")


def geometry_groups(frames: Frames) -> dict[tuple[Any, ...], np.ndarray]:
    """Frames grouped by image size, orientation and pixel spacing.

    Orientations and spacings are grouped by closeness, not rounded: cosines
    a rounding boundary apart (0.99994999 and 0.99995001) are one
    orientation, as for the affine (:data:`._affine.ORIENTATION_TOLERANCE`,
    :data:`._affine.SPACING_TOLERANCE`). A key is ``(rows, columns,
    cosines, spacing)``, the last two None where frames have none.
    """
    rows = frames.number("Rows", 0)
    cols = frames.number("Columns", 0)
    orient = _vectors(frames, "ImageOrientationPatient", 6)
    spacing = _vectors(frames, "PixelSpacing", 2)
    orient = near_rows(np.nan_to_num(orient, nan=9.0), ORIENTATION_TOLERANCE)
    spacing = near_rows(np.nan_to_num(spacing, nan=-1.0), SPACING_TOLERANCE)
    table = np.column_stack([rows, cols, orient, spacing])
    inverse, first = row_codes(table)
    out: dict[tuple[Any, ...], np.ndarray] = {}
    for i, k in enumerate(first):
        row = table[k]
        o = None if (row[2:8] == 9.0).all() else tuple(float(x) for x in row[2:8])
        d = None if (row[8:] == -1.0).all() else tuple(float(x) for x in row[8:])
        out[(int(row[0]), int(row[1]), o, d)] = np.flatnonzero(inverse == i)
    return out


def _vectors(frames: Frames, keyword: str, n: int) -> np.ndarray:
    """Per frame, the ``n`` values of ``keyword`` (NaN where a frame has none)."""
    if frames._from_index(keyword):
        names = [f"{keyword}[{i}]" for i in range(n)]
        return np.column_stack([frames.column(c) for c in names]).astype(float)
    values = frames.raw(keyword)
    return np.array([v if v else [np.nan] * n for v in values], float).reshape(-1, n)


def near_rows(values: np.ndarray, tolerance: float) -> np.ndarray:
    """``values`` (2-D) with each row replaced by the first row within ``tolerance`` of it.

    Rows that differ by no more than ``tolerance`` in any column (from the
    first of their group) become that first row, whatever rounding boundary
    lies between them.

    Examples
    --------
    >>> near_rows(np.array([[0.99994999], [0.99995001], [0.5]]), 1e-4).tolist()
    [[0.99994999], [0.99994999], [0.5]]
    """
    if not len(values) or (np.ptp(values, axis=0) <= tolerance).all():
        return np.broadcast_to(values[:1], values.shape).copy() if len(values) else values
    distinct, inverse = np.unique(values, axis=0, return_inverse=True)
    first = np.argsort(np.unique(inverse.ravel(), return_index=True)[1], kind="stable")
    chosen: list[np.ndarray] = []  # the distinct rows in order of first appearance, grouped
    of = np.empty(len(distinct), dtype=np.int64)
    for d in first:
        near = [j for j, c in enumerate(chosen) if np.abs(c - distinct[d]).max() <= tolerance]
        if not near:
            chosen.append(distinct[d])
        of[d] = near[0] if near else len(chosen) - 1
    return np.array(chosen)[of[inverse.ravel()]]


def row_codes(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct rows of a 2-D array, and the first row of each code.

    The codes come from hashing the rows, not sorting them.

    Examples
    --------
    >>> codes, first = row_codes(np.array([[1, 2], [3, 4], [1, 2]]))
    >>> codes.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    code = np.zeros(len(table), dtype=np.int64)
    if len(table) and (table == table[:1]).all():  # the usual case: one kind of row
        return code, np.zeros(1, dtype=np.int64)
    for column in table.T:
        c, u = factorize(column)
        code = factorize(code * (len(u) + 1) + c)[0]
    _, first = np.unique(code, return_index=True)
    return code, first


def group_text(key: tuple[Any, ...], n: int) -> str:
    """A group of :func:`geometry_groups` in words."""
    rows, cols, orient, spacing = key
    plane = "no orientation"
    if orient:
        normal = np.abs(np.cross(orient[:3], orient[3:]))
        plane = ("sagittal", "coronal", "axial")[int(np.argmax(normal))]
        plane = f"{plane} {[round(c, 4) for c in orient]}"  # (grouped within 1e-4)
    pixels = f", pixels {round(spacing[0], 4)} x {round(spacing[1], 4)} mm" if spacing else ""
    return f"{n} frame{'s' if n != 1 else ''} of {rows}x{cols}, {plane}{pixels}"
