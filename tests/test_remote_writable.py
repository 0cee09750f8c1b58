"""A database in a writable object store (SeaweedFS, real, on localhost): edits staged locally,
the store unchanged until save(), a save cut short finished or undone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from servers import LIMITED_KEY, LIMITED_SECRET, SeaweedFS

import dbdicom as db

s3fs = pytest.importorskip("s3fs")

# the bucket of test_remote_ranges.py (each test its own prefix): the tests' SeaweedFS has
# volumes for no more buckets
BUCKET = "dbdicom-ranges"


def _fs(options: dict[str, Any]) -> Any:
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    return fs


@pytest.fixture(autouse=True)
def _working_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The working folders (user data) and indexes (user cache) of a test: its own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("source")
    db.series(np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)).save(folder / "a")
    return folder / "a"


def _store(seaweedfs: SeaweedFS, source: Path) -> tuple[str, Any]:
    """A new prefix holding the files of ``source``: its URL and file system."""
    fs = _fs(seaweedfs.options)
    prefix = f"{BUCKET}/w{uuid.uuid4().hex[:10]}"
    files = [p for p in source.rglob("*") if p.is_file() and ".dbdicom" not in p.parts]
    fs.put([str(p) for p in files], [f"{prefix}/{p.relative_to(source).as_posix()}" for p in files])
    fs.invalidate_cache()
    return f"s3://{prefix}", fs


def _state(fs: Any, url: str) -> dict[str, tuple[str, bytes]]:
    """Every object below ``url`` (hidden ones too): its ETag and bytes."""
    fs.invalidate_cache()
    base = url[len("s3://") :]
    found = fs.find(base, detail=True)
    return {
        k: (str(i.get("ETag")), fs.cat_file(k))
        for k, i in found.items()
        if "/.dbdicom/" not in k and i.get("type") == "file"
    }


def _hidden(fs: Any, url: str) -> list[str]:
    fs.invalidate_cache()
    return [k for k in fs.find(url[len("s3://") :]) if "/.dbdicom/" in k]


def test_edits_are_staged_and_restore_leaves_the_store_as_it_was(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    url, fs = _store(seaweedfs, source)
    before = _state(fs, url)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    assert not database.read_only
    (series,) = database.series()
    series.SeriesDescription = "edited"
    new = series.copy_to(series.parent)
    new.SeriesDescription = "copy"
    series.instances()[0].remove()
    assert sorted(s.SeriesDescription for s in database.series()) == ["copy", "edited"]
    assert _state(fs, url) == before  # nothing in the store until save()
    assert _hidden(fs, url) == [f"{url[5:]}/.dbdicom/store-lock.json"]  # the writer's lock
    assert database.unsaved and database.restore() > 0
    assert [s.SeriesDescription for s in database.series()] == [series.SeriesDescription]
    assert len(database.instances()) == 3
    assert _state(fs, url) == before and _hidden(fs, url) == []
    database.close()


def test_a_new_series_saved_is_read_by_a_fresh_database_and_process(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (series,) = database.series()
    arr = series.to_xarray().compute()
    described = series.SeriesDescription
    new = series.new_sibling(SeriesDescription="doubled")
    new.set_xarray(arr * 2)
    series.instances()[1].remove()
    database.save()
    assert not database.unsaved
    assert _hidden(fs, url) == []
    database.close()
    fresh = db.database(url, storage_options=seaweedfs.options)  # read-only, its own cache
    doubled = fresh.series(SeriesDescription="doubled")[0]
    np.testing.assert_array_equal(doubled.to_xarray().values, arr.values * 2)
    assert len(fresh.series(SeriesDescription=described)[0].instances()) == 2
    code = (
        "import dbdicom as db, sys, json\n"
        f"d = db.database({url!r}, storage_options=json.loads(sys.argv[1]))\n"
        "s = d.series(SeriesDescription='doubled')[0]\n"
        "print(int(s.to_xarray().values.sum()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(seaweedfs.options)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert int(out.stdout.split()[-1]) == int(arr.values.sum()) * 2


def test_a_removal_restored_and_saved(seaweedfs: SeaweedFS, source: Path) -> None:
    url, fs = _store(seaweedfs, source)
    before = _state(fs, url)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.series()[0].remove()
    assert database.series() == []
    database.restore()
    assert len(database.instances()) == 3 and _state(fs, url) == before
    database.series()[0].remove()
    database.save()
    assert _state(fs, url) == {} and _hidden(fs, url) == []
    assert db.database(url, storage_options=seaweedfs.options).series() == []


def test_credentials_that_may_not_write_are_refused_at_open(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    url, fs = _store(seaweedfs, source)
    limited = {**seaweedfs.options, "key": LIMITED_KEY, "secret": LIMITED_SECRET}
    with pytest.raises(db.StorageAccessError) as info:
        db.database(url, storage_options=limited, writable=True)
    text = str(info.value)
    assert url in text and "writable=True" in text and LIMITED_SECRET not in text
    assert len(db.database(url, storage_options=limited).series()) == 1  # read-only: fine
    with pytest.raises(db.ReadOnlyError, match="writable=True"):
        db.database(url, storage_options=limited).series()[0].SeriesDescription = "x"


def test_a_second_writer_is_refused(seaweedfs: SeaweedFS, source: Path, tmp_path: Path) -> None:
    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "mine"
    # another machine: its own working folder (another user cache)
    code = (
        "import dbdicom as db, sys, json\n"
        f"d = db.database({url!r}, storage_options=json.loads(sys.argv[1]), writable=True)\n"
        "try:\n"
        "    d.series()[0].SeriesDescription = 'theirs'\n"
        "except db.ReadOnlyError as e:\n"
        "    print('REFUSED', e)\n"
    )
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(seaweedfs.options)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "REFUSED" in out.stdout and ".dbdicom/store-lock.json" in out.stdout, out.stderr[-2000:]
    database.restore()


def test_a_save_cut_short_is_readable_then_undone_or_finished(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    """Another writer makes an object where this save puts a new one: the save stops half way."""
    url, fs = _store(seaweedfs, source)
    before = _state(fs, url)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (series,) = database.series()
    new = series.copy_to(series.parent)
    new.SeriesDescription = "copy"
    series.SeriesDescription = "edited"
    added = sorted(database.changes().query("change == 'new'")["path"])
    theirs = f"{url[5:]}/{added[-1]}"
    fs.pipe_file(theirs, b"another writer's object")
    with pytest.raises(db.StaleFileError, match="save\\(\\) again") as info:
        database.save()
    assert "stopped after 2 of" in str(info.value)
    # the store reads as a database, part saved: new objects there, the old one unchanged
    mid = _state(fs, url)
    assert all(mid[k] == v for k, v in before.items())
    assert len(mid) == len(before) + 3
    assert db.database(url, storage_options=seaweedfs.options).series()
    with pytest.raises(db.ReadOnlyError, match="cut short"):
        series.SeriesDescription = "more"
    with pytest.warns(db.DicomWarning, match="another writer"):
        database.restore()  # undone: theirs stays, ours go
    after = _state(fs, url)
    assert after == {**before, theirs: after[theirs]}
    # again, and finished after the other writer's object is gone
    new = database.series()[0].copy_to(database.series()[0].parent)
    added = sorted(database.changes().query("change == 'new'")["path"])
    fs.pipe_file(f"{url[5:]}/{added[-1]}", b"theirs again")
    with pytest.raises(db.StaleFileError):
        database.save()
    fs.rm_file(f"{url[5:]}/{added[-1]}")
    database.save()
    fresh = db.database(url, storage_options=seaweedfs.options)
    assert len(fresh.instances()) == 6 and _hidden(fs, url) == []
