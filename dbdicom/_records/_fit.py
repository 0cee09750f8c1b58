"""Saving or restoring one record alone, only where its files then still fit those around it.

A patient keeps one name and a study one date: an attribute of a higher
level is set for every file of that level's record (see ``_set``). Saving
or restoring a lower record alone must not undo that for some of its
files: restoring one instance of a series whose description was set would
give it the old description and the others the new, for good. So before
a record's files are restored (or saved), the attributes of the levels
above it are compared: the value each restored file goes back to (read
from its kept original) with the value the other files of the same
record have now; the value each saved file keeps with the value the other
files could still be restored to. A difference is a :class:`DicomError`
that names the attribute and the record to save or restore instead, and
nothing is changed. A file moved to another study or patient is checked
the same way (its keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import resolve_tag
from .._errors import DicomError
from .._files import read_any_header
from ._attributes import KEYS, LEVEL_ATTRIBUTES, LEVELS

if TYPE_CHECKING:
    from .._journal import Journal
    from ._record import Record

__all__ = ["check_restore", "check_save"]


def check_restore(record: Record, journal: Journal, paths: list[str]) -> None:
    """Refuse to restore the files ``paths`` of ``record`` alone where they would not fit."""
    _check_moves(record, journal, paths)
    _check(record, journal, paths, restoring=True)


def _check_moves(record: Record, journal: Journal, paths: list[str]) -> None:
    """Refuse where ``record``'s study or patient was moved since the save.

    Its saved files would then land in a study (or series) that the files
    left alone now place elsewhere.
    """
    tags = {0x00100020: "LO", 0x0020000D: "UI", 0x0020000E: "UI"}
    saved = []
    for path in paths:
        if not _kept(journal, path):
            continue  # removed by the restore
        original = journal.originals / journal.entries[path].original
        try:
            values = read_any_header(str(original), tags).values
        except (OSError, EOFError, DicomError):
            continue
        saved.append((path, *(str(values.get(t) or "") for t in tags)))
    if not saved:
        return
    index = record._db.index
    others = np.setdiff1d(index.ok, np.flatnonzero(index.frame["_path"].isin(paths)))
    now = {
        column: [str(v or "") for v in index.array(column, others)]
        for column in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID")
    }
    patient_of = dict(zip(now["StudyInstanceUID"], now["PatientID"], strict=True))
    study_of = dict(zip(now["SeriesInstanceUID"], now["StudyInstanceUID"], strict=True))
    for path, patient, study, series in saved:
        if patient_of.get(study, patient) != patient or study_of.get(series, study) != study:
            above = "study" if study_of.get(series, study) != study else "patient"
            raise DicomError(
                f"Restoring {record!r} alone would put {path} back in its saved {above}, "
                f"whose other files have moved since the save (to patient "
                f"{patient_of.get(study)!r}): the records would no longer fit together. "
                "Restore the record that was moved (or the database), or save first. "
                "Nothing was changed."
            )


def check_save(record: Record, journal: Journal, paths: list[str]) -> None:
    """Refuse to save the files ``paths`` of ``record`` alone where a restore could split them."""
    _check(record, journal, paths, restoring=False)


def _levels_above(record: Record) -> list[str]:
    """The levels whose attributes the files of ``record`` share with files outside it."""
    return [level for level in LEVELS[1:-1] if LEVELS.index(level) < LEVELS.index(record.level)]


def _check(record: Record, journal: Journal, paths: list[str], restoring: bool) -> None:
    levels = _levels_above(record)
    if not levels or not paths:
        return
    index = record._db.index
    names = set(index.frame.columns)
    keywords = [
        kw for level in levels for kw in (KEYS[level], *LEVEL_ATTRIBUTES[level]) if kw in names
    ]
    mine = set(paths)
    inside = index.frame["_path"].isin(paths).to_numpy()
    # the values each side will have: a restored file its original's, the others theirs now;
    # a saved file its own now, the others (changed, unsaved) their originals'
    if restoring:
        going = _originals(journal, [p for p in paths if _kept(journal, p)], keywords)
    else:
        rows = np.flatnonzero(inside)
        going = _now(index, rows, [str(p) for p in index.array("_path", rows)], keywords)
    others = np.setdiff1d(index.ok, np.flatnonzero(inside))
    if "PatientID" in names:  # every record above is within a patient: only its files
        patients = {values.get("PatientID", "") for values in going.values()}
        ids = index.array("PatientID", others)
        others = others[np.array([_text(v) in patients for v in ids], dtype=bool)]
    other_paths = [str(p) for p in index.array("_path", others)]
    if restoring:
        staying = _now(index, others, other_paths, keywords)
    else:
        changed = [p for p in other_paths if p not in mine and _kept(journal, p)]
        staying = _originals(journal, changed, keywords)
    for level in levels:
        key = KEYS[level]
        attrs = [kw for kw in LEVEL_ATTRIBUTES[level] if kw in keywords and kw != key]
        for keyword in attrs:
            theirs: dict[str, set[str]] = {}
            for values in staying.values():
                theirs.setdefault(values.get(key, ""), set()).add(values.get(keyword, ""))
            for path, values in going.items():
                found = theirs.get(values.get(key, ""), set())
                mine_value = values.get(keyword, "")
                if found and mine_value not in found:
                    raise _refusal(record, path, keyword, level, mine_value, found, restoring)


def _refusal(
    record: Record,
    path: str,
    keyword: str,
    level: str,
    value: str,
    others: set[str],
    restoring: bool,
) -> DicomError:
    other = _shown(sorted(others)[0])
    if restoring:
        what = f"Restoring {record!r} alone would give {path} its saved {keyword} {_shown(value)}"
        then = f"while the other files of its {level} keep {other}"
        way = f"Restore its {level} (or the database) instead"
    else:
        what = f"Saving {record!r} alone would keep {keyword} {_shown(value)} in {path}"
        then = f"while other files of its {level} could still be restored to {other}"
        way = f"Save its {level} (or the database) instead"
    return DicomError(
        f"{what} {then}: a {level} has one {keyword}, set for all its files. {way}. "
        "Nothing was changed."
    )


def _shown(value: str) -> str:
    """A compared value in a message: an absent or empty element is "none", not ``''``."""
    return repr(value) if value else "none (no value, or no element)"


def _kept(journal: Journal, path: str) -> bool:
    entry = journal.entries.get(path)
    return entry is not None and entry.kind != "new"


def _text(value: Any) -> str:
    """A value as compared: text, numbers to 6 digits, several values joined."""
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return "\\".join(_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).strip()


def _originals(
    journal: Journal, paths: list[str], keywords: list[str]
) -> dict[str, dict[str, str]]:
    """The values of ``keywords`` in the kept originals of ``paths`` (unreadable ones left out)."""
    tags = {resolve_tag(kw)[0]: resolve_tag(kw)[2] for kw in keywords}
    words = {resolve_tag(kw)[0]: kw for kw in keywords}
    out = {}
    for path in paths:
        original = journal.originals / journal.entries[path].original
        try:
            values = read_any_header(str(original), tags).values
        except (OSError, EOFError, DicomError):
            continue
        out[path] = {words[t]: _text(values.get(t)) for t in tags}
    return out


def _now(
    index: Any, rows: np.ndarray, paths: list[str], keywords: list[str]
) -> dict[str, dict[str, str]]:
    """The values of ``keywords`` the index holds now for ``rows`` (files ``paths``)."""
    columns = {kw: index.array(kw, rows) for kw in keywords}
    return {path: {kw: _text(columns[kw][i]) for kw in keywords} for i, path in enumerate(paths)}
