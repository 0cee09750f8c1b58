"""The index of a database in a writable object store, whose changes are staged locally.

A database opened with ``db.database(url, writable=True)`` changes nothing
in its store until it is saved: the objects it changes are first fetched
into a working folder in the user *data* folder (``platformdirs.user_data_dir``,
not the cache: it holds unsaved work; one per URL and endpoint, never named
after a credential), and changed there through the same journal as a local
folder's files (``dbdicom._journal``); new files are written there. The
journal's entries say which paths are the working folder's: a path
announced to the journal is read from its local file (and is gone from the
database when that file is gone: removed); every other path is read from
the store, whatever file of that name the working folder holds. Each
object fetched has its ETag and size recorded (``fetched.json`` in the
hidden folder): a save replaces or deletes an object only while it is
still the one fetched, and a copy left from before is used again only
while the store's object has that ETag. Saving sends the changes into the
store (``dbdicom._journal._push``).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from .._errors import FileGoneError
from .._files import Header, RemoteFile, Store, read_any_header
from ._cells import read_sequence
from ._files import Files
from ._fresh import compare
from ._remote import RemoteIndex, _scan_rows
from ._scan import Row
from ._walk import Walk

__all__ = ["WORKING_MARK", "StagedIndex"]

#: in the path of every working folder, whatever the machine's user data folder
#: (``<user data>/dbdicom/work-...``): how a file of one is told on a dask
#: worker, whose own folders may be other
WORKING_MARK = "/dbdicom/work-"

#: objects downloaded at once when they are made local (each streamed to its file)
_THREADS = 8


def _etag(info: Mapping[str, Any]) -> str:
    return str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "").strip('"')


def _none() -> Mapping[str, Any]:
    return {}


class StagedIndex(RemoteIndex):
    """The index of a store whose changes are staged in a local working folder.

    ``root`` is the working folder (its hidden folder holds the index, the
    journal and the writer's lock); :attr:`entries` gives the journal's
    entries (set by the editor): the paths whose bytes are local.

    Examples
    --------
    >>> index = StagedIndex(Store(zip_of({"ct/IM-1": "CT_small.dcm"}))).open()
    >>> index.materialise(["ct/IM-1"])
    >>> (index.root / "ct/IM-1").is_file(), str(index.locations(["ct/IM-1"])[0])[:6]
    (True, 'zip://')
    >>> index.entries = lambda: {"ct/IM-1": None}  # announced: its local file is read
    >>> index.locations(["ct/IM-1"])[0] == str(index.root / "ct/IM-1")
    True
    """

    cache_prefix = WORKING_MARK.rsplit("/", 1)[1]  # "work-"

    @staticmethod
    def home() -> Path:
        """Unsaved work lives here: the user data folder, which cache cleaners leave alone."""
        return Path(platformdirs.user_data_dir("dbdicom"))

    def __init__(self, store: Store, progress: Callable[[int, int], None] | None = None) -> None:
        super().__init__(store, progress)
        self.writable = True
        #: the journal's entries: the paths whose bytes are in the working folder
        self.entries: Callable[[], Mapping[str, Any]] = _none

    def take_out(self, rels: Sequence[str]) -> str:
        """How the user takes one of the objects ``rels`` out: removed here, deleted by a save."""
        return (
            "Remove one copy with instance.remove() (undone by database.restore()): "
            "database.save() deletes its object from the store"
        )

    # ------------------------------------------------------------ fetched
    def fetched(self) -> dict[str, dict[str, Any]]:
        """``{path: {"etag": ..., "size": ...}}``: each object as it was when fetched."""
        try:
            data = json.loads((self.store / "fetched.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _record(self, fetched: Mapping[str, Any]) -> None:
        path = self.store / "fetched.json"
        part = path.with_name(f".fetched.{uuid.uuid4().hex}.part")
        try:
            part.write_text(json.dumps(fetched))
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)

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
        if self.is_local(rel):  # any other copy may be older than the object
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
        """Fetch the objects ``rels`` into the working folder (those the journal does not hold).

        Before the journal keeps them (a change of a file needs its bytes
        here). Each object's ETag and size are read first and recorded; a
        copy already there is used again only while the object still has
        them, else fetched again. Each is streamed into a part file, then
        renamed into place (a few at once, never whole in memory).

        Raises
        ------
        dbdicom.FileGoneError
            An object was deleted from the store since it was indexed.
        """
        entries = self.entries()
        todo = [r for r in dict.fromkeys(rels) if r not in entries]
        if not todo:
            return
        fetched = self.fetched()
        with ThreadPoolExecutor(min(_THREADS, len(todo))) as pool:
            got = list(pool.map(lambda rel: self._fetch(rel, fetched.get(rel)), todo))
        fetched.update(zip(todo, got, strict=True))
        self._record(fetched)

    def _fetch(self, rel: str, seen: Mapping[str, Any] | None) -> dict[str, Any]:
        """Make ``rel`` a local copy of the store's object; its ETag and size."""
        fs = self.source.filesystem()[0]
        path, target = self.source.path_of(rel), self.root / rel
        url = self.source.object(rel).name
        try:
            info = fs.info(path)
            now = {"etag": _etag(info), "size": int(info.get("size") or 0)}
            if (
                seen == now
                and now["etag"]
                and target.is_file()
                and target.stat().st_size == now["size"]
            ):
                return now  # the copy is still the object's bytes
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
            try:
                fs.get_file(path, str(part))
                os.replace(part, target)
            finally:
                part.unlink(missing_ok=True)
        except FileNotFoundError as exc:
            raise FileGoneError(
                f"{url} was deleted from the store by another program since the database was "
                "indexed; nothing was changed. Call database.refresh() to take in the store "
                "as it is now."
            ) from exc
        except OSError as exc:
            if exc.filename and str(exc.filename).startswith(str(self.root)):
                raise  # the working folder's disk, not the store
            raise self.source.error(exc, "cannot be read", url) from exc
        except Exception as exc:  # the store's boundary: see Store.listing
            raise self.source.error(exc, "cannot be read", url) from exc
        return now

    def forget_copies(self, rels: Sequence[str], keep: Sequence[str] = ()) -> None:
        """Delete the local copies of ``rels`` that the journal no longer announces.

        Saved or restored, they are the store's objects again (read there).
        ``keep``: files held in memory (``read()``), whose copies stay; they
        are never read as the store's objects (only the journal's files
        are), and fetched again unless the object still has their ETag.
        """
        entries, kept = self.entries(), set(keep)
        fetched = self.fetched()
        for rel in rels:
            if rel in entries:
                continue
            if rel in kept:  # the object may be ours now (saved): its ETag is not known
                fetched[rel] = {"etag": "", "size": -1}
            else:
                (self.root / rel).unlink(missing_ok=True)
                fetched.pop(rel, None)
        self._record(fetched)

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
        if remote:  # a few objects: one request each; more: one listing of the prefix
            stat = self.source.stat if len(remote) <= 32 else None
            listed = stat(remote) if stat else self.source.listing()
            files.update({r: listed[r] for r in remote if r in listed})
        rows = {**self._rows_of({r: v for r, v in files.items() if r in remote})}
        rows.update(scanned or {})
        self._read_again(wanted, files, rows, keep=True)

    def object_of(self, rel: str) -> RemoteFile:
        """The store's object ``rel`` (where a saved change goes)."""
        return self.source.object(rel)
