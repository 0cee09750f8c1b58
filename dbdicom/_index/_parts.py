"""The saved index as partitioned Parquet: a file per range of paths, and a manifest.

The index table is sorted by path. On disk it is cut into partitions of
about :data:`PART_ROWS` rows, each a range of paths (cut where a folder
ends, when one ends near the cut), kept as one Parquet file in a folder
named the Hive way::

    <store>/index/_manifest.json
    <store>/index/part=00000/part.parquet     # paths from ''
    <store>/index/part=00000/_part.arrow      # the same rows, mapped by a reopen
    <store>/index/part=00001/part.parquet     # paths from 'patient-012/...'

The manifest lists the partitions (their number, first path, rows, the
write they are of and the size of their Parquet file) and what the index
keeps besides its rows (the folders' times, the tags' version). Beside
each Parquet file is an Arrow copy of its rows, which a reopen maps rather
than decodes (decoding Parquet cost a reopen of 2,000 files 3.4 ms more,
of 20,000 files 10 ms: see benchmarks/README.md); a copy that is not of
the write the manifest names is not used.

Saving rewrites only the partitions that hold a path that changed (a row
added, removed or changed, a tag read on demand); a partition grown past
twice :data:`PART_ROWS` is cut again, an empty one removed. Each file is
replaced atomically, then the manifest: a reader sees a whole partition,
old or new, and any Parquet reader queries the folder
(``read_parquet('<store>/index/*/*.parquet')`` in DuckDB,
``pyarrow.dataset.dataset(folder, partitioning="hive")``) without dbdicom.

When another process wrote the manifest since this one read it, this one
writes every partition (the last writer's index wins whole, as with one
file). A partition that is missing or cannot be read is an
:class:`~dbdicom.IndexDamagedError` that names it; a manifest that is
missing, damaged or of another format makes the index rebuilt from the files.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import IndexDamagedError
from .._facade import pandas as pd
from .._facade import pyarrow as pa
from . import _store
from ._store import (
    join_tables,
    read_mapped,
    read_part,
    table_of_frame,
    write_mapped,
    write_part,
)

__all__ = ["PART_ROWS", "Parts", "cuts"]

#: rows of a partition when it is made (cut again past twice as many)
PART_ROWS = 20_000
# named with "_" first: Parquet readers of the folder (pyarrow.dataset, Spark) skip it
MANIFEST = "_manifest.json"
# files an earlier process left unnamed by the manifest (it stopped between
# writing a partition and the manifest) are removed when this old (seconds):
# younger ones may be another process's, whose manifest is on its way
_ORPHAN_AGE = 60.0


@dataclass
class Part:
    """One partition: its number (in the folder's name), first path, rows, and which write."""

    number: int
    first: str
    rows: int
    generation: str = ""
    nbytes: int = -1  # of its Parquet file


def _folder(path: str) -> str:
    return path.rpartition("/")[0]


def cuts(paths: np.ndarray, size: int | None = None) -> list[int]:
    """Where partitions of about ``size`` rows start in ``paths`` (sorted): row positions.

    A cut is moved forward to where a folder ends, if one ends within a
    quarter of ``size`` rows; the last partition takes up to 1.5 ``size``.

    Examples
    --------
    >>> paths = np.array([f"s{i // 3}/f{i % 3}" for i in range(12)], dtype=object)
    >>> cuts(paths, 5)  # folders of 3 files: the cut at 6 (where s2 starts), not 5
    [0, 6]
    >>> cuts(paths, 4)  # no folder ends at row 4 or 5: cut at 4; then at 9, not 8
    [0, 4, 9]
    >>> cuts(paths[:2], 4), cuts(paths[:0], 4)
    ([0], [0])
    """
    size = size or PART_ROWS
    out = [0]
    n = len(paths)
    while n - out[-1] > size + size // 2:
        cut = out[-1] + size
        for at in range(cut, min(n - 1, cut + size // 4) + 1):
            if _folder(paths[at]) != _folder(paths[at - 1]):
                cut = at
                break
        out.append(cut)
    return out


class Parts:
    """The partitions of the index saved in ``folder`` (``<store>/index``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.parts: list[Part] = []
        self.token = ""  # the manifest as this process last read or wrote it
        self.next = 0  # the number of the next new partition

    def file(self, part: Part) -> Path:
        """The Parquet file of ``part``."""
        return self.folder / f"part={part.number:05d}" / "part.parquet"

    def mapped(self, part: Part) -> Path:
        """The Arrow copy of ``part`` that a reopen maps ("_" first: Parquet readers skip it)."""
        return self.folder / f"part={part.number:05d}" / "_part.arrow"

    def _read(self, part: Part) -> pa.Table:
        """The rows of ``part``: its Arrow copy if of the manifest's write, else its Parquet file.

        The Parquet file is checked (one ``stat``) even when its copy is
        read: missing, or not of the size written, it is damaged.
        """
        path = self.file(part)
        try:
            nbytes = os.stat(path).st_size
        except FileNotFoundError as error:
            raise IndexDamagedError(path, "it is missing") from error
        if nbytes != part.nbytes:
            raise IndexDamagedError(path, f"it has {nbytes} bytes, {part.nbytes} were written")
        found = read_mapped(self.mapped(part), part.generation)
        return found if found is not None else read_part(path)[0]

    def _manifest(self) -> dict[str, Any] | None:
        try:
            found = json.loads((self.folder / MANIFEST).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(found, dict) or found.get("format") != _store.FORMAT:
            return None
        return found

    # ------------------------------------------------------------------ load
    def load(self) -> tuple[pa.Table, dict[str, Any]] | None:
        """The saved index as an Arrow table, and what was saved with it; None without a manifest.

        The table is as stored (categories as dictionaries, tags read on
        demand as JSON text): what :class:`~._arrow.SavedTable` holds. The
        manifest's ``meta`` comes back with ``json_columns`` and
        ``empty_columns`` (the columns no row has a value in). Raises
        :class:`~dbdicom.IndexDamagedError` for a partition that is missing
        or damaged. When another process saved the index meanwhile (its
        manifest replaced while the partitions were read), it is read again.
        """
        for attempt in range(3):
            stamp = self._stamp()
            try:
                loaded = self._load()
            except IndexDamagedError:
                if self._stamp() == stamp or attempt == 2:
                    raise
                continue
            if self._stamp() == stamp:
                break
        return loaded

    def _stamp(self) -> tuple[int, int, int] | None:
        """The manifest file's identity (inode, time, size): a save replaces it."""
        try:
            st = os.stat(self.folder / MANIFEST)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _load(self) -> tuple[pa.Table, dict[str, Any]] | None:
        manifest = self._manifest()
        if manifest is None:
            return None
        try:
            parts = [
                Part(int(a), str(b), int(c), str(d), int(e)) for a, b, c, d, e in manifest["parts"]
            ]
            meta, json_cols = dict(manifest["meta"]), list(manifest["json_columns"])
            token, following = str(manifest["token"]), int(manifest["next"])
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        if not parts:
            return None
        tables = [self._read(p) for p in parts]
        try:
            joined = join_tables(tables)
        except (pa.ArrowException, ValueError, TypeError) as error:
            why = f"its partitions do not make one table ({error})"
            raise IndexDamagedError(self.folder / MANIFEST, why) from error
        for part, table in zip(parts, tables, strict=True):
            part.rows = table.num_rows  # another process may have rewritten it since
        self.parts, self.token, self.next = parts, token, following
        # the columns no row has a value in (Arrow counts them): found without a pass
        empty = [
            n
            for n, c in zip(joined.column_names, joined.columns, strict=True)
            if c.null_count == len(c)
        ]
        return joined, {**meta, "json_columns": json_cols, "empty_columns": empty}

    # ------------------------------------------------------------------ save
    def save(
        self,
        frame: pd.DataFrame,
        touched: set[str] | None,
        meta: dict[str, Any],
        paths: np.ndarray | None = None,
    ) -> int:
        """Write the partitions that hold a path of ``touched``, then the manifest.

        ``frame`` is the whole index table, sorted by path; ``touched`` the
        paths whose rows were added, removed or changed since the last save
        or load (None: all); ``paths`` its ``_path`` column as an object
        array, if the caller has it (made otherwise: 15-20 ms per 100,000 rows).
        Returns the number of partitions written. Raises OSError when the
        folder cannot be written.
        """
        if paths is None:
            paths = frame["_path"].to_numpy(dtype=object)
        on_disk = self._manifest()
        whole = (
            touched is None
            or not self.parts
            or on_disk is None
            or str(on_disk.get("token")) != self.token
        )
        if whole:  # numbered from 0 again: each file is replaced, none added beside
            self.parts = [Part(i, str(paths[c]) if i else "", 0) for i, c in enumerate(cuts(paths))]
            self.next = len(self.parts)
            dirty = set(range(len(self.parts)))
        else:
            dirty = self._dirty(paths, touched or set())
        dirty, dropped = self._recut(paths, dirty)
        starts = self._starts(paths)
        for i in sorted(dirty):
            part = self.parts[i]
            rows = frame.iloc[starts[i] : starts[i + 1]]
            part.rows, part.generation = len(rows), secrets.token_hex(6)
            table = table_of_frame(rows, {"generation": part.generation})
            # the Arrow copy first: one of a write the manifest does not name is not read
            write_mapped(table, self.mapped(part))
            write_part(table, self.file(part))
            part.nbytes = os.stat(self.file(part)).st_size
        json_cols = [str(c) for c in frame.columns if frame[c].dtype == object]
        self._write_manifest(meta, json_cols)
        # what other writers left is not this index's; what a writer that stopped
        # before its manifest left, once old enough to be no writer's at work
        gone = dropped | self._unnamed(0.0 if whole else _ORPHAN_AGE)
        for number in gone:
            shutil.rmtree(self.folder / f"part={number:05d}", ignore_errors=True)
        return len(dirty)

    def _new(self) -> int:
        self.next += 1
        return self.next - 1

    def _starts(self, paths: np.ndarray) -> np.ndarray:
        """The row where each partition starts, and the number of rows after the last."""
        firsts = np.array([p.first for p in self.parts[1:]], dtype=object)
        inner = np.searchsorted(paths, firsts, side="left")
        return np.concatenate([[0], inner, [len(paths)]]).astype(np.int64)

    def _dirty(self, paths: np.ndarray, touched: set[str]) -> set[int]:
        """The partitions holding a path of ``touched``, or whose number of rows changed."""
        firsts = np.array([p.first for p in self.parts], dtype=object)
        dirty: set[int] = set()
        if touched:
            where = np.searchsorted(firsts, np.array(sorted(touched), dtype=object), side="right")
            dirty.update((where - 1).tolist())
        sizes = np.diff(self._starts(paths))
        dirty.update(i for i, p in enumerate(self.parts) if p.rows != sizes[i])
        return dirty

    def _recut(self, paths: np.ndarray, dirty: set[int]) -> tuple[set[int], set[int]]:
        """Cut the dirty partitions grown past twice :data:`PART_ROWS`, drop the empty ones.

        Returns the (renumbered) positions of the partitions to write and
        the numbers of the partitions dropped.
        """
        starts = self._starts(paths)
        out: list[Part] = []
        write: set[int] = set()
        dropped: set[int] = set()
        for i, part in enumerate(self.parts):
            lo, hi = int(starts[i]), int(starts[i + 1])
            if i not in dirty:
                out.append(part)
                continue
            if lo == hi and len(self.parts) > 1:
                dropped.add(part.number)
                continue
            pieces = cuts(paths[lo:hi]) if hi - lo > 2 * PART_ROWS else [0]
            for k, c in enumerate(pieces):
                write.add(len(out))
                out.append(part if k == 0 else Part(self._new(), str(paths[lo + c]), 0))
        if not out:  # every row removed: one empty partition keeps the columns
            out, write = [Part(self._new(), "", 0)], {0}
        if out[0].first:
            out[0].first = ""  # the first partition takes every path before the next
        self.parts = out
        return write, dropped

    def _unnamed(self, age: float) -> set[int]:
        """Numbers of the partition folders not named, changed at least ``age`` seconds ago."""
        named = {p.number for p in self.parts}
        found: set[int] = set()
        try:
            entries = os.listdir(self.folder)
        except OSError:
            return found
        now = time.time()
        for name in entries:
            if not (name.startswith("part=") and name[5:].isdigit()) or int(name[5:]) in named:
                continue
            try:
                if now - os.stat(self.folder / name).st_mtime >= age:
                    found.add(int(name[5:]))
            except OSError:
                continue
        return found

    def _write_manifest(self, meta: dict[str, Any], json_cols: list[str]) -> None:
        self.token = secrets.token_hex(8)
        manifest = {
            "format": _store.FORMAT,
            "token": self.token,
            "next": self.next,
            "parts": [[p.number, p.first, p.rows, p.generation, p.nbytes] for p in self.parts],
            "json_columns": json_cols,
            "meta": meta,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + MANIFEST + ".", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(manifest, f)
            os.replace(tmp, self.folder / MANIFEST)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
