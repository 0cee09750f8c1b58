"""A DICOMDIR in a database folder: the directory of a DICOM medium, checked against its files.

A CD, DVD or USB stick written by a scanner or a PACS is a *File-set*
(PS3.10): its files, named by *File IDs* of up to eight upper-case
components (``DICOM/IM00001``, no extension), and a ``DICOMDIR`` file that
lists them in a tree of directory records, PATIENT > STUDY > SERIES >
IMAGE (or another instance record), each instance's record naming its file
and its UIDs (PS3.3 Annex F).

The scan reads every file of the folder as it does without a DICOMDIR: the
files are the truth, and the index needs far more than the records hold
(positions, orientations, pixel offsets, every tag of the index), so the
records cannot replace the headers. The DICOMDIR's row (its media storage
SOP class says what it is) gets :data:`MEDIUM` as its ``_error``: out of the
tree, like every file that is not an instance, but not a problem.
:func:`media_problems` then checks its records against the index rows:

* a file it names that is not in the folder;
* a file it names whose UIDs (Patient ID, Study, Series, SOP Instance, SOP
  Class, Transfer Syntax) differ from those of its records;
* an instance under the DICOMDIR's folder that no DICOMDIR names;
* a DICOMDIR whose records cannot be read at all.

File IDs are matched to the folder's paths as they are written, or, when
that finds nothing, ignoring case: a medium copied or mounted by a system
that lower-cases names (``dicom/im00001``) is the same medium.

The records are read from the DICOMDIR data set that pydicom decodes
(:func:`pydicom.dcmread`), following the record offsets. Not through
:class:`pydicom.fileset.FileSet`: it leaves out (with a warning each) the
records whose file is not found under exactly its File ID, so a lower-cased
copy would lose them all and a missing file could not be named, and it
reads the files of orphan records. ``FileSet`` writes the DICOMDIRs of
dbdicom's exports (see :mod:`dbdicom._export._dicomdir`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .._facade import pandas as pd
from ._columns import tag_label, tag_of

__all__ = ["DICOMDIR_CLASS", "MEDIUM", "Named", "media_problems", "read_records"]

#: the media storage SOP class of a DICOMDIR (Media Storage Directory Storage)
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"

#: the ``_error`` of a DICOMDIR's row: out of the tree, and not a problem of itself
MEDIUM = "a DICOMDIR (the directory of a DICOM medium): checked against the files"

#: the UIDs a file and the records that name it must share: the index column,
#: and where the records hold it (the record type above the instance, or the
#: instance's record itself for ``None``)
CHECKED = (
    ("PatientID", "PATIENT", "PatientID"),
    ("StudyInstanceUID", "STUDY", "StudyInstanceUID"),
    ("SeriesInstanceUID", "SERIES", "SeriesInstanceUID"),
    ("SOPInstanceUID", None, "ReferencedSOPInstanceUIDInFile"),
    ("SOPClassUID", None, "ReferencedSOPClassUIDInFile"),
    ("TransferSyntaxUID", None, "ReferencedTransferSyntaxUIDInFile"),
)

# the record offsets of PS3.3 Table F.3-3, as element keywords
_FIRST = "OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity"
_NEXT = "OffsetOfTheNextDirectoryRecord"
_LOWER = "OffsetOfReferencedLowerLevelDirectoryEntity"


@dataclass(frozen=True)
class Named:
    """A file a DICOMDIR names: its File ID and the UIDs its records give it.

    ``file_id`` is the File ID's components joined by ``/`` (relative to
    the DICOMDIR's folder); ``uids`` pairs index columns with the values of
    the records (only those the records hold).
    """

    file_id: str
    uids: tuple[tuple[str, str], ...]


def read_records(path: str) -> list[Named]:
    """The files the DICOMDIR at ``path`` names, in the order of its records.

    The tree is followed from the first root record, through each record's
    next and lower-level offsets; an instance record takes the Patient ID,
    Study and Series Instance UIDs of the PATIENT, STUDY and SERIES records
    above it. Records out of the tree that name a file are included
    without those (as pydicom's ``FileSet`` includes orphans). Inactive
    records (Record In-use Flag 0) are left out.

    Raises ``ValueError`` (or ``OSError``, ``InvalidDicomError``) with the
    reason when the file is not a DICOMDIR that can be followed: a
    dangling offset, a loop, a File ID that leaves the medium.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> named = read_records(get_testdata_file("DICOMDIR"))
    >>> len(named), named[0].file_id
    (31, '77654033/CR1/6154')
    >>> dict(named[0].uids)["PatientID"]
    '77654033'
    """
    ds = pydicom.dcmread(path)
    if "DirectoryRecordSequence" not in ds:
        raise ValueError("it has no (0004,1220) 'Directory Record Sequence'")
    records = {int(r.seq_item_tell): r for r in ds.DirectoryRecordSequence}
    named: list[Named] = []
    reached: set[int] = set()
    for record, above in _walk(records, int(ds.get(_FIRST) or 0), {}, reached):
        if _in_use(record) and "ReferencedFileID" in record:
            named.append(_named(record, above))
    for offset, record in records.items():  # orphans: what they name, without context
        if offset not in reached and _in_use(record) and "ReferencedFileID" in record:
            named.append(_named(record, {}))
    return named


def _walk(
    records: dict[int, Any], offset: int, above: dict[str, str], reached: set[int]
) -> Iterator[tuple[Any, dict[str, str]]]:
    """Each record of the sibling chain starting at ``offset``, each followed by those below it.

    Walked with a list of the chains left, not by recursion: a medium may
    chain records thousands of levels deep.
    """
    left = [(offset, above)]  # the next sibling of each level above, with its context
    while left:
        offset, above = left.pop()
        while offset:
            record = records.get(offset)
            if record is None:
                raise ValueError(f"a record offset ({offset}) points to no directory record")
            if offset in reached:
                raise ValueError(f"the record at offset {offset} is reached twice (a loop)")
            reached.add(offset)
            own = dict(above)
            kind = str(record.get("DirectoryRecordType") or "").strip()
            for _, level, keyword in CHECKED:
                if level == kind and record.get(keyword):
                    own[keyword] = str(record.get(keyword)).strip()
            yield record, own
            left.append((int(record.get(_NEXT) or 0), above))  # after those below it
            offset, above = int(record.get(_LOWER) or 0), own


def _in_use(record: Any) -> bool:
    """False for a record whose (retired) Record In-use Flag says it is inactive (0000H)."""
    return record.get("RecordInUseFlag", 0xFFFF) != 0


def _named(record: Any, above: dict[str, str]) -> Named:
    """The :class:`Named` of an instance record, with the UIDs of the records above it."""
    value = record.ReferencedFileID
    parts = [value] if isinstance(value, str) else list(value)
    parts = [str(p).strip() for p in parts]
    if not parts or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
        raise ValueError(f"a File ID ({'/'.join(parts)!r}) that is not a path inside the medium")
    uids = [
        (column, above[keyword]) for column, level, keyword in CHECKED if level and keyword in above
    ]
    for column, level, keyword in CHECKED:
        if level is None and record.get(keyword):
            uids.append((column, str(record.get(keyword)).strip()))
    return Named("/".join(parts), tuple(uids))


@functools.lru_cache(maxsize=32)
def _records_of(path: str, size: int, mtime: int) -> tuple[tuple[Named, ...], str]:
    """The records of the DICOMDIR ``path`` as it was (size, mtime), or why they cannot be read.

    Kept: problems are asked for again and again, the DICOMDIR rarely changes.
    """
    try:
        return tuple(read_records(path)), ""
    except (
        OSError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
        InvalidDicomError,
        RecursionError,
    ) as exc:
        return (), f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc)


def media_problems(root: str, frame: pd.DataFrame) -> list[tuple[str, str]]:
    """``(path, problem)`` for each way the folder's DICOMDIRs and files disagree.

    ``frame`` is the index (one row per file, with ``_path``, ``_error``,
    ``_size``, ``_mtime`` and the columns of :data:`CHECKED`); the rows
    whose ``_error`` is :data:`MEDIUM` are the DICOMDIRs. Empty when there
    is no DICOMDIR, or when every one agrees with the files.
    """
    errors = frame["_error"].to_numpy(dtype=object)
    mediums = np.flatnonzero(errors == MEDIUM)
    if not len(mediums):
        return []
    paths = frame["_path"].to_numpy(dtype=object)
    exact = {str(p): i for i, p in enumerate(paths)}
    folded: dict[str, int] = {}
    for i, p in enumerate(paths):
        folded.setdefault(str(p).casefold(), i)
    values = {column: frame[column].to_numpy(dtype=object) for column, _, _ in CHECKED}
    out: list[tuple[str, str]] = []
    named_rows: set[int] = set()
    readable: list[str] = []  # the DICOMDIRs whose records were read
    sizes, mtimes = frame["_size"].to_numpy(), frame["_mtime"].to_numpy()
    for m in mediums:
        rel = str(paths[m])
        full = os.path.join(root, *rel.split("/"))
        named, why = _records_of(full, int(sizes[m]), int(mtimes[m]))
        if why:
            out.append(
                (
                    rel,
                    f"a DICOMDIR whose records cannot be read ({why}): not checked "
                    "against the files, which are indexed without it",
                )
            )
            continue
        readable.append(rel)
        folder = rel.rpartition("/")[0]
        for item in named:
            wanted = f"{folder}/{item.file_id}" if folder else item.file_id
            row = exact.get(wanted)
            if row is None:
                row = folded.get(wanted.casefold())
            if row is None:
                uid = dict(item.uids).get("SOPInstanceUID", "?")
                out.append(
                    (
                        wanted,
                        f"named by {rel!r} (SOP Instance UID {uid}) but not in the "
                        "folder: missing from this copy of the medium, or removed since "
                        "(dbdicom's own changes do not rewrite a DICOMDIR)",
                    )
                )
                continue
            named_rows.add(row)
            if errors[row] != "":  # not an instance: its own problem says why
                continue
            for column, found in item.uids:
                actual = _text(values[column][row])
                if actual != found:
                    label = tag_label(tag_of(column) or 0)
                    out.append(
                        (
                            str(paths[row]),
                            f"{label} {actual or '(none)'!r} differs from "
                            f"{found!r} in the records of {rel!r}: the file's is used",
                        )
                    )
    out.extend(_not_named(paths, errors, readable, named_rows))
    return out


def _not_named(
    paths: np.ndarray, errors: np.ndarray, readable: list[str], named: set[int]
) -> Iterator[tuple[str, str]]:
    """The instances under a readable DICOMDIR's folder that no DICOMDIR names.

    Each file is matched with the deepest such folder among its own parent
    folders (a dictionary lookup for each: linear in files and DICOMDIRs).

    Examples
    --------
    >>> paths = np.array(["cd1/DICOMDIR", "cd1/a/1", "cd1/a/2", "x/3"], dtype=object)
    >>> list(_not_named(paths, np.array(["m", "", "", ""]), ["cd1/DICOMDIR"], {1}))
    ... # doctest: +NORMALIZE_WHITESPACE
    [('cd1/a/2', "not named by 'cd1/DICOMDIR', the DICOMDIR of the medium it is on:
      indexed all the same")]
    """
    if not readable:
        return
    first: dict[str, str] = {}  # folder -> the first of its DICOMDIRs by name
    for d in readable:
        folder = d.rpartition("/")[0]
        if folder not in first or d < first[folder]:
            first[folder] = d
    for i in np.flatnonzero(errors == ""):
        if int(i) in named:
            continue
        path = str(paths[i])
        folder = path
        while folder:  # the deepest first: the medium the file is on
            folder = folder.rpartition("/")[0]
            if folder in first:
                yield (
                    path,
                    (
                        f"not named by {first[folder]!r}, the DICOMDIR of the medium it "
                        "is on: indexed all the same"
                    ),
                )
                break


def _text(value: Any) -> str:
    """An index value as the records would write it: ``""`` when absent."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()
