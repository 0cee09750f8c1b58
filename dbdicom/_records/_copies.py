"""Records into and out of a database: imported files, a copy as a new folder, subseries."""

from __future__ import annotations

import filecmp
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.errors import InvalidDicomError

from .._custom import custom
from .._errors import DicomError, DiskFullError, ReadOnlyError, disk_full
from .._files import (
    BACKENDS,
    Header,
    NotDicomError,
    Store,
    fetch_object,
    has_scheme,
    is_url,
    object_headers,
    read_any_header,
    read_dataset,
    redact,
)
from .._index import match_values
from ._attributes import LEVEL_ATTRIBUTES, person_value
from ._inherit import PERSON
from ._reads import read_ahead
from ._structure import (
    NEW_FOLDER,
    copy_instances,
    get_custom,
    new_child,
)
from ._web import is_dicomweb, retrieve_into

if TYPE_CHECKING:
    from ._database import Database
    from ._record import Record

__all__ = ["import_dicom", "save_to", "subseries"]


def import_dicom(
    db: Database,
    files: Any,
    storage_options: Mapping[str, Any] | None = None,
    session: Any = None,
) -> list[Record]:
    """Copy DICOM files into the database (see :meth:`Database.import_dicom`)."""
    editor = db._editor
    editor.begin()
    if is_dicomweb(files):  # a study or series of a DICOMweb archive: retrieved first
        if storage_options:
            raise ValueError(
                "storage_options are for object stores (s3://...): a DICOMweb URL takes its "
                "credentials as user:password@ in it, or session= (a requests.Session)."
            )
        with tempfile.TemporaryDirectory(prefix="dbdicom-wado-") as folder:
            return import_dicom(db, retrieve_into(str(files), Path(folder), session))
    if session is not None:
        raise ValueError(
            "session= is for importing a study or series of a DICOMweb archive "
            "(import_dicom('dicomweb+http://host/dicom-web/studies/<uid>', session=...)): "
            "an object store takes its credentials in storage_options=, local files none."
        )
    entries = [files] if isinstance(files, str | os.PathLike) else list(files)
    if storage_options and not any(has_scheme(entry) for entry in entries):
        raise ValueError(
            "storage_options are for importing from an object store (s3://bucket/prefix...), "
            "not from local files: leave them out, or give the store's URL."
        )
    have = _held_files(db)
    taken: dict[str, tuple[str, Path | None]] = {}  # uid -> the file of this call that has it
    items: list[tuple[str, tuple[str, str, str, str], Writer]] = []
    duplicates: list[str] = []
    differing: list[str] = []
    refused: list[str] = []
    # PatientID -> keyword -> the values imported (as compared: as first spelled)
    people: dict[str, dict[str, dict[str, str]]] = {}
    for name, header, copy, local in _headers(db, entries, storage_options or {}, refused):
        if not isinstance(header, Header):  # why it is not read
            refused.append(f"{name} ({header})")
            continue
        uid = header.values.get(0x00080018)
        if not uid:
            refused.append(f"{name} (no SOPInstanceUID)")
            continue
        if uid in have or uid in taken:
            kept, other = _kept_copy(db, have.get(uid), taken.get(uid))
            if local is not None and other is not None and not _same_content(local, other):
                differing.append(f"{name} ({uid}; differs from {kept})")
            else:
                duplicates.append(
                    f"{name} ({uid})" if uid in have else f"{name} ({uid}, as {kept})"
                )
            continue
        taken[uid] = (name, local)
        series = header.values.get(0x0020000E) or "imported"
        rel = f"{NEW_FOLDER}/{series}/{uid}.dcm"
        keys = (
            str(header.values.get(0x00100020) or ""),
            str(header.values.get(0x0020000D) or ""),
            str(series),
            str(uid),
        )
        items.append((rel, keys, copy))
        _note_person(people, keys[0], header)
    # (the database's files before the import)
    mixed, moved = _two_people(db, people), _other_parents(db, [k for _, k, _ in items])
    editor.create(items, "Importing")
    if moved:
        db._warn(
            "imported files name another parent of a study or series the database holds: "
            f"{'; '.join(moved[:5])}{' ...' if len(moved) > 5 else ''}. A study (series) is "
            "kept whole under the parent its first file by path names, which may now be an "
            "imported file's (database.problems() lists the others). To keep it where it "
            "was, give the files its parent's UIDs first (pydicom), or undo the import "
            "(database.restore())."
        )
    if mixed:
        db._warn(
            "imported files name another patient than the database's files of their "
            f"PatientID: {'; '.join(mixed[:5])}{' ...' if len(mixed) > 5 else ''}. Their "
            "patient now holds the files of two people (or two spellings of one). If they "
            "are one person, set one value (patient.PatientName = ...); if not, move the "
            "imported studies to a patient of their own (study.move_to("
            "database.new_patient(PatientID=...))), or undo the import (database.restore())."
        )
    _said(db, duplicates, differing, refused)
    cls = db._class_of("instance")
    return [cls(db, keys[3]) for _, keys, _ in items]


def _said(db: Database, duplicates: list[str], differing: list[str], refused: list[str]) -> None:
    """The warnings of the files an import left out: known, known with other content, unread."""
    if duplicates:
        db._warn(
            f"{len(duplicates)} file(s) not imported: their SOPInstanceUID is already in the "
            "database: " + "; ".join(duplicates[:5]) + (" ..." if len(duplicates) > 5 else "")
        )
    if differing:
        db._warn(
            f"{len(differing)} file(s) not imported: their SOPInstanceUID is already in the "
            "database, in a file with other content (the database keeps that one): "
            + "; ".join(differing[:5])
            + (" ..." if len(differing) > 5 else "")
            + ". To import one instead, remove the instance kept first "
            "(database.instances(SOPInstanceUID=uid)[0].remove()) and import the file again; "
            "to keep both, give the file a new SOPInstanceUID (pydicom.uid.generate_uid()) first."
        )
    if refused:
        db._warn(
            f"{len(refused)} file(s) not imported: not DICOM or unreadable: "
            + "; ".join(refused[:5])
            + (" ..." if len(refused) > 5 else "")
        )


def _note_person(people: dict[str, dict[str, dict[str, str]]], pid: str, header: Header) -> None:
    """Add the name and birth date of an imported file of PatientID ``pid`` to ``people``.

    Each value by :func:`person_value` (as compared), with its first spelling (as said).
    """
    if not pid:
        return
    found = people.setdefault(pid, {k: {} for k in _PERSON})
    for keyword, tag in _PERSON.items():
        value = header.values.get(tag)
        if value:
            found[keyword].setdefault(person_value(keyword, value), str(value))


def _two_people(db: Database, people: Mapping[str, Mapping[str, dict[str, str]]]) -> list[str]:
    """Each PatientID of ``people`` (imported values) whose name or birth date differs, said.

    From the database's files of that PatientID, or among the imported files.
    """
    frame = db.index.frame
    rows = frame[frame["PatientID"].astype(object).isin(list(people))] if len(frame) else frame
    ids = rows["PatientID"].astype(object).tolist()
    said = []
    for keyword in _PERSON:
        held: dict[str, dict[str, str]] = {}
        for pid, value in zip(ids, rows[keyword].astype(object).tolist(), strict=True):
            if isinstance(value, str) and value:
                held.setdefault(pid, {}).setdefault(person_value(keyword, value), value)
        said += _said_apart(people, keyword, held)
    return said


def _said_apart(
    people: Mapping[str, Mapping[str, dict[str, str]]],
    keyword: str,
    held: Mapping[str, dict[str, str]],
) -> list[str]:
    """The PatientIDs whose imported ``keyword`` values are not those ``held`` (or several).

    Values compared by their keys (:func:`person_value`), said as spelled.
    """
    said = []
    for pid, imported in people.items():
        values, known = imported[keyword], held.get(pid, {})
        other = [values[k] for k in values.keys() - known.keys()]
        if known and other:
            now, was = (", ".join(map(repr, sorted(v))) for v in (other, known.values()))
            said.append(f"{pid!r}: {keyword} {now}, not {was}")
        elif not known and len(values) > 1:
            said.append(f"{pid!r}: {keyword} {', '.join(map(repr, sorted(values.values())))}")
    return said


def _other_parents(db: Database, keys: list[tuple[str, str, str, str]]) -> list[str]:
    """Each study (series) the database holds that imported ``keys`` put under another parent.

    ``keys``: (PatientID, StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID)
    of each file imported; said as ``study 1.2.3: PatientID 'B', not 'A'``.
    """
    frame = db.index.frame
    said = []
    for level, column, parent, at in (
        ("study", "StudyInstanceUID", "PatientID", 1),
        ("series", "SeriesInstanceUID", "StudyInstanceUID", 2),
    ):
        named: dict[str, set[str]] = {}
        for k in keys:
            if k[at] and k[at - 1]:
                named.setdefault(k[at], set()).add(k[at - 1])
        if not named or not len(frame):
            continue
        rows = frame[frame[column].astype(object).isin(list(named))]
        held: dict[str, set[str]] = {}
        for uid, value in zip(
            rows[column].astype(object), rows[parent].astype(object), strict=True
        ):
            if isinstance(value, str) and value:
                held.setdefault(str(uid), set()).add(value)
        for uid, values in named.items():
            other = values - held.get(uid, values)
            if other:
                now, was = (", ".join(map(repr, sorted(v))) for v in (other, held[uid]))
                said.append(f"{level} {uid}: {parent} {now}, not {was}")
    return said


def _held_files(db: Database) -> dict[str, str]:
    """Each SOPInstanceUID of the database, and its (first) file: one pass, not one a copy."""
    frame = db.index.frame
    have: dict[str, str] = {}
    for uid, rel in zip(
        frame["SOPInstanceUID"].astype(object).tolist(), frame["_path"].tolist(), strict=True
    ):
        if isinstance(uid, str) and uid:
            have.setdefault(uid, str(rel))
    return have


def _kept_copy(
    db: Database, rel: str | None, taken: tuple[str, Path | None] | None
) -> tuple[str, Path | None]:
    """The file kept for an instance: where it is (for a message), and its local path.

    ``taken``: the name and local path of a file of this import that has
    it, else the database's file ``rel``. The local path is None where comparing
    its bytes would mean a download (an object of a store, a remote index).
    """
    if taken is not None:
        return taken[0], taken[1]
    if rel is None:
        return "the database", None
    where = db._where([rel])[0]
    if db.index.remote or db.index.archive is not None:
        return where, None
    return where, Path(where)


def _same_content(path: Path, other: Path) -> bool:
    """Whether two local files hold one dataset (a file that cannot be read: no).

    The same bytes, or the same elements apart from the preamble and file
    meta, which another tool writes its own (a PACS's export of the file:
    its ImplementationVersionName). Compared by bytes first: read only
    where those differ.
    """
    try:
        if filecmp.cmp(path, other, shallow=False):
            return True
        return bool(read_dataset(path, decode=False) == read_dataset(other, decode=False))
    except (NotDicomError, InvalidDicomError, EOFError, OSError, ValueError):
        return False


#: who a file's patient is, besides its PatientID: said where an import mixes two
_PERSON = {k: int(tag_for_keyword(k) or 0) for k in PERSON if k != "PatientID"}
#: the tags an import reads of each file: where its copy goes in the hierarchy (and who)
_WANTED = {
    0x00080018: "UI",
    0x0020000E: "UI",
    0x0020000D: "UI",
    0x00100020: "LO",
    **{tag: dictionary_VR(tag) for tag in _PERSON.values()},
}

Writer = Callable[[str], object]


def _headers(
    db: Database, entries: list[Any], options: Mapping[str, Any], refused: list[str]
) -> Iterator[tuple[str, Header | str, Writer, Path | None]]:
    """Each file to import: its name, its header (or why it has none), its copier, its path.

    The path where it is a local file (None for an object of a store).

    Local files and folders (:func:`_expand`; entries that are not files go
    into ``refused``), and the objects below each URL of a store (a prefix
    of S3, GCS, Azure, a web server's folder, a zip file), read as
    :func:`dbdicom._files.object_headers` reads them and streamed into the
    database by :func:`dbdicom._files.fetch_object`. Every entry is looked
    at before any file is written: a missing one raises first.
    """
    for entry in entries:
        if is_url(entry):
            yield from _object_headers(db, _store_of(os.fspath(entry), options))
            continue
        paths, skipped = _expand(entry)
        refused.extend(skipped)
        for src in paths:
            header: Header | str
            try:
                header = read_any_header(str(src), _WANTED)
            except (NotDicomError, EOFError, OSError) as exc:
                header = str(exc)
            yield str(src), header, functools.partial(shutil.copyfile, src), src


def _store_of(url: str, options: Mapping[str, Any]) -> Store:
    """The store to import ``url`` from, with its part of ``options``.

    Options keyed by protocol (``{"s3": {...}, "https": {...}}``, as fsspec
    takes them for chained URLs) give each URL of a list its own; other
    options go to every URL with a scheme (a local zip file takes none). A
    zip file in a store (``s3://bucket/cd.zip``, what an export to such a
    URL writes) is imported as its files, as ``zip://::s3://bucket/cd.zip``.

    Examples
    --------
    >>> store = _store_of("s3://b/cd.zip", {"s3": {"anon": True}, "https": {}})
    >>> store.url, dict(store.options)
    ('zip://::s3://b/cd.zip', {'s3': {'anon': True}})
    >>> dict(_store_of("s3://b/ct", {"anon": True}).options), _store_of("cd.zip", {"a": 1}).options
    ({'anon': True}, {})
    >>> dict(_store_of("zip://::s3://b/cd.zip", {"s3": {"anon": True}, "https": {}}).options)
    {'s3': {'anon': True}}
    """
    if not has_scheme(url):
        return Store(url, {})
    chain = [part.split("://", 1)[0].lower() for part in url.split("::") if "://" in part]
    mine = dict(options)
    if mine and all(isinstance(v, Mapping) for v in mine.values()):
        lower = {str(k).lower(): v for k, v in mine.items()}  # a scheme's case is no matter
        if any(k in chain or k in BACKENDS or k in ("file", "zip") for k in lower):
            # keyed by protocol: this URL's (each layer's, for a chained URL)
            mine = {k: v for k, v in lower.items() if k in chain}
            if len(chain) == 1:
                mine = dict(mine.get(chain[0]) or {})
    if len(chain) == 1 and url.split("?", 1)[0].lower().endswith(".zip"):
        return Store(f"zip://::{url}", {chain[0]: mine} if mine else {})
    return Store(url, mine)


def _object_headers(
    db: Database, store: Store
) -> Iterator[tuple[str, Header | str, Writer, Path | None]]:
    """:func:`_headers` of the objects below ``store``'s URL (or of the one object it names).

    No credential in any text: the names are URLs without them, the causes scrubbed.
    """

    def progress(done: int, total: int) -> None:
        db._editor._progress(done, total, "Reading headers")

    for obj, header in object_headers(store, _WANTED, progress):
        read = store.scrub(str(header)) if isinstance(header, Exception) else header
        yield obj.name, read, functools.partial(fetch_object, obj), None


def _expand(files: Any) -> tuple[list[Path], list[str]]:
    """The files to import, and the entries refused: named pipes, devices, dangling links.

    Those are never opened (a named pipe would wait for a writer for ever).
    """
    if isinstance(files, str | os.PathLike):
        files = [files]
    out: list[Path] = []
    refused: list[str] = []
    for item in files:
        path = Path(item)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(f for f in filenames if not f.startswith(".")):
                    found = Path(dirpath) / name
                    if found.is_file():
                        out.append(found)
                    else:  # a named pipe, a device, a dangling link...
                        refused.append(f"{found} (not a file)")
        elif path.is_file():
            out.append(path)
        elif path.exists():
            refused.append(f"{path} (not a file)")
        else:
            raise FileNotFoundError(
                f"{path} does not exist: give DICOM files or folders to import."
            )
    return out, refused


def save_to(record: Record, path: Any) -> Any:
    """Write the files of ``record`` into a new database folder ``path``."""
    if has_scheme(path):  # not a folder 'http:'
        raise ReadOnlyError(
            f"cannot save into {redact(os.fspath(path))}: save(path) writes a new local "
            "folder, and dbdicom never writes into object stores or web servers. Give a "
            "folder (to store a series in a DICOMweb archive: "
            "series.export_as_dicom('dicomweb+http(s)://host/dicom-web'))."
        )
    target = Path(path).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DicomError(
            f"{target} exists and is not an empty folder: save into a new folder, or copy "
            "the records into that database with its import_dicom() or copy_to()."
        )
    db = record._db
    rows = record._rows()
    rels = db.index.array("_path", db._in_order(rows)) if rows.size else np.array([])
    made = not target.exists()
    copied: list[Path] = []
    try:
        for rel in rels.tolist():  # a remote store's objects are downloaded
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            copied.append(target / rel)
            db.index.copy_out(rel, target / rel)
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _take_back(target, copied, made)
        if disk_full(exc):
            raise DiskFullError(
                f"The disk of {target} is full ({exc.strerror or exc}): nothing was written "
                "there (the files copied before it were deleted again). Free some space on "
                "it, then call save(path) again.",
                exc.errno,
            ) from exc
        raise
    # the database's own class opens the copy (this module is below the Database)
    return type(db)(target.absolute(), status=db._status, dialog=db._dialog)


def _take_back(target: Path, copied: list[Path], made: bool) -> None:
    """Delete the copies a failed :func:`save_to` made, and the folders it made for them."""
    for path in reversed(copied):
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != target and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    if made and target.is_dir() and not any(target.iterdir()):
        target.rmdir()


def subseries(series: Record, filters: dict[str, Any]) -> Record:
    """A new series next to ``series`` with copies of the instances matching ``filters``."""
    if series.level != "series":
        raise DicomError(f"subseries() is a method of series, not of a {series.level}.")
    # every file read once for the tags the index does not hold (the filters' and
    # those of the series that the new one keeps), not once per tag
    read_ahead(series, [*filters, *LEVEL_ATTRIBUTES["series"]])
    instances = series.instances(**{k: v for k, v in filters.items() if custom(k) is None})
    for name, wanted in filters.items():
        if custom(name) is not None:
            values = [get_custom(i, name) for i in instances]
            keep = match_values(values, wanted.upper() if isinstance(wanted, str) else wanted)
            instances = [i for i, k in zip(instances, keep, strict=True) if k]
    description = ", ".join(f"{k}={'f(x)' if callable(v) else v}" for k, v in filters.items())
    if not instances and not series._db._muted:  # an empty series, as the original
        series._warn(_no_match(series, filters, description))  # dbdicom gave; but said
    label = series.unique("SeriesDescription")  # a list even where the files disagree
    name = f"{label[0]} [{description}]" if label else f"[{description}]"
    new = new_child(series.parent, "series", {**_shared(series), "SeriesDescription": name[:64]})
    if instances:
        with series._db._editor.changing():  # all the copies, or none if the disk fills up
            _copy_many(instances, new)
    return new


#: series attributes a subseries has of its own (a new UID, number and description)
_OWN = frozenset({"SeriesInstanceUID", "SeriesNumber", "SeriesDescription"})


def _shared(series: Record) -> dict[str, Any]:
    """The series attributes every file of ``series`` shares (one value), for a subseries.

    Copies moved into a new series take its attributes: without these, a
    subseries' files lost Modality (Type 1), Manufacturer,
    FrameOfReferenceUID, SeriesDate... (a helper's finding).
    """
    shared = {}
    for keyword in LEVEL_ATTRIBUTES["series"]:
        if keyword in _OWN:
            continue
        values = series.unique(keyword)
        if len(values) == 1:
            shared[keyword] = values[0]
    return shared


def _no_match(series: Record, filters: dict[str, Any], description: str) -> str:
    """What :func:`subseries` says when no instance matches: the filters, the values there are."""
    found = []
    for name, wanted in filters.items():
        if callable(wanted) or custom(name) is not None:
            continue  # a custom attribute's values may need every file read
        values = series.unique(name)
        shown = ", ".join(repr(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        found.append(f"{name}: {shown or 'none'}")
    there = f" The series has {'; '.join(found)}." if found else ""
    return (
        f"subseries({description}): no instance of series {series.label()!r} matches: "
        f"the new series is empty.{there} Check the values (series.unique(keyword) lists "
        "them); series.instances(...) selects without making a series."
    )


def _copy_many(instances: list[Record], parent: Record) -> None:
    """Copies of ``instances`` (one database) in ``parent``, written in one pass."""
    copy_instances(instances, parent)
