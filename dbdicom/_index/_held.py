"""The index's table as held in memory, and its columns as numpy arrays.

A scan makes the table as a :class:`pandas.DataFrame`; a reopen holds the
saved Arrow table instead (:class:`~._arrow.SavedTable`), and a frame is
made of it only when something needs one (a query, ``table()``, a change
of the index): reopening and reading a series' arrays then imports neither
pandas nor anything built on it. Columns are converted to numpy arrays
once and kept until the table or that column changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._facade import pandas as pd
from ._arrow import SavedTable
from ._cells import convert
from ._columns import TAGS, VECTORS, categorize
from ._order import Lookup, series_sort_key
from ._perframe import make_frames_table

__all__ = ["HeldTable"]

#: new columns joined to the frame between two consolidations (pandas warns past 100 blocks)
_LOOSE = 32


class HeldTable:
    """The table of an :class:`~._index.Index` (one row per file), and what is kept of it."""

    def __init__(self) -> None:
        self._absent: tuple[Any, frozenset[str]] | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._lookups: dict[str, Lookup] = {}
        self._columns: dict[str, pd.Series] = {}
        self._extra: tuple[tuple[int, int], frozenset[str]] | None = None
        self._arrays_of: Any = None
        self._loose = 0  # columns added on demand (see add_column)
        # the table: a pandas frame (``frame``), or as a reopen loaded it, Arrow
        # columns (``_saved``) until a frame is needed
        self._frame: pd.DataFrame | None = None
        self._saved: SavedTable | None = None
        self._frames: pd.DataFrame | None = None  # per-frame values; None: none
        self._saved_frames: SavedTable | None = None  # or as loaded, until needed

    def hold(self, saved: SavedTable, frames: SavedTable | None) -> None:
        """Hold a saved table as loaded (and the per-frame values, if any)."""
        self._frame, self._saved = None, saved
        self._frames, self._saved_frames = None, frames
        self._absent = (saved, _absent_tags(saved, set(saved.info["empty_columns"])))

    def array(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """A column of the index as a numpy array (at ``rows`` only, if given).

        Numbers as ``float64``/``int64``; text (and categories) as an object
        array of ``str`` with ``None`` where absent. The whole column is
        converted once and kept until the table or that column changes; a
        few ``rows`` of a column not converted yet are converted alone.
        """
        arr = self._kept().get(name)
        if arr is None and rows is not None and len(rows) * 8 <= self.n_rows:
            return self._convert(name, np.asarray(rows))
        if arr is None:
            arr = self._arrays[name] = self._convert(name, None)
        return arr if rows is None else arr[rows]

    def _convert(self, name: str, rows: np.ndarray | None) -> np.ndarray:
        """Column ``name`` (at ``rows``) as a numpy array: from Arrow while there is no frame."""
        if self._frame is None and self._saved is not None:
            found = self._saved.array(name, rows)
            if found is not None:
                return found
        return convert(self.column(name), rows)

    def sort_key(self, name: str, rows: np.ndarray) -> list[np.ndarray]:
        """The sort keys of column ``name`` at ``rows`` (see :func:`~._order.sort_rows`)."""
        if self._frame is None and self._saved is not None:
            found = self._saved.sort_key(name, rows)
            if found is not None:
                return found
        return series_sort_key(self.column(name), rows)

    @property
    def frame(self) -> pd.DataFrame:
        """The table, one row per file, as a :class:`pandas.DataFrame` (made when first needed).

        After a reopen the index holds the saved Arrow table, and columns
        are read from it (:meth:`array`) until a frame is needed here.
        """
        if self._frame is None:
            saved = self._saved
            assert saved is not None, "the index is neither opened nor scanned"
            self._frame = categorize(saved.frame())
            self._saved = None
            # what was worked out from the Arrow table holds for the frame made of it
            if self._arrays_of is saved:
                self._arrays_of, self._columns = self._frame, {}
            if self._absent is not None and self._absent[0] is saved:
                self._absent = (self._frame, self._absent[1])
        return self._frame

    @frame.setter
    def frame(self, frame: pd.DataFrame) -> None:
        self._frame, self._saved = frame, None

    @property
    def frames(self) -> pd.DataFrame:
        """The per-frame values of enhanced multi-frame files (made empty when none)."""
        if self._frames is None:
            saved = self._saved_frames
            self._frames = make_frames_table([]) if saved is None else saved.frame()
            self._saved_frames = None
        return self._frames

    @frames.setter
    def frames(self, frames: pd.DataFrame) -> None:
        self._frames, self._saved_frames = frames, None

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The words and each row's code (-1: none) of a category column of the Arrow table.

        None once a pandas frame is held (its categories serve), and for
        other columns.
        """
        if self._frame is not None or self._saved is None or name not in self._saved.columns:
            return None
        return self._saved.codes(name)

    def frames_hold(self, keyword: str) -> bool:
        """Whether :attr:`frames` has a column of ``keyword`` (without making the table)."""
        if self._frames is None:
            names = self._saved_frames.columns if self._saved_frames is not None else []
        else:
            names = list(self._frames.columns)
        return keyword in names or f"{keyword}[0]" in names

    def frames_array(self, name: str) -> np.ndarray:
        """Column ``name`` of :attr:`frames` as a numpy array (from Arrow while loaded)."""
        if self._frames is None and self._saved_frames is not None:
            found = self._saved_frames.array(name, None)
            if found is not None:
                return found
        return convert(self.frames[name], None)

    @property
    def n_frames(self) -> int:
        """Rows of :attr:`frames`, without making an empty table."""
        if self._frames is None:
            return 0 if self._saved_frames is None else len(self._saved_frames)
        return len(self._frames)

    @property
    def n_rows(self) -> int:
        """Rows of the table (files)."""
        return len(self._saved) if self._frame is None and self._saved else len(self.frame)

    @property
    def names(self) -> list[str]:
        """The columns of the table."""
        if self._frame is None and self._saved is not None:
            return self._saved.columns
        return list(self.frame.columns)

    def holds(self, name: str) -> bool:
        """Whether the table has a column ``name``.

        ``name in names`` made the list of every column first (~0.2 ms once a
        pandas frame is held, twice per series line of ``print()``).
        """
        if self._frame is None and self._saved is not None:
            return self._saved.table.schema.get_field_index(name) >= 0
        return name in self.frame.columns

    def _data(self) -> Any:
        """The table as held now: the frame, or the Arrow table (see :attr:`frame`)."""
        return self._frame if self._frame is not None else self._saved

    def column(self, name: str) -> pd.Series:
        """``frame[name]``, kept until the table or that column changes.

        (pandas makes a new Series at each ``frame[name]``: ~20 us, which a
        build of a DataArray paid a hundred times.)
        """
        found = self._columns.get(name) if self._arrays_of is self._frame else None
        if found is None:
            found = self.frame[name]
            self._kept()
            self._columns[name] = found
        return found

    def _kept(self) -> dict[str, np.ndarray]:
        """The arrays kept for the current table (all dropped when the table is new)."""
        data = self._data()
        if self._arrays_of is not data:
            self._arrays, self._lookups, self._columns = {}, {}, {}
            self._arrays_of = data
        return self._arrays

    def lookup(self, name: str) -> Lookup:
        """The rows of each value of the text column ``name`` (a hash table, kept)."""
        self._kept()
        found = self._lookups.get(name)
        if found is None:
            found = self._lookups[name] = Lookup(self.column(name))
        return found

    def put_column(self, name: str, values: pd.Series) -> None:
        """Set column ``name`` (a tag read on demand), without fragmenting the frame.

        ``frame[name] = ...`` makes a block per column set: after a hundred,
        every row operation walks them all (pandas' PerformanceWarning). A new
        column is joined instead (no copy under pandas 3's copy on write; pandas
        2 copies the frame, once a new column), and every
        :data:`_LOOSE` columns set the frame is consolidated once (one copy).
        What is kept of the other columns stays valid: their values are the same.
        """
        old = self.frame
        self._loose += 1
        if name in old.columns:
            old[name] = values
            new = old.copy() if self._loose % _LOOSE == 0 else old  # copy(): blocks merged
        else:
            base = old.copy() if self._loose % _LOOSE == 0 else old
            new = pd.concat([base, values.rename(name).to_frame()], axis=1)
        self._frame = new
        if self._arrays_of is old:
            self._arrays_of = new
        if self._absent is not None and self._absent[0] is old:
            self._absent = (new, self._absent[1])
        self._forget(name)

    def _forget(self, name: str) -> None:
        """Drop what is kept of column ``name`` (it changed)."""
        self._arrays.pop(name, None)
        self._lookups.pop(name, None)
        self._columns.pop(name, None)

    def extra_columns(self) -> frozenset[str]:
        """Columns of tags read on demand (Python values, not one of :data:`TAGS`)."""
        if self._frame is None and self._saved is not None:
            return self._saved.json_columns
        frame = self.frame
        key = (id(frame), len(frame.columns))  # tags read on demand add columns
        if self._extra is None or self._extra[0] != key:
            python = np.dtype(object)
            self._extra = (key, frozenset(str(c) for c, d in frame.dtypes.items() if d == python))
        return self._extra[1]

    def absent(self) -> frozenset[str]:
        """Index tags that no file of the folder has (worked out once per table)."""
        if self._absent is None or self._absent[0] is not self._data():
            frame = self.frame
            dtypes = frame.dtypes
            names = [f"{k}[0]" if k in VECTORS else k for k in TAGS]
            empty = {
                n
                for n in names
                if not isinstance(dtypes[n], pd.CategoricalDtype) and self.column(n).isna().all()
            }
            self._absent = (frame, _absent_tags(frame, empty))
        return self._absent[1]


def _absent_tags(data: pd.DataFrame | SavedTable, empty: set[str]) -> frozenset[str]:
    """The index tags no row has: categories without any category, other columns in ``empty``."""
    gone = set()
    dtypes = None if isinstance(data, SavedTable) else data.dtypes
    for keyword in TAGS:
        name = f"{keyword}[0]" if keyword in VECTORS else keyword
        if dtypes is None:
            words = data.n_words(name)
        else:
            dtype = dtypes[name]
            words = len(dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else None
        if words is not None:
            if words == 0:
                gone.add(keyword)
        elif name in empty:
            gone.add(keyword)
    return frozenset(gone)
