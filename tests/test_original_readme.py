"""The examples of the original dbdicom README run as written.

The original package's README (the object API: ``db.database()``,
``patients()/studies()/series()/instances()``, tags by keyword, by
(group, element) and by list, ``copy_to``, ``move_to``, ``new_pibling``,
``array()``, ``set_array()``, ``subseries()``, ``map_to()``, ``export_as_*``,
``save()/restore()``, ``read()/clear()``, ``message/progress/dialog``) is the
contract users come with. Each test below runs one section's example lines
as that README writes them, on the demo database, with the names the README
takes as given (``patient``, ``study``, ``series``, ``instance``, ``path``...)
bound first. Where the README is plainly wrong, the line is corrected and
the comment says how (``parent`` is a property; a list is not callable; a
date must be a DICOM date); nothing else is changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dbdicom as db
from dbdicom._demo import build_demo


@pytest.fixture
def database(tmp_path: Path) -> Iterator[db.Database]:
    build_demo(tmp_path / "demo")
    database = db.database(tmp_path / "demo", dialog=db.TerminalDialog(interactive=False))
    database.mute()
    yield database
    database.restore()
    database.close()


def test_browsing(database: db.Database) -> None:
    database.print()
    database.scan()

    instances = database.instances()
    series = database.series()
    studies = database.studies()
    patients = database.patients()
    assert len(instances) > len(series) > len(studies) > len(patients) == 2

    patient = patients[0]
    studies = patient.studies()
    series = studies[0].series()  # the README's "studies()[0]": studies is a list
    study = studies[0]
    instances = study.instances()
    patient = series[0].patients()
    assert patient == studies[0].parent  # going up gives the one record above

    instances = database.instances(PatientName="John Dory")
    series = database.instances(
        PatientName="John Dory",
        ReferringPhysicianName="Dr. No",
    )
    studies = database.studies(
        PatientName="John Dory",
        ReferringPhysicianName="Dr. No",
    )
    assert instances == series == studies == []

    patient = database.patients()[0]
    studies = patient.children()
    patient = studies[0].parent
    studies = patient.children(ReferringPhysicianName="Dr. No")
    assert studies == []


def test_moving_copying_and_creating(database: db.Database) -> None:
    folder = database  # the README calls the database "folder" in these lines
    instance = folder.instances()[-1]
    instance.remove()

    study = folder.patients()[0].studies()[0]
    new_parent = folder.patients()[1]
    study.move_to(new_parent)
    assert study in new_parent.studies()

    study = folder.patients()[0].studies()[0]
    new_study = study.copy()
    assert new_study in study.parent.studies() and new_study != study

    study = folder.patients()[0].studies()[0]
    new_parent = folder.patients()[1]
    moved = study.copy().move_to(new_parent)
    copied = study.copy_to(new_parent)
    assert moved in new_parent.studies() and copied in new_parent.studies()
    study.move_to(new_parent)

    series = study.new_child()
    series = study.new_series()
    new_series = series.new_sibling()
    new_study = series.new_pibling()
    new_study = series.parent.new_sibling()  # the README's "parent()": a property
    new_study = series.new_pibling(
        StudyDescription="Parametric maps",
        StudyDate="20221212",  # the README's '12.12.22' is not a DICOM date
    )
    assert new_series.parent == series.parent
    assert new_study.StudyDescription == "Parametric maps"

    study.remove()


def test_export_and_import(database: db.Database, tmp_path: Path) -> None:
    path = tmp_path / "out"
    series = database.series(SeriesDescription="VFA")[0]
    study = series.parent
    files = [str(p) for p in (tmp_path / "demo").rglob("*.dcm")][:3]

    database.import_dicom(files)  # duplicates of the database's own: skipped
    series.export_as_dicom(path)
    study.export_as_csv(path)
    study.export_as_nifti(path)
    study.export_as_png(path)
    series.export_as_npy(path)
    series.export_as_npy(path, sortby=["SliceLocation", "AcquisitionTime"])
    assert any(path.rglob("*.dcm")) and any(path.rglob("*.nii.gz")) and any(path.rglob("*.npy"))


def test_reading_attributes(database: db.Database) -> None:
    study = database.studies(StudyDescription="MR phantom T1 mapping")[0]
    series = database.series(SeriesDescription="VFA")[0]
    patient = series.patients()
    instance = series.instances()[0]

    nr_of_rows = instance.Rows
    desc = study.SeriesDescription  # the distinct series descriptions in a study
    assert nr_of_rows == 64 and "VFA" in desc and "T2w" in desc

    columns = instance["Columns"]
    columns = instance[(0x0028, 0x0010)]
    assert columns == 64

    dimensions = ["Rows", (0x0028, 0x0010)]
    dimensions = instance[dimensions]
    assert dimensions == [64, 64]

    dimensions = ["Rows", (0x0028, 0x0010)]
    dimensions = patient[dimensions]
    assert dimensions == [[64], [64]]

    # the commonest line users write: attributes of a record's own level are values
    vfa = [s for s in database.series() if s.SeriesDescription == "VFA"][0]
    assert vfa == series
    assert instance.PatientID == patient.PatientID
    assert study.StudyDescription == "MR phantom T1 mapping"


def test_editing_attributes(database: db.Database) -> None:
    series = database.series(SeriesDescription="T2w")[0]
    instance = series.instances()[0]

    instance.EchoTime = 23.0
    instance["EchoTime"] = 23.0
    instance[(0x0018, 0x0081)] = 23.0
    assert instance.EchoTime == 23.0

    shape = ["Rows", "Columns"]
    instance[shape] = [128, 192]
    assert instance[shape] == [128, 192]

    series.Rows = 128
    assert series.Rows == [128]


def test_custom_attributes(database: db.Database) -> None:
    series = database.series(SeriesDescription="T2w")[0]
    image = series.instances()[0]

    image.colormap = "YlGnBu"
    series.colormap = "Oranges"
    cm_image = image.colormap
    cm_series = series.colormap
    assert cm_image == "Oranges" and cm_series == ["Oranges"]


def test_read_and_write_save_and_restore(database: db.Database) -> None:
    series = database.series(SeriesDescription="T2w")[0]
    instance = series.instances()[0]

    instance.Rows = 128
    series.read()
    series.Rows = 32
    series.clear()
    assert series.Rows == [32]

    database.save()
    database.restore()
    series.Rows = 16
    series.restore()
    assert series.Rows == [32]
    series.Rows = 8
    series.save()
    assert not database.unsaved


def test_working_with_series(database: db.Database) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    target = database.series(SeriesDescription="T2w")[0]

    array, _ = series.array()
    assert array.shape == (24, 64, 64)
    array, _ = series.array(["SliceLocation", "FlipAngle"])
    assert array.shape == (6, 4, 1, 64, 64)
    array, _ = series.array(["SliceLocation", "FlipAngle"], pixels_first=True)
    assert array.shape == (64, 64, 6, 4, 1)
    series.array(np.moveaxis(array, (0, 1), (-2, -1)))  # replace the images, same shape

    array, header = series.array(["SliceLocation", "FlipAngle"])
    FA = [hdr.FlipAngle for hdr in header[0, :, 0]]
    assert FA == [2.0, 5.0, 10.0, 15.0]

    array, header = series.array(["SliceLocation", "FlipAngle"])
    mip = np.amax(array, axis=0)
    series.set_array(mip, header[0, :, :])

    phase = series.subseries(image_type="PHASE")
    magn = series.subseries(image_type="MAGNITUDE")
    sub = series.subseries(FlipAngle=10, RepetitionTime=5)
    assert len(sub.instances()) >= 1 and phase.level == magn.level == "series"

    overlay = series.map_to(target)
    assert overlay.level == "series"


def test_creating_data_from_scratch(tmp_path: Path) -> None:
    path = tmp_path / "new"
    array = np.random.normal(size=(10, 128, 192))
    series = db.series(array)

    series.PatientName = "Random noise"
    series.StudyDate = "20221119"  # the README's '19112022' is no DICOM date (YYYYMMDD)
    series.AcquisitionTime = "120000"
    series.save(path)
    assert str(series.PatientName) == "Random noise"

    database = db.database()

    james_bond = database.new_patient(PatientName="James Bond")
    james_bond_mri = james_bond.new_study(StudyDescription="MRI")
    james_bond_mri.new_series(SeriesDescription="Localizer")
    james_bond_mri.new_series(SeriesDescription="T2w")
    james_bond_xray = james_bond.new_study(StudyDescription="Xray")
    james_bond_xray.new_series(SeriesDescription="Chest")
    james_bond_xray.new_series(SeriesDescription="Head")

    scarface = database.new_patient(PatientName="Scarface")
    scarface_mri = scarface.new_study(StudyDescription="MRI")
    scarface_mri.new_series(SeriesDescription="Localizer")
    scarface_mri.new_series(SeriesDescription="T2w")
    scarface_xray = scarface.new_study(StudyDescription="Xray")
    scarface_xray.new_series(SeriesDescription="Chest")
    scarface_xray.new_series(SeriesDescription="Head")

    database.print()
    assert len(database.patients()) == 2 and len(james_bond.studies()) == 2
    assert james_bond_mri.StudyDescription == "MRI"
    assert james_bond_mri.PatientName == "James Bond"

    study = james_bond_mri
    img = study.zeros((10, 128, 192), dtype="mri")
    series = db.series((10, 128, 192))
    assert img.Rows == [128] and series.Columns == [192]
    database.close()


def test_user_interactions(database: db.Database) -> None:
    series = database.series(SeriesDescription="VFA")[0]
    length = 3

    series.message("Starting calculation...")
    for i in range(length):
        series.progress(i, length, "Calculating..")  # the README leaves the quote open
    series.mute()
    series.unmute()
    answer = series.dialog.question("Do you wish to proceed?", cancel=True)
    assert answer in ("yes", "no", "cancel")
