"""Each file is read once where several tags are wanted from it, or a tag is removed from it.

Reviews: ``series.subseries(...)`` read the tags the index does not hold
one at a time, every file once per tag (nine passes over the series), and
``del series.Keyword`` parsed each header twice (once to find the files
that hold the element, once to rewrite them). The values, the errors and
the files written are those of before.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._index import _files as index_files
from dbdicom._records import _edit

_NOT_INDEXED = ["StationName", "InstitutionName", "OperatorsName", "SoftwareVersions"]


def _count(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> Counter[str]:
    """The paths ``module.name(path, ...)`` is called with from now on (the calls still run)."""
    seen: Counter[str] = Counter()
    original: Callable[..., Any] = getattr(module, name)

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        seen[str(path)] += 1
        return original(path, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return seen


def test_several_tags_not_indexed_are_read_in_one_pass(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    files = series.files()
    reads = _count(monkeypatch, index_files, "read_any_header")
    assert series[_NOT_INDEXED] == [_one_value(files, tag) for tag in _NOT_INDEXED]
    assert sorted(reads) == sorted(files) and set(reads.values()) == {1}  # not once per tag
    assert series[_NOT_INDEXED] == [series[tag] for tag in _NOT_INDEXED]
    assert sum(reads.values()) == len(files)  # kept: not read again
    database.close()


def test_a_subseries_reads_each_file_once(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    reads = _count(monkeypatch, index_files, "read_any_header")
    sub = series.subseries(InstanceNumber=[1, 2])
    assert len(sub.instances()) == 2 and sub.Modality == series.Modality
    assert set(reads.values()) == {1} and len(reads) == len(series.files())
    database.restore()
    database.close()


def test_del_parses_each_header_once(demo_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    files = series.files()
    series.instances()[0].ImageComments = "only mine"
    series.instances()[1].ImageComments = ""  # empty: held, and removed
    database.save()
    before = {f: Path(f).read_bytes() for f in files}
    parsed = _count(monkeypatch, _edit, "read_dataset")
    del series.ImageComments
    assert set(parsed.values()) == {1} and len(parsed) == len(files)
    written = [f for f in files if Path(f).read_bytes() != before[f]]
    assert written == files[:2]  # only the files that held it
    for f in written:
        expected = pydicom.dcmread(before_copy := _copy(before[f], demo_folder.parent))
        del expected.ImageComments
        assert pydicom.dcmread(f) == expected, before_copy
    assert database.restore() == 2
    assert {f: Path(f).read_bytes() for f in files} == before
    database.close()


def test_one_del_of_two_levels_writes_each_file_as_both_say(demo_folder: Path) -> None:
    """The patient's files and the series' are rewritten in turn: the second rewrite of a
    file reads it as the first left it (not the header read before either)."""
    database = db.database(demo_folder)
    series = database.series(SeriesDescription="T2w")[0]
    files = series.files()
    series.ImageComments = "image"
    series.PatientComments = "patient"
    database.save()
    before = {f: Path(f).read_bytes() for f in files}
    del series[["PatientComments", "ImageComments"]]
    for f in files:
        ds = pydicom.dcmread(f)
        assert "PatientComments" not in ds and "ImageComments" not in ds
    with pytest.raises(db.ElementNotFoundError):
        del series[["PatientComments", "ImageComments"]]
    database.restore()
    assert {f: Path(f).read_bytes() for f in files} == before
    database.close()


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # explicit VR little endian
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",  # encapsulated pixel data
        "image_dfl.dcm",  # deflated
        "rtplan.dcm",  # sequences, no pixels
    ],
)
def test_del_writes_what_pydicom_writes(tmp_path: Path, name: str) -> None:
    """The header read to find the files is the one written, its pixel data read then."""
    source = Path(get_testdata_file(name))  # type: ignore[arg-type]
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(source, folder / "file.dcm")
    database = db.database(folder)
    instance = database.instances()[0]
    keyword = next(
        k
        for k in ("SeriesDate", "StudyTime", "StationName", "PatientBirthDate", "Manufacturer")
        if k in pydicom.dcmread(source)
    )
    del instance[keyword]
    expected = pydicom.dcmread(source, force=True)
    del expected[keyword]
    assert pydicom.dcmread(folder / "file.dcm", force=True) == expected
    database.restore()
    assert (folder / "file.dcm").read_bytes() == source.read_bytes()
    database.close()


def _one_value(files: list[str], keyword: str) -> Any:
    """The value all ``files`` have (None where none has one), read by pydicom."""
    values = {str(pydicom.dcmread(f).get(keyword, "")) or None for f in files}
    assert len(values) == 1
    return values.pop()


def _copy(data: bytes, folder: Path) -> Path:
    path = folder / "expected.dcm"
    path.write_bytes(data)
    return path
