"""Queries as users write them: lists, wildcards, date and time ranges, functions, wrong types."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._demo import build_demo
from dbdicom._index import (
    JOINED,
    TAGS,
    VECTORS,
    Query,
    match_values,
    parse_query,
    vr_of,
)
from dbdicom._index._query import _select
from dbdicom._records._attributes import is_single, reduce_values, sorted_distinct
from dbdicom._records._reads import _with_frames
from tests.builders import build_database


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("demo")
    build_demo(folder)
    database = db.database(folder)
    database.mute()
    return database


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("built")
    build_database(folder)
    database = db.database(folder)
    database.mute()
    return database


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("shipped")
    for name in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "emri_small.dcm"):
        shutil.copy(str(get_testdata_file(name)), folder / name)
    database = db.database(folder)
    database.mute()
    return database


@pytest.fixture(scope="module")
def gaps(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo, with tags left out of some files (missing values sort first)."""
    folder = tmp_path_factory.mktemp("gaps")
    build_demo(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".dbdicom" not in p.parts)
    for k, path in enumerate(files):
        ds = pydicom.dcmread(path)
        for n, keyword in enumerate(["InstanceNumber", "SeriesNumber", "StudyTime", "PatientName"]):
            if (k + n) % (3 + n) == 0 and keyword in ds:
                delattr(ds, keyword)
        ds.save_as(path)
    database = db.database(folder)
    database.mute()
    return database


def descriptions(records: list[Any]) -> list[str]:
    return [r.SeriesDescription for r in records]


# ----------------------------------------------------------------------------- lists


def test_a_list_is_any_of_its_values(demo: Any) -> None:
    assert descriptions(demo.series(SeriesDescription=["T2w", "VFA"])) == ["T2w", "VFA"]
    assert descriptions(demo.series(SeriesDescription=["VFA"])) == ["VFA"]
    assert demo.series(SeriesDescription=[]) == []
    assert len(demo.instances(FlipAngle=[2, 15])) == 12
    assert [p.uid for p in demo.patients(PatientID=["DEMO-002", "nobody"])] == ["DEMO-002"]


def test_a_list_item_can_be_a_wildcard_or_a_range(demo: Any) -> None:
    found = demo.series(SeriesDescription=["loc*", "VFA"])
    assert descriptions(found) == ["localiser", "VFA"]
    studies = demo.studies(StudyDate=["-20240115", "20240220"])
    assert [s.StudyDate for s in studies] == ["20240115", "20240220"]


def test_tuples_and_lists_of_a_multi_valued_tag_are_one_value(demo: Any) -> None:
    axial = (1, 0, 0, 0, 1, 0)
    n_axial = len(demo.instances(ImageOrientationPatient=axial))
    assert n_axial > 0
    assert len(demo.instances(ImageOrientationPatient=list(axial))) == n_axial
    assert len(demo.instances(ImageOrientationPatient=np.array(axial))) == n_axial
    sagittal = (0, 1, 0, 0, 0, -1)
    both = demo.instances(ImageOrientationPatient=[axial, sagittal])
    n_sagittal = len(demo.instances(ImageOrientationPatient=sagittal))
    assert n_sagittal > 0 and len(both) == n_axial + n_sagittal
    image_type = demo.instances()[0].ImageType
    assert isinstance(image_type, tuple) and len(image_type) > 1
    same = demo.instances(ImageType=image_type)
    assert same and all(i.ImageType == image_type for i in same)
    assert demo.instances(ImageType=list(image_type)) == same


def test_a_tuple_for_a_single_valued_tag_is_an_error(demo: Any) -> None:
    with pytest.raises(db.InvalidValueError, match=r"SeriesDescription.*VR LO.*give a list"):
        demo.series(SeriesDescription=("T2w", "VFA"))


# ----------------------------------------------------------------------------- wildcards


def test_wildcards_on_text(demo: Any) -> None:
    assert descriptions(demo.series(SeriesDescription="T2w*")) == ["T2w", "T2w sag"]
    assert descriptions(demo.series(SeriesDescription="?2w")) == ["T2w"]
    assert descriptions(demo.series(SeriesDescription="*")) == descriptions(demo.series())
    assert demo.series(SeriesDescription="t2w*") == []  # case matters
    assert [p.uid for p in demo.patients(PatientName="*^Beta")] == ["DEMO-002"]  # PN as text
    assert len(demo.studies(Modality="M?")) == 2


def test_special_characters_are_literal(demo: Any) -> None:
    assert demo.series(SeriesDescription="T2w.") == []
    assert demo.series(SeriesDescription="(T2w)*") == []
    assert demo.series(SeriesDescription="[VT]*") == []


def test_no_wildcard_in_uids(demo: Any) -> None:
    uid = demo.series()[0].uid
    assert demo.series(SeriesInstanceUID=uid[:5] + "*") == []
    assert demo.series(SeriesInstanceUID=uid) == [demo.series()[0]]


# ----------------------------------------------------------------------------- dates and times


def test_date_ranges(demo: Any) -> None:
    dates = sorted(demo.StudyDate)
    assert dates == ["20240115", "20240116", "20240220"]

    def study_dates(**filters: Any) -> list[str]:
        return sorted(s.StudyDate for s in demo.studies(**filters))

    assert study_dates(StudyDate="20240101-20240131") == dates[:2]
    assert study_dates(StudyDate="20240116-") == dates[1:]
    assert study_dates(StudyDate="-20240116") == dates[:2]
    assert study_dates(StudyDate="20240116") == dates[1:2]
    assert study_dates(StudyDate="2024-01-16") == dates[1:2]  # ISO form: one date
    assert study_dates(StudyDate="2024-01-16-2024-02-20") == dates[1:]
    assert study_dates(StudyDate=datetime.date(2024, 1, 15)) == dates[:1]
    assert study_dates(StudyDate=(datetime.date(2024, 1, 16), None)) == dates[1:]
    assert study_dates(StudyDate=("20240101", datetime.date(2024, 1, 15))) == dates[:1]


def test_time_ranges_cover_the_whole_period(demo: Any) -> None:
    time = demo.studies()[0].StudyTime
    assert isinstance(time, str) and len(time) >= 4
    study = demo.studies()[0]
    assert study in demo.studies(StudyTime=time[:4])  # HHMM: that minute
    assert study in demo.studies(StudyTime=f"{time[:2]}-{time[:2]}")
    assert study in demo.studies(StudyTime=f"{time[:2]}:{time[2:4]}-")
    assert study in demo.studies(StudyTime=datetime.time(int(time[:2]), int(time[2:4]), 0))
    assert study not in demo.studies(StudyTime=f"-{int(time[:2]) - 1:02d}")


def test_datetime_ranges(shipped: Any) -> None:
    # AcquisitionDateTime is read on demand; files without it are never in a range
    (found,) = shipped.instances(AcquisitionDateTime="2012-")
    assert found.AcquisitionDateTime == "20120820120804.06"
    assert shipped.instances(AcquisitionDateTime="201208201208") == [found]  # that minute
    assert shipped.instances(AcquisitionDateTime="-2011") == []
    assert shipped.instances(AcquisitionDateTime=datetime.date(2012, 8, 20)) == [found]


# ----------------------------------------------------------------------------- functions


def test_a_function_is_called_with_each_value(demo: Any) -> None:
    found = demo.series(FlipAngle=lambda a: a is not None and a < 90)
    assert descriptions(found) == ["localiser", "VFA"]
    seen: list[Any] = []
    demo.series(SeriesDescription="VFA")[0].instances(ImageOrientationPatient=seen.append)
    assert seen and all(isinstance(v, tuple) for v in seen)


def test_none_is_the_files_without_the_tag(demo: Any) -> None:
    assert demo.instances(ImageComments=None) == demo.instances()
    assert demo.instances(ImageComments="*") == []


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"Rows": "abc"}, ["Rows", "US"]),
        ({"StudyDate": 3.5}, ["StudyDate", "DA"]),
        ({"StudyDate": "2024-13-45"}, ["StudyDate", "DA"]),
        ({"StudyTime": "25:00"}, ["StudyTime", "TM"]),
        ({"SeriesDescription": 3}, ["SeriesDescription", "LO"]),
        ({"SeriesDescription": ["T2w", 3]}, ["SeriesDescription", "LO"]),
        ({"EchoTime": "long"}, ["EchoTime", "DS"]),
        ({"FlipAngle": True}, ["FlipAngle", "DS"]),
        ({"ImageOrientationPatient": ("a", 0, 0, 0, 1, 0)}, ["ImageOrientationPatient", "DS"]),
        ({"ImagePositionPatient": 5}, ["ImagePositionPatient", "DS", "3 values"]),
    ],
)
def test_a_wrong_type_is_an_error_naming_tag_and_vr(
    demo: Any, filters: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(db.InvalidValueError) as error:
        demo.instances(**filters)
    assert all(word in str(error.value) for word in words)


def test_errors_come_before_any_file_is_read(tmp_path: Path) -> None:
    empty = db.database(tmp_path)
    with pytest.raises(db.InvalidValueError):
        empty.series(Rows="abc")
    with pytest.raises(db.InvalidValueError):
        empty.series(SeriesDescription="VFA", StudyDate=1.5)


def test_unknown_keyword_suggests(demo: Any) -> None:
    with pytest.raises(KeyError, match="SliceLocation"):
        demo.instances(SliceLocaton=3)


def test_numbers_as_text_are_taken_for_decimal_strings(demo: Any) -> None:
    assert demo.instances(FlipAngle="10") == demo.instances(FlipAngle=10)


# ----------------------------------------------------------------------------- other databases


def test_built_database(built: Any) -> None:
    assert [s.SeriesDescription for s in built.series(SeriesDescription="*w*")] == [
        "T1w RLE",
        "T2w",
    ]
    anna = built.patients(PatientName="Alpha^*")
    assert [p.uid for p in anna] == ["PAT-001"]
    studies = built.studies(StudyDate="20230401-20230601")
    assert sorted(s.StudyDescription for s in studies) == ["CT abdomen", "MR knee"]
    assert [s.uid for s in built.patients(PatientID=["PAT-003", "PAT-002"])] == sorted(
        p.uid for p in built.patients(PatientID=lambda i: i in ("PAT-002", "PAT-003"))
    )


def test_children_take_the_same_filters(built: Any) -> None:
    patient = built.patients(PatientID="PAT-001")[0]
    assert [s.StudyDescription for s in patient.children(StudyDescription=["CT*", "x"])] == [
        "CT abdomen"
    ]
    study = patient.studies(StudyDate="20230301")[0]
    assert study.children(SeriesNumber=[2]) == study.series(SeriesNumber=2)


def test_pydicom_files(shipped: Any) -> None:
    patients = shipped.patients(PatientName="CompressedSamples^*")
    assert sorted(p.PatientName for p in patients) == [
        "CompressedSamples^CT1",
        "CompressedSamples^MR1",
        "CompressedSamples^NM1",
    ]
    with pytest.raises(db.InvalidValueError, match="DA"):  # a year is not a date
        shipped.instances(StudyDate="2004-")
    in_2004 = shipped.instances(StudyDate="20040101-20041231")
    assert sorted(i.StudyDate for i in in_2004) == ["20040119", "20040826", "20040826"]
    assert [i.StudyDate for i in shipped.instances(StudyDate="-20031231")] == ["20000101"]
    derived = shipped.instances(ImageType=("DERIVED", "SECONDARY", "OTHER"))
    assert [i.Modality for i in derived] == ["MR"]
    assert sorted(i.Modality for i in shipped.instances(ImageType="ORIGINAL*")) == ["CT", "MR"]
    assert len(shipped.instances(Modality=["CT", "NM"])) == 2


def test_tags_read_on_demand(shipped: Any) -> None:
    # PatientPosition is not an index column: read from the files, matched the same way
    assert [i.Modality for i in shipped.instances(PatientPosition=["FFS", "nowhere"])] == ["CT"]
    assert len(shipped.instances(PatientPosition="H?S")) == 3
    assert len(shipped.instances(ContentTime="1131-1230")) == 2
    assert len(shipped.instances(ContentTime=None)) == 1


# ----------------------------------------------------------------------------- the parser


def test_parse_query() -> None:
    query = parse_query("SeriesDescription", ["T1", "ax*", None])
    assert query.equal == ["T1", None] and query.patterns == ["ax.*"]
    assert parse_query("StudyDate", "20200101-20201231").ranges == [("20200101", "20201231")]
    assert parse_query("StudyDate", "-20201231").ranges == [("", "20201231")]
    assert parse_query("ImageType", ["ORIGINAL", "PRIMARY"]).equal == [("ORIGINAL", "PRIMARY")]
    assert parse_query("PixelSpacing", [[1, 1], [2, 2]]).equal == [(1.0, 1.0), (2.0, 2.0)]


def test_match_values_without_a_keyword() -> None:
    values = ["MAGNITUDE", "PHASE", None]
    assert match_values(values, ["PHASE", None]).tolist() == [False, True, True]
    assert match_values(values, "PHASE").tolist() == [False, True, False]
    assert match_values([1, 2], lambda x: x > 1).tolist() == [False, True]


def test_match_values_with_several_values_read_on_demand() -> None:
    values = [("SE", "IR"), "SE", None, ("GR",)]
    assert match_values(values, [("SE", "IR"), "GR"], "ScanningSequence").tolist() == [
        True,
        False,
        False,
        True,
    ]
    assert match_values([(1, 2), 3], (1.0, 2.0), "ImagerPixelSpacing").tolist() == [True, False]


def test_text_columns_are_matched_without_a_loop_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    query = parse_query("SeriesDescription", ["T2w", "V*", None])
    column = np.array(["T2w", "VFA", "", None, "loc"], dtype=object)
    monkeypatch.setattr(query, "match", None)  # the per-value path is not taken
    assert query.match_texts(column).tolist() == [True, True, True, True, False]


# ----------------------------------------------------------------------------- vectorised


def _select_before(index: Any, rows: np.ndarray, query: Any) -> np.ndarray:
    """How queries were matched before they were vectorised: each column made Python objects."""
    keyword = query.keyword
    if keyword in VECTORS:
        block = np.stack([index.array(f"{keyword}[{i}]")[rows] for i in range(VECTORS[keyword])], 1)
        return query.match_block(block.astype(float))
    column = index.array(keyword)[rows]
    if keyword in JOINED:
        return query.match_joined(column)
    return query.match(column) if column.dtype != object else query.match_texts(column)


def _wanted(values: list[Any], keyword: str) -> list[Any]:
    """Filters to try on ``keyword``: each value found, none, any of two, wildcards, ranges."""
    found = [v for v in dict.fromkeys(values) if v is not None]
    out: list[Any] = [None, *found[:6]]
    if len(found) >= 2:
        out.append([found[0], found[-1]])
    texts = [v for v in found if isinstance(v, str)]
    if texts and vr_of(keyword) not in ("UI", "DA", "TM", "DT"):
        out += [texts[0][:2] + "*", "*" + texts[-1][-1:], "?" + texts[0][1:]]
    if texts and vr_of(keyword) in ("DA", "TM"):
        out += [f"{min(texts)}-", f"-{max(texts)}", f"{min(texts)}-{min(texts)}"]
    return out


@pytest.mark.parametrize("name", ["demo", "built", "shipped", "gaps"])
def test_queries_give_what_they_gave_before_on_every_index_tag(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Every index tag, with values of the database: the same rows as the per-column code."""
    database = request.getfixturevalue(name)
    index = database.index
    rows = index.ok
    tried = 0
    for keyword in TAGS:
        values = index.values(rows, keyword)
        for wanted in _wanted(values, keyword):
            query = parse_query(keyword, wanted)
            for subset in (rows, rows[::2]):
                # the files' own values (select_rows adds the frames of enhanced
                # files without their own: tests/test_frame_attributes.py)
                got = _select(index, subset, query)
                assert got.tolist() == _select_before(index, subset, query).tolist(), (
                    keyword,
                    wanted,
                )
            tried += 1
    assert tried > 3 * len(TAGS)


@pytest.mark.parametrize("name", ["demo", "built", "shipped"])
def test_a_query_by_uid_finds_its_one_record(name: str, request: pytest.FixtureRequest) -> None:
    database = request.getfixturevalue(name)
    for series in database.series():
        assert database.series(SeriesInstanceUID=series.uid) == [series]
        assert series.parent.series(SeriesInstanceUID=series.uid) == [series]
    for instance in database.instances():
        uid = instance.SOPInstanceUID
        assert instance in database.instances(SOPInstanceUID=uid)
        assert instance in instance.parent.instances(SOPInstanceUID=[uid, "1.2.3"])
    assert database.instances(SOPInstanceUID="1.2.3.4.5") == []


def test_a_uid_is_looked_up_not_compared_row_by_row(
    demo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exact values of a text column come from a hash table kept with the index."""
    uid = demo.instances()[5].SOPInstanceUID
    monkeypatch.setattr(Query, "match_texts", None)  # the vectorised text pass is not taken
    assert [i.SOPInstanceUID for i in demo.instances(SOPInstanceUID=uid)] == [uid]


@pytest.mark.parametrize("name", ["demo", "built", "shipped", "gaps"])
def test_records_come_in_the_order_of_the_tree(name: str, request: pytest.FixtureRequest) -> None:
    """Sorting only the rows asked for gives the order sorting the whole table gave."""
    database = request.getfixturevalue(name)
    frame = database.index.frame
    columns = ["PatientName", "_patient", "StudyDate", "StudyTime", "_study", "SeriesNumber"]
    columns += ["_series", "InstanceNumber", "_path"]
    order = frame.sort_values(columns, na_position="first", kind="stable").index.to_numpy()
    ok = set(database.index.ok.tolist())
    expected = [int(r) for r in order if int(r) in ok]
    for level in ("patient", "study", "series", "instance"):
        keys = list(dict.fromkeys(frame[f"_{level}"].to_numpy(dtype=object)[expected]))
        assert [r.uid for r in database._find(level, {})] == keys
    for study in database.studies():  # a few rows: sorted alone
        keys = [k for k in dict.fromkeys(frame["_series"].to_numpy(dtype=object)[expected])]
        mine = {s.uid for s in study.series()}
        assert [s.uid for s in study.series()] == [k for k in keys if k in mine]
    for series in database.series():
        in_series = [r for r in expected if frame["_series"].iat[r] == series.uid]
        assert series.files() == [
            str(Path(database.path) / frame["_path"].iat[r]) for r in in_series
        ]


@pytest.mark.parametrize("name", ["demo", "built", "shipped", "gaps"])
def test_attributes_read_as_the_values_of_every_file_give_them(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Distinct values found by pandas, then made Python values: as from every file's value."""
    database = request.getfixturevalue(name)
    records = [database, *database.patients(), *database.studies(), *database.series()]
    for keyword in TAGS:
        for record in records:
            # one value per file, and the frames' values of enhanced files without their own
            each = _with_frames(database, record._rows(), keyword)
            expected = reduce_values(each, is_single(record.level, keyword))
            assert record.get(keyword) == expected, (record, keyword)
            assert record.unique(keyword) == sorted_distinct(each), (record, keyword)
