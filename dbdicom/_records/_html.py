"""What a notebook shows for a record: its tree as HTML that folds, with counts and problems.

Jupyter calls ``_repr_html_`` when a record is the value of a cell. Every
level is a ``<details>`` element (click to fold or unfold): the database,
its patients, their studies and series, with the key attributes of each
and how many records each holds; a series with problems is flagged, and
the problems of the files below the record close the tree. Styles are
inline, so that nothing leaks into the rest of the notebook.
"""

from __future__ import annotations

import os
from html import escape
from typing import TYPE_CHECKING, Any

from .._errors import DicomError
from ._attributes import LEVELS
from ._print import below_of, count, counts, patient_key, series_facts, summary
from ._tree_facts import drawing, facts_of

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["html_tree"]

#: series shown in a tree (the rest are counted); instances listed under a series
MAX_SERIES, MAX_INSTANCES, MAX_PROBLEMS = 200, 50, 20
# a tree this small opens whole
_OPEN_UP_TO = 20
_BOX = "font-family:monospace;font-size:0.9em;line-height:1.5"
_INDENT = "margin-left:1.4em"
_FLAG = "color:#b3261e;font-weight:bold"
_DIM = "color:#6b6b6b"
_PATIENT_KEYS = ("PatientBirthDate", "PatientSex")


def html_tree(record: Record) -> str:
    """The tree below ``record`` as HTML: ``<details>`` per level, counts, problems flagged.

    Examples
    --------
    >>> page = html_tree(database)
    >>> page.count("<details"), "2 patients, 3 studies, 5 series, 48 instances" in page
    (6, True)
    >>> one = html_tree(database.series()[0].instances()[0])  # an instance: one line
    >>> one.endswith("&lt;Instance &#x27;instance 1&#x27; of Series &#x27;1: localiser"
    ...              "&#x27;&gt;</div>")
    True
    """
    if record._db._closed or record.level == "instance":
        return f'<div style="{_BOX}">{escape(summary(record))}</div>'
    try:
        with drawing(record._db):
            problems = _problems_below(record)
            flags = _flags(record, problems)
            body = _node(record, flags, problems, [0])
    except DicomError:  # removed since: the one line says so
        return f'<div style="{_BOX}">{escape(summary(record))}</div>'
    return f'<div class="dbdicom-tree" style="{_BOX}">{body}{_problems_html(problems)}</div>'


def _problems_below(record: Record) -> Any:
    """The rows of ``database.problems()`` of the files below ``record`` (all, for the database)."""
    problems = record._db.problems()
    if record.level == "database" or problems.empty:
        return problems
    paths = set(record._db.index.array("_path", record._rows()).tolist())
    return problems[problems["path"].isin(paths)]


def _flags(record: Record, problems: Any) -> dict[str, int]:
    """How many problems each series has, by its key."""
    if problems.empty:
        return {}
    index = record._db.index
    ok = index.ok
    paths, keys = index.array("_path", ok).tolist(), index.array("_series", ok).tolist()
    where = dict(zip(paths, keys, strict=True))
    found: dict[str, int] = {}
    for path in problems["path"].tolist():
        key = where.get(path)
        if key is not None:
            found[key] = found.get(key, 0) + 1
    return found


def _details(head: str, inner: list[str], opened: bool) -> str:
    body = f'<div style="{_INDENT}">{"".join(inner)}</div>' if inner else ""
    return f"<details{' open' if opened else ''}><summary>{head}</summary>{body}</details>"


def _head(kind: str, label: str, *facts: str) -> str:
    shown = " · ".join(escape(f) for f in facts if f)
    return f"<b>{kind}</b> {escape(label)}" + (
        f' <span style="{_DIM}">{shown}</span>' if shown else ""
    )


def _more(n: int, word: str) -> str:
    """``"3 more studies"``."""
    number, words = count(n, word).split(" ", 1)
    return f"{number} more {words}"


def _flag(n: int) -> str:
    return f' <span style="{_FLAG}">⚠ {count(n, "problem")}</span>' if n else ""


def _node(record: Any, flags: dict[str, int], problems: Any, shown: list[int]) -> str:
    """The ``<details>`` of ``record`` and everything below it; ``shown`` counts series drawn."""
    level = record.level
    if level == "series":
        return _series(record, flags, listed=True)
    children = below_of(record, LEVELS[LEVELS.index(level) + 1])
    small = len(below_of(record, "series")) <= _OPEN_UP_TO
    inner: list[str] = []
    for child in children:
        if shown[0] >= MAX_SERIES:
            rest = len(children) - len(inner)
            inner.append(
                f'<div style="{_DIM}">… and {_more(rest, child.level)} '
                "(print() shows them all)</div>"
            )
            break
        if child.level == "series":
            inner.append(_series(child, flags, listed=False))
            shown[0] += 1
        else:
            inner.append(_node(child, flags, problems, shown))
    if level == "database":
        head = _head("Database", record.path, counts(record))
        n = len(problems)
        head += _flag(n)
        return _details(head, inner, opened=True)
    if level == "patient":
        born, sex = (_first_value(record, k) for k in _PATIENT_KEYS)
        facts = [
            patient_key(record),
            f"born {born}" if born else "",
            f"sex {sex}" if sex else "",
        ]
        head = _head("Patient", record.label(), *facts, counts(record))
    else:
        head = _head("Study", record.label(), counts(record))
    below = sum(flags.get(s.uid, 0) for s in below_of(record, "series"))
    return _details(head + _flag(below), inner, opened=small)


def _first_value(record: Any, keyword: str) -> Any:
    """The value of ``keyword`` in ``record``'s first file; None for a record without files."""
    facts = facts_of(record)
    if facts is not None:
        return facts.first(record, keyword)
    rows = record._rows()
    return record._db._values(rows[:1], keyword)[0] if len(rows) else None


def _series(series: Any, flags: dict[str, int], listed: bool) -> str:
    """A series' line; with ``listed``, a ``<details>`` of its instances too."""
    facts = series_facts(series)
    size = f"{facts['size'][0]}×{facts['size'][1]}" if facts["size"] else ""
    if facts["instances"]:
        n = count(facts["instances"], "instance")
        if facts["frames"] != facts["instances"]:
            n += f", {count(facts['frames'], 'frame')}"
    else:
        n = "new: no instances yet"
    head = _head("Series", series.label(), facts["modality"] or "", n, size)
    head += _flag(flags.get(series.uid, 0))
    if not listed:
        return f"<div>{head}</div>"
    instances = series.instances()
    rows = [
        f"<div>{_head('Instance', i.label(), i.path.rsplit(os.sep, 1)[-1])}</div>"
        for i in instances[:MAX_INSTANCES]
    ]
    if len(instances) > MAX_INSTANCES:
        rest = _more(len(instances) - MAX_INSTANCES, "instance")
        rows.append(f'<div style="{_DIM}">… and {rest}</div>')
    return _details(head, rows, opened=len(instances) <= _OPEN_UP_TO)


def _problems_html(problems: Any) -> str:
    """The problems as a folded table: the first :data:`MAX_PROBLEMS`, and how many more."""
    if problems.empty:
        return ""
    files = int(problems["path"].nunique())
    said = count(files, "file")
    if len(problems) != files:
        said += f", {count(len(problems), 'problem')}"
    cells = "".join(
        f'<tr><td style="text-align:left">{escape(str(path))}</td>'
        f'<td style="text-align:left">{escape(str(text))}</td></tr>'
        for path, text in problems.head(MAX_PROBLEMS).itertuples(index=False)
    )
    more = len(problems) - MAX_PROBLEMS
    tail = f'<div style="{_DIM}">… and {_more(more, "problem")}</div>' if more > 0 else ""
    return (
        f'<details><summary><span style="{_FLAG}">⚠ Problems</span> ({said}; see '
        f"database.problems())</summary><table>{cells}</table>{tail}</details>"
    )
