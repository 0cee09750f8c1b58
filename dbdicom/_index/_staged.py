"""The index of a database in a writable object store, whose changes are staged locally.

A database opened with ``db.database(url, writable=True)`` changes nothing
in its store until it is saved: the objects it changes are first fetched
into a working folder in the user cache (one per URL and endpoint, never
named after a credential), and changed there through the same journal as a
local folder's files (``dbdicom._journal``); new files are written there.
The journal's entries say which paths are the working folder's: a path
announced to the journal is read from its local file (and is gone from the
database when that file is gone: removed); every other path is read from
the store. Saving sends the changes into the store (``dbdicom._journal._push``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import Header, RemoteFile, Store, read_any_header
from ._cells import read_sequence
from ._files import Files
from ._fresh import compare
from ._remote import RemoteIndex, _scan_rows
from ._scan import Row
from ._walk import Walk

__all__ = ["StagedIndex"]

#: objects fetched together when they are made local (one concurrent ``cat``)
_BATCH = 64


def _none() -> Mapping[str, Any]:
    return {}


class StagedIndex(RemoteIndex):
    """The index of a store whose changes are staged in a local working folder.

    ``root`` is the working folder (its hidden folder holds the index, the
    journal and the writer's lock); :attr:`entries` gives the journal's
    entries (set by the editor): the paths whose bytes are local.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> from pydicom.data import get_testdata_file
    >>> archive = tempfile.mkdtemp() + "/cd.zip"
    >>> with zipfile.ZipFile(archive, "w") as z:
    ...     z.write(get_testdata_file("CT_small.dcm"), "ct/IM-1")
    >>> index = StagedIndex(Store(archive)).open()
    >>> index.materialise(["ct/IM-1"])
    >>> (index.root / "ct/IM-1").is_file(), str(index.locations(["ct/IM-1"])[0])[:6]
    (True, 'zip://')
    >>> index.entries = lambda: {"ct/IM-1": None}  # announced: its local file is read
    >>> index.locations(["ct/IM-1"])[0] == str(index.root / "ct/IM-1")
    True
    """

    cache_prefix = "work-"

    def __init__(self, store: Store, progress: Callable[[int, int], None] | None = None) -> None:
        super().__init__(store, progress)
        self.writable = True
        #: the journal's entries: the paths whose bytes are in the working folder
        self.entries: Callable[[], Mapping[str, Any]] = _none

    # ------------------------------------------------------------ where
    def is_local(self, rel: str) -> bool:
        """Whether ``rel`` is read from the working folder (announced to the journal, there)."""
        return rel in self.entries() and (self.root / rel).is_file()

    def locations(self, rels: Sequence[str]) -> np.ndarray:
        out = super().locations(rels)
        for i, rel in enumerate(rels):
            if self.is_local(str(rel)):
                out[i] = str(self.root / str(rel))
        return out

    def copy_out(self, rel: str, target: Path, stat: bool = False) -> None:
        if self.is_local(rel):
            Files.copy_out(self, rel, target, stat)
        else:
            super().copy_out(rel, target, stat)

    @contextlib.contextmanager
    def local_file(self, rel: str) -> Iterator[str]:
        if self.is_local(rel) or (self.root / rel).is_file():  # a copy is the object's bytes
            yield str(self.root / rel)
            return
        with super().local_file(rel) as path:
            yield path

    def _read_tags(self, rel: str, wanted: Mapping[int, str]) -> Header:
        if self.is_local(rel):
            return read_any_header(str(self.root / rel), wanted)
        return super()._read_tags(rel, wanted)

    def _read_sequence(self, rel: str, tag: int) -> Any:
        if self.is_local(rel):
            return read_sequence(str(self.root / rel), tag)
        return super()._read_sequence(rel, tag)

    def materialise(self, rels: Sequence[str]) -> None:
        """Fetch the objects ``rels`` into the working folder (those not there yet).

        Before the journal keeps them (a change of a file needs its bytes
        here); each file is written whole, then renamed into place.
        """
        todo = [r for r in dict.fromkeys(rels) if not (self.root / r).is_file()]
        fs = self.source.filesystem()[0]
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            paths = {self.source.path_of(r): r for r in batch}
            try:
                got = fs.cat(list(paths), on_error="raise")
            except Exception as exc:  # the store's boundary: see Store.listing
                raise self.source.error(exc, "cannot be read") from exc
            if len(paths) == 1 and isinstance(got, bytes):
                got = {next(iter(paths)): got}
            for path, data in got.items():
                target = self.root / paths[str(path)]
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
                try:
                    part.write_bytes(bytes(data))
                    os.replace(part, target)
                finally:
                    part.unlink(missing_ok=True)

    def forget_copies(self, rels: Sequence[str], keep: Sequence[str] = ()) -> None:
        """Delete the local copies of ``rels`` that the journal no longer announces.

        Saved or restored, they are the store's objects again (read there);
        ``keep``: files held in memory (``read()``), whose copies stay.
        """
        entries, kept = self.entries(), set(keep)
        for rel in rels:
            if rel not in entries and rel not in kept:
                (self.root / rel).unlink(missing_ok=True)

    # ------------------------------------------------------------ rows
    def _found(self, listed: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """``listed`` (the store's objects) with the working folder's files in their place."""
        found = dict(listed)
        for rel in self.entries():
            local = self.root / rel
            if local.is_file():
                st = local.stat()
                found[rel] = (st.st_size, st.st_mtime_ns)
            else:
                found.pop(rel, None)  # removed, or new and removed again
        return found

    def _rows_of(self, todo: dict[str, tuple[int, int]]) -> dict[str, tuple[Row, list[Row]]]:
        """The rows of the store's objects among ``todo`` (local files are read by the index)."""
        remote = {r: v for r, v in todo.items() if not self.is_local(r)}
        return dict(_scan_rows(self.source, remote, self.progress))

    def scan(self) -> None:
        super().scan()
        if self.entries():
            self.update(sorted(self.entries()))

    def refresh(self, full: bool = False) -> bool:
        """List the store; the journal's paths are the working folder's files."""
        found = self._found(self.source.listing())
        paths = self.array("_path")
        keep, todo = compare(
            paths, self.array("_size"), self.array("_mtime"), Walk(found, {}, None)
        )
        if keep.all() and not todo:
            return False
        self._read_again(set(paths[~keep]) | set(todo), todo, self._rows_of(todo))
        return True

    def update(
        self, paths: list[str], scanned: Mapping[str, tuple[Row, list[Row]]] | None = None
    ) -> None:
        """Read ``paths`` again: from the working folder where local, else from the store."""
        wanted = set(paths)
        if not wanted:
            return
        entries = self.entries()
        files: dict[str, tuple[int, int]] = {}
        remote = []
        for rel in sorted(wanted):
            if self.is_local(rel):
                st = (self.root / rel).stat()
                files[rel] = (st.st_size, st.st_mtime_ns)
            elif rel not in entries:
                remote.append(rel)
        if remote:
            stat = self.source.stat if len(remote) <= 32 else None
            listed = stat(remote) if stat else self.source.listing()
            files.update({r: listed[r] for r in remote if r in listed})
        rows = {**self._rows_of({r: v for r, v in files.items() if r in remote})}
        rows.update(scanned or {})
        self._read_again(wanted, files, rows)

    def object_of(self, rel: str) -> RemoteFile:
        """The store's object ``rel`` (where a saved change goes)."""
        return self.source.object(rel)
