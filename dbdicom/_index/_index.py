"""The index of one database folder: build it, keep it, refresh it, query it."""

from __future__ import annotations

import atexit
import hashlib
import os
import weakref
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._facade import pandas as pd
from .._files import MARKER_END, NO_MARKER
from ._arrow import SavedTable
from ._cells import overwrite_rows, text_in, with_cells
from ._columns import (
    FILE_COLUMNS,
    KEY_COLUMNS,
    TAGS,
    VECTORS,
    append_rows,
    categorize,
    column_data,
    stored_value,
)
from ._dicomdir import media_problems
from ._fresh import changed_files, compare
from ._keys import KEY_SOURCES, assign_keys, find_problems, key_added_rows, plain_keys
from ._news import FolderNews
from ._on_demand import OnDemand
from ._order import merged_order
from ._parts import Parts
from ._perframe import make_frames_table
from ._scan import PARALLEL_THRESHOLD, Row, scan_files, scanned_with_warnings
from ._store import UNREAD, load_table, save_frame, store_folder
from ._walk import Walk, folder_of, rewalk, survey

__all__ = ["Index"]

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

# the tags a row's hierarchy keys come from when present (see _keys.assign_keys)
_UIDS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")

#: how the scan decodes the index's values: an index of another version is rebuilt (2: a
#: tag of one value stored with several is none and a problem, not its first value; 3:
#: but for text, read as the text stored, "A\\B", and noted: it was none)
SCAN_VERSION = 3
# an index made with other columns, or values decoded otherwise, is rebuilt rather than loaded
TAGS_VERSION = hashlib.sha1(
    " ".join([*TAGS, *FILE_COLUMNS, *KEY_COLUMNS, f"scan-{SCAN_VERSION}"]).encode()
).hexdigest()[:12]
#: how tags read on demand are decoded (2: private creators as LO, file meta, repeating
#: groups; 3: private text of creators pydicom knows, read as UN, decoded in the file's
#: character set; 4: a tag of one value holding several, a private one's VM that of the
#: private dictionary, as an index column's: "A\\B" or none, and said): kept columns of
READS_VERSION = 4  # another version are read again


class Index(OnDemand):
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
        self.parts = Parts(self.store / "index")
        # paths of rows changed since saved or loaded (None: all): their partitions to save
        self._touched: set[str] | None = None
        self._dirty = False
        super().__init__()
        _OPEN.add(self)
        self._ok: np.ndarray | None = None
        self._plain: tuple[int, int] | None = None  # (frame, version) known plain_keys
        self._stale: set[str] = set()  # rows whose values are in memory, not in the file
        # each folder's modification time when last listed (see _walk.Folders)
        self.folders: dict[str, int] = {}
        # bumped when rows or their keys change (version) or a column that orders
        # the tree does (order_version): caches built on the table check them
        self.version = 0
        self.order_version = 0
        # what the folder's writer, in another process, tells of its changes (see _news)
        self.news = None if self.remote else FolderNews(root)

    # ------------------------------------------------------------------ build
    def open(self) -> Index:
        """Load the saved index, then bring it up to date with the folder.

        Only the folders whose modification time changed since the index was
        saved are listed again (see :meth:`refresh`); without a saved index
        (or one of another format), every file is read (:meth:`scan`).
        """
        if self._load():
            self.refresh()
        else:
            self.scan()
        return self

    def _load(self) -> bool:
        """Load the saved index; False when there is none to load (or of other tags).

        Raises :class:`~dbdicom.IndexDamagedError` when a partition of it is
        missing or damaged (see ``_parts.py``).
        """
        loaded = self.parts.load()
        if loaded is None or loaded[1].get("tags") != TAGS_VERSION:
            return False
        folders, n_frames = loaded[1].get("folders"), loaded[1].get("frames")
        if not isinstance(folders, dict) or not isinstance(n_frames, int):
            return False
        per_frame = None
        if n_frames:  # the per-frame values of enhanced files, saved beside
            frames = load_table(self.store / "frames.arrow")
            if frames is None or frames[0].num_rows != n_frames:
                return False
            per_frame = SavedTable(*frames)
        table, info = loaded
        stale = info.get("reads") != READS_VERSION and bool(info["json_columns"])
        if stale:  # tags read on demand, decoded as dbdicom no longer does: read again
            dropped = set(info["json_columns"])
            table = table.drop_columns(list(dropped))
            empty = [c for c in info["empty_columns"] if c not in dropped]
            info = {**info, "json_columns": [], "empty_columns": empty}
        self.hold(SavedTable(table, info), per_frame)  # a frame is made of it when needed
        self._touched = None if stale else set()  # stale: every partition written anew
        self._dirty = stale
        self.folders = {str(k): int(v) for k, v in folders.items()}
        self.version += 1
        return True

    def scan(self) -> None:
        """Read every file again and rebuild the index from scratch."""
        seen = survey(str(self.root), self.follow_links)
        self.frame, frames = scan_files(str(self.root), seen.found, self.progress)
        self.frames = make_frames_table(frames)
        self.folders = seen.folders
        self._touched = None  # every partition written anew
        self._finish(save=True)

    def refresh(self, full: bool = False) -> bool:
        """Take in the files added, changed or removed since the index was made.

        By default only the folders whose modification time changed are
        listed again, and the files of those compared (size and time) with
        their rows: a file added, removed or renamed changes its folder's
        time, a file rewritten in place does not (it is read again when
        dbdicom next reads it: :meth:`check`). ``full``: compare every file
        of the folder (one ``stat`` each), which also finds files rewritten
        in place. Changed and new files are read, removed ones dropped.
        Either way, the files that could not be read into the hierarchy
        (listed in ``problems()``: few) are compared too, one ``stat`` each,
        and read again when their size or time changed: a file that was
        still being copied into the folder when it was indexed (written in
        place, its folder's time unchanged) is taken in once the copy ends.
        Returns True when any row changed.
        """
        root = str(self.root)
        if full or not self.folders:
            seen = survey(root, self.follow_links)
        else:
            stale = np.flatnonzero(self.array("_mtime") == -1)
            # rows saved as not matching their file: their folders are listed again
            also = {folder_of(p) for p in self.array("_path", stale)}

            def known(path: str) -> bool:
                paths = self.array("_path")
                i = int(np.searchsorted(paths, path))
                return i < len(paths) and paths[i] == path

            seen = rewalk(root, self.folders, self.follow_links, also, known)
        changed = self._take(seen)
        return self.check(self.problem_rows()) or changed

    def take_news(self, pending: Collection[str] = ()) -> bool:
        """Read again the files the folder's writer changed since last asked; True if any.

        The writer is dbdicom in another process, which tells its changes
        (see :mod:`~dbdicom._index._news`): one ``stat`` when it told none.
        Files with edits held in memory (``pending``) are left as they are.
        """
        news = None if self.news is None else self.news.read()
        if news is None:
            return False
        changed = self.refresh() if news.whole else False
        paths = sorted(set(news.paths).difference(pending))
        if paths:
            self.update(paths)
        return changed or bool(paths)

    def _take(self, seen: Walk) -> bool:
        """Bring the rows up to date with the walk ``seen``; True when any changed."""
        if seen.folders != self.folders:
            self.folders = seen.folders
            self._dirty = True  # kept with the index, so that the next open lists less
        if seen.listed is not None and not seen.listed:
            return False  # no folder changed: nothing to compare
        paths = self.array("_path")
        keep, todo = compare(paths, self.array("_size"), self.array("_mtime"), seen)
        if keep.all() and not todo:
            return False
        frame = self.frame
        if len(todo) < PARALLEL_THRESHOLD:  # a few files: their rows replaced, appended
            self._read_again(set(paths[~keep]) | set(todo), todo, {})
            return True
        new, frames = scan_files(str(self.root), todo, self.progress)
        kept = frame[keep]
        extra = [c for c in kept.columns if kept[c].dtype == object]
        for col in extra:
            new[col] = pd.Series([UNREAD] * len(new), dtype=object)
        self.frame = categorize(pd.concat([kept, new], ignore_index=True))
        for col in extra:
            self.frame[col] = self.frame[col].astype(object)
        gone = set(paths[~keep]) | set(todo)
        self._touch(gone)
        old_frames = self.frames[~self.frames["_path"].isin(gone)]
        self.frames = pd.concat([old_frames, make_frames_table(frames)], ignore_index=True)
        self._finish(save=False, fresh=gone, keep=False)
        return True

    def check(self, rows: np.ndarray) -> bool:
        """Read again the files of ``rows`` that changed since they were indexed.

        One ``stat`` per file, comparing its size and modification time with
        the row's: a file rewritten in place (its folder's time unchanged, so
        that a reopen did not look at it) is read again before dbdicom reads
        its pixels or a tag from it. Files gone are left to a refresh (the
        read names them); rows with edits held in memory are not read. The
        rows keep their positions. Returns True when any row was read again.
        """
        if not len(rows):
            return False
        changed = changed_files(
            str(self.root),
            self.array("_path", rows),
            self.array("_size", rows),
            self.array("_mtime", rows),
        )
        for path in self._stale.intersection(changed):
            del changed[path]
        if not changed:
            return False
        self._read_again(set(changed), changed, {})
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
        files: dict[str, tuple[int, int]] = {}
        root = str(self.root)
        for rel in sorted(wanted):
            try:
                st = os.stat(os.path.join(root, rel))
            except FileNotFoundError:
                continue
            files[rel] = (st.st_size, st.st_mtime_ns)
        self._read_again(wanted, files, scanned or {}, keep=True)

    def _read_again(
        self,
        wanted: set[str],
        files: dict[str, tuple[int, int]],
        scanned: Mapping[str, tuple[Row, list[Row]]],
        keep: bool = False,
    ) -> None:
        """Replace the rows of ``wanted`` by those of ``files`` (size, time); drop the others.

        ``keep``: the rows keep their derived keys (files dbdicom wrote: see
        :func:`~dbdicom._index._keys.assign_keys`); else they are keyed as
        files found for the first time (changed by another program).
        """
        root = str(self.root)
        self._touch(wanted)
        rows, frames = [], []
        for rel, (size, mtime) in files.items():
            known = scanned.get(rel)
            if known is not None and known[0].get("_size") == size:
                row, fr = known
                row["_mtime"] = mtime
            else:
                row, fr = scanned_with_warnings(root, rel, size, mtime)
            rows.append(row)
            frames.extend(fr)
        mask = text_in(self.frame["_path"], wanted)
        in_place = len(files) == len(wanted) == int(mask.sum()) and not frames
        if in_place and len(self.frames):  # (any enhanced file made every edit re-sort all)
            in_place = not text_in(self.frames["_path"], wanted).any()  # nor had they frames
        if in_place:
            self._replace_rows(np.flatnonzero(mask), column_data(rows), keep)  # rows in place
            self._stale -= wanted
            return
        plain = self._plain == (id(self.frame), self.version) or plain_keys(self.frame)
        rows, keyed = key_added_rows(self.frame, mask, rows, keep, plain)
        self.frame = append_rows(self.frame[~mask] if mask.any() else self.frame, rows, UNREAD)
        self._stale -= wanted
        if len(self.frames) or frames:
            old = self.frames[~self.frames["_path"].isin(wanted)]
            self.frames = pd.concat([old, make_frames_table(frames)], ignore_index=True)
        if not keyed:
            self._finish(save=False, fresh=wanted, keep=keep)
            return
        order = merged_order(
            self.frame["_path"].to_numpy(dtype=object), len(self.frame) - len(rows)
        )
        if order is not None:  # the rows added put in path order among the others
            self.frame = self.frame.take(order).reset_index(drop=True)
        self._finish(save=False, keyed=True)
        self._plain = (id(self.frame), self.version)  # (see _keys.plain_keys)

    def _replace_rows(self, pos: np.ndarray, data: Mapping[str, Any], keep: bool) -> None:
        """Overwrite rows ``pos`` by the rows of ``data`` (columns, see ``overwrite_rows``).

        ``keep``: as for :meth:`_read_again`.
        """
        changed = overwrite_rows(self.frame, pos, data)
        for col in changed:  # before after_rows, which reads them
            self._forget(col)
        if self.after_rows is not None:
            self.after_rows()
        if changed & ORDER_COLUMNS:
            self.order_version += 1
        self._absent = None
        self._dirty = True
        if self._keys_may_change(changed, pos):
            for col in KEY_COLUMNS:
                self._forget(col)
            self._assign_keys(pos, keep)
            self._ok = None
            self.version += 1

    def set_file_columns(self, rows: np.ndarray, values: Mapping[str, Any]) -> None:
        """Set dbdicom's own columns of the files at ``rows`` (``_offset``, ``_warning``...).

        For what the files do not say themselves: the pixels of a DICOMweb
        archive's headers (see ``dbdicom._records._web``). The tree and its
        order do not change; the index is written at the next flush.
        """
        for name, value in values.items():
            if not name.startswith("_") or name in KEY_COLUMNS:
                raise ValueError(f"{name!r} is not one of dbdicom's own file columns")
            dst = self.frame[name]
            arr = dst.to_numpy(dtype=object if dst.dtype.kind not in "fiub" else None, copy=True)
            arr[rows] = value
            self.frame[name] = arr if dst.dtype.kind in "fiub" else pd.array(arr, dtype=dst.dtype)
            self._forget(name)
        self._touch(self.array("_path", np.asarray(rows)))  # their parts written again
        self._absent = None
        self._ok = None
        self._dirty = True
        self.version += 1

    def _keys_may_change(self, changed: set[str], rows: np.ndarray) -> bool:
        """Whether changing ``changed`` in ``rows`` may change any row's hierarchy key.

        The keys come from the UIDs (and PatientID); the other tags of
        :data:`KEY_SOURCES` make a key only for a row without its UID. So
        when the UIDs of ``rows`` are all there and did not change, no key
        does, and the whole table is not keyed again.
        """
        if not changed & (KEY_SOURCES | {"_error"}):
            return False
        if changed & {"_error", *_UIDS}:
            return True
        for name in _UIDS:
            if any(v is None or v == "" for v in self.array(name, rows)):
                return True
        return False

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
        self._touch(paths)
        if keyword in VECTORS:
            n = VECTORS[keyword]
            vec = value if isinstance(value, tuple) and len(value) == n else (None,) * n
            for i in range(n):
                col = frame[f"{keyword}[{i}]"].to_numpy(copy=True)
                item = vec[i]
                col[rows] = np.nan if item is None else float(item)
                frame[f"{keyword}[{i}]"] = col
        elif keyword in TAGS:
            frame[keyword] = with_cells(frame[keyword], rows, stored_value(keyword, value))
        else:
            if keyword not in frame.columns or frame[keyword].dtype != object:
                frame[keyword] = pd.Series([UNREAD] * len(frame), dtype=object)
            col = frame[keyword].to_numpy(dtype=object).copy()
            for r in rows:
                col[int(r)] = value
            frame[keyword] = pd.Series(col, dtype=object, index=frame.index)
        for name in [keyword, *(f"{keyword}[{i}]" for i in range(VECTORS.get(keyword, 0)))]:
            self._forget(name)
        self._absent = None
        self._dirty = True
        if keyword in ORDER_COLUMNS:
            self.order_version += 1
        if self._keys_may_change({keyword}, rows):
            for name in KEY_COLUMNS:
                self._forget(name)
            self._assign_keys(rows, keep=True)
            self._ok = None
            self.version += 1

    def _finish(
        self, save: bool, fresh: set[str] | None = None, keep: bool = False, keyed: bool = False
    ) -> None:
        """After rows were added, read again or dropped: sorted, keyed, maybe saved.

        ``fresh``: the paths of the rows read (None: all, a scan); the others
        keep their keys; ``keep``: as for :meth:`_read_again`; ``keyed``:
        the rows are in order and keyed already (see ``keys_of_added``).
        """
        self.version += 1
        if not keyed:
            self.frame = self.frame.sort_values("_path", ignore_index=True)
            fresh_rows = (
                None if fresh is None else np.flatnonzero(text_in(self.frame["_path"], fresh))
            )
            self._assign_keys(fresh_rows, keep)
        self._ok = None
        self._dirty = True
        if self.after_rows is not None:
            self.after_rows()
        if save:
            self.save()

    def _touch(self, paths: Any) -> None:
        """Note that the rows of ``paths`` changed: their partitions are saved next time."""
        if self._touched is not None:
            self._touched.update(paths)

    def _assign_keys(self, fresh: np.ndarray | None = None, keep: bool = False) -> None:
        """Key the rows again (:func:`assign_keys`); rows whose keys changed are touched.

        ``fresh``: the positions of the rows read or changed (None: all);
        ``keep``: whether they keep their derived keys (dbdicom changed them).
        """
        mask = None
        if fresh is not None:
            mask = np.zeros(len(self.frame), dtype=bool)
            mask[np.asarray(fresh, dtype=int)] = True
        changed = assign_keys(self.frame, mask, keep)
        self._touch(self.frame["_path"].to_numpy(dtype=object)[changed])

    def save(self) -> None:
        """Write the partitions of the index that changed, and its manifest, now.

        Only into a folder that still exists (never recreating one deleted
        meanwhile); a store that cannot be written is skipped: the index is
        a cache, rebuilt from the files when it is missing.
        """
        if not self.root.is_dir():
            return
        meta = {
            "root": str(self.root),
            "tags": TAGS_VERSION,
            "reads": READS_VERSION,
            "folders": self.folders,
            "frames": len(self.frames),
        }
        frame = self.frame
        if self._stale:  # values held in memory only: read these files again next time
            frame = frame.copy()
            stale = frame["_path"].isin(self._stale).to_numpy()
            frame.loc[stale, "_mtime"] = -1
        try:
            if len(self.frames):
                save_frame(self.frames, self.store / "frames.arrow")
            else:  # none: nothing to load at the next open
                (self.store / "frames.arrow").unlink(missing_ok=True)
            self.parts.save(frame, self._touched, meta, self.array("_path"))
            (self.store / "index.arrow").unlink(missing_ok=True)  # format 6: not read again
        except OSError:
            return
        self._touched = set()
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
            self._ok = np.flatnonzero(np.asarray(self.array("_error") == "", dtype=bool))
        return self._ok

    def problem_rows(self) -> np.ndarray:
        """Positions of the rows of files that may be a copy not yet finished.

        Those that could not be read into the hierarchy (``_error`` set:
        unreadable, cut short, entries that are not files, not DICOM) and
        those whose pixel data ends past the end of the file (truncated):
        few, so a refresh compares them all (see :meth:`refresh`). Not the
        files of other kinds (a folder's ``.json``, ``.nii.gz``...: there may
        be many): a file whose first :data:`~dbdicom._files.MARKER_END` bytes
        are there without the 'DICM' marker is no copy of a DICOM file under
        way. Found from the codes of the category column a reopen holds,
        without making its text.
        """
        held = self.codes("_error")
        whole = self.array("_size") >= MARKER_END
        if held is None:
            bad = np.ones(self.n_rows, dtype=bool)
            bad[self.ok] = False
            rows = np.flatnonzero(bad & whole)
            said = self.array("_error", rows).tolist()
            bad[rows[[isinstance(e, str) and NO_MARKER in e for e in said]]] = False
        else:
            words, codes = held
            said = words.tolist()
            bad = np.isin(codes, [i for i, word in enumerate(said) if word])
            other = np.isin(codes, [i for i, word in enumerate(said) if NO_MARKER in word])
            bad &= ~(other & whole)
        offset = self.array("_offset")
        with np.errstate(invalid="ignore"):
            bad |= (offset > 0) & (offset + self.array("_nbytes") > self.array("_size"))
        return np.flatnonzero(bad)

    def rows_of(self, level: str | None, key: str | None) -> np.ndarray:
        """Positions of the good rows under the record ``(level, key)``."""
        ok = self.ok
        if level is None:
            return ok
        return ok[self.array(f"_{level}", ok) == key]

    def keys(self, level: str, rows: np.ndarray) -> list[str]:
        """Distinct keys of ``level`` among ``rows``, in the order of the tree."""
        return list(dict.fromkeys(self.array(f"_{level}", rows)))

    def problems(self) -> pd.DataFrame:
        """A table of ``path`` and ``problem`` for every file needing attention.

        With the ways the folder's DICOMDIRs and files disagree
        (:func:`~dbdicom._index._dicomdir.media_problems`).
        """
        found = find_problems(self.frame)
        with self._media_root() as root:
            media = media_problems(root, self.frame)
        if not media:
            return found
        return pd.concat([found, pd.DataFrame(media, columns=found.columns)], ignore_index=True)
