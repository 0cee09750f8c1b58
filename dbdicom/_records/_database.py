"""The database record: a folder of DICOM files and its index."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DicomError
from .._facade import pandas as pd
from .._facade import pyarrow_dataset as pads
from .._index import (
    TAGS,
    VECTORS,
    Index,
    check_tag,
    copy_mark,
    factorize,
    parse_query,
    select_rows,
    sort_rows,
    to_plain,
)
from .._interaction import DialogLike, Status, StatusLike, TerminalDialog, check_protocol
from .._web import SCHEME
from ._attributes import distinct
from ._copies import import_dicom
from ._edit import Editor
from ._levels import Instance, Patient, Series, Study
from ._mapping import import_nifti
from ._reads import attribute_problems
from ._record import Record
from ._web import check_own_selection, fetch_again, hold_matching, list_again

__all__ = ["Database"]

_CLASSES: dict[str, type[Record]] = {
    "patient": Patient,
    "study": Study,
    "series": Series,
    "instance": Instance,
}
# the order of the tree: each level's records by these tags, then by key
_ORDER = [
    ("PatientName", "_patient"),
    ("StudyDate", "StudyTime", "_study"),
    ("SeriesNumber", "_series"),
    ("InstanceNumber", "_path"),
]
# the index table is in path order, which breaks the last ties by itself
_TREE_COLUMNS = [c for level in _ORDER for c in level if c != "_path"]


class Database(Record):
    """A folder of DICOM files, opened as a database. Create it with :func:`database`.

    It holds the folder's index, which it keeps in a hidden folder inside the
    database folder (or in the user's cache folder when the folder cannot be
    written).
    """

    __slots__ = (
        "_path",
        "_index",
        "_status",
        "_dialog",
        "_muted",
        "_groups",
        "_rank",
        "_closed",
        "_editor",
        "_seen",
        "_temporary",
        "__weakref__",
    )
    level = "database"

    def __init__(
        self,
        path: Path | str,
        status: StatusLike | None = None,
        dialog: DialogLike | None = None,
        follow_links: bool = False,
        index: Index | None = None,
    ) -> None:
        super().__init__(self, str(path))
        self._path = path
        self._status = check_protocol(status, StatusLike, "status") if status else Status()
        self._dialog = check_protocol(dialog, DialogLike, "dialog") if dialog else TerminalDialog()
        self._muted = False
        self._closed = False
        self._groups: dict[str, dict[str, Any]] = {}
        self._rank: np.ndarray | None = None
        self._seen = (-1, -1)  # index (version, order_version) of the caches
        self._temporary = False  # db.database() without a path
        if index is None:
            index = Index(Path(path), progress=self._progress, follow_links=follow_links)
        else:  # a remote store's (see _remote_database)
            index.progress = self._progress
        self._index = index
        self._index.open()
        self._editor = Editor(self)

    # ----------------------------------------------------------- state
    def _progress(self, done: int, total: int) -> None:
        if not self._muted:
            self._status.progress(done, total, "Reading DICOM headers")

    @property
    def path(self) -> str:
        """Its folder, or the URL of its store or DICOMweb archive (no credentials: opens it)."""
        archive = self._index.archive
        return str(self._path) if archive is None else f"{SCHEME}{archive.url}"

    @property
    def cache(self) -> str | None:
        """The folder of a DICOMweb archive's headers (``cache=`` of :func:`dicomweb`), or None."""
        return None if self._index.archive is None else str(self._path)

    @property
    def read_only(self) -> bool:
        """True when the folder cannot be written (the index is then in the cache).

        A database in a remote store (a URL) is always read-only.
        """
        return not self._index.writable

    @property
    def index(self) -> Index:
        """The index of the folder (one row per file)."""
        if self._closed:
            raise DicomError(
                f"the database {self._path} is closed: open it again with db.database(path)"
            )
        self._editor.catch_up()  # what another Database object, or process, changed
        return self._index

    @property
    def index_path(self) -> str:
        """The folder of the saved index: Parquet files any Parquet reader queries.

        One file per range of about 20,000 paths, in folders named the Hive
        way (``part=00000/part.parquet``), with ``_manifest.json`` beside:
        DuckDB's ``read_parquet(index_path + '/*/*.parquet')`` or
        ``pyarrow.dataset.dataset(index_path, partitioning="hive")`` read
        only the columns and files a query needs. A row per file: the
        columns are DICOM keywords (vectors one column per value,
        ``ImagePositionPatient[0]``...), ``_path`` relative to the database
        folder, and dbdicom's other own columns (see docs/scaling.md).
        Changes are written there by :meth:`close`, at exit, or by
        :meth:`index_dataset`.

        Examples
        --------
        >>> database.index_path.endswith("index")
        True
        """
        return str(self.index.parts.folder)

    def index_dataset(self) -> Any:
        """The saved index as a :class:`pyarrow.dataset.Dataset`, written first if it changed.

        Nothing is read until a scan: ``dataset.to_table(columns=...,
        filter=...)`` reads only those columns of the files the filter may
        match; DuckDB queries it in SQL the same way. See :attr:`index_path`.

        Examples
        --------
        >>> import pyarrow.dataset as ds
        >>> found = database.index_dataset().to_table(
        ...     columns=["_path"], filter=ds.field("Modality") == "CT"
        ... )
        >>> found.num_rows == len(database.instances(Modality="CT"))
        True
        """
        self.index.flush()
        return pads.dataset(self.index_path, format="parquet", partitioning="hive")

    def _changed(self) -> None:
        """Drop the caches built on the index table if it changed in a way they see.

        Another view of the folder (a Database object of this process) that
        changed it is caught up with first: the caches answer for rows.
        """
        editor = getattr(self, "_editor", None)  # (none yet while the database opens)
        if editor is not None and editor.behind:
            editor.catch_up()  # which calls this again, caught up
            return
        index = self._index
        if self._seen[0] != index.version:
            self._groups = {}
            self._rank = None
        elif self._seen[1] != index.order_version:
            self._rank = None
        self._seen = (index.version, index.order_version)

    def label(self) -> str:
        """Its :attr:`path`: for a DICOMweb archive, its URL (no credentials), not its cache."""
        return self.path

    # ----------------------------------------------------------- lifecycle
    def scan(self) -> Database:
        """Read every file again and rebuild the index from scratch.

        For files other tools rewrote in place, or an index that may be
        wrong: what a reopen does not look at (see :meth:`refresh`).
        ``refresh(full=True)`` finds the same changes without reading the
        files that did not change. For a DICOMweb archive, the server is
        asked first, as ``refresh()`` asks it, then the headers of every
        series it holds are fetched again, and the filters of its open
        select the instances it holds again.
        """
        check_own_selection(self)  # an archive's: its cache as its filters left it
        list_again(self)  # an archive's: asks its server
        fetch_again(self)
        self.index.scan()
        hold_matching(self)  # an archive's: the instances its filters hold
        self._changed()
        return self

    def refresh(self, full: bool = False) -> bool:
        """Take in the files added, changed or removed since the index was made; True if any.

        What a reopen does: only the folders whose modification time changed
        are listed again, and their files compared (size and modification
        time) with the index. A file added, removed, renamed or replaced
        changes its folder's time; a file rewritten in place by another
        program does not, and is read again only when dbdicom next reads it
        (its pixels or a tag not in the index), unless :meth:`problems` lists
        it as unreadable or truncated (a copy unfinished when indexed: those
        few are compared each time). With ``full=True`` every file's size
        and time is compared (one ``stat`` per file), which finds those too.
        For a DICOMweb archive, the server is asked first, as a reopen asks
        it: the headers of new series, and of series whose number of
        instances changed, are fetched, and series it no longer lists go;
        ``full=True`` then fetches the headers of every series held again. Either
        way, the filters given at its open select the instances it holds
        (see :func:`dbdicom.dicomweb`).

        Examples
        --------
        >>> database.refresh()
        False
        >>> database.refresh(full=True)
        False
        """
        check_own_selection(self)  # an archive's: its cache as its filters left it
        list_again(self)  # an archive's: asks its server
        if full:
            fetch_again(self)
        changed = self.index.refresh(full=full)
        changed = hold_matching(self) or changed  # an archive's: the instances its filters hold
        if changed:
            self._changed()
        return changed

    @property
    def temporary(self) -> bool:
        """True for a database made without a path (see :func:`database`)."""
        return self._temporary

    def close(self) -> bool:
        """Close the database; its records can no longer be used.

        Edits held in memory (:meth:`read`) are written to disk first (of a
        folder moved away, dropped with a DicomWarning). With unsaved changes
        made in this session, the dialog asks whether to save them (yes),
        restore the last saved state (no) or cancel: then the database stays
        open and the changes stay unsaved. Without a terminal to answer, the
        dialog cancels: nothing is ever discarded silently. True: closed.
        """
        if self._closed:
            return True
        if self._temporary:
            self._closed = True
            self._editor.release()
            shutil.rmtree(self._path, ignore_errors=True)
            return True
        editor = self._editor
        if editor.moved():  # nothing can be written: the changes went with the folder
            self._closed = True
            editor.let_go_moved()  # (and the edits held in memory are dropped, said)
            return True
        if editor.pending:
            editor.write_pending()
        if editor.owner and editor.unsaved:
            n = len(editor.changes())
            answer = self._dialog.question(
                f"{self._path} has {n} unsaved change(s). Save them? "
                "(no: restore the last saved state; cancel: keep them unsaved)",
                title="Close database",
                cancel=True,
            )
            if answer == "yes":
                self.save()
            elif answer == "no":
                self.restore()
            else:
                self._index.flush()
                self._dialog.warning(
                    f"{self._path} stays open with {n} unsaved change(s), kept in its "
                    "journal: call save() or restore(), or reopen it later to decide."
                )
                return False
        self._index.flush()
        editor.release()
        self._closed = True
        return True

    @property
    def unsaved(self) -> bool:
        """Whether the folder has changes not yet saved (by this process or an earlier one).

        Examples
        --------
        >>> database.unsaved
        False
        """
        return self._editor.unsaved

    def changes(self) -> Any:
        """The unsaved changes: a :class:`pandas.DataFrame` of ``path`` and ``change``.

        ``change`` is one of ``"changed"``, ``"new"``, ``"removed"``,
        ``"changed in memory"``.
        """
        return self._editor.changes()

    def import_dicom(
        self, files: Any, *, storage_options: Mapping[str, Any] | None = None, session: Any = None
    ) -> list[Any]:
        """Copy DICOM files (a list of files or folders, or one folder) into the database.

        The files are copied, never moved or changed; files whose
        SOPInstanceUID is already in the database, files that are not
        DICOM, and entries that are not files (named pipes, devices,
        dangling links: never opened) are skipped and listed in a warning
        (:class:`dbdicom.DicomWarning`; those whose elements differ from the
        file kept apart, not only their file meta). The copies can be removed again with
        :meth:`restore` until :meth:`save`. Returns the new instances.

        ``files`` (or any of a list) may also be a URL of an object store
        or web server, or a zip file, as :func:`dbdicom.database` opens them
        (``"s3://bucket/prefix"``, ``"gs://..."``, ``"az://..."``,
        ``"https://host/folder/"``, ``"archive.zip"``,
        ``"zip://::s3://bucket/archive.zip"``, or ``"s3://bucket/archive.zip"``
        alone: a zip object is its files), with ``storage_options``
        (fsspec's: credentials, endpoint; for every URL of a list, or keyed
        by protocol, ``{"s3": {...}, "https": {...}}``, each URL its own;
        never for a local zip file): the objects below it (or the
        one object it names) are imported as the files of a folder are,
        their headers fetched by range, then each object streamed into
        the database. A missing bucket or prefix, refused access and a
        missing package raise what :func:`dbdicom.database` raises for that
        URL (:class:`dbdicom.DatabaseNotFoundError`,
        :class:`dbdicom.StorageAccessError`,
        :class:`dbdicom.StorageBackendError`), before any file is copied;
        credentials never appear in an error or warning. See docs/remote.md.

        ``files`` may also be the URL of a study or a series of a DICOMweb
        archive (``"dicomweb+http://host/dicom-web/studies/<uid>/series/<uid>"``,
        credentials as ``user:password@`` in it, or ``session=`` as :func:`dbdicom.dicomweb`
        takes it): its instances are retrieved with WADO-RS and imported (docs/dicomweb.md).

        Examples
        --------
        >>> import shutil, tempfile
        >>> archive = shutil.make_archive(tempfile.mkdtemp() + "/cd", "zip", database.path)
        >>> other = db.database(tempfile.mkdtemp())
        >>> len(other.import_dicom(archive)) == len(database.instances())
        True
        """
        return import_dicom(self, files, storage_options, session)

    def import_nifti(self, path: str | os.PathLike[str], reference: Any = None) -> Any:
        """Write a NIfTI file (``.nii`` or ``.nii.gz``) into the database as a new series.

        Needs nibabel (the ``nifti`` extra). Voxel (i, j, k) of
        the file becomes column i, row j of slice k, and the affine goes from
        NIfTI's RAS to DICOM's LPS (x and y change sign), which gives the
        frames' ImagePositionPatient, ImageOrientationPatient, PixelSpacing
        and SliceLocation: the inverse of :meth:`export_as_nifti`, so that an
        export imported again has the same values and geometry. SliceThickness
        is the slice step along the normal.

        A 4-D file: its 4th dim becomes a tag dim when a JSON sidecar next to
        the file (``<name>.json``, as :meth:`export_as_nifti` writes) holds
        a list of distinct values, one per volume, under a DICOM keyword
        (e.g. ``"FlipAngle": [2, 5, 10, 15]``); otherwise the volumes are
        frames stacked at each slice (read them with
        ``series.array(["SliceLocation"])``). NaN voxels are written as 0.

        Parameters
        ----------
        path : str or path-like
            The NIfTI file.
        reference : Series, optional
            The new series goes next to it (same study) and takes its
            FrameOfReferenceUID: the file is taken to be in the reference's
            patient coordinates. Where the file's voxels are the
            reference's, in any order (another tool's NIfTI of it: dcm2niix
            stores the rows the other way up), the new series takes the
            reference's order and geometry exactly, so that the two line
            up index for index; on another grid it keeps its own
            (``map_to`` resamples). A study: the new series goes into it.
            Without: a new patient and study.

        Returns
        -------
        Series
            The new series, described by the file name (without
            ``.nii.gz``).

        Examples
        --------
        >>> import tempfile
        >>> t2w = database.series(SeriesDescription="T2w")[0]
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     out = t2w.export_as_nifti(folder)
        ...     (file,) = out.rglob("*.nii.gz")
        ...     back = database.import_nifti(file, reference=t2w)
        >>> back.SeriesDescription, back.parent == t2w.parent
        ('2_T2w', True)
        >>> bool((back.to_xarray().values == t2w.to_xarray().values).all())
        True
        >>> database.restore()
        6
        """
        return import_nifti(self, path, reference)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def problems(self) -> Any:
        """Files not in the hierarchy or placed by a rule, and records whose files disagree.

        Returns a :class:`pandas.DataFrame` with columns ``path`` and
        ``problem``: a row per file that is not in the hierarchy (or is
        placed by a rule), then a row per record and attribute of its level
        on which its files disagree (two SeriesDescriptions in one series:
        reading it gives the list of both), with the record's first file.

        Examples
        --------
        >>> database.problems().empty
        True
        """
        found = self.index.problems()
        disagree = attribute_problems(self)
        if disagree.empty:
            return found
        return disagree if found.empty else pd.concat([found, disagree], ignore_index=True)

    # ----------------------------------------------------------- for records
    def _rows(self) -> np.ndarray:
        return self.index.ok

    def _index_rows(self, level: str, key: str) -> np.ndarray:
        if level == "database":
            return self.index.ok
        self._changed()
        groups = self._groups.get(level)
        if groups is None:
            first = self._groups.setdefault("", {})  # the first key asked of each level
            if level not in first:  # found by one pass over the column, kept
                ok = self.index.ok
                first[level] = (key, ok[self.index.array(f"_{level}", ok) == key])
            if first[level][0] == key:
                return self._found(level, key, first[level][1])
        if groups is None and level == "instance":  # one row each: a plain lookup
            ok = self.index.ok
            col = self.index.array("_instance", ok)
            groups = dict(zip(col.tolist(), ok.tolist(), strict=True))
            self._groups[level] = groups
        if groups is None:  # the rows of each key, found by hashing the keys
            ok = self.index.ok
            codes, keys = factorize(self.index.array(f"_{level}", ok))
            order = np.argsort(codes, kind="stable")  # each key's rows stay in path order
            starts = np.searchsorted(codes[order], np.arange(len(keys) + 1))
            groups = {
                str(k): ok[order[starts[i] : starts[i + 1]]] for i, k in enumerate(keys.tolist())
            }
            self._groups[level] = groups
        rows = groups.get(key)
        if isinstance(rows, int):
            return np.array([rows], dtype=np.int64)
        return self._found(level, key, rows)

    def _found(self, level: str, key: str, rows: np.ndarray | None) -> np.ndarray:
        """The rows of record ``(level, key)``; none for a new one; an error for a gone one."""
        if rows is not None and len(rows):
            return rows
        if (level, key) in self._editor.empty:
            return np.array([], dtype=np.int64)
        if level == "instance" and "#" in key:
            same = self._same_copy(key)
            if same is not None:
                return same
        raise DicomError(
            f"no {level} with key {key!r} in {self.path}: it was removed, or the "
            "database was scanned again; find it again from the database."
        )

    def _same_copy(self, key: str) -> np.ndarray | None:
        """The row of the copy ``key`` names (``<uid>#<mark>``), now under another key.

        A copy of an instance whose other copies were removed since is keyed
        by its UID alone; the mark (of its path, see ``_index.copy_mark``)
        finds the same file, never another copy.
        """
        uid, _, mark = key.rpartition("#")
        ok = self.index.ok
        keys = self.index.array("_instance", ok)
        near = np.flatnonzero((keys == uid) | np.char.startswith(keys.astype(str), uid + "#"))
        paths = self.index.array("_path", ok[near])
        for row, path in zip(ok[near], paths, strict=True):
            if copy_mark(str(path)) == mark:
                return np.array([row], dtype=np.int64)
        return None

    def _tree_rank(self) -> np.ndarray:
        """Each row's place in the tree order (:data:`_ORDER`), worked out once per table."""
        self._changed()
        if self._rank is None:
            n = self.index.n_rows
            order = sort_rows(self.index.sort_key, np.arange(n), _TREE_COLUMNS)
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            self._rank = rank
        return self._rank

    def _in_order(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` in the order of the tree: a few sorted alone, many by the rank of all."""
        self._changed()
        if self._rank is None and len(rows) * 4 < self.index.n_rows:
            return sort_rows(self.index.sort_key, rows, _TREE_COLUMNS)
        return rows[np.argsort(self._tree_rank()[rows], kind="stable")]

    def _ordered_keys(self, level: str, rows: np.ndarray) -> list[str]:
        col = self.index.array(f"_{level}", self._in_order(rows))
        return list(dict.fromkeys(col.tolist()))

    def _class_of(self, level: str) -> type[Record]:
        return _CLASSES[level]

    def _values(self, rows: np.ndarray, column: str) -> list[Any]:
        return self.index.values(self._in_order(rows), column)

    def _distinct(self, rows: np.ndarray, column: str) -> list[Any]:
        """The distinct values of ``column`` in ``rows``, None left out, in tree order.

        ``distinct(self._values(rows, column))``, with the duplicates of an
        index column dropped (numpy) before any value is made a Python one.
        """
        index = self.index
        if column not in TAGS or (column not in VECTORS and not index.holds(column)):
            return distinct(self._values(rows, column))
        ordered = self._in_order(rows)
        if column in VECTORS:
            names = [f"{column}[{i}]" for i in range(VECTORS[column])]
            block = np.column_stack([index.array(n, ordered) for n in names])
            keys = np.where(np.isnan(block), np.inf, block)  # NaNs alike
            _, first = np.unique(keys, axis=0, return_index=True)
            cells: list[Any] = [
                None if np.isnan(b).all() else tuple(float(x) for x in b)
                for b in block[np.sort(first)]
            ]
        else:  # numbers, text and categories alike: their distinct values, in order
            cells = [to_plain(v, column) for v in factorize(index.array(column, ordered))[1]]
        return distinct(cells)

    def _filter(self, rows: np.ndarray, filters: dict[str, Any]) -> np.ndarray:
        # every filter is checked before any is applied: a bad one fails on any rows
        queries = [parse_query(check_tag(name), wanted) for name, wanted in filters.items()]
        for query in queries:
            rows = rows[select_rows(self.index, rows, query)]
        return rows

    def _files(self, rows: np.ndarray) -> list[str]:
        """Where the files of ``rows`` are, in the tree's order (see :meth:`_where`)."""
        return self._where(self.index.array("_path", self._in_order(rows)))

    def _where(self, rels: Sequence[str] | np.ndarray) -> list[str]:
        """Where the files ``rels`` are, for the user: paths, or URLs with no credentials.

        In a store, each object's URL (``zip://ct/IM-1::/data/cd.zip`` for a
        file in a zip); for a DICOMweb archive, each instance's URL on the
        server (WADO-RS), not the header kept in the cache.
        """
        paths = [str(r) for r in rels]
        if self.index.archive is not None or self.index.remote:
            return self.index.urls(paths)
        return [os.path.join(self._path, p) for p in paths]
