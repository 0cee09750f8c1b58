"""The index of a database in a remote store (S3, GCS, HTTP, a zip file): read-only.

The store is listed (one request per thousand objects on S3), the first
bytes of the objects fetched many at a time, and each header read by the
same walker and the same row builder as a local file's
(:func:`~dbdicom._index._scan.scan_one`); pydicom gets a whole object only
where it must (Big Endian, enhanced multi-frame per-frame values, sequences
nested too deep). The index is kept in the user cache under a name made
from the URL and endpoint (never the credentials), and a reopen lists the
store again and reads only the objects whose size or time (or ETag) changed.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from .._facade import pandas as pd
from .._files import (
    HEAD,
    WRITABLE,
    Header,
    NotDicomError,
    RemoteFile,
    Store,
    fetch_object,
    heads_in_batches,
    local_copy,
    read_any_header,
    remote_header,
)
from ._cells import read_sequence
from ._columns import column_data, frame_of, make_frame
from ._dicomdir import MEDIUM
from ._fresh import compare
from ._index import Index
from ._perframe import make_frames_table
from ._scan import (
    RT_DOSE,
    WANTED,
    Row,
    scan_one,
    warnings_of_each_file,
    with_warnings,
)
from ._walk import Walk

__all__ = ["RemoteIndex", "scan_objects"]

#: the most first bytes fetched of each object (headers longer than the last batch's)
MAX_HEAD = 1 << 18
_SOP_CLASS, _FRAMES = 0x00080016, 0x00280008

Progress = Callable[[int, int], None]


class RemoteIndex(Index):
    """The index of the objects of a :class:`~dbdicom._files.Store`, kept in the user cache.

    Read-only: the store is never written (``writable`` is False, so no
    journal and no lock are made); ``root`` is the cache folder of the
    index, ``store`` its store folder, and :attr:`name` the URL without
    credentials.

    Examples
    --------
    >>> archive = zip_of({"ct/IM-1": "CT_small.dcm", "mr/IM-1": "MR_small.dcm"})
    >>> index = RemoteIndex(Store(archive)).open()
    >>> index.array("_path").tolist(), index.array("Modality").tolist()
    (['ct/IM-1', 'mr/IM-1'], ['CT', 'MR'])
    >>> str(index.locations(["ct/IM-1"])[0]) == f"zip://ct/IM-1::{archive}"
    True
    """

    remote = True

    #: the start of the name of its folder in the user cache
    cache_prefix = ""

    @staticmethod
    def home() -> Path:
        """The folder that holds its folder: the user cache (an index can be made again)."""
        return Path(platformdirs.user_cache_dir("dbdicom"))

    def __init__(self, store: Store, progress: Progress | None = None) -> None:
        self.source = store
        folder = self.home() / f"{self.cache_prefix}{store.cache_key()}"
        #: whether this open made its folder (an open that fails takes it away: see discard)
        self.made = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(folder, progress)
        self.writable = False

    def discard(self, whole: bool = False) -> None:
        """Remove the folders of an open that failed, where they hold nothing.

        A store that cannot be listed (no server, no such bucket, refused,
        the URL of one object) leaves nothing in the user cache or data
        folder. Only empty folders go (``rmdir``): one that holds anything
        (an index saved before, a file another open of the same store is
        writing) stays, whoever made it. With ``whole`` (the caller found
        that nothing else uses the folder: no other open of the store in
        this process, no other process holding its writer's lock), a folder
        that this open made goes with whatever the failed open put in it.
        """
        if whole and self.made:
            shutil.rmtree(self.root, ignore_errors=True)  # what is left: as below
        for folder in (self.store, self.root):
            with contextlib.suppress(OSError):  # not empty, or gone: left as it is
                folder.rmdir()

    @property
    def name(self) -> str:
        return self.source.name

    def scan(self) -> None:
        """List the store and read every object's header again."""
        self.frame, frames = scan_objects(self.source, self.source.listing(), self.progress)
        self.frames = make_frames_table(frames)
        self.folders = {}
        self._finish(save=True)

    def refresh(self, full: bool = False) -> bool:
        """List the store; read the objects added or changed (size, time or ETag), drop the gone.

        A listing is the only way to see a change in a store, so ``full``
        changes nothing here. Returns True when any row changed.
        """
        found = self.source.listing()
        paths = self.array("_path")
        keep, todo = compare(
            paths, self.array("_size"), self.array("_mtime"), Walk(found, {}, None)
        )
        if keep.all() and not todo:
            return False
        scanned = dict(_scan_rows(self.source, todo, self.progress))
        self._read_again(set(paths[~keep]) | set(todo), todo, scanned)
        return True

    def check(self, rows: np.ndarray) -> bool:
        """Nothing: an object is compared with its row at a refresh, not at each read.

        (A check per read would be one more request per object, doubling
        the cost of reading frames; see docs/remote.md.)
        """
        return False

    def save(self) -> None:
        """Write the index into its cache folder (which :meth:`Index.save` writes if it exists)."""
        self.root.mkdir(parents=True, exist_ok=True)
        super().save()

    def urls(self, rels: Sequence[str]) -> list[str]:
        """The URL of each object, without credentials."""
        return [self.source.object(str(rel)).name for rel in rels]

    def read_only(self) -> str:
        """What the database is and how the user can change it: the message of a refusal.

        Examples
        --------
        >>> RemoteIndex.read_only.__get__(_Named(Store("/data/cd.zip")))()
        "/data/cd.zip is a zip file, which dbdicom reads but does not change. To change it, extract it into a folder (python -m zipfile -e /data/cd.zip folder), or copy it into one (local = database.save(folder)), and open that: db.database('folder')."
        """  # noqa: E501
        store, name = self.source, self.source.name
        if store.protocol == "zip":
            return f"{name} is a zip file, which dbdicom reads but does not change. " + (
                f"To change it, {_extract(store)}, or copy it into one (local = "
                "database.save(folder)), and open that: db.database('folder')."
            )
        if store.protocol in ("file", "local") and "::" not in store.url:
            return (
                f"{name} is a local folder opened by URL, read-only. To change it, "
                f"open the folder itself: db.database({store.filesystem()[1]!r})."
            )
        if store.protocol in WRITABLE and "::" not in store.url:
            return (
                f"{name} is a database in a remote store, opened read-only. To change "
                "it, open it with db.database(url, storage_options=..., writable=True) (an "
                "object store that takes writes), or download it into a local folder "
                "(local = database.save(folder)) and change that one."
            )
        return (
            f"{name} is a database in a remote store, opened read-only. To change it, "
            "download it into a local folder (local = database.save(folder)) and change "
            "that one."
        )

    def take_out(self, rels: Sequence[str]) -> str:
        """How the user takes one of the objects ``rels`` out: none can be, here (see Files).

        Examples
        --------
        >>> print(RemoteIndex.take_out(_Named(Store("s3://bucket/ct")), ["a/1", "b/1"]))
        s3://bucket/ct is opened read-only, where no object can be removed: open it with db.database(url, storage_options=..., writable=True), instance.remove() one copy and database.save(); or delete one of the objects s3://bucket/ct/a/1, s3://bucket/ct/b/1 with the store's own tools (its console or command line client) and open it again; or copy the database into a folder (local = database.save(folder)) and remove one there
        """  # noqa: E501
        store, name = self.source, self.source.name
        urls = ", ".join(store.object(str(rel)).name for rel in rels) or "the copies"
        if store.protocol == "zip":
            which = f"one of {', '.join(str(r) for r in rels)}" if rels else "one copy"
            return (
                f"{name} is a zip file, which dbdicom does not change: {_extract(store)} "
                "(or copy it into one: local = database.save(folder)), take "
                f"{which} out there and open the folder: db.database('folder')"
            )
        if store.protocol in WRITABLE and "::" not in store.url:
            return (
                f"{name} is opened read-only, where no object can be removed: open it with "
                "db.database(url, storage_options=..., writable=True), instance.remove() "
                f"one copy and database.save(); or delete one of the objects {urls} with "
                "the store's own tools (its console or command line client) and open it "
                "again; or copy the database into a folder (local = database.save(folder)) "
                "and remove one there"
            )
        return (
            f"{name} is read-only, where no object can be removed: copy the database "
            "into a folder (local = database.save(folder)) and remove one there, or have "
            f"one of {urls} removed where it is served from"
        )

    def locations(self, rels: Sequence[str]) -> np.ndarray:
        out = np.empty(len(rels), dtype=object)
        for i, rel in enumerate(rels):
            out[i] = self.source.object(str(rel))
        return out

    def copy_out(self, rel: str, target: Path, stat: bool = False) -> None:
        """Stream the object ``rel`` into the local file ``target`` (never whole in memory)."""
        fetch_object(self.source.object(rel), target)

    @contextlib.contextmanager
    def local_file(self, rel: str) -> Iterator[str]:
        """The object ``rel`` fetched whole into a temporary file, deleted after the block."""
        with local_copy(self.source.object(rel)) as path:
            yield path

    def _read_tags(self, rel: str, wanted: Mapping[int, str]) -> Header:
        obj = self.source.object(rel)
        return read_any_header(obj.name, wanted, self.source.whole(rel))

    def _read_sequence(self, rel: str, tag: int) -> Any:
        return read_sequence(io.BytesIO(self.source.whole(rel)), tag)

    @contextlib.contextmanager
    def _media_root(self) -> Iterator[str]:
        """A temporary folder holding the DICOMDIRs of the store, where each is in it."""
        rels = self.frame["_path"][self.frame["_error"] == MEDIUM].tolist()
        with tempfile.TemporaryDirectory(prefix="dbdicom-media-") as folder:
            for rel in rels:
                target = Path(folder, *str(rel).split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                self.copy_out(str(rel), target)
            yield folder


class _Named:
    """A stand-in with a store only, for the examples of what :class:`RemoteIndex` says."""

    def __init__(self, source: Store) -> None:
        self.source = source


def _extract(store: Store) -> str:
    """How to extract the zip file of ``store`` into a folder, said for a message.

    Examples
    --------
    >>> _extract(Store("zip://::/data/cd.zip")), _extract(Store("zip://::s3://b/cd.zip"))
    ('extract it into a folder (python -m zipfile -e /data/cd.zip folder)', 'download and extract it into a folder (python -m zipfile -e cd.zip folder)')
    """  # noqa: E501
    name = store.name
    path = name.partition("::")[2] or name
    if "://" in path:
        return (
            "download and extract it into a folder "
            f"(python -m zipfile -e {path.rsplit('/', 1)[-1]} folder)"
        )
    return f"extract it into a folder (python -m zipfile -e {path} folder)"


def scan_objects(
    store: Store, files: dict[str, tuple[int, int]], progress: Progress | None = None
) -> tuple[pd.DataFrame, list[Row]]:
    """The index rows of the objects ``files`` (relative path -> size, stamp) of ``store``.

    Returns the rows (as an index frame, in path order) and the per-frame
    rows of enhanced multi-frame objects, as
    :func:`~dbdicom._index._scan.scan_files` does for files.
    """
    rows: list[Row] = []
    frames: list[Row] = []
    for row, fr in (pair for _, pair in _scan_rows(store, files, progress)):
        rows.append(row)
        frames.extend(fr)
    if not rows:
        return make_frame([]), frames
    return frame_of([column_data(rows)]), frames


def _scan_rows(
    store: Store, files: dict[str, tuple[int, int]], progress: Progress | None
) -> list[tuple[str, tuple[Row, list[Row]]]]:
    """Per object of ``files`` (in path order): its row and frame rows."""
    items = sorted(files.items())
    total = len(items)
    out: list[tuple[str, tuple[Row, list[Row]]]] = []
    if progress and total:
        progress(0, total)
    first = [HEAD]
    for batch, heads in heads_in_batches(store, items, progress, lambda: first[0]):
        longest = 0
        with warnings_of_each_file() as said:
            for (rel, (size, stamp)), head in zip(batch, heads, strict=True):
                row, fr = _scan_object(store, rel, size, stamp, head)
                out.append((rel, (with_warnings(row, said()), fr)))
                longest = max(longest, row.get("_offset", -1))
        # the objects of a prefix have headers of similar lengths: fetch as much next time
        first[0] = min(max(HEAD, longest + 1024), MAX_HEAD)
    return out


def _scan_object(
    store: Store, rel: str, size: int, stamp: int, head: bytes | Exception
) -> tuple[Row, list[Row]]:
    """One object's rows: from its first bytes, or from the whole object where needed."""
    obj: RemoteFile = store.object(rel)
    if isinstance(head, Exception):
        cause = store.error(head, "cannot be read", obj.name)

        def failed() -> Header:
            raise OSError(str(cause))

        return scan_one(store.name, rel, size, stamp, read=failed)
    try:
        header = remote_header(obj, head, size, WANTED)
    except (NotDicomError, EOFError, OSError) as exc:
        error = exc

        def bad() -> Header:
            raise error

        return scan_one(store.name, rel, size, stamp, read=bad)
    if header is None or header.has_per_frame_groups or _dose_grid(header):
        return scan_one(store.name, rel, size, stamp, data=store.whole(rel))
    found = header
    return scan_one(store.name, rel, size, stamp, read=lambda: found)


def _dose_grid(header: Header) -> bool:
    """Whether the header is that of a multi-frame RT Dose (its frames read from the whole)."""
    values = header.values
    return values.get(_SOP_CLASS) == RT_DOSE and (values.get(_FRAMES) or 0) > 1
