"""Which DICOM patient each ``sub-<label>`` of a BIDS export is, and which study each ``ses-``.

A BIDS export records it where BIDS keeps its subjects and sessions:
``participants.tsv`` (a row per subject) and
``sub-<label>/sub-<label>_sessions.tsv`` (a row per session), in a column
``source_id``: the PatientID (the StudyInstanceUID) with
``identifiers=True``, else ``key-`` and a keyed hash of it that only the
user who exported can compute (:func:`source_key`, with the user's secret:
``dbdicom._index._secret``), so that the dataset names nobody. The
user's own columns and rows are kept.

A later export into the same folder reads them first (:func:`assign`):

* a patient (study) listed there keeps its label;
* another one gets its own: its PatientID with ``identifiers=True``
  (refused where the folder gives that label to another patient); else
  its number among the database's patients (among the patient's studies
  by date) where that is free, else the smallest number free;
* a ``sub-``/``ses-`` folder that no row names, or whose row has no
  ``source_id``, may be anyone's: a label that would be written into it is
  refused.

So no export puts two patients in one subject, nor two studies in one
session. The refusal (:class:`dbdicom.LabelConflictError`) comes before
anything is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import InvalidFileError, LabelConflictError
from ._layout import written

__all__ = ["SOURCE", "Table", "Wanted", "assign", "describe", "source_key"]

#: The column of ``participants.tsv`` and ``sessions.tsv`` that says whose a label is.
SOURCE = "source_id"

#: The description of :data:`SOURCE` in ``participants.json`` and ``sessions.json``.
_DESCRIPTIONS = {
    "participants": "The DICOM patient of this subject, as dbdicom's BIDS export records it: "
    "its PatientID (exported with identifiers), or 'key-' and a keyed hash of it that only "
    "the user who exported it can compute (with a secret of theirs). A new export into "
    "this dataset keeps the subject's label.",
    "sessions": "The DICOM study of this session, as dbdicom's BIDS export records it: its "
    "StudyInstanceUID (exported with identifiers), or 'key-' and a keyed hash of it that "
    "only the user who exported it can compute (with a secret of theirs). A new export "
    "into this dataset keeps the session's label.",
}


def source_key(secret: bytes, level: str, uid: str) -> str:
    """``key-`` and the first 16 hex digits of HMAC-SHA256 of ``level:uid`` by ``secret``.

    Examples
    --------
    >>> source_key(b"0" * 32, "patient", "DEMO-001")
    'key-1c4ad25327d903ef'
    """
    digest = hmac.new(secret, f"{level}:{uid}".encode(), hashlib.sha256).hexdigest()
    return f"key-{digest[:16]}"


@dataclass
class Table:
    r"""A BIDS table of labels (``participants.tsv``, ``sessions.tsv``), as read and added to.

    Examples
    --------
    >>> import tempfile
    >>> table = Table.read(Path(tempfile.mkdtemp()) / "participants.tsv", "participant_id")
    >>> table.add("sub-01", "key-1234")
    >>> table.write()
    >>> Table.read(table.path, "participant_id").owners()
    {'01': 'key-1234'}
    >>> _ = table.path.write_text("participant_id\tage\tsex\nsub-02\t\tF\nsub-01\t40\tn/a\n")
    >>> table = Table.read(table.path, "participant_id")
    >>> table.add("sub-03", "key-5678")
    >>> table.write()
    >>> print(table.path.read_text().replace("\t", " | "), end="")
    participant_id | age | sex | source_id
    sub-02 |  | F | n/a
    sub-01 | 40 | n/a | n/a
    sub-03 | n/a | n/a | key-5678
    """

    path: Path
    id_column: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    #: the columns that the file read has not (``n/a`` in the user's rows)
    added: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path, id_column: str) -> Table:
        """The table at ``path``, or an empty one where there is none.

        Raises
        ------
        dbdicom.InvalidFileError
            The file has no ``id_column`` (the message says what to do).
        """
        if not path.is_file():
            return cls(path, id_column, [id_column, SOURCE], added={id_column, SOURCE})
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        columns = lines[0].split("\t") if lines else []
        if id_column not in columns:
            raise InvalidFileError(
                f"{path} has no column {id_column!r} (its first line, tab-separated): BIDS "
                f"lists the labels there, and dbdicom cannot tell whose they are. Correct it, "
                "or export into another folder."
            )
        rows = [dict(zip(columns, line.split("\t"), strict=False)) for line in lines[1:]]
        added = set() if SOURCE in columns else {SOURCE}
        return cls(path, id_column, [*columns, *sorted(added)], rows, added)

    def owners(self) -> dict[str, str | None]:
        """Each label listed (without ``sub-``/``ses-``) and its source, None where not given."""
        found: dict[str, str | None] = {}
        for row in self.rows:
            label = row.get(self.id_column, "").partition("-")[2]
            source = (row.get(SOURCE) or "").strip()
            found[label] = None if source in ("", "n/a") else source
        return found

    def add(self, label: str, source: str) -> None:
        """A row for ``label`` (``sub-01``) and its source, last; the user's columns ``n/a``."""
        self.rows.append(
            {**dict.fromkeys(self.columns, "n/a"), self.id_column: label, SOURCE: source}
        )

    def write(self) -> None:
        """The table, written whole or not at all.

        The user's rows are written as they were read, in their order, their
        cells as they were (an empty one stays empty); only the cells of a
        column or row that this export adds are ``n/a``.
        """
        lines = ["\t".join(self.columns)]
        for row in self.rows:
            cells = [row.get(c, "n/a" if c in self.added else "") for c in self.columns]
            lines.append("\t".join(cells))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with written(self.path) as temporary:
            temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")


def describe(root: Path, table: str) -> None:
    """``root/<table>.json`` describing :data:`SOURCE`, unless there is one (the user's is kept)."""
    target = root / f"{table}.json"
    if target.exists():
        return
    text = json.dumps({SOURCE: {"Description": _DESCRIPTIONS[table]}}, indent=2)
    with written(target) as temporary:
        temporary.write_text(text + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Wanted:
    """A patient (study) of an export, and the label it would have in an empty folder."""

    uid: str  #: its key in the database (PatientID, StudyInstanceUID)
    key: str  #: its :func:`source_key`
    preferred: str  #: the label without ``sub-``/``ses-``
    name: str  #: how messages name it
    fixed: bool = False  #: the label is ``preferred`` or none (a PatientID's)


def assign(wanted: list[Wanted], table: Table, folders: set[str], prefix: str) -> dict[str, str]:
    """The label (without ``prefix``) of each of ``wanted``, by uid (see the module's rule).

    ``table`` lists the labels of the folder; ``folders`` are the labels
    whose ``<prefix><label>`` folder is there.

    Examples
    --------
    >>> table = Table(Path("participants.tsv"), "participant_id")
    >>> table.add("sub-01", "key-a")
    >>> new = Wanted("AAA", "key-c", "01", "patient 'AAA'")
    >>> assign([new, Wanted("DEMO", "key-a", "02", "patient 'DEMO'")], table, {"01"}, "sub-")
    {'DEMO': '01', 'AAA': '02'}

    Raises
    ------
    dbdicom.LabelConflictError
        Two of ``wanted`` would share a label, a fixed label is another's
        in ``table``, or a label would be written into a folder no row names.
    """
    owners = table.owners()
    listed = {source: label for label, source in owners.items() if source}
    labels: dict[str, str] = {}
    for one in wanted:  # listed: their label is kept
        found = listed.get(one.uid) or listed.get(one.key)
        if found is not None:
            labels[one.uid] = found
    rest = [one for one in wanted if one.uid not in labels]
    for one in rest:  # the others: the label of an empty folder, where it is free
        if _free(one, wanted, labels, owners, folders, table.path, prefix):
            labels[one.uid] = one.preferred
    taken = set(owners) | folders | set(labels.values())
    number = 1
    for one in rest:
        if one.uid in labels:
            continue
        width = len(one.preferred) if one.preferred.isdigit() else 2
        while f"{number:0{width}d}" in taken:
            number += 1
        labels[one.uid] = f"{number:0{width}d}"
        taken.add(labels[one.uid])
    return labels


def _free(
    one: Wanted,
    wanted: list[Wanted],
    labels: dict[str, str],
    owners: dict[str, str | None],
    folders: set[str],
    path: Path,
    prefix: str,
) -> bool:
    """Whether ``one`` may take its preferred label; False: a free number; else refused."""
    label = one.preferred
    if label in owners and owners[label] is None:  # a row that does not say whose
        raise _unknown(one, prefix + label, path, listed=True)
    if label in owners:  # another patient's
        if one.fixed:
            raise _taken(one, prefix + label, owners[label], path)
        return False
    if label in folders:
        raise _unknown(one, prefix + label, path)
    other = next((w for w in wanted if labels.get(w.uid) == label), None)
    if other is not None:  # taken by another of this export
        if one.fixed:
            raise _shared(other, one, prefix + label)
        return False
    return True


def _taken(one: Wanted, label: str, owner: str | None, path: Path) -> LabelConflictError:
    whose = f"source_id {owner!r}" if owner else "no source_id"
    return LabelConflictError(
        f"{label} is another's in {path.parent} ({path.name}: {whose}), and {one.name} would "
        f"be written into it: two patients in one subject. Export into an empty folder, or "
        "without identifiers=True (the patient then gets a free number), or give the patient "
        "another PatientID."
    )


def _unknown(one: Wanted, label: str, path: Path, listed: bool = False) -> LabelConflictError:
    where = f"has no {SOURCE} in" if listed else "is in no row of"
    return LabelConflictError(
        f"{path.parent / label} {where} {path.name} (an export by another program, or by "
        f"dbdicom before it recorded its subjects there?): dbdicom cannot tell whose it is, "
        f"and {one.name} would be written into it. Export into an empty folder, or move "
        f"{label} out of {path.parent}."
    )


def _shared(first: Wanted, second: Wanted, label: str) -> LabelConflictError:
    return LabelConflictError(
        f"{first.name} and {second.name} both make the BIDS label {label} (labels keep "
        "letters and digits only): two patients in one subject. Export without "
        "identifiers=True (sub-01, sub-02...), or give one of them another PatientID."
    )
