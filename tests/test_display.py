"""What a record shows: a one-line ``repr()`` and, in a notebook, a tree that folds."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from bad_files import BadFiles
from builders import Manifest

import dbdicom as db
from dbdicom._records._html import MAX_SERIES
from dbdicom._templates import mr_image, new_uid, write_dataset


class Tags(HTMLParser):
    """The tags of a page, to check it is well formed (every element closed in order)."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.details = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.errors.append("a script element")
        if tag not in self.VOID:
            self.open.append(tag)
        self.details += tag == "details"

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.errors.append(f"</{tag}> closes nothing open")


def well_formed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    assert tags.errors == [] and tags.open == [], (tags.errors, tags.open)
    return tags


def test_repr_is_one_line_for_every_record(
    database_folder: tuple[Path, Manifest],
) -> None:
    root, manifest = database_folder
    database = db.database(root)
    records = [database, *database.patients(), *database.studies(), *database.series()]
    records += database.series()[0].instances()
    for record in records:
        line = repr(record)
        assert "\n" not in line and line.startswith(f"<{type(record).__name__} ")
        assert line.endswith(">") and len(line) < 200
    assert repr(database) == (
        f"<Database {str(root)!r} {manifest.n_patients} patients, "
        f"{manifest.n_studies} studies, {manifest.n_series} series, "
        f"{manifest.n_instances} instances>"
    )
    enhanced = manifest.series_by_description("ME enhanced")
    (series,) = database.series(SeriesDescription="ME enhanced")
    assert repr(series) == (
        f"<Series {series.label()!r} [MR] {enhanced.n_instances} instance"
        f"{'s' if enhanced.n_instances > 1 else ''}, {enhanced.n_frames} frames>"
    )


def test_repr_never_raises(database_folder: tuple[Path, Manifest]) -> None:
    database = db.database(database_folder[0])
    series = database.series()[0]
    new = series.new_sibling(SeriesDescription="later")
    assert repr(new) == f"<Series {new.label()!r} new: no instances yet>"
    series.remove()
    assert repr(series) == f"<Series {series.uid!r} (not in the database)>"
    assert "not in the database" in series._repr_html_()
    database.restore()
    database.close()
    assert repr(database) == f"<Database {database.path!r} (database closed)>"
    assert "(database closed)" in database._repr_html_()


def test_the_html_tree_folds_and_counts(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    database = db.database(root)
    page = database._repr_html_()
    tags = well_formed(page)
    assert tags.details == 1 + manifest.n_patients + manifest.n_studies
    assert page.startswith('<div class="dbdicom-tree"')
    assert f"{manifest.n_patients} patients" in page
    for patient in manifest.patients:
        assert f"PatientID {patient.patient_id}" in page
    for s in manifest.series:
        assert f"<b>Series</b> {s.number}: {s.description}" in page
    assert "Problems" not in page and "⚠" not in page  # a clean folder

    series = database.series()[0]
    page = series._repr_html_()
    assert well_formed(page).details == 1
    assert page.count("<b>Instance</b>") == len(series.instances())
    study = series.parent
    assert well_formed(study._repr_html_()).details == 1


def test_problems_are_flagged_where_they_are(bad_files_folder: tuple[Path, BadFiles]) -> None:
    root, bad = bad_files_folder
    database = db.database(root)
    problems = database.problems()
    page = database._repr_html_()
    well_formed(page)
    n = len(problems)
    assert f"⚠ {n} problems</span>" in page  # on the database's line
    files = problems["path"].nunique()
    assert f"⚠ Problems</span> ({files} files, {n} problems; see database.problems())" in page
    # a series flagged with its own number of problems; a clean one not
    (valid,) = database.series(SeriesDescription="valid")
    assert "⚠" not in valid._repr_html_()
    for series in database.series():
        rels = {Path(f).relative_to(root).as_posix() for f in series.files()}
        own = int(problems["path"].isin(rels).sum())
        line = re.search(rf"<b>Series</b> {re.escape(series.label())} .*?</div>", page)
        assert line is not None
        assert (f"⚠ {own} problem" in line.group(0)) == bool(own)


def test_values_are_escaped(tmp_path: Path) -> None:
    ds = mr_image(
        np.zeros((8, 8), np.uint16),
        PatientName="<script>alert(1)</script>",
        PatientID="<b>",
        SeriesDescription="a & b <i>",
    )
    write_dataset(ds, tmp_path / "x" / "one.dcm")
    database = db.database(tmp_path / "x")
    page = database._repr_html_()
    well_formed(page)  # no script element, nothing left open
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &amp; b &lt;i&gt;" in page


def test_a_large_tree_is_drawn_in_part(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    study, patient = new_uid(), {"PatientID": "MANY", "PatientName": "Many^Series"}
    n = MAX_SERIES + 5
    for k in range(n):
        ds = mr_image(
            np.zeros((4, 4), np.uint16),
            StudyInstanceUID=study,
            SeriesInstanceUID=new_uid(),
            SeriesNumber=k + 1,
            SeriesDescription=f"s{k}",
            **patient,
        )
        write_dataset(ds, folder / f"{k}.dcm")
    database = db.database(folder)
    page = database._repr_html_()
    tags = well_formed(page)
    assert page.count("<b>Series</b>") == MAX_SERIES
    assert "… and 5 more series (print() shows them all)" in page
    assert tags.details == 3 and "<details open><summary><b>Patient" not in page  # folded
