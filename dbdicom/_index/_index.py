"""The index of one database folder: build it, keep it, refresh it, query it."""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import platformdirs
from pydicom.datadict import dictionary_VR
from pydicom.errors import InvalidDicomError

from .._files import NotDicomError, read_any_header, read_dataset
from ._columns import (
    FILE_COLUMNS,
    KEY_COLUMNS,
    TAGS,
    VECTORS,
    append_rows,
    categorize,
    make_frame,
    stored_value,
    tag_of,
    to_plain,
)
from ._keys import KEY_SOURCES, assign_keys, find_problems
from ._perframe import make_frames_table
from ._scan import HIDDEN, Row, scan_files, scan_one
from ._store import UNREAD, load_frame, save_frame
from ._walk import walk

__all__ = ["Index", "store_folder"]

Progress = Callable[[int, int], None]
# indexes with changes not yet written, written at exit
_OPEN: weakref.WeakSet[Index] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for index in list(_OPEN):
        index.flush()


ORDER_COLUMNS = frozenset(
    {"PatientName", "StudyDate", "StudyTime", "SeriesNumber", "InstanceNumber", "_path"}
)

# an index made with other columns is rebuilt rather than loaded
TAGS_VERSION = hashlib.sha1(" ".join([*TAGS, *FILE_COLUMNS, *KEY_COLUMNS]).encode()).hexdigest()[
    :12
]


def store_folder(root: Path) -> tuple[Path, bool]:
    """Where the index of ``root`` lives, and whether the folder is writable.

    Inside the folder (``.dbdicom/``) when it can be written; otherwise in the
    user's cache folder, under a name made from the folder's absolute path.
    Read-only are: folders whose permission bits grant no write access
    (even to root), read-only mounts and immutable folders.
    """
    hidden = root / HIDDEN
    if _writable(root):
        if hidden.is_dir() and os.access(hidden, os.W_OK):
            return hidden, True
        try:
            hidden.mkdir(exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=hidden, prefix=".probe")
            os.close(fd)
            os.unlink(probe)
            return hidden, True
        except OSError:
            pass
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("dbdicom")) / digest, False


def _writable(folder: Path) -> bool:
    """Whether dbdicom may write in ``folder``.

    A folder whose permission bits grant nobody write access is read-only
    even to root, who could write there anyway: the owner said so.
    """
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(mode & 0o222)


class Index:
    """The rows of every file of a folder, with the hierarchy keys.

    Parameters
    ----------
    root : Path
        The database folder.
    progress : callable, optional
        ``progress(done, total)`` during scans.
    follow_links : bool
        Read the files that symbolic links outside the folder lead to
        (see :func:`~dbdicom._index._walk.walk`).
    """

    def __init__(
        self, root: Path, progress: Progress | None = None, follow_links: bool = False
    ) -> None:
        self.root = root
        self.progress = progress
        self.follow_links = follow_links
        self.store, self.writable = store_folder(root)
        self._dirty = False
        self._absent: tuple[pd.DataFrame, frozenset[str]] | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._extra: tuple[tuple[int, int], frozenset[str]] | None = None
        self._arrays_of: pd.DataFrame | None = None
        _OPEN.add(self)
        self.frame: pd.DataFrame  # set by open() or scan()
        self.frames: pd.DataFrame
        self._ok: np.ndarray | None = None
        self._stale: set[str] = set()  # rows whose values are in memory, not in the file
        # bumped when rows or their keys change (version) or a column that orders
        # the tree does (order_version): caches built on the table check them
        self.version = 0
        self.order_version = 0

    # ------------------------------------------------------------------ build
    def open(self) -> Index:
        """Load the saved index, then bring it up to date with the folder.

        Loading (Arrow, which releases the GIL) runs in a thread while this
        one walks the folder, the two costs of a reopen.
        """
        with ThreadPoolExecutor(max_workers=1) as pool:
            loading = pool.submit(self._load)
            files = walk(str(self.root), self.follow_links)
            loaded = loading.result()
        if loaded:
            self.refresh(files)
        else:
            self.scan(files)
        return self

    def _load(self) -> bool:
        loaded = load_frame(self.store / "index.arrow")
        if loaded is None or loaded[1].get("tags") != TAGS_VERSION:
            return False
        frames = load_frame(self.store / "frames.arrow")
        self.frame = categorize(loaded[0])
        self.frames = frames[0] if frames is not None else make_frames_table([])
        self.version += 1
        return True

    def scan(self, files: dict[str, tuple[int, int]] | None = None) -> None:
        """Read every file again and rebuild the index from scratch."""
        if files is None:
            files = walk(str(self.root), self.follow_links)
        self.frame, frames = scan_files(str(self.root), files, self.progress)
        self.frames = make_frames_table(frames)
        self._finish(save=True)

    def refresh(self, files: dict[str, tuple[int, int]] | None = None) -> bool:
        """Read the files added or changed (size or mtime) and drop removed ones.

        ``files`` is a fresh :func:`walk` of the folder, if the caller has
        one. Returns True when anything changed.
        """
        if files is None:
            files = walk(str(self.root), self.follow_links)
        paths = self.frame["_path"].to_numpy(dtype=object)
        n = len(files)
        sizes = np.fromiter((v[0] for v in files.values()), np.int64, n)
        mtimes = np.fromiter((v[1] for v in files.values()), np.int64, n)
        if n == len(paths) and list(files) == paths.tolist():
            where = np.arange(n)  # the usual case: the same files in the same order
        else:
            where = pd.Index(list(files), dtype=object).get_indexer(paths)  # -1: removed
        found = where >= 0
        keep = found.copy()
        keep[found] = (sizes[where[found]] == self.frame["_size"].to_numpy()[found]) & (
            mtimes[where[found]] == self.frame["_mtime"].to_numpy()[found]
        )
        if keep.all() and len(paths) == n:
            return False
        todo = {p: files[p] for p in files.keys() - set(paths[keep])}
        new, frames = scan_files(str(self.root), todo, self.progress)
        kept = self.frame[keep]
        extra = [c for c in kept.columns if kept[c].dtype == object]
        for col in extra:
            new[col] = pd.Series([UNREAD] * len(new), dtype=object)
        self.frame = categorize(pd.concat([kept, new], ignore_index=True))
        for col in extra:
            self.frame[col] = self.frame[col].astype(object)
        gone = set(paths[~keep]) | set(todo)
        old_frames = self.frames[~self.frames["_path"].isin(gone)]
        self.frames = pd.concat([old_frames, make_frames_table(frames)], ignore_index=True)
        self._finish(save=False)
        return True

    def update(
        self, paths: list[str], scanned: Mapping[str, tuple[Row, list[Row]]] | None = None
    ) -> None:
        """Read ``paths`` again after dbdicom changed, created or removed them.

        Rows of files that no longer exist are dropped; the others are read
        (headers only) and replace their old rows. Tags read on demand are
        forgotten for these rows (read again when asked). ``scanned`` gives
        rows already read (by :func:`scan_one` from the bytes just written):
        their files are not read again, only their size and time taken.
        """
        wanted = set(paths)
        if not wanted:
            return
        scanned = scanned or {}
        files: dict[str, tuple[int, int]] = {}
        root = str(self.root)
        for rel in sorted(wanted):
            try:
                st = os.stat(os.path.join(root, rel))
            except FileNotFoundError:
                continue
            files[rel] = (st.st_size, st.st_mtime_ns)
        rows, frames = [], []
        for rel, (size, mtime) in files.items():
            known = scanned.get(rel)
            if known is not None and known[0].get("_size") == size:
                row, fr = known
                row["_mtime"] = mtime
            else:
                row, fr = scan_one(root, rel, size, mtime)
            rows.append(row)
            frames.extend(fr)
        mask = self.frame["_path"].isin(wanted).to_numpy()
        if len(files) == len(wanted) == int(mask.sum()) and not frames and not len(self.frames):
            new = make_frame(rows, categorical=False)
            self._replace_rows(np.flatnonzero(mask), new)  # files rewritten: rows in place
            self._stale -= wanted
            return
        self.frame = append_rows(self.frame[~mask] if mask.any() else self.frame, rows, UNREAD)
        self._stale -= wanted
        if len(self.frames) or frames:
            old = self.frames[~self.frames["_path"].isin(wanted)]
            self.frames = pd.concat([old, make_frames_table(frames)], ignore_index=True)
        self._finish(save=False)

    def _replace_rows(self, pos: np.ndarray, new: pd.DataFrame) -> None:
        """Overwrite rows ``pos`` (in path order) by ``new`` (sorted by path)."""
        frame = self.frame
        order = np.argsort(frame["_path"].to_numpy(dtype=object)[pos], kind="stable")
        pos = pos[order]
        new = new.sort_values("_path", ignore_index=True)
        rekey = False
        before = frame.iloc[pos]
        for col in frame.columns:
            dst = frame[col]
            if col in KEY_COLUMNS:
                continue
            if col in new.columns and not _differs(before[col], new[col]):
                continue
            rekey = rekey or col in KEY_SOURCES or col == "_error"
            self._arrays.pop(col, None)
            if col in ORDER_COLUMNS:
                self.order_version += 1
            if col not in new.columns:  # a tag read on demand: read again when asked
                arr = dst.to_numpy(dtype=object).copy()
                arr[pos] = UNREAD
                frame[col] = pd.Series(arr, dtype=object, index=frame.index)
                continue
            src = new[col]
            if isinstance(dst.dtype, pd.CategoricalDtype):
                values = src.astype(object).to_numpy()
                values = np.array(
                    [
                        None if v is pd.NA or (isinstance(v, float) and v != v) else v
                        for v in values
                    ],
                    dtype=object,
                )
                cats = dst.array
                missing = [
                    v for v in dict.fromkeys(values) if v is not None and v not in cats.categories
                ]
                cats = cats.add_categories(missing) if missing else cats.copy()
                cats[pos] = values
                frame[col] = cats
            elif dst.dtype.kind in "fiub":
                arr = dst.to_numpy(copy=True)
                arr[pos] = src.to_numpy()
                frame[col] = arr
            else:
                arr = dst.to_numpy(dtype=object, copy=True)
                arr[pos] = src.to_numpy(dtype=object)
                frame[col] = pd.array(arr, dtype=dst.dtype)
        self._absent = None
        self._dirty = True
        if rekey:
            for col in KEY_COLUMNS:
                self._arrays.pop(col, None)
            assign_keys(frame)
            self._ok = None
            self.version += 1

    def set_cells(self, rows: np.ndarray, keyword: str, value: Any) -> None:
        """Set the value of ``keyword`` in ``rows`` without reading files.

        For edits held in memory (:meth:`~dbdicom.Record.read`): the rows are
        marked stale, so that a saved index never claims values that the
        files do not hold. ``value`` is the value as a file would give it
        (tuples for several values).
        """
        frame = self.frame
        paths = frame["_path"].to_numpy(dtype=object)[rows]
        self._stale.update(paths)
        if keyword in VECTORS:
            n = VECTORS[keyword]
            vec = value if isinstance(value, tuple) and len(value) == n else (None,) * n
            for i in range(n):
                col = frame[f"{keyword}[{i}]"].to_numpy(copy=True)
                item = vec[i]
                col[rows] = np.nan if item is None else float(item)
                frame[f"{keyword}[{i}]"] = col
        elif keyword in TAGS:
            frame[keyword] = _with_cells(frame[keyword], rows, stored_value(keyword, value))
        else:
            if keyword not in frame.columns or frame[keyword].dtype != object:
                frame[keyword] = pd.Series([UNREAD] * len(frame), dtype=object)
            col = frame[keyword].to_numpy(dtype=object).copy()
            for r in rows:
                col[int(r)] = value
            frame[keyword] = pd.Series(col, dtype=object, index=frame.index)
        for name in [keyword, *(f"{keyword}[{i}]" for i in range(VECTORS.get(keyword, 0)))]:
            self._arrays.pop(name, None)
        self._absent = None
        self._dirty = True
        if keyword in ORDER_COLUMNS:
            self.order_version += 1
        if keyword in KEY_SOURCES:
            for name in KEY_COLUMNS:
                self._arrays.pop(name, None)
            assign_keys(frame)
            self._ok = None
            self.version += 1

    def _finish(self, save: bool) -> None:
        self.version += 1
        self.frame = self.frame.sort_values("_path", ignore_index=True)
        assign_keys(self.frame)
        self._ok = None
        self._dirty = True
        if save:
            self.save()

    def save(self) -> None:
        """Write the index to its store folder now.

        Only into a folder that still exists (never recreating one deleted
        meanwhile); a store that cannot be written is skipped: the index is
        a cache, rebuilt from the files when it is missing.
        """
        if not self.root.is_dir():
            return
        meta = {"root": str(self.root), "tags": TAGS_VERSION}
        frame = self.frame
        if self._stale:  # values held in memory only: read these files again next time
            frame = frame.copy()
            stale = frame["_path"].isin(self._stale).to_numpy()
            frame.loc[stale, "_mtime"] = -1
        try:
            save_frame(frame, self.store / "index.arrow", meta)
            save_frame(self.frames, self.store / "frames.arrow")
        except OSError:
            return
        self._dirty = False

    def flush(self) -> None:
        """Write the index if it changed since it was last written.

        A full scan is written at once; smaller changes (files refreshed, tags
        read on demand) are written by ``flush``, which runs on
        :meth:`~dbdicom.Database.close` and when the interpreter exits. Until
        then a crash only costs re-reading those files at the next open.
        """
        if self._dirty:
            self.save()

    # ------------------------------------------------------------------ query
    @property
    def ok(self) -> np.ndarray:
        """Positions of the rows that belong to the hierarchy (no error)."""
        if self._ok is None:
            self._ok = np.flatnonzero(self.frame["_error"].to_numpy(dtype=object) == "")
        return self._ok

    def rows_of(self, level: str | None, key: str | None) -> np.ndarray:
        """Positions of the good rows under the record ``(level, key)``."""
        ok = self.ok
        if level is None:
            return ok
        col = self.frame[f"_{level}"].to_numpy(dtype=object)
        return ok[col[ok] == key]

    def keys(self, level: str, rows: np.ndarray) -> list[str]:
        """Distinct keys of ``level`` among ``rows``, in the order of the tree."""
        col = self.frame[f"_{level}"].to_numpy(dtype=object)[rows]
        return list(dict.fromkeys(col))

    def values(self, rows: np.ndarray, keyword: str) -> list[Any]:
        """The value of ``keyword`` in each row, reading files only where needed.

        A tag that is not a column yet is read from the files of ``rows`` only,
        and kept (as a column) for the next time. Sequences are not kept: they
        are read with pydicom each time.
        """
        if keyword in VECTORS:
            block = np.stack(
                [self.frame[f"{keyword}[{i}]"].to_numpy()[rows] for i in range(VECTORS[keyword])],
                axis=1,
            )
            return [None if np.isnan(b).all() else tuple(float(x) for x in b) for b in block]
        if keyword in TAGS or (
            keyword in self.frame.columns and self.frame[keyword].dtype != object
        ):
            cells = self.frame[keyword].to_numpy(dtype=object)[rows]
            return [to_plain(v, keyword) for v in cells]
        tag = _tag_number(keyword)
        vr = _dict_vr(tag)
        if vr == "SQ":
            return [
                _read_sequence(str(self.root / self.frame["_path"].iat[int(r)]), tag) for r in rows
            ]
        if keyword not in self.frame.columns:
            self.frame[keyword] = pd.Series([UNREAD] * len(self.frame), dtype=object)
        col = self.frame[keyword].to_numpy(dtype=object)
        todo = [int(r) for r in rows if col[int(r)] is UNREAD]
        if todo:
            col = col.copy()
            for r in todo:
                path = str(self.root / self.frame["_path"].iat[r])
                try:
                    header = read_any_header(path, {tag: vr})
                except (NotDicomError, EOFError, OSError):
                    col[r] = None
                    continue
                col[r] = header.values.get(tag)
            self.frame[keyword] = pd.Series(col, dtype=object, index=self.frame.index)
            self._arrays.pop(keyword, None)
            self._dirty = True
        return [to_plain(col[int(r)], keyword) for r in rows]

    def array(self, name: str) -> np.ndarray:
        """A column of the index as a numpy array, converted once and kept.

        Numbers as ``float64``/``int64``; text (and categories) as an object
        array of ``str`` with ``None`` where absent. Kept until the table or
        that column changes; the arrays layer indexes these by row.
        """
        frame = self.frame
        if self._arrays_of is not frame:
            self._arrays = {}
            self._arrays_of = frame
        arr = self._arrays.get(name)
        if arr is None:
            col = frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                cats = np.array([*col.cat.categories.to_numpy(dtype=object), None], dtype=object)
                arr = cats[col.cat.codes.to_numpy()]  # code -1 (absent) picks the None
            elif col.dtype.kind in "fiub":
                arr = col.to_numpy()
            else:
                arr = col.to_numpy(dtype=object, na_value=None)
            self._arrays[name] = arr
        return arr

    def extra_columns(self) -> frozenset[str]:
        """Columns of tags read on demand (Python values, not one of :data:`TAGS`)."""
        frame = self.frame
        key = (id(frame), len(frame.columns))  # tags read on demand add columns
        if self._extra is None or self._extra[0] != key:
            names = frozenset(c for c in frame.columns if frame[c].dtype == object)
            self._extra = (key, names)
        return self._extra[1]

    def absent(self) -> frozenset[str]:
        """Index tags that no file of the folder has (worked out once per table)."""
        if self._absent is None or self._absent[0] is not self.frame:
            frame = self.frame
            gone = set()
            for keyword in TAGS:
                col = frame[f"{keyword}[0]" if keyword in VECTORS else keyword]
                if isinstance(col.dtype, pd.CategoricalDtype):
                    empty = len(col.cat.categories) == 0
                else:
                    empty = bool(col.isna().all())
                if empty:
                    gone.add(keyword)
            self._absent = (frame, frozenset(gone))
        return self._absent[1]

    def value(self, row: int, keyword: str) -> Any:
        return self.values(np.array([row]), keyword)[0]

    def problems(self) -> pd.DataFrame:
        """A table of ``path`` and ``problem`` for every file needing attention."""
        return find_problems(self.frame)


def _differs(old: pd.Series, new: pd.Series) -> bool:
    """Whether ``new`` holds other values than ``old`` (aligned by position)."""
    a = old.tolist()
    b = new.tolist()
    for x, y in zip(a, b, strict=True):
        x = None if x is pd.NA or (isinstance(x, float) and x != x) else x
        y = None if y is pd.NA or (isinstance(y, float) and y != y) else y
        if x != y:
            return True
    return False


def _tag_number(column: str) -> int:
    if column.startswith("("):
        g, e = column.strip("()").split(",")
        return (int(g, 16) << 16) | int(e, 16)
    tag = tag_of(column)
    if tag is None:
        raise KeyError(column)
    return tag


def _dict_vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag)).split(" or ")[0]
    except KeyError:
        return "UN"


def _read_sequence(path: str, tag: int) -> Any:
    """The sequence ``tag`` of the file at ``path``; None where pydicom cannot read it.

    What pydicom raises on a bad file: see :func:`dbdicom._files.read_with_pydicom`.
    """
    try:
        ds = read_dataset(path, stop_before_pixels=True, specific_tags=[tag], decode=False)
        return ds[tag].value if tag in ds else None
    except (InvalidDicomError, EOFError, OSError, ValueError, TypeError, KeyError):
        return None
    except (NotImplementedError, RecursionError):  # an unknown VR, nesting too deep
        return None


def _with_cells(col: pd.Series, rows: np.ndarray, cell: Any) -> Any:
    """The index column ``col`` with ``cell`` (a stored value) in ``rows``, in its own type.

    A category column gains ``cell`` as a category if new; a float column
    takes it as it is; a text column holds None for an absent value.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        if isinstance(cell, str) and cell not in col.cat.categories:
            col = col.cat.add_categories([cell])
        col = col.copy()
        col.iloc[rows] = None if cell is pd.NA or cell is None else cell
        return col
    if col.dtype.kind == "f":
        values = col.to_numpy(copy=True)
        values[rows] = cell
        return values
    texts = col.astype(object).to_numpy(copy=True)
    texts[rows] = None if cell is pd.NA else cell
    return pd.array(texts, dtype="str")
