"""Each file is read once where several tags are wanted from it.

Review: ``series.subseries(...)`` read the tags the index does not hold
one at a time, every file once per tag (nine passes over the series). The
values and the errors are those of before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest

import dbdicom as db
from dbdicom._index import _files as index_files

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


def _one_value(files: list[str], keyword: str) -> Any:
    """The value all ``files`` have (None where none has one), read by pydicom."""
    values = {str(pydicom.dcmread(f).get(keyword, "")) or None for f in files}
    assert len(values) == 1
    return values.pop()
