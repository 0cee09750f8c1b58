"""The text of ``print()`` and ``_repr_html_()`` of a database of many kinds of records, pinned.

The tree is drawn from facts found for all records at once (one pass over
the index); each fact must be what the record itself gives, and the text
what it was when each record was asked in turn.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from tree_files import build_mixed_database

import dbdicom as db
from dbdicom._records._print import counts, patient_key, series_facts
from dbdicom._records._tree_facts import drawing

_SERIES = """\
      Series 1: series 0  [MR]  2 instances
      Series 2: series 1  [MR]  2 instances
      Series 3: series 2  [MR]  2 instances
      Series 4: series 3  [MR]  2 instances
      Series 5: enhanced 4  [MR]  1 instance, 4 frames
"""
_ANONYMOUS = (
    "no (0010,0020) 'Patient ID': placed under 'anonymous-1620c88745', derived from "
    "PatientName and PatientBirthDate"
)
_FILES = [
    f"P001/ST{st}/SE{se:02d}/{name}"
    for st in range(2)
    for se in range(4)
    for name in ("IM0000.dcm", "IM0001.dcm")
] + ["P001/ST0/SE04/EMR.dcm"]
_FILES.sort()
PRINTED = (
    "Database <root>: 6 patients, 10 studies, 42 series, 75 instances\n"
    "  Patient PID-002  [PatientID PID-002]\n"
    "    Study (no description) [20240310]\n"
    + _SERIES
    + "    Study study 1 [20240311]\n"
    + _SERIES
    + "  Patient Broken^Bob  [PatientID BAD-001]\n"
    "    Study Research MR [20240115]\n"
    "      Series 1: duplicate uid  [MR]  2 instances\n"
    "  Patient Broken^Bob  [key anonymous-098939ca7f (no PatientID)]\n"
    "    Study Research MR [20240115]\n"
    "      Series 1: no patient id  [MR]  1 instance\n"
    "  Patient Patient^000  [PatientID PID-000]\n"
    "    Study (no description) [20240110]\n"
    + _SERIES
    + "    Study study 1 [20240111]\n"
    + _SERIES
    + "  Patient Patient^001  [key anonymous-1620c88745 (no PatientID)]\n"
    "    Study (no description) [20240210]\n"
    + _SERIES
    + "    Study study 1 [20240211]\n"
    + _SERIES
    + "  Patient Patient^003  [PatientID PID-003]\n"
    "    Study (no description) [20240410]\n"
    + _SERIES
    + "    Study study 1 [20240411]\n"
    + _SERIES
    + "Problems (26 files, 28 problems; see database.problems()):\n"
    "  bad/empty.dcm: the file is empty (0 bytes)\n"
    "  bad/notes.txt: not a DICOM file: no 'DICM' marker at byte 128\n"
    "  bad/random.dcm: not a DICOM file: no 'DICM' marker at byte 128\n"
    + "".join(
        f"  {path}: {_ANONYMOUS}\n" for path in [p for p in _FILES if "ST0/SE04" not in p][:8]
    )
    + f"  P001/ST0/SE04/EMR.dcm: {_ANONYMOUS}\n"
    + "".join(f"  {path}: {_ANONYMOUS}\n" for path in [p for p in _FILES if "ST1" in p])
    + "  ... and 8 more problems\n"
)
# sha256 of the page of the database, as drawn record by record (before the facts were
# found at once), with the folder and the UIDs the bad files draw at random taken out
HTML_SHA256 = "ecb8ad24c68706bba559f3487985a92b2eac67184e7f1c6c573713ac7acfdad0"


def _same_text(text: str, root: Path) -> str:
    """``text`` without the folder and the UIDs that differ from one build to the next."""
    return re.sub(r"\b\d+(?:\.\d+){3,}\b", "<uid>", text.replace(str(root), "<root>"))


def _printed(record: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        record.print()
    return out.getvalue()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    build_mixed_database(root, patients=4, series=5, files=2)
    return root


def test_print_of_a_mixed_database_is_pinned(mixed: Path) -> None:
    with db.database(mixed) as database:
        assert _same_text(_printed(database), mixed) == PRINTED


def test_html_of_a_mixed_database_is_pinned(mixed: Path) -> None:
    with db.database(mixed) as database:
        page = _same_text(database._repr_html_(), mixed)
    # what the page shows of the kinds of series: sizes, frames, one of two sizes (none)
    assert "<b>Series</b> 5: enhanced 4 <span" in page
    assert "MR · 1 instance, 4 frames · 8×8</span>" in page
    assert '<b>Series</b> 3: series 2 <span style="color:#6b6b6b">MR · 2 instances</span>' in page
    assert "key anonymous-1620c88745 (no PatientID) · born 19510101 · sex F" in page
    assert hashlib.sha256(page.encode()).hexdigest() == HTML_SHA256


def _facts(record: Any) -> tuple[Any, ...]:
    """What a tree shows of ``record``."""
    found: tuple[Any, ...] = (record.label(), counts(record))
    if record.level == "patient":
        found += (patient_key(record),)
    if record.level == "series":
        found += (series_facts(record),)
    return found


def test_the_facts_found_at_once_are_the_records_own(mixed: Path, tmp_path: Path) -> None:
    with db.database(mixed) as database:
        series = database.series(SeriesDescription="series 1")[0]
        series.new_sibling(SeriesDescription="new, no files")  # a record without files
        database.new_patient(PatientName="New^Patient")
        records = [*database.patients(), *database.studies(), *database.series()]
        alone = [_facts(r) for r in records]
        with drawing(database):
            assert [_facts(r) for r in records] == alone
        text = _printed(database)
        assert "      Series 6: new, no files  (new: no instances yet)\n" in text
        assert "  Patient New^Patient  [key " in text
        # a series and a study print as they are in the database's tree
        study = series.parent
        assert _printed(study).replace("\n", "\n    ") in text
        assert _printed(series).splitlines()[0] in text
        database.restore()
