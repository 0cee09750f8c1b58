"""Browsing: records, navigation up and down, queries, attribute access, print."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import Manifest

import dbdicom as db


@pytest.fixture
def database(database_folder: tuple[Path, Manifest]) -> db.Database:
    return db.database(database_folder[0])


@pytest.fixture
def manifest(database_folder: tuple[Path, Manifest]) -> Manifest:
    return database_folder[1]


def test_levels_down(database: db.Database, manifest: Manifest) -> None:
    for p_info in manifest.patients:
        patient = database.patients(PatientID=p_info.patient_id)
        assert len(patient) == 1
        patient = patient[0]
        assert isinstance(patient, db.Patient)
        assert patient.uid == p_info.patient_id
        assert len(patient.studies()) == p_info.n_studies
        assert len(patient.series()) == p_info.n_series
        assert len(patient.instances()) == p_info.n_instances
        for s_info in p_info.studies:
            study = database.studies(StudyInstanceUID=s_info.uid)[0]
            assert study in patient.studies()
            assert {s.uid for s in study.series()} == {s.uid for s in s_info.series}
            assert len(study.instances()) == s_info.n_instances


def test_levels_up_return_one_record(database: db.Database) -> None:
    series = database.series()[0]
    patient = series.patients()
    study = series.studies()
    assert isinstance(patient, db.Patient) and isinstance(study, db.Study)
    assert series in study.series() and study in patient.studies()
    instance = series.instances()[0]
    assert instance.series() == series
    assert instance.patients() == patient
    assert series.series() == [series]


def test_parent_and_children(database: db.Database) -> None:
    patient = database.patients()[0]
    assert patient.parent is database
    for study in patient.children():
        assert study.parent == patient
        for series in study.children():
            assert series.parent == study
            for instance in series.children():
                assert instance.parent == series
                assert instance.children() == []
    assert database.parent is None
    assert database.children() == database.patients()


def test_queries_all_conditions_must_hold(database: db.Database, manifest: Manifest) -> None:
    vfa = manifest.series_by_description("VFA")
    found = database.instances(SeriesDescription="VFA")
    assert {i.uid for i in found} == set(vfa.sop_instance_uids)
    flip = vfa.coords["FlipAngle"][1]
    both = database.instances(SeriesDescription="VFA", FlipAngle=flip)
    assert 0 < len(both) < len(found)
    assert all(i.FlipAngle == pytest.approx(flip) for i in both)
    assert database.instances(SeriesDescription="VFA", Modality="CT") == []
    p1 = manifest.patients[0]
    studies = database.studies(PatientName=p1.name, Modality="CT")
    assert all(s.patients().uid == p1.patient_id for s in studies)
    assert len(studies) == 1
    # a callable filter
    assert len(database.series(SeriesNumber=lambda n: n is not None and n >= 2)) >= 1
    # children() takes the same filters
    patient = database.patients()[0]
    assert patient.children(Modality="CT") == database.studies(PatientID=patient.uid, Modality="CT")


def test_attribute_access_forms(database: db.Database) -> None:
    instance = database.instances(Modality="CT")[0]
    assert instance.Rows == instance["Rows"] == instance[(0x0028, 0x0010)] == instance[0x00280010]
    assert instance[["Rows", (0x0028, 0x0011)]] == [instance.Rows, instance.Columns]
    assert isinstance(instance.Rows, int)
    assert isinstance(instance.SliceThickness, float)
    assert isinstance(instance.ImagePositionPatient, tuple)
    assert instance.PatientPosition == "HFS"  # not in the index: read on demand
    assert instance.AccessionNumber is not None
    assert instance.get("ContrastBolusAgent") is None  # absent from the file


def test_higher_levels_give_distinct_values(database: db.Database, manifest: Manifest) -> None:
    p1 = manifest.patients[0]
    patient = database.patients(PatientID=p1.patient_id)[0]
    descriptions = [s.description for st in p1.studies for s in st.series]
    assert sorted(patient.SeriesDescription) == sorted(set(descriptions))
    study = patient.studies()[0]
    assert study.StudyDescription == study.label().split(" [")[0]
    rows = patient[["Rows", (0x0028, 0x0010)]]
    assert rows[0] == rows[1] and all(isinstance(r, int) for r in rows[0])
    assert sorted(database.PatientID) == sorted(p.patient_id for p in manifest.patients)


def test_typos_never_become_queries(database: db.Database) -> None:
    instance = database.instances()[0]
    with pytest.raises(AttributeError, match="Did you mean 'SliceLocation'"):
        instance.SliceLocaton  # noqa: B018
    with pytest.raises(db.UnknownAttributeError, match="Did you mean 'instances'"):
        database.instanses  # noqa: B018
    with pytest.raises(KeyError, match="Did you mean 'SliceLocation'"):
        instance["SliceLocaton"]
    with pytest.raises(KeyError, match="not a DICOM keyword"):
        database.instances(SliceLocaton=3)
    with pytest.raises(KeyError, match="not a tag"):
        instance[3.5]


def test_records_are_thin_equal_and_hashable(database: db.Database) -> None:
    a = database.series()[0]
    b = database.series()[0]
    assert a == b and a is not b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != a.studies()
    assert repr(a) == f"<Series {a.label()!r} [{a.Modality}] {len(a.instances())} instances>"
    assert not hasattr(a, "__dict__")


def test_tree_order(database: db.Database) -> None:
    for series in database.series():
        numbers = [i.InstanceNumber for i in series.instances()]
        assert numbers == sorted(numbers)
    for study in database.studies():
        numbers = [s.SeriesNumber for s in study.series()]
        assert numbers == sorted(numbers)


def test_print(
    database: db.Database, manifest: Manifest, capsys: pytest.CaptureFixture[str]
) -> None:
    database.print()
    out = capsys.readouterr().out
    assert f"{manifest.n_patients} patients" in out
    for p in manifest.patients:
        assert p.name in out
    for s in manifest.series:
        assert s.description in out
    enhanced = manifest.series_by_description("ME enhanced")
    assert f"{enhanced.n_frames} frames" in out
    database.series()[0].print()
    assert "Instance" in capsys.readouterr().out


def test_files_and_paths(database: db.Database, manifest: Manifest) -> None:
    root = manifest.root
    files = database.files()
    assert sorted(Path(f).relative_to(root).as_posix() for f in files) == sorted(manifest.files)
    instance = database.instances()[0]
    assert Path(instance.path).is_file()


def test_closed_database(database: db.Database) -> None:
    series = database.series()[0]
    database.close()
    with pytest.raises(db.DicomError, match="closed"):
        series.instances()
