"""What a record passes down to the files moved, copied or written below it.

The attributes of its level and the levels above, from its first file (or,
for a new record without files, from its parents and its own), with who
the patient is taken from its other files where the first left it empty;
refused where its files name two people. A new series says nothing of the
series values it was not given: the files written into it keep their own.
A new patient or study is given the values it was not given by the first
files copied or moved into it (one visit has one StudyDate, StudyID...), or
by the first source file of the frames of an array written into it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._dataset import Source, read_source
from .._errors import DicomError
from ._attributes import LEVEL_ATTRIBUTES, LEVELS, level_of, person_value
from ._edit import DELETE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._record import Record

__all__ = ["PERSON", "held_values", "inherited", "series_told", "source_told", "told"]


def inherited(record: Record) -> dict[str, Any]:
    """What a record passes down: the attributes of its level and the levels above.

    From its first file for a record with files: every attribute of those
    levels, :data:`DELETE` for those it does not have. For a new record
    without files, its parent's, then its own attributes: an attribute of a
    lower level given to a new record (``new_patient(PatientAge="054Y")``,
    of the study) goes to every record made below it.
    """
    if record.level == "database":
        return {}
    editor = record._db._editor
    empty = editor.empty.get(record.level, record.uid)
    if empty is not None:
        out: dict[str, Any] = {}
        if empty.parent is not None:
            out = inherited(record._db._class_of(empty.parent[0])(record._db, empty.parent[1]))
        for keyword in LEVEL_ATTRIBUTES.get(record.level, ()):
            out.setdefault(keyword, DELETE)  # unless given to a record above for it
        out.update(empty.attrs)
        return out
    return _with_people(record, held_values(record), PERSON)


def _with_people(record: Record, out: dict[str, Any], keywords: Sequence[str]) -> dict[str, Any]:
    """``out`` (``record``'s first file's values) with who the patient is of ``keywords``."""
    people = _refuse_two_people(record, keywords)
    # who the patient is, where the first file left it empty (an export that
    # blanked PatientName or PatientBirthDate, Type 2, in one file): the
    # value of ``record``'s other files, which name one person (else refused).
    # Not the patient's other studies': a study whose files all leave it empty
    # (anonymised for sharing) stays so
    for keyword, values in people.items():
        if values and out.get(keyword, "") in (DELETE, None, ""):
            out[keyword] = values[0]
    return out


def series_told(record: Record, values: dict[str, Any]) -> dict[str, Any]:
    """What ``record`` passes down (``values``: :func:`inherited`) to the first files into it.

    A new series without files was told only the values it was given: it
    says nothing of the other attributes of its level (:data:`DELETE` in
    ``values``), which are left out of the values it passes down, so that
    each file written into it keeps its own (the dataset given to
    ``new_instance``, each file copied or moved into it: its equipment,
    PatientPosition, protocol, Modality...; never another file's). The
    patient's and study's values, and those of a series with files, are
    ``values``' (who the patient is, which study, what the series' files say).
    """
    return told(record, values, None)


def told(record: Record, values: dict[str, Any], source: Record | None) -> dict[str, Any]:
    """What ``record`` passes down (``values``: :func:`inherited`) to the files of ``source``.

    ``source`` (a record with files, copied or moved below ``record``; None
    for a dataset given to ``new_instance``) fills in what the new records
    at and above ``record`` (without files) were not told, as
    :func:`series_told` says for a series: its series values are left out
    (each file keeps its own). A new study or patient is one visit, one
    person: its values not given are ``source``'s first file's (its
    StudyDate, StudyTime, StudyID, AccessionNumber, PatientName,
    PatientBirthDate...: :data:`DELETE` where it has none), the same for
    every file written into it in this call, as those of its files are for
    later ones. Who the patient is, where not given, is refused where
    ``source``'s files name two people (see :func:`inherited`). Values
    given to the new records, their keys (a new patient's PatientID) and
    those of records with files are ``values``'.
    """
    untold = _untold(record, values)
    if not untold:
        return values
    out = {k: v for k, v in values.items() if k not in untold or level_of(k) != "series"}
    asked = untold - set(LEVEL_ATTRIBUTES["series"])
    if source is None or not asked:
        return out
    held = _with_people(source, held_values(source), [k for k in PERSON if k in asked])
    out.update({k: held.get(k, DELETE) for k in asked})
    return out


def _untold(record: Record, values: dict[str, Any]) -> set[str]:
    """The attributes of ``values`` that the new records at and above ``record`` were not told."""
    editor = record._db._editor
    new_levels = set()
    at: tuple[str, str] | None = (record.level, record.uid)
    while at is not None and at in editor.empty:
        new_levels.add(at[0])
        empty = editor.empty.get(*at)
        at = empty.parent if empty is not None else None
    return {k for k, v in values.items() if v is DELETE and level_of(k) in new_levels}


def source_told(record: Record, values: dict[str, Any], source: Source | None) -> dict[str, Any]:
    """What the series ``record`` passes down (``values``) to frames written from ``source``.

    An array written into a new study or patient is of the visit and the
    person of its source frames: what the new study and patient were not
    told (their StudyDate, StudyTime, StudyID, AccessionNumber,
    ReferringPhysicianName, PatientName...) is the first source file's
    (``source``; :data:`DELETE` where it has none), as :func:`told` gives a
    file copied into them. The series' own values are ``values``' (what a
    new series was not told is decided by the write: see
    :mod:`._write`), and so are those given to the new records and those of
    records with files. ``source`` None (an array without sources):
    ``values``.
    """
    asked = _untold(record, values) - set(LEVEL_ATTRIBUTES["series"])
    if source is None or not asked:
        return values
    ds = read_source(source)
    return {**values, **{k: ds[k].value if k in ds else DELETE for k in asked}}


def held_values(record: Record) -> dict[str, Any]:
    """The attributes of the levels down to ``record``'s, as its files hold them.

    The first file's: :func:`inherited` of a record with files, without its
    refusal of a patient of two people (nor who the patient is taken from
    the other files): for reading a record's values (a source's), not for
    writing below it.
    """
    editor = record._db._editor
    rows = record._rows()
    ds = editor.dataset(editor.rels(rows[:1])[0], pixels=False)
    out = {}
    for level in LEVELS[1 : LEVELS.index(record.level) + 1]:
        for keyword in LEVEL_ATTRIBUTES.get(level, ()):
            out[keyword] = ds[keyword].value if keyword in ds else DELETE
    return out


#: who a patient is (index columns: read without opening a file)
PERSON = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex")


def _refuse_two_people(record: Record, keywords: Sequence[str] = PERSON) -> dict[str, list[Any]]:
    """Refuse to pass down a patient's attributes that its files disagree on.

    The first file's would be written into every file moved, copied or made
    below ``record``: another person's name and birth date, where two people
    of one PatientID were merged (or one of two spellings). Else the values of
    each (empty ones left out: none, or one person's), of ``keywords``.
    """
    out: dict[str, list[Any]] = {}
    for keyword in keywords:
        values = record.unique(keyword)
        out[keyword] = values
        if len({person_value(keyword, v) for v in values}) > 1:
            raise DicomError(
                f"the files of {record!r} disagree on {keyword} ({', '.join(map(repr, values))}): "
                "a file moved, copied or written below it would take one of them. If they are "
                f"one person, set one value first (record.{keyword} = ...); if not, move the "
                "studies of the other person to their own patient "
                "(study.move_to(database.new_patient(PatientID=..., PatientName=...)))."
            )
    return out
