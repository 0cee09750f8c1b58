"""The index as a table: ``table()`` (pandas) and ``to_arrow()`` (Arrow), as records report it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pydicom
import pytest
from builders import Manifest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._index import TAGS, VECTORS, vr_of
from dbdicom._records._table import OWN_COLUMNS


def _seconds(text: str) -> float:
    """A DICOM time as seconds since midnight (HHMMSS.FFFFFF), written out for the test."""
    return int(text[:2]) * 3600 + int(text[2:4] or 0) * 60 + float(text[4:] or 0)


def _as_record_reports(value: Any, keyword: str) -> Any:
    """A table cell as the value its record reports (None where the table has NA)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y%m%d")
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, tuple) and len(value) == 1 and keyword not in VECTORS:
        return value[0]  # a multi-valued tag holding one value: the record gives the value
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def _reported(value: Any, keyword: str) -> Any:
    if isinstance(value, str) and vr_of(keyword) == "TM":
        return _seconds(value)
    if isinstance(value, str) and vr_of(keyword) == "DA":
        return value.replace(".", "")
    return value


def test_a_row_per_instance_holds_what_its_record_reports(
    database_folder: tuple[Path, Manifest],
) -> None:
    root, manifest = database_folder
    database = db.database(root)
    table = database.table()
    instances = database.instances()
    assert len(table) == len(instances) == 28
    assert list(table["instance_uid"]) == [i.uid for i in instances]  # the tree's order
    assert list(table.columns) == [
        *TAGS,
        "TransferSyntaxUID",
        *(c for c in OWN_COLUMNS if c != "frame"),
    ]
    assert not [c for c in table.columns if c.startswith("_")]
    for row, instance in zip(table.itertuples(index=False), instances, strict=True):
        cells = row._asdict()
        for keyword in TAGS:
            reported = instance[keyword]
            if isinstance(reported, list):  # frames that differ: in the frames' rows
                assert _as_record_reports(cells[keyword], keyword) is None
                continue
            got = _as_record_reports(cells[keyword], keyword)
            assert got == _reported(reported, keyword), (instance.path, keyword)
        assert cells["path"] == instance.path
        assert cells["series_uid"] == instance.parent.uid
        assert cells["patient_uid"] == instance.patients().uid
        assert cells["size"] == Path(instance.path).stat().st_size
        assert cells["TransferSyntaxUID"] == instance.TransferSyntaxUID


def test_types_a_pandas_user_expects(database_folder: tuple[Path, Manifest]) -> None:
    table = db.database(database_folder[0]).table()
    dtypes = table.dtypes.astype(str).to_dict()
    assert dtypes["Rows"] == dtypes["InstanceNumber"] == dtypes["pixel_offset"] == "Int64"
    assert dtypes["SliceLocation"] == dtypes["EchoTime"] == "float64"
    assert dtypes["StudyDate"].startswith("datetime64")
    assert dtypes["AcquisitionTime"].startswith("timedelta64")
    assert dtypes["mtime"] == "datetime64[ns, UTC]"
    assert dtypes["PatientName"] == dtypes["path"] == "str"
    assert dtypes["compressed"] == "bool" and dtypes["size"] == "int64"
    positions = table["ImagePositionPatient"].dropna()
    assert all(isinstance(p, tuple) and len(p) == 3 for p in positions)
    assert table["compressed"].sum() == 3  # the RLE series
    assert table.loc[table["compressed"], "pixel_offset"].isna().all()
    assert table.groupby("SeriesDescription").size().to_dict() == {
        "CT abdomen": 5,
        "ME enhanced": 1,
        "PD implicit": 3,
        "T1w RLE": 3,
        "T2w": 4,
        "VFA": 12,
    }


def test_a_row_per_frame_holds_the_frames_own_values(
    database_folder: tuple[Path, Manifest],
) -> None:
    database = db.database(database_folder[0])
    frames = database.table(frames=True)
    assert len(frames) == 35  # 27 single-frame files and an enhanced file of 8 frames
    enhanced = database.series(SeriesDescription="ME enhanced")[0]
    rows = frames[frames["series_uid"] == enhanced.uid]
    assert rows["frame"].tolist() == list(range(8))
    instance = enhanced.instances()[0]
    # the frames' values are those the record reports (it lists the distinct ones)
    assert sorted(set(rows["EchoTime"])) == instance.EchoTime == [5.0, 15.0]
    assert sorted(set(rows["ImagePositionPatient"])) == instance.ImagePositionPatient
    da = enhanced.to_xarray()
    by_frame = dict(zip(rows["frame"], rows["EchoTime"], strict=True))
    for frame, echo in zip(
        da["frame"].values.ravel(),
        da["EchoTime"].broadcast_like(da["frame"]).values.ravel(),
        strict=True,
    ):
        assert by_frame[int(frame)] == echo
    # per instance, a value its frames share is the file's (as the record gives it)
    one = database.table()
    assert one.loc[one["series_uid"] == enhanced.uid, "PixelSpacing"].tolist() == [
        instance.PixelSpacing
    ]
    single = frames[frames["series_uid"] != enhanced.uid]
    assert (single["frame"] == 0).all()


def test_columns_may_name_tags_the_index_does_not_hold(
    database_folder: tuple[Path, Manifest],
) -> None:
    database = db.database(database_folder[0])
    vfa = database.series(SeriesDescription="VFA")[0]
    table = vfa.table(["path", "InstanceNumber", "WindowCenter", "PatientName"])
    assert list(table.columns) == ["path", "InstanceNumber", "WindowCenter", "PatientName"]
    instances = vfa.instances()
    assert table["WindowCenter"].tolist() == [i.WindowCenter for i in instances]
    assert table["path"].tolist() == [i.path for i in instances]
    enhanced = database.series(SeriesDescription="ME enhanced")[0]
    stack = enhanced.table(["InStackPositionNumber"], frames=True)["InStackPositionNumber"]
    assert stack.tolist() == [1, 2, 3, 4, 1, 2, 3, 4] and str(stack.dtype) == "Int64"
    with pytest.raises(db.UnknownTagError, match="PatientsName"):
        database.table(["PatientsName"])


def test_tables_of_patients_series_and_instances_are_their_rows(
    database_folder: tuple[Path, Manifest],
) -> None:
    database = db.database(database_folder[0])
    everything = database.table()
    for record in [database.patients()[1], database.studies()[0], database.series()[2]]:
        own = record.table()
        key = f"{record.level}_uid"
        expected = everything[everything[key] == record.uid].reset_index(drop=True)
        pd.testing.assert_frame_equal(own, expected)
    instance = database.instances()[5]
    assert instance.table()["instance_uid"].tolist() == [instance.uid]


def test_arrow_holds_the_same_values(database_folder: tuple[Path, Manifest]) -> None:
    database = db.database(database_folder[0])
    table = database.table(frames=True)
    arrow = database.to_arrow(frames=True)
    assert arrow.column_names == list(table.columns)
    assert arrow.schema.field("ImagePositionPatient").type == pa.list_(pa.float64())
    assert arrow.schema.field("ImageType").type == pa.list_(pa.string())
    assert pa.types.is_integer(arrow.schema.field("Rows").type)
    assert pa.types.is_timestamp(arrow.schema.field("StudyDate").type)
    back = arrow.to_pandas()
    for name in table.columns:
        got = [tuple(v) if isinstance(v, np.ndarray) else v for v in back[name]]
        expected = table[name].tolist()
        assert [None if pd.isna(v) else v for v in got if not isinstance(v, tuple)] == [
            None if pd.isna(v) else v for v in expected if not isinstance(v, tuple)
        ], name
        assert [v for v in got if isinstance(v, tuple)] == [
            v for v in expected if isinstance(v, tuple)
        ], name


def test_duckdb_queries_the_arrow_table(database_folder: tuple[Path, Manifest]) -> None:
    duckdb = pytest.importorskip("duckdb")
    database = db.database(database_folder[0])
    connection = duckdb.connect()
    connection.register("instances", database.to_arrow())
    found = connection.sql(
        "SELECT SeriesDescription, count(*) AS n, max(Rows) AS rows FROM instances "
        "WHERE Modality = 'MR' GROUP BY SeriesDescription ORDER BY SeriesDescription"
    ).fetchall()
    mr = [s for s in database.series() if s.Modality == "MR"]
    assert found == sorted((s.SeriesDescription, len(s.instances()), 32) for s in mr)


def test_bad_files_are_not_rows_and_odd_values_still_convert(tmp_path: Path) -> None:
    source = Path(pydicom.__file__).parent / "data" / "test_files"
    root = tmp_path / "test_files"
    shutil.copytree(source, root)
    database = db.database(root)
    table = database.table()
    assert len(table) == len(database.instances()) == len(database.index.ok)
    bad = set(database.index.problems()["path"])
    assert "README.txt" in bad
    assert not any(p.endswith("README.txt") for p in table["path"])
    arrow = database.to_arrow(frames=True)  # every value Arrow can hold, or its text
    assert arrow.num_rows == len(database.table(frames=True)) > len(table)
    empty = db.database().table()
    assert len(empty) == 0 and list(empty.columns) == list(table.columns)


def test_a_file_of_a_frame_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "mf"
    folder.mkdir()
    shutil.copyfile(get_testdata_file("emri_small.dcm"), folder / "emri.dcm")  # 10 frames
    database = db.database(folder)
    frames = database.table(["frame", "NumberOfFrames", "pixel_offset"], frames=True)
    assert frames["frame"].tolist() == list(range(10))
    assert (frames["NumberOfFrames"] == 10).all()
    assert frames["pixel_offset"].nunique() == 1  # the file's Pixel Data, for every frame


def test_dates_and_times_of_any_year_and_precision() -> None:
    series = db.series(np.zeros((1, 4, 4), dtype=np.uint16), PatientBirthDate="16000229")
    series.AcquisitionTime = "235959.123456"
    table = series.table(["PatientBirthDate", "AcquisitionTime"])
    assert table.loc[0, "PatientBirthDate"] == pd.Timestamp("1600-02-29")  # before 1677
    assert table.loc[0, "AcquisitionTime"] == pd.Timedelta(hours=23, minutes=59, seconds=59.123456)
    arrow = series.to_arrow(["PatientBirthDate", "AcquisitionTime"])
    assert arrow.column("PatientBirthDate").to_pylist()[0].year == 1600
