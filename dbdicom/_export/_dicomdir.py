"""DICOM export as a medium: the files in a File-set, with its DICOMDIR.

``export_as_dicom(path, dicomdir=True)`` writes what a CD, DVD or USB stick
for another site or a viewer holds (PS3.10, PS3.12): the files named by
File IDs of upper-case components without extension, in pydicom's layout
``PT000000/ST000000/SE000000/IM000000``, and a ``DICOMDIR`` at the top that
lists them under their patients, studies and series.

:class:`pydicom.fileset.FileSet` makes the directory records (PS3.3 Annex F)
and the layout from each file's header (read without its pixel data), and
writes the DICOMDIR. The files themselves are copied byte for byte, as
``export_as_dicom`` copies them; a file that is not a PS3.10 file (no
preamble or file meta) is written again by pydicom with its file meta, as a
medium needs.

A DICOMDIR record needs values that an image may leave empty (the STUDY
record a Study ID, Study Date and Time; the SERIES record a Series Number;
the IMAGE record an Instance Number): a series whose files lack one cannot
go on a medium, and is skipped with a message naming the file and the tag
(a series or an instance exported on its own raises the
:class:`~dbdicom.MediumError`). The folder must be empty: a medium has one
DICOMDIR. Nothing is named ``DICOMDIR`` until every file is in place, so an
export that fails part-way leaves no DICOMDIR that names missing files.

pydicom's ``FileSet.add`` compares each new instance with all those before
it, so the time it takes grows with the square of the number of instances
(see docs/media.md for figures).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from pydicom.datadict import keyword_for_tag
from pydicom.fileset import FileInstance, FileSet

from .._errors import MediumError
from .._files import NotDicomError, read_dataset
from ._each import ExportedPath, Skipped, why_skipped
from ._layout import target_folder, written
from ._temporary import temporary_path

__all__ = ["export_dicomdir"]

# where the records of a level come from, for the way out of a missing value
_LEVELS = {"PATIENT": "patient", "STUDY": "study", "SERIES": "series"}


class _Source(NamedTuple):
    """A file to put on the medium: where it is, and whether it is a PS3.10 file already."""

    path: str
    part10: bool


def export_dicomdir(record: Any, path: str | os.PathLike[str]) -> ExportedPath:
    """Write the files of ``record`` into the empty folder ``path`` as a medium, with a DICOMDIR.

    Returns the folder (an :class:`ExportedPath` that lists the series
    skipped). Raises :class:`~dbdicom.MediumError` if ``path`` is not empty.
    """
    root = target_folder(path)
    if any(root.iterdir()):
        raise MediumError(
            f"cannot write a DICOM medium into {str(root)!r}: the folder is not empty, and "
            "a medium has one DICOMDIR for all its files. Give an empty or new folder."
        )
    fileset = FileSet()
    sources: dict[str, _Source] = {}
    skipped: list[Skipped] = []
    groups = _groups(record)
    for series, instances in groups:
        try:
            _add_series(record, fileset, instances, sources)
        except MediumError as exc:
            if record.level in ("series", "instance"):
                raise
            why = why_skipped(exc, series)
            record.message(f"Series {series.label()!r} skipped: {why}")
            skipped.append(Skipped(series.label(), "", why))
    if skipped:
        names = ", ".join(repr(s.series) for s in skipped)
        record.message(
            f"{len(skipped)} of {len(groups)} series skipped (not on the DICOM medium, "
            f"reasons above): {names}"
        )
    if len(fileset):
        _write(record, fileset, root, sources)
    return ExportedPath(root, exported=len(groups) - len(skipped), skipped=skipped)


def _groups(record: Any) -> list[tuple[Any, list[Any]]]:
    """Each series of ``record`` with the instances of it to export (only itself, for one)."""
    if record.level == "instance":
        return [(record.series(), [record])]
    everything = [record] if record.level == "series" else record.series()
    return [(s, s.instances()) for s in everything if len(s._rows())]


def _add_series(
    record: Any, fileset: FileSet, instances: list[Any], sources: dict[str, _Source]
) -> None:
    """Add the records of ``instances`` to ``fileset``: all of them, or none (MediumError)."""
    added: list[FileInstance] = []
    uids: list[str] = []
    for instance in instances:
        file = instance.path
        try:
            ds = read_dataset(file, stop_before_pixels=True)
        except (NotDicomError, OSError, ValueError) as exc:
            _undo(fileset, added, sources, uids)
            raise MediumError(f"{file} cannot be read again: {exc}") from exc
        part10 = ds.preamble is not None and "TransferSyntaxUID" in ds.get("file_meta", {})
        uid = str(ds.get("SOPInstanceUID") or "")
        if uid and uid in sources:
            record.message(
                f"{file} is not on the DICOM medium: its (0008,0018) 'SOP Instance UID' "
                f"{uid} is that of {sources[uid].path}, and a medium holds an instance once."
            )
            continue
        try:
            added.append(fileset.add(ds))
        except (ValueError, AttributeError, KeyError) as exc:
            _undo(fileset, added, sources, uids)
            raise MediumError(_why_not(file, exc)) from exc
        sources[uid] = _Source(file, part10)
        uids.append(uid)


def _undo(
    fileset: FileSet, added: list[FileInstance], sources: dict[str, _Source], uids: list[str]
) -> None:
    """Take the instances of a series that cannot go on the medium out of ``fileset`` again."""
    for instance in added:
        fileset.remove(instance)
    for uid in uids:
        sources.pop(uid, None)


def _why_not(file: str, exc: BaseException) -> str:
    """The message for a file whose header cannot make its directory records, with the way out.

    pydicom says which record and which element (``Unable to use the default
    'STUDY' record creator: The instance's (0020,0010) 'Study ID' element is
    missing...``): the message keeps that, in dbdicom's words.
    """
    text = " ".join(str(exc).split())
    element = re.search(
        r"(\([0-9A-F]{4},[0-9A-F]{4}\) '[^']+') element (is missing|cannot be empty)", text
    )
    kind = re.search(r"default '([A-Z0-9 ]+)' record", text)
    if not element or not kind:
        return (
            f"{file} cannot go on a DICOM medium: {text}. Give it the values a DICOMDIR "
            "record needs (PS3.3 Annex F), or export without dicomdir=True."
        )
    tag = int(re.sub(r"[^0-9A-F]", "", element[1].split(")")[0]), 16)
    keyword = keyword_for_tag(tag) or "that attribute"
    state = "missing" if element[2] == "is missing" else "empty"
    level = _LEVELS.get(kind[1], "instance")
    return (
        f"{file} cannot go on a DICOM medium: its {element[1]} is {state}, which the "
        f"{kind[1]} record of a DICOMDIR needs (PS3.3 Annex F). Give it a value "
        f"({level}.{keyword} = ...), or export without dicomdir=True."
    )


def _write(record: Any, fileset: FileSet, root: Path, sources: dict[str, _Source]) -> None:
    """Write the files of ``fileset`` into ``root`` in its layout, then its DICOMDIR."""
    staging = temporary_path(root, "medium")
    try:
        fileset.write(staging.resolve())  # the DICOMDIR, and the headers in the layout
        instances = list(fileset)
        for i, instance in enumerate(instances):
            source = sources[str(instance.SOPInstanceUID)]
            target = root.joinpath(*Path(instance.FileID).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with written(target) as temporary:
                if source.part10:
                    shutil.copy2(source.path, temporary)
                else:  # old ACR-NEMA style: written again, with the file meta of a PS3.10 file
                    read_dataset(source.path).save_as(temporary, enforce_file_format=True)
            record.progress(i + 1, len(instances), "Exporting DICOM medium")
        os.replace(staging / "DICOMDIR", root / "DICOMDIR")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
