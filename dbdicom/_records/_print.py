"""The tree that ``print()`` shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["tree"]

_MAX_PROBLEMS = 20


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _series_line(series: Any) -> str:
    db = series._db
    rows = series._rows()
    if not len(rows):
        return f"Series {series.label()}  (new: no instances yet)"
    modality = db._values(rows[:1], "Modality")[0] or "?"
    frames = db._values(rows, "NumberOfFrames")
    n_frames = sum(int(f) if f else 1 for f in frames)
    text = f"Series {series.label()}  [{modality}]  {_count(len(rows), 'instance')}"
    if n_frames != len(rows):
        text += f", {_count(n_frames, 'frame')}"
    return text


def tree(record: Record) -> str:
    """The tree of patients > studies > series below ``record``, as text."""
    level = record.level
    if level == "database":
        lines = _database_lines(record._db)
    elif level == "patient":
        lines = _patient_lines([record])
    elif level == "study":
        lines = [f"Study {record.label()}"]
        lines += [f"  {_series_line(se)}" for se in record.series()]
    elif level == "series":
        lines = [_series_line(record)]
        lines += [f"  Instance {inst.label()}" for inst in record.instances()]
    else:
        lines = [f"Instance {record.label()}  {record.files()[0]}"]
    return "\n".join(lines)


def _database_lines(db: Any) -> list[str]:
    """The tree of a database: a line of counts, its patients, then its problems."""
    patients = db.patients()
    studies = db.studies()
    series = db.series()
    lines = [
        f"Database {db.path}: {_count(len(patients), 'patient')}, "
        f"{_count(len(studies), 'study').replace('studys', 'studies')}, "
        f"{_count(len(series), 'series').replace('seriess', 'series')}, "
        f"{_count(len(db._rows()), 'instance')}"
    ]
    return lines + _patient_lines(patients) + _problem_lines(db)


def _patient_lines(patients: list[Any]) -> list[str]:
    """The lines of ``patients``, each with its studies and their series."""
    lines = []
    for p in patients:
        lines.append(f"  Patient {p.label()}  [PatientID {p.uid}]")
        for st in p.studies():
            lines.append(f"    Study {st.label()}")
            for se in st.series():
                lines.append(f"      {_series_line(se)}")
    return lines


def _problem_lines(db: Any) -> list[str]:
    """The problems of ``db`` (see ``database.problems()``), the first :data:`_MAX_PROBLEMS`."""
    problems = db.problems()
    if not len(problems):
        return []
    files = problems["path"].nunique()
    counts = _count(files, "file")
    if len(problems) != files:  # a file can have several problems
        counts += f", {_count(len(problems), 'problem')}"
    lines = [f"Problems ({counts}; see database.problems()):"]
    for path, text in problems.head(_MAX_PROBLEMS).itertuples(index=False):
        lines.append(f"  {path}: {text}")
    if len(problems) > _MAX_PROBLEMS:
        lines.append(f"  ... and {len(problems) - _MAX_PROBLEMS} more problems")
    return lines
