"""The tree that ``print()`` shows, and the one line of a record's ``repr()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import DicomError
from ._tree_facts import drawing, facts_of

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["below_of", "count", "counts", "patient_key", "series_facts", "summary", "tree"]

_MAX_PROBLEMS = 20


_PLURAL = {"study": "studies", "series": "series"}
# what a record's one line counts below it
_BELOW = {
    "database": ("patient", "study", "series", "instance"),
    "patient": ("study", "series"),
    "study": ("series", "instance"),
}


def count(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless one.

    Examples
    --------
    >>> count(1, "study"), count(3, "study"), count(2, "series"), count(0, "frame")
    ('1 study', '3 studies', '2 series', '0 frames')
    """
    return f"{n} {word if n == 1 else _PLURAL.get(word, word + 's')}"


def patient_key(patient: Record) -> str:
    """How the tree names a patient's key: ``PatientID <id>`` where its files hold that ID.

    A patient whose files have no PatientID is placed under a key that
    dbdicom derived (``anonymous-<hash>``, see ``_index/_keys.py``): it is
    shown as ``key <key> (no PatientID)``, since ``patient.PatientID`` is None
    and a filter ``PatientID=<key>`` finds nothing; ``patient.uid`` is the key.
    """
    facts = facts_of(patient)  # a tree being drawn: found for all patients at once
    if facts is not None:
        holds = facts.holds_id(patient)
    else:
        values = patient._db._values(patient._rows(), "PatientID")
        holds = patient.uid in {str(v) for v in values if v is not None}
    if holds:
        return f"PatientID {patient.uid}"
    return f"key {patient.uid} (no PatientID)"


def counts(record: Record) -> str:
    """How many records of each level are below ``record`` ("2 studies, 5 series")."""
    below = _BELOW.get(record.level, ())
    found = [
        count(len(below_of(record, level)) if level != "instance" else len(record._rows()), level)
        for level in below
    ]
    return ", ".join(found)


def below_of(record: Record, level: str) -> list[Any]:
    """``record``'s records of ``level`` (``record.series()``...), found once in a tree drawn."""
    facts = facts_of(record)
    if facts is not None:
        return facts.below(record, level)
    return list(record._find(level, {}))


def series_facts(series: Any) -> dict[str, Any]:
    """What a series' line shows: modality, instances, frames, image size (None if new)."""
    facts = facts_of(series)  # a tree being drawn: found for all series at once
    if facts is not None:
        return dict(facts.series(series))
    db = series._db
    rows = series._rows()
    if not len(rows):
        return {"modality": None, "instances": 0, "frames": 0, "size": None}
    frames = db._values(rows, "NumberOfFrames")
    heights, widths = db._distinct(rows, "Rows"), db._distinct(rows, "Columns")
    one = len(heights) == len(widths) == 1
    return {
        "modality": db._values(rows[:1], "Modality")[0] or "?",
        "instances": len(rows),
        "frames": sum(int(f) if f else 1 for f in frames),
        "size": (int(heights[0]), int(widths[0])) if one else None,
    }


def _series_counts(facts: dict[str, Any]) -> str:
    if not facts["instances"]:
        return "new: no instances yet"
    text = count(facts["instances"], "instance")
    if facts["frames"] != facts["instances"]:
        text += f", {count(facts['frames'], 'frame')}"
    return text


def _series_line(series: Any) -> str:
    facts = series_facts(series)
    if not facts["instances"]:
        return f"Series {series.label()}  (new: no instances yet)"
    return f"Series {series.label()}  [{facts['modality']}]  {_series_counts(facts)}"


def summary(record: Record) -> str:
    """The one line of ``repr(record)``: its kind, its label and what it holds.

    Never raises: a record of a closed database, or one removed since,
    says so.

    Examples
    --------
    >>> database.series(SeriesDescription="VFA")[0]
    <Series '3: VFA' [MR] 24 instances>
    >>> database.patients()[0]
    <Patient 'Phantom^Alpha' [DEMO-001] 2 studies, 4 series>
    >>> database.series(SeriesDescription="VFA")[0].instances()[0]
    <Instance 'instance 1' of Series '3: VFA'>
    """
    kind = type(record).__name__
    db = record._db
    if db._closed:
        return f"<{kind} {record.uid!r} (database closed)>"
    try:
        label = record.label()
        if record.level == "database":
            return f"<{kind} {label!r} {counts(record)}>"
        if record.level == "series":
            facts = series_facts(record)
            modality = f" [{facts['modality']}]" if facts["modality"] else ""
            return f"<{kind} {label!r}{modality} {_series_counts(facts)}>"
        if record.level == "instance":
            return f"<{kind} {label!r} of Series {record.parent.label()!r}>"
        uid = f" [{record.uid}]" if record.level == "patient" and record.uid != label else ""
        return f"<{kind} {label!r}{uid} {counts(record)}>"
    except DicomError:  # removed, or the database scanned again
        return f"<{kind} {record.uid!r} (not in the database)>"


def tree(record: Record) -> str:
    """The tree of patients > studies > series below ``record``, as text."""
    with drawing(record._db):
        return "\n".join(_tree_lines(record))


def _tree_lines(record: Record) -> list[str]:
    """The lines of :func:`tree`."""
    level = record.level
    if level == "database":
        lines = _database_lines(record._db)
    elif level == "patient":
        lines = _patient_lines([record])
    elif level == "study":
        lines = [f"Study {record.label()}"]
        lines += [f"  {_series_line(se)}" for se in below_of(record, "series")]
    elif level == "series":
        lines = [_series_line(record)]
        lines += [f"  Instance {inst.label()}" for inst in record.instances()]
    else:
        lines = [f"Instance {record.label()}  {record.files()[0]}"]
    return lines


def _database_lines(db: Any) -> list[str]:
    """The tree of a database: a line of counts, its patients, then its problems."""
    lines = [f"Database {db.path}: {counts(db)}"]
    return lines + _patient_lines(below_of(db, "patient")) + _problem_lines(db)


def _patient_lines(patients: list[Any]) -> list[str]:
    """The lines of ``patients``, each with its studies and their series."""
    lines = []
    for p in patients:
        lines.append(f"  Patient {p.label()}  [{patient_key(p)}]")
        for st in below_of(p, "study"):
            lines.append(f"    Study {st.label()}")
            for se in below_of(st, "series"):
                lines.append(f"      {_series_line(se)}")
    return lines


def _problem_lines(db: Any) -> list[str]:
    """The problems of ``db`` (see ``database.problems()``), the first :data:`_MAX_PROBLEMS`."""
    problems = db.problems()
    if not len(problems):
        return []
    files = problems["path"].nunique()
    said = count(files, "file")
    if len(problems) != files:  # a file can have several problems
        said += f", {count(len(problems), 'problem')}"
    lines = [f"Problems ({said}; see database.problems()):"]
    for path, text in problems.head(_MAX_PROBLEMS).itertuples(index=False):
        lines.append(f"  {path}: {text}")
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - _MAX_PROBLEMS} more problems")
    return lines
