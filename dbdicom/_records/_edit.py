"""Changing a database: the writer's lock, file rewrites, memory mode, save and restore.

Files are rewritten through the journal.

Every change goes through :meth:`Editor.change` (rewrite files),
:meth:`Editor.create` (new files) or :meth:`Editor.remove_rows`; each
announces itself to the journal before it touches the disk, so that it can
be undone until it is saved (see :mod:`dbdicom._journal`).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import os
import struct
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filewriter import correct_ambiguous_vr_element
from pydicom.multival import MultiValue
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import PersonName

from .._checks import resolve_tag
from .._dataset import (
    UTF8_NAME,
    holds_text,
    naming,
    non_ascii,
    switch_charset,
    unknown_vr,
)
from .._errors import (
    DicomError,
    DicomWarning,
    FileGoneError,
    InvalidFileError,
    ReadOnlyError,
    StorageError,
    disk_full,
)
from .._files import pad_last_fragment, read_dataset
from .._index import HIDDEN, StagedIndex, column_of, text_in
from .._journal import Journal
from ._changes import Changes
from ._empty import Registry
from ._memory import Memory
from ._saving import Saving
from ._shared import EDITORS, Shared, folder_lock
from ._staged import StoreEdits

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["DELETE", "Editor", "first_line", "open_databases", "put"]

Keys = tuple[str, str, str, str]
# progress is shown for operations on at least this many files
PROGRESS_FROM = 50
# values longer than this (pixel data) are read when written (Editor.dataset's ``defer``)
_DEFER_SIZE = 1 << 16


def open_databases() -> list[Any]:
    """The databases open in this process (not closed), in no particular order."""
    return [e.db for e in list(EDITORS) if not e.db._closed]


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


#: A value that removes the element from the files.
DELETE: Any = _Delete()
_CHARSET = 0x00080005  # SpecificCharacterSet

#: what pydicom raises on a file it cannot read or write whole (a Deflate stream cut, a
#: sequence nested too deep, elements it cannot encode, pixel data not encapsulated
#: under a compressed transfer syntax): the file is refused, named, not a traceback
_PYDICOM_FAILS = (
    InvalidDicomError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    RecursionError,
    struct.error,
    zlib.error,
)


def put(ds: Dataset, number: int, vr: str, value: Any, switch: bool = True) -> None:
    """Set (or with :data:`DELETE`, remove) one element of ``ds``.

    Text beyond ASCII that its character set cannot encode switches ``ds``
    to UTF-8 (unless not to ``switch``: the caller chose a character set
    that encodes it), or raises an :class:`UnkeptBytesError` (see
    :func:`~dbdicom._dataset.switch_charset`) that
    :func:`~dbdicom._dataset.naming` names the file in.
    """
    if number == _CHARSET and not isinstance(value, DataElement):
        # the text re-encoded in the new set; refused where it cannot hold it
        switch_charset(ds, None if value is DELETE else value)
        return
    if value is DELETE:
        if number in ds:
            del ds[number]
        return
    if isinstance(value, DataElement):
        if " or " in str(value.VR):  # "US or SS": the one the file's own values give
            little = ds.original_encoding[1] is not False
            with contextlib.suppress(AttributeError):  # (none: as given, as before)
                value = correct_ambiguous_vr_element(copy.copy(value), ds, little)
        ds[value.tag] = value
        return
    if switch and non_ascii(value) and not holds_text(ds.get("SpecificCharacterSet"), value):
        if ds.get("SpecificCharacterSet") != UTF8_NAME:
            switch_charset(ds, UTF8_NAME)  # UTF-8, which encodes any text
    if number in ds:
        # an element of an unknown VR ('XX') is replaced: pydicom cannot convert it
        if unknown_vr(ds.get_item(number)) or ds[number].VR in ("UN", "US or SS", "OB or OW"):
            ds.add_new(number, vr, value)
        else:
            ds[number].value = value
    else:
        ds.add_new(number, vr, value)
    if number == 0x00080018 and getattr(ds, "file_meta", None) is not None:
        ds.file_meta.MediaStorageSOPInstanceUID = value


def plain(value: Any) -> Any:
    """A pydicom element value as the index holds it (tuples, floats, str)."""
    if isinstance(value, MultiValue | list | tuple):
        items = tuple(plain(v) for v in value)
        return items if len(items) != 1 else items[0]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) else int(value)
    if value == "":
        return None
    return value


def _save(ds: Dataset, path: str, part10: bool = False, where: Any = "") -> None:
    """Write ``ds`` to ``path`` as it was read (with or without a preamble and file meta).

    ``part10``: a new file (a copy), as a Part 10 file whatever its source was.
    ``where``: the file ``ds`` was read from, named in the :class:`InvalidFileError`
    raised where pydicom cannot write it.
    """
    pad_last_fragment(ds)
    try:
        _write(ds, path, part10)
    except DicomError:
        raise
    except _PYDICOM_FAILS as exc:
        raise InvalidFileError(
            f"{where}: pydicom cannot write it ({first_line(exc)}); nothing was changed. "
            "Repair the file with another tool, or leave it as it is (export_as_dicom "
            "copies it byte for byte)."
        ) from exc


def _refuse_cut(ds: Dataset, where: Any) -> None:
    """Refuse a file whose last element holds fewer bytes than its length says.

    pydicom reads the bytes that are there and writes them as the value,
    padded: the file would no longer say it was cut, and the missing pixels
    would read as made-up values (a zero byte for the one cut off). Not the
    Data Set Trailing Padding (FFFC,FFFC): its bytes mean nothing, cut or not.
    """
    tag = max(ds.keys(), default=None)  # the cut is at the end
    elem = None if tag is None else ds.get_item(tag, keep_deferred=True)
    if not isinstance(elem, RawDataElement) or elem.length == 0xFFFFFFFF or tag == 0xFFFCFFFC:
        return
    have = len(elem.value) if elem.value is not None else _deferred_bytes(ds, elem)
    if have < elem.length:
        raise InvalidFileError(
            f"{where}: its ({tag.group:04X},{tag.element:04X}) element is cut short "
            f"({have} of {elem.length} bytes): written again, the file would "
            "no longer say so, and what is missing would read as made-up values; "
            "nothing was changed. Put the whole file back from where it came, or "
            "remove it (record.remove())."
        )


def _deferred_bytes(ds: Dataset, elem: RawDataElement) -> int:
    """How many bytes of the deferred ``elem`` its file holds (its length if not known)."""
    # pydicom reads a deferred value as it writes it, the bytes that are there, without a
    # word: the file's size tells (not a deflated one's: its offsets are in its inflated stream)
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    name = getattr(ds, "filename", None)
    # (the syntax pydicom inflates; UID.is_deflated raises for one it does not know)
    if not isinstance(name, str) or syntax == DeflatedExplicitVRLittleEndian:
        return int(elem.length)
    try:
        return min(int(elem.length), os.path.getsize(name) - elem.value_tell)
    except OSError:  # gone: the write says so
        return int(elem.length)


def first_line(exc: BaseException) -> str:
    """``exc`` in one line: its type and the first line of its message (no traceback)."""
    text = str(exc).split("Traceback (most recent call last)")[0].strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip(": ")


def _write(ds: Dataset, path: str, part10: bool) -> None:
    """:func:`_save` without its refusal."""
    meta = getattr(ds, "file_meta", None)
    if part10 and (ds.preamble is None or meta is None or "TransferSyntaxUID" not in meta):
        implicit, little = ds.original_encoding
        meta = ds.file_meta = meta if meta is not None else FileMetaDataset()
        if "TransferSyntaxUID" not in meta:
            meta.TransferSyntaxUID = (
                ImplicitVRLittleEndian
                if implicit
                else ExplicitVRBigEndian
                if little is False
                else ExplicitVRLittleEndian
            )
        meta.MediaStorageSOPClassUID = ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(path, enforce_file_format=True)
        return
    ds.save_as(path, enforce_file_format=False)


class Editor(Shared, Changes, Memory, Saving):
    """The changes of one :class:`~dbdicom.Database`.

    Holds the journal, the writer's lock (taken at the first change), the
    datasets read into memory and the empty records. The other Database
    objects of its folder in this process share the lock and the journal
    (see :mod:`~dbdicom._records._shared`).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        index = db._index
        self.root = index.root
        # the folder however it is spelled (a/../a, a link to it): one lock, one owner
        self.key = os.path.realpath(self.root)
        self.journal: Journal | None = None
        self.lock = None
        self.identity = None
        if not index.remote:
            with contextlib.suppress(OSError):
                st = os.stat(self.root)
                self.identity = (st.st_dev, st.st_ino)
        # a database in a store opened writable: its changes staged (see _staged)
        self.store: StoreEdits | None = None
        if index.writable:
            self.journal = Journal(self.root, index.store / "journal")
            self.lock = folder_lock(self.key, index.store / "lock")
            if isinstance(index, StagedIndex):
                self.store = StoreEdits(index, self.journal, self.told)
        elif (self.root / HIDDEN / "journal").is_dir():
            # read-only now, changed before: the journal is read (never written) so
            # that unsaved changes are still reported
            self.journal = Journal(self.root, self.root / HIDDEN / "journal")
        # why the database cannot be changed, when the reason is not the folder's
        # (a DICOMweb archive's headers: see _web); "" otherwise
        self.refusal = ""
        # a DICOMweb archive's headers: the whole instance of a file, from the server
        self.archive: Callable[[str], Dataset] | None = None
        self.memory: dict[str, Dataset] = {}
        self.stamps: dict[str, tuple[int, int]] = {}  # of the files in memory (see Memory)
        self.pending: set[str] = set()
        self.empty = Registry()
        self._depth = 0  # changes under way (see changing)
        # the lock was taken, and no change has been made under it yet: a change
        # that fails lets it go again (see changing)
        self._loose = False
        self.restored_first: list[str] = []
        self.unseen: set[str] = set()
        self.behind = False
        EDITORS.add(self)

    # ------------------------------------------------------------ permission
    def begin(self) -> Journal:
        """The journal, once this process may change the folder.

        Raises :class:`ReadOnlyError` for a closed database, a read-only
        folder, or a folder another process is changing, and
        :class:`DiskFullError` when the disk is too full to take the lock
        (nothing is taken then).
        """
        if self.db._closed:
            raise ReadOnlyError(
                f"the database {self.root} is closed: open it again with db.database(path)."
            )
        if self.db._index.remote and self.store is None:  # a read-only store says what it is
            raise ReadOnlyError(self.db._index.read_only())
        if self.refusal:
            raise ReadOnlyError(self.refusal)
        if self.journal is None or self.lock is None:
            raise ReadOnlyError(self.db._index.read_only())
        if self.moved():
            raise self.gone()
        self.catch_up()  # what the other Database objects of the folder did
        fresh, put_back, lost = False, [], False
        if self.lock.held and not self.lock.holds(self.lock.path):
            # its file deleted (by hand, taken for a stale lock?) or replaced while held:
            # another process may hold the new one; taken afresh, or who has it said
            self.lock.release()
            lost = True
        if not self.lock.held:
            fresh = True
            put_back = self._take_lock(self.lock, self.journal)
            # taken afresh under this writer's changes: a change that fails keeps it
            self._loose = self._loose and not lost
        if fresh or not self.owner:
            # another writer (a process, or a Database object of this one) went first
            self.journal.load()
            self.db.refresh()
            self.own()
        self._finish_restore(self.journal, put_back)
        if self.store is not None:
            try:
                self.store.begin(self.memory)
            except DicomError:
                self._let_go()  # the folder's lock too: nothing was changed
                raise
        return self.journal

    @property
    def unsaved(self) -> bool:
        self.catch_up()
        if self.pending:
            return True
        if self.journal is None:
            return False
        if not self.owner:
            self.journal.load()  # another writer may have changed it
        return self.journal.unsaved

    # ------------------------------------------------------------ rows
    def rels(self, rows: np.ndarray) -> list[str]:
        return [str(p) for p in self.db.index.array("_path", rows)]

    def keys(self, rows: np.ndarray) -> list[Keys]:
        index = self.db.index
        cols = [index.array(c, rows) for c in ("_patient", "_study", "_series", "_instance")]
        return [tuple(str(c[i]) for c in cols) for i in range(len(rows))]  # type: ignore[misc]

    def check_files(self, rels: Sequence[str]) -> None:
        """Refuse to start when a file went missing behind the database's back."""
        if self.db.index.remote:  # objects of a store: a read names one that is gone
            return
        missing = [r for r in rels if r not in self.memory and not (self.root / r).is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise FileGoneError(
                f"{self.root / missing[0]}{more} was removed or moved by another program "
                "since the database was opened; nothing was changed. Call "
                "database.refresh() to take in the folder as it is now."
            )

    def dataset(self, rel: str, pixels: bool = True, defer: bool = False) -> Dataset:
        """The dataset of a file (the one in memory after ``read()``); ``defer``: see change."""
        ds = self.memory.get(rel)
        if ds is not None:
            return ds
        if pixels and self.archive is not None:  # the headers here, the pixels on the server
            return self.archive(rel)
        index = self.db.index
        try:
            with index.local_file(rel) as path:
                size = _DEFER_SIZE if defer else None
                ds = read_dataset(path, not pixels, decode=False, defer_size=size)
            _refuse_cut(ds, index.locations([rel])[0])
        except DicomError:
            raise
        except _PYDICOM_FAILS as exc:
            where = index.locations([rel])[0]
            raise InvalidFileError(
                f"{where} cannot be read by pydicom: {first_line(exc)}; nothing was changed."
            ) from exc
        if not len(ds):
            # pydicom (3.0) drops every element it read when the file ends inside one of
            # undefined length (encapsulated pixel data without their delimiter): written
            # from this, the file would be its file meta and the new values alone
            where = index.locations([rel])[0]
            raise InvalidFileError(
                f"{where}: pydicom reads no element of it (the file ends inside an element "
                "of undefined length, such as encapsulated pixel data without their sequence "
                "delimiter): written from what it reads, the file would lose them all; "
                "nothing was changed. Repair the file with another tool, or leave it as it "
                "is (export_as_dicom copies it byte for byte)."
            )
        return ds

    def _progress(self, done: int, total: int, text: str) -> None:
        if total >= PROGRESS_FROM and not self.db._muted:
            self.db._status.progress(done, total, text)

    # ------------------------------------------------------------ changes
    def change(
        self,
        rows: np.ndarray,
        fn: Callable[[Dataset], None],
        touched: Iterable[str],
        read: dict[str, Dataset] | None = None,
    ) -> None:
        """Apply ``fn`` to the datasets of ``rows``: in memory where they were read, else on disk.

        On disk, it goes through the journal. ``touched``: the index columns
        ``fn`` may change (used for rows held in memory). ``read``: datasets
        of local files read already, their pixel data not yet (``dataset(rel,
        defer=True)``), the files unchanged since: used, and taken out, as
        each file is written, instead of reading it again.
        """
        with self.changing() as journal:
            rels = self.rels(rows)
            keys = self.keys(rows)
            on_disk = [(r, k) for r, k in zip(rels, keys, strict=True) if r not in self.memory]
            self.check_files([r for r, _ in on_disk])
            self.db.index.materialise([r for r, _ in on_disk])
            in_memory = [i for i, r in enumerate(rels) if r in self.memory]
            changed = {}  # copies: a change refused half way leaves those read as they were
            for i in in_memory:
                held = copy.deepcopy(self.memory[rels[i]])
                with naming(self.db.index.locations([rels[i]])[0]):
                    fn(held)
                changed[rels[i]] = held
            journal.keep(on_disk)
            self._rewrite([r for r, _ in on_disk], fn, "Writing", read)
            for rel, held in changed.items():  # every file took the change: these too
                self.memory[rel] = held
                self.pending.add(rel)
            if in_memory:
                self._index_from_memory(rows[in_memory], touched)

    def _rewrite(
        self,
        rels: list[str],
        fn: Callable[[Dataset], None] | None,
        text: str,
        read: dict[str, Dataset] | None = None,
    ) -> None:
        def writer(rel: str) -> Callable[[str], None]:
            def write(tmp: str) -> None:
                ds = read.pop(rel, None) if read else None
                ds = self.dataset(rel) if ds is None else ds
                if fn is not None:
                    with naming(self.db.index.locations([rel])[0]):
                        fn(ds)
                _save(ds, tmp, where=self.db.index.locations([rel])[0])

            return write

        self._write_files(
            [(rel, writer(rel)) for rel in rels],
            text,
            "files were changed before it. They are kept unsaved in the journal: restore() "
            "puts them back, save() keeps them.",
        )

    def _write_files(
        self, items: list[tuple[str, Callable[[str], object]]], text: str, after: str
    ) -> None:
        """Write files through the journal (announced already); the index follows."""
        journal = self.begin()
        done: list[str] = []
        try:
            for i, (rel, writer) in enumerate(items):
                try:
                    journal.write(rel, writer)
                except OSError as exc:
                    if disk_full(exc):
                        raise  # the change is undone (see changing)
                    # (pydicom's writer puts a whole traceback in its message: the chain has it)
                    why = str(exc).split("Traceback (most recent call last)")[0].strip()
                    why = "; ".join(line.strip() for line in why.splitlines() if line.strip())
                    # a store's error stays one (an object fetched for an import)
                    kind = type(exc) if isinstance(exc, StorageError) else DicomError
                    raise kind(
                        f"writing {self.root / rel} failed ({why}); {len(done)} of {len(items)} "
                        f"{after}"
                    ) from exc
                done.append(rel)
                if rel in self.stamps:  # written by this database: its stamp follows
                    self.stamp(rel)
                self._progress(i + 1, len(items), text)
        finally:
            self.indexed(done)

    def _index_from_memory(self, rows: np.ndarray, touched: Iterable[str]) -> None:
        index = self.db.index
        rels = self.rels(rows)
        for column in dict.fromkeys(touched):
            tag = _tag(column)
            values = [
                plain(self.memory[r][tag].value) if tag in self.memory[r] else None for r in rels
            ]
            first = values[0]
            if all(_same(v, first) for v in values):
                index.set_cells(rows, column_of(column), first)
            else:
                for row, v in zip(rows, values, strict=True):
                    index.set_cells(np.array([row]), column, v)
        self.db._changed()

    def create(self, items: list[tuple[str, Keys, Callable[[str], object]]], text: str) -> None:
        """Write new files: ``(path, keys, writer)`` each; ``writer(tmp)`` writes one."""
        with self.changing() as journal:
            journal.created([(p, k) for p, k, _ in items])
            try:
                self._write_files(
                    [(p, w) for p, _, w in items],
                    text,
                    "new files were written before it: restore() removes them.",
                )
            finally:
                self.prune()

    def remove_rows(self, rows: np.ndarray) -> None:
        with self.changing() as journal:
            rels = self.rels(rows)
            keys = self.keys(rows)
            for r in rels:
                self.memory.pop(r, None)
                self.pending.discard(r)
            self.db.index.materialise(rels)
            present = [
                (r, k) for r, k in zip(rels, keys, strict=True) if os.path.lexists(self.root / r)
            ]
            try:
                journal.remove(present)
            finally:
                self.indexed(rels)

    def prune(self) -> None:
        """Forget empty records that now have files."""
        if not self.empty.records:
            return
        index = self.db.index
        present: dict[str, set[str]] = {}
        for level in ("patient", "study", "series"):  # (the empty ones' keys only looked for)
            keys = {key for lvl, key in self.empty.records if lvl == level}
            if keys:
                column = index.column(f"_{level}")
                present[level] = set(column[text_in(column, keys)].to_numpy(dtype=object))
        self.empty.prune(present)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _tag(column: str) -> int:
    if column.startswith("("):
        g, e = column.strip("()").split(",")
        return (int(g, 16) << 16) | int(e, 16)
    return resolve_tag(column)[0]


def write_all_pending() -> None:
    """At interpreter exit: edits held in memory go to disk, unsaved (never lost)."""
    for editor in list(EDITORS):
        if isinstance(editor, Editor) and editor.pending and not editor.db._closed:
            try:
                editor.write_pending(partial=True)
            except (DicomError, OSError) as exc:
                warnings.warn(
                    f"could not write the edits held in memory of {editor.db.path}: {exc}",
                    DicomWarning,
                    stacklevel=1,
                )


atexit.register(write_all_pending)


def copy_dataset(ds: Dataset) -> Dataset:
    """A deep copy (file meta included)."""
    return copy.deepcopy(ds)
