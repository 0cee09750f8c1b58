"""A dynamic series acquired across midnight keeps its order.

Times of day sort 00:00:10 before 23:59:50: the volumes of the next day
came first (a trial's AcquisitionNumber 3, 4, 5, 1, 2), in the array, the
NIfTI file and its sidecar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import xarray as xr

import dbdicom as db
from dbdicom._templates import mr_image, write_dataset

TIMES = [
    ("20240101", "235940"),
    ("20240101", "235950"),
    ("20240102", "000000"),
    ("20240102", "000010"),
]


def _series(folder: Path) -> Path:
    k = 0
    for volume, (day, time) in enumerate(TIMES):
        for z in range(2):
            ds = mr_image(
                np.full((4, 4), 10 * volume + z, np.uint16),
                PatientID="P",
                InstanceNumber=k + 1,
                AcquisitionNumber=volume + 1,
                AcquisitionDate=day,
                AcquisitionTime=time,
                ImagePositionPatient=[0.0, 0.0, 3.0 * z],
                SliceLocation=3.0 * z,
            )
            ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.4"
            write_dataset(ds, folder / f"{k}.dcm")
            k += 1
    return folder


def test_volumes_across_midnight_are_in_acquisition_order(tmp_path: Path) -> None:
    database = db.database(_series(tmp_path / "dyn"))
    source = database.series()[0]
    da = source.to_xarray(dims=["SliceLocation", "AcquisitionTime"])
    assert da["AcquisitionTime"].values.tolist() == [86380.0, 86390.0, 86400.0, 86410.0]
    assert da.isel(SliceLocation=0).values[:, 0, 0].tolist() == [0, 10, 20, 30]
    derived = source.new_sibling(SeriesDescription="copy")
    derived.set_xarray(da + 1)
    database.save()
    written = sorted(
        (str(d.AcquisitionTime), int(d.pixel_array[0, 0]))
        for d in map(pydicom.dcmread, derived.files())
    )
    assert written[0] == ("000000.000000", 21)  # the time of day again, and its own values
    assert written[-1] == ("235950.000000", 12)


def test_a_wrong_date_in_one_file_leaves_the_times_of_day(tmp_path: Path) -> None:
    """A review: one file's AcquisitionDate 10 days off put its frame 900,000 s later,
    and the grid of the series broke."""
    folder = _series(tmp_path / "dyn")
    ds = pydicom.dcmread(folder / "7.dcm")
    ds.AcquisitionDate = "20240112"
    ds.save_as(folder / "7.dcm")
    da = db.database(folder).series()[0].to_xarray(dims=["SliceLocation", "AcquisitionTime"])
    assert sorted(da["AcquisitionTime"].values.tolist()) == [0.0, 10.0, 86380.0, 86390.0]


def _late(folder: Path) -> tuple[db.Database, db.Series, xr.DataArray]:
    """The first volume of the series, its times 86390 to 86415 s with one shared date."""
    database = db.database(_series(folder))
    source = database.series()[0]
    da = source.to_xarray(dims=["SliceLocation", "AcquisitionTime"]).isel(AcquisitionTime=0)
    return database, source, da


def test_times_past_midnight_are_written_with_the_next_date(tmp_path: Path) -> None:
    """A trial: AcquisitionTime 86390..86415 s with one AcquisitionDate was written as
    00:00:00..00:00:15 of the same date, and read back as 0..15, its order lost."""
    database, source, da = _late(tmp_path / "dyn")
    times = [86390.0, 86415.0]
    late = da.assign_coords(
        AcquisitionTime=("SliceLocation", times), AcquisitionDate=np.datetime64("2024-01-01")
    )
    written = source.new_sibling(SeriesDescription="late").set_xarray(late)
    database.save()
    headers = sorted(
        (str(d.AcquisitionDate), str(d.AcquisitionTime))
        for d in map(pydicom.dcmread, written.files())
    )
    assert headers == [("20240101", "235950.000000"), ("20240102", "000015.000000")]
    database.close()
    back = db.database(tmp_path / "dyn").series(SeriesDescription="late")[0].to_xarray()
    assert back["AcquisitionTime"].values.tolist() == times


def test_times_past_midnight_keep_the_dates_they_were_read_with(tmp_path: Path) -> None:
    """Frames of both days keep their own dates; the second day's alone are ambiguous.

    A date coordinate of one value is one date, as an attr is: every time
    past its midnight could be the frames' own date or the day the times
    count from (a trial: 86410 s dated 2024-01-15 by a coordinate was
    written 2024-01-15 00:00:10, refused as an attr). Times of day write it.
    """
    database, source, _ = _late(tmp_path / "dyn")
    da = source.to_xarray(dims=["SliceLocation", "AcquisitionTime"])
    both = da.isel(AcquisitionTime=[1, 2])  # dated 2024-01-01, 2024-01-02
    written = source.new_sibling(SeriesDescription="both days").set_xarray(both)
    assert written.AcquisitionDate == ["20240101", "20240102"]
    second = da.isel(AcquisitionTime=[2, 3])  # 86400, 86410: dated 2024-01-02
    with pytest.raises(db.InvalidValueError, match="frames' own date"):
        source.new_sibling(SeriesDescription="second day").set_xarray(second)
    second = second.assign_coords(AcquisitionTime=second.AcquisitionTime % 86400)
    written = source.new_sibling(SeriesDescription="second day").set_xarray(second)
    assert written.AcquisitionDate == ["20240102"]
    assert written.AcquisitionTime == ["000000.000000", "000010.000000"]


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"AcquisitionTime": -5.0}, "not a time of day"),
        ({"StudyTime": 86400.0}, "StudyTime 86400.0 s is not a time of day"),
        ({"AcquisitionTime": 86410.0, "AcquisitionDate": None}, "no AcquisitionDate to carry"),
        ({"AcquisitionTime": 86410.0}, "frames' own date .* or the day their times count from"),
    ],
    ids=["negative", "no-date-pair", "no-date", "ambiguous"],
)
def test_times_no_date_can_carry_are_refused(
    tmp_path: Path, change: dict[str, float | None], refused: str
) -> None:
    database, source, da = _late(tmp_path / "dyn")
    da = da.isel(SliceLocation=0).drop_vars(["AcquisitionTime", "AcquisitionDate"])
    da = da.assign_coords(AcquisitionDate=np.datetime64("2024-01-01"))
    for keyword, value in change.items():
        da = da.drop_vars(keyword) if value is None else da.assign_coords({keyword: value})
    with pytest.raises(db.InvalidValueError, match=refused):
        source.new_sibling().set_xarray(da)
    assert not database.unsaved  # refused before any file was written
