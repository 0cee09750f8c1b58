"""The saved index as partitioned Parquet: what a save rewrites, what others read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from builders import Manifest
from readonly import read_only

import dbdicom as db
from dbdicom._index import HIDDEN
from dbdicom._index import _parts as parts_module
from dbdicom._index._parts import Parts
from dbdicom._index._store import load_table


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Partitions of 5 rows (cut again past 10): the 28 files of a test database make several."""
    monkeypatch.setattr(parts_module, "PART_ROWS", 5)
    return 5


def _files(folder: Path) -> dict[str, int]:
    """The partition files of an index folder and their modification times (ns)."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.glob("*/*.parquet"))
    }


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


def _part_of(manifest: dict, path: str) -> str:
    """The file of the partition that holds ``path`` (by the manifest's first paths)."""
    firsts = [p[1] for p in manifest["parts"]]
    number = manifest["parts"][int(np.searchsorted(firsts, path, side="right")) - 1][0]
    return f"part={number:05d}/part.parquet"


def test_duckdb_and_pyarrow_dataset_query_the_saved_index(
    database_folder: tuple[Path, Manifest], small_parts: int
) -> None:
    root, manifest = database_folder
    database = db.database(root)
    dataset = database.index_dataset()
    folder = Path(database.index_path)
    assert len(_manifest(folder)["parts"]) > 3  # several files, each of a range of paths
    assert dataset.count_rows() == manifest.n_instances

    # DuckDB, from the files alone: instances per series description
    found = duckdb.sql(
        f"""
        SELECT SeriesDescription, count(*) AS n
        FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)
        WHERE _error = ''
        GROUP BY ALL ORDER BY SeriesDescription
        """
    ).df()
    expected = database.table().groupby("SeriesDescription").size()
    assert dict(zip(found.SeriesDescription, found.n, strict=True)) == expected.to_dict()

    # pyarrow.dataset: the files of one series, by its UID, without reading the others' rows
    series = database.series(SeriesDescription="VFA")[0]
    table = dataset.to_table(
        columns=["_path", "InstanceNumber"],
        filter=ds.field("SeriesInstanceUID") == series.SeriesInstanceUID,
    )
    paths = sorted(str(root / p) for p in table.column("_path").to_pylist())
    assert paths == sorted(i.path for i in series.instances())
    assert sorted(table.column("InstanceNumber").to_pylist()) == sorted(
        series.table()["InstanceNumber"].tolist()
    )
    # the same query given to DuckDB as the dataset object: filtered in the scan
    n = duckdb.sql(
        f"SELECT count(*) FROM dataset WHERE SeriesInstanceUID = '{series.SeriesInstanceUID}'"
    ).fetchall()
    assert n == [(len(series.instances()),)]


def test_an_edit_rewrites_only_the_partitions_of_its_files(
    database_folder: tuple[Path, Manifest], small_parts: int
) -> None:
    root, manifest = database_folder
    db.database(root).close()
    folder = root / HIDDEN / "index"
    before, saved = _files(folder), _manifest(folder)
    assert len(before) > 3

    database = db.database(root)
    series = database.series(SeriesDescription="CT abdomen")[0]
    mine = {str(Path(i.path).relative_to(root)) for i in series.instances()}
    series.SeriesDescription = "edited"
    database.save()
    database.close()

    after = _files(folder)
    changed = {name for name in after if after[name] != before.get(name)}
    expected = {_part_of(saved, p) for p in mine}
    assert changed == expected and len(changed) < len(before)
    assert _manifest(folder)["token"] != saved["token"]
    again = db.database(root)
    assert len(again.series(SeriesDescription="edited")[0].instances()) == len(mine)
    assert len(again.instances()) == manifest.n_instances


def test_a_partition_another_process_changed_is_read_at_reopen(
    database_folder: tuple[Path, Manifest], small_parts: int
) -> None:
    root, manifest = database_folder
    open_here = db.database(root)
    folder = root / HIDDEN / "index"
    before = _files(folder)
    code = textwrap.dedent(
        f"""
        import dbdicom as db
        from dbdicom._index import _parts
        _parts.PART_ROWS = 5
        database = db.database({str(root)!r})
        database.series(SeriesDescription="T2w")[0].SeriesDescription = "other process"
        database.save()
        database.close()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    after = _files(folder)
    assert 0 < sum(after[k] != before.get(k) for k in after) < len(before)
    assert "other process" in db.database(root).SeriesDescription

    # the database opened before the other process saves: it writes every
    # partition (the manifest is not the one it read), and loses nothing
    open_here.series(SeriesDescription="VFA")[0].SeriesDescription = "this process"
    open_here.save()
    open_here.close()
    assert set(_files(folder)) == set(_manifest_files(folder))
    reopened = db.database(root)
    assert {"other process", "this process"} <= set(reopened.SeriesDescription)
    assert len(reopened.instances()) == manifest.n_instances


def _manifest_files(folder: Path) -> list[str]:
    return [f"part={p[0]:05d}/part.parquet" for p in _manifest(folder)["parts"]]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_a_damaged_partition_names_the_file_and_the_way_out(
    database_folder: tuple[Path, Manifest], small_parts: int, damage: str
) -> None:
    root, manifest = database_folder
    db.database(root).close()
    folder = root / HIDDEN / "index"
    victim = folder / _manifest_files(folder)[1]
    if damage == "garbage":
        victim.write_bytes(b"not parquet at all")
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:-100])
    else:
        victim.unlink()
    with pytest.raises(db.IndexDamagedError) as info:
        db.database(root)
    message = str(info.value)
    assert str(victim) in message and f"delete the folder {folder}" in message
    assert isinstance(info.value, db.DicomError) and info.value.path == str(victim)
    shutil.rmtree(folder)  # the way out: the index is read again from the files
    assert len(db.database(root).instances()) == manifest.n_instances


def test_a_read_only_folder_keeps_its_partitions_in_the_cache(
    database_folder: tuple[Path, Manifest],
    small_parts: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, manifest = database_folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with read_only(root, "mode"):
        database = db.database(root)
        assert database.read_only and not (root / HIDDEN).exists()
        folder = Path(database.index_path)
        assert folder.is_relative_to(tmp_path / "cache")
        assert database.index_dataset().count_rows() == manifest.n_instances
        database.close()
        before = _files(folder)
        again = db.database(root)  # from the cache, not read again
        assert len(again.series()) == manifest.n_series
        again.close()
        assert _files(folder) == before


def test_an_index_of_format_6_is_rebuilt_and_removed(
    database_folder: tuple[Path, Manifest],
) -> None:
    root, manifest = database_folder
    store = root / HIDDEN
    store.mkdir()
    (store / "index.arrow").write_bytes(b"an Arrow file of format 6")
    (store / "frames.arrow").write_bytes(b"its frames")
    database = db.database(root)
    assert len(database.instances()) == manifest.n_instances
    assert not (store / "index.arrow").exists()
    assert len(database.index.frames)  # an enhanced file: its frames' values written anew
    assert load_table(store / "frames.arrow") is not None
    assert (store / "index" / "_manifest.json").is_file()


def _frame(paths: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"_path": pd.array(sorted(paths), dtype="str"), "Rows": np.arange(len(paths), dtype=float)}
    )


def test_a_grown_partition_is_cut_and_an_emptied_one_removed(
    tmp_path: Path, small_parts: int
) -> None:
    """Rows added in one range cut its partition; the others' files stay as they were."""
    parts = Parts(tmp_path / "index")
    paths = [f"{folder}/{i:02d}" for folder in "abcd" for i in range(5)]
    assert parts.save(_frame(paths), None, {}) == 4  # cut where each folder starts
    assert [p.first for p in parts.parts] == ["", "b/00", "c/00", "d/00"]
    before = _files(tmp_path / "index")

    added = [f"b/{i:02d}x" for i in range(12)]
    assert parts.save(_frame(paths + added), set(added), {}) == 3  # b: 17 rows, cut in 3
    after = _files(tmp_path / "index")
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {
        "part=00001/part.parquet",
        "part=00004/part.parquet",
        "part=00005/part.parquet",
    }
    loaded = Parts(tmp_path / "index").load()
    assert loaded is not None and loaded[0].column("_path").to_pylist() == sorted(paths + added)

    gone = [p for p in paths if p.startswith("c/")]
    left = sorted(set(paths + added) - set(gone))
    assert parts.save(_frame(left), set(gone), {}) == 0
    assert not (tmp_path / "index" / "part=00002").exists()
    loaded = Parts(tmp_path / "index").load()
    assert loaded is not None and loaded[0].column("_path").to_pylist() == left
    assert pq.read_table(tmp_path / "index" / "part=00000" / "part.parquet").num_rows == 5


def test_a_reopen_maps_the_arrow_copies_and_falls_back_to_parquet(
    database_folder: tuple[Path, Manifest], small_parts: int
) -> None:
    """The Arrow copy of a partition is what a reopen maps; damaged, the Parquet file is read."""
    root, manifest = database_folder
    db.database(root).close()
    folder = root / HIDDEN / "index"
    copies = sorted(folder.glob("*/_part.arrow"))
    assert len(copies) == len(_manifest_files(folder))
    copies[0].write_bytes(b"damaged")
    copies[1].unlink()
    database = db.database(root)
    assert len(database.instances()) == manifest.n_instances
    assert sorted(database.index.frame["_path"]) == sorted(manifest.files)


def test_a_save_made_while_the_partitions_are_read_makes_the_load_start_again(
    tmp_path: Path, small_parts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer replaces the manifest and the partitions between two partition reads."""
    folder = tmp_path / "index"
    paths = [f"{f}/{i:02d}" for f in "abcd" for i in range(5)]
    Parts(folder).save(_frame(paths), None, {})
    more = sorted(paths + [f"b/{i:02d}x" for i in range(12)] + [f"e/{i:02d}" for i in range(9)])
    other = Parts(folder)
    assert other.load() is not None
    read = Parts._read
    interleaved: list[int] = []

    def reading(self: Parts, part: parts_module.Part) -> object:
        if not interleaved:  # the other writer saves a new layout after the first read
            interleaved.append(part.number)
            other.save(_frame(more), None, {})
        return read(self, part)

    monkeypatch.setattr(Parts, "_read", reading)
    loaded = Parts(folder).load()
    assert loaded is not None and loaded[0].column("_path").to_pylist() == more
    assert len(_manifest(folder)["parts"]) > 4
