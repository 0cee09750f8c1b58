r"""A tag of one value (VM 1) stored with several: read as none and listed, never the first.

A user's trial: a file with (0018,0050) SliceThickness ``"1.0\2.0"`` read as
1.0 (pydicom gives [1.0, 2.0]), ``db.instances(SliceThickness=1)`` matched
it, the array's coordinate said 1.0 and ``problems()`` listed nothing. The
index keeps one value of such a tag, so which one is a guess: it keeps none
and says why, as for an IS or DS value that is not a number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._templates import mr_image, new_uid, write_dataset

SAID = r"(0018,0050) 'Slice Thickness': it holds 2 values (1.0\2.0), where its VM is 1"


def test_a_one_value_tag_of_two_values_is_none_and_listed(tmp_path: Path) -> None:
    series, study, frame = new_uid(), new_uid(), new_uid()
    for name, place, thickness in [("two", 0, ["1.0", "2.0"]), ("one", 5, "1.0")]:
        ds = mr_image(
            np.zeros((4, 4), np.uint16),
            SeriesInstanceUID=series,
            StudyInstanceUID=study,
            FrameOfReferenceUID=frame,
            PatientID="P1",
            ImagePositionPatient=[0, 0, place],
        )
        ds.SliceThickness = thickness
        write_dataset(ds, str(tmp_path / f"{name}.dcm"))
    database = db.database(tmp_path)
    database.mute()
    (two,) = [i for i in database.instances() if Path(i.path).name == "two.dcm"]
    assert pydicom.dcmread(two.path).SliceThickness == [1.0, 2.0]
    assert two.SliceThickness is None
    assert [Path(i.path).name for i in database.instances(SliceThickness=1)] == ["one.dcm"]
    problems = database.problems()
    assert SAID in " ".join(problems[problems["path"] == "two.dcm"]["problem"])
    da = database.series()[0].to_xarray(["SliceLocation"])
    assert np.isnan(da["SliceThickness"].values[0]) and da["SliceThickness"].values[1] == 1.0
    database.close()


def test_in_the_functional_groups_too(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness = ["1.0", "2.0"]
    folder = tmp_path / "db"
    folder.mkdir()
    ds.save_as(folder / "a.dcm", enforce_file_format=False)
    database = db.database(folder)
    database.mute()
    assert f"{SAID} (in the functional groups)" in " ".join(database.problems()["problem"])
    da = database.series()[0].to_xarray()
    thickness = da.coords.get("SliceThickness", da.attrs.get("SliceThickness"))
    assert thickness is None or np.isnan(np.asarray(thickness, dtype=float)).all()
    assert database.instances()[0].SliceThickness is None
    database.close()
