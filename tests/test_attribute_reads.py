"""Reading attributes as the original README's users write them.

An attribute of a record's own level or of a level above it is one value;
an attribute of a lower level is the sorted list of its distinct values.
Files that disagree on a value that should be single give the list and are
listed by ``database.problems()``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from builders import Manifest, build_database
from pydicom.data import get_testdata_file

import dbdicom as db


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, Manifest]:
    root = tmp_path / "database"
    return root, build_database(root)


@pytest.fixture
def database(folder: tuple[Path, Manifest]) -> db.Database:
    return db.database(folder[0])


def test_own_level_and_above_give_one_value_at_every_level(database: db.Database) -> None:
    patient = database.patients(PatientID="PAT-001")[0]
    study = patient.studies(StudyDescription="MR brain")[0]
    series = study.series(SeriesDescription="VFA")[0]
    instance = series.instances()[0]
    assert patient.PatientID == "PAT-001" and patient.PatientName == "Alpha^Anna"
    assert study.StudyDescription == "MR brain" and study.StudyDate == "20230301"
    assert study.PatientName == "Alpha^Anna" and study.PatientID == "PAT-001"
    assert series.SeriesDescription == "VFA" and series.SeriesNumber == 1
    assert series.Modality == "MR" and series.PatientName == "Alpha^Anna"
    assert series.StudyDescription == "MR brain"
    assert instance.SeriesDescription == "VFA" and instance.PatientID == "PAT-001"
    assert isinstance(instance.Rows, int) and instance.Rows == 32
    assert instance.PatientID == patient.PatientID
    assert series.Laterality is None  # a series attribute absent from every file
    assert series.ContrastBolusAgent == []  # an instance attribute absent from every file
    assert study.AccessionNumber is None or isinstance(study.AccessionNumber, str)


def test_lower_levels_give_sorted_distinct_values(database: db.Database) -> None:
    patient = database.patients(PatientID="PAT-001")[0]
    study = patient.studies(StudyDescription="MR brain")[0]
    series = study.series(SeriesDescription="VFA")[0]
    assert study.SeriesDescription == ["ME enhanced", "VFA"]
    assert patient.StudyDescription == ["CT abdomen", "MR brain"]
    assert patient.SeriesDescription == ["CT abdomen", "ME enhanced", "VFA"]
    assert series.Rows == [32] and series.InstanceNumber == sorted(series.InstanceNumber)
    angles = patient.FlipAngle
    assert angles == sorted(angles) and len(angles) == len(set(angles)) and None not in angles
    assert study.Modality == ["MR"]


def test_the_database_gives_lists(database: db.Database) -> None:
    assert database.PatientID == ["PAT-001", "PAT-002", "PAT-003"]
    assert database.PatientName == ["Alpha^Anna", "Bravo^Ben", "Charlie^Chloe"]
    assert database.Modality == ["CT", "MR"]
    assert database.unique("PatientID") == database.PatientID


def test_tags_as_numbers_follow_the_same_rule(database: db.Database) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    study = series.parent
    assert series[(0x0008, 0x103E)] == "VFA" and series[0x0008103E] == "VFA"
    assert series[(0x0010, 0x0010)] == "Alpha^Anna"
    assert study[(0x0008, 0x103E)] == ["ME enhanced", "VFA"]
    assert series[(0x0028, 0x0010)] == [32]
    assert series.instances()[0][(0x0028, 0x0010)] == 32


def test_lists_of_tags_follow_the_rule_per_tag(database: db.Database) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    assert series[["SeriesDescription", "Rows", (0x0010, 0x0020)]] == ["VFA", [32], "PAT-001"]
    assert series.get(["PatientName", "SeriesNumber"]) == ["Alpha^Anna", 1]
    assert series.parent[["StudyDescription", "SeriesNumber"]] == ["MR brain", [1, 2]]


def test_private_tags_are_the_instances(folder: tuple[Path, Manifest]) -> None:
    root, manifest = folder
    vfa = manifest.series_by_description("VFA")
    for k, rel in enumerate(vfa.files):
        ds = pydicom.dcmread(root / rel)
        ds.add_new(0x00190010, "LO", "ACME")
        ds.add_new(0x00191010, "LO", f"value {k % 2}")
        ds.save_as(root / rel)
    series = db.database(root).series(SeriesDescription="VFA")[0]
    assert series[(0x0019, 0x1010)] == ["value 0", "value 1"]
    assert series.instances()[0][(0x0019, 0x1010)] in ("value 0", "value 1")


def test_records_without_files(database: db.Database) -> None:
    study = database.new_patient(PatientName="James Bond").new_study(StudyDescription="Spy")
    assert study.StudyDescription == "Spy"
    assert study.PatientName == "James Bond"
    assert study.SeriesDescription == [] and study.StudyDate is None
    assert study.unique("StudyDescription") == ["Spy"]
    series = study.new_series(SeriesDescription="Localizer")
    assert series.SeriesDescription == "Localizer" and series.PatientName == "James Bond"
    assert study.patients().PatientName == "James Bond"
    # a new study under a patient with files does not take its other studies' values
    anna = database.patients(PatientID="PAT-001")[0]
    new = anna.new_study()
    assert new.StudyDescription is None and new.PatientName == "Alpha^Anna"


def test_the_commonest_line_finds_the_series(database: db.Database) -> None:
    t1 = [s for s in database.series() if s.SeriesDescription == "T1w RLE"][0]
    assert t1.SeriesDescription == "T1w RLE"
    study = [s for s in database.studies() if s.StudyDescription == "MR knee"][0]
    assert t1.parent == study
    assert [p for p in database.patients() if str(p.PatientName) == "Bravo^Ben"]
    assert all(i.PatientID == t1.patients().PatientID for i in t1.instances())


def test_unique_gives_the_list_whatever_the_level(database: db.Database) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    instance = series.instances()[0]
    assert series.unique("SeriesDescription") == ["VFA"]
    assert series.unique((0x0010, 0x0020)) == ["PAT-001"]
    assert instance.unique("Rows") == [32]
    assert instance.unique("ContrastBolusAgent") == []
    assert series.unique("FlipAngle") == series.FlipAngle


def _disagree(root: Path, manifest: Manifest) -> list[str]:
    """Two files of the VFA series given another SeriesDescription."""
    vfa = manifest.series_by_description("VFA")
    changed = vfa.files[:2]
    for rel in changed:
        ds = pydicom.dcmread(root / rel)
        ds.SeriesDescription = "VFA copy"
        ds.save_as(root / rel)
    return changed


def test_files_that_disagree_give_the_list_and_a_problem(
    folder: tuple[Path, Manifest], capsys: pytest.CaptureFixture[str]
) -> None:
    root, manifest = folder
    _disagree(root, manifest)
    database = db.database(root)
    series = database.series(SeriesInstanceUID=manifest.series_by_description("VFA").uid)[0]
    assert series.SeriesDescription == ["VFA", "VFA copy"]
    assert series.unique("SeriesDescription") == ["VFA", "VFA copy"]
    problems = database.problems()
    rows = problems[problems["problem"].str.contains("SeriesDescription")]
    assert len(rows) == 1
    text = rows["problem"].iloc[0]
    assert "series" in text and series.uid in text and "'VFA', 'VFA copy'" in text
    assert rows["path"].iloc[0] in manifest.series_by_description("VFA").files
    others = [s for s in database.series() if s != series]
    assert all(isinstance(s.SeriesDescription, str) for s in others)
    database.print()
    assert "disagree on SeriesDescription" in capsys.readouterr().out


def test_clean_data_has_no_attribute_problems(database: db.Database) -> None:
    assert database.problems().empty


def test_pydicom_test_files(tmp_path: Path) -> None:
    root = tmp_path / "shipped"
    root.mkdir()
    for name in ("MR_small.dcm", "CT_small.dcm"):
        shutil.copyfile(get_testdata_file(name), root / name)
    database = db.database(root)
    for patient in database.patients():
        for instance in patient.instances():
            assert instance.PatientID == patient.PatientID
            assert isinstance(patient.PatientID, str)
    mr = [s for s in database.series() if s.Modality == "MR"][0]
    source = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    assert mr.SeriesDescription == (source.get("SeriesDescription") or None)
    assert mr.PatientName == str(source.PatientName)
    assert mr.Rows == [source.Rows]


def test_frames_of_enhanced_files_count_at_every_level(database: db.Database) -> None:
    # an enhanced file's EchoTime is in its functional groups, one per frame; the reads of
    # the levels above look for such files among theirs (by path) before reducing
    study = database.studies(StudyDescription="MR brain")[0]
    enhanced = study.series(SeriesDescription="ME enhanced")[0]
    vfa = study.series(SeriesDescription="VFA")[0]
    assert enhanced.EchoTime == [5.0, 15.0]
    assert vfa.EchoTime == [2.0]
    assert study.EchoTime == [2.0, 5.0, 15.0]
    assert {2.0, 5.0, 15.0} <= set(database.EchoTime)
    assert database.unique("EchoTime") == database.EchoTime
    assert enhanced.instances()[0].EchoTime == [5.0, 15.0]
    da = enhanced.to_xarray()
    assert sorted(set(da.EchoTime.values.tolist())) == [5.0, 15.0]
