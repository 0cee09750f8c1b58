"""A dynamic series acquired across midnight keeps its order.

Times of day sort 00:00:10 before 23:59:50: the volumes of the next day
came first (a trial's AcquisitionNumber 3, 4, 5, 1, 2), in the array, the
NIfTI file and its sidecar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

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
