"""Two copies of one instance in a database that cannot remove files: the advice fits it.

A folder says to take one copy out of the folder or ``instance.remove()`` it;
a read-only object store (SeaweedFS, real, on localhost) or a zip refuses
both, so they say what is possible there: the store's object keys, opening
it ``writable=True``, the store's own tools, a copy in a folder; a zip, to
extract it. Each advice is then followed to the end.
"""

from __future__ import annotations

import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from servers import S3_KEY, S3_SECRET, SHARED_BUCKET, SeaweedFS, bucket_fs

import dbdicom as db


@pytest.fixture(autouse=True)
def _working_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The working folders (user data) and indexes (user cache) of a test: its own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


def _two_copies(folder: Path) -> Path:
    """``folder`` holding a series of two slices, the first twice: a/one.dcm and b/two.dcm."""
    db.series(np.arange(2 * 4 * 4, dtype=np.uint16).reshape(2, 4, 4)).save(folder / "made")
    files = sorted((folder / "made").rglob("*.dcm"))
    assert len(files) == 2
    for name, source in (("a/one.dcm", files[0]), ("b/two.dcm", files[0]), ("c/3.dcm", files[1])):
        (folder / name).parent.mkdir(parents=True)
        shutil.copyfile(source, folder / name)
    shutil.rmtree(folder / "made")
    return folder


def _grid_error(database: db.Database) -> str:
    (series,) = database.series()
    with pytest.raises(db.GridError) as info:
        series.to_xarray()
    return str(info.value)


def test_a_folder_says_to_take_one_copy_out_of_it(tmp_path: Path) -> None:
    folder = _two_copies(tmp_path / "folder")
    said = _grid_error(db.database(folder))
    assert "a/one.dcm and b/two.dcm hold the same instance" in said
    assert "Take one copy out of the folder (or instance.remove() it" in said


def test_a_zip_says_to_extract_it_and_that_works(tmp_path: Path) -> None:
    folder = _two_copies(tmp_path / "folder")
    archive = tmp_path / "cd.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*.dcm")):
            z.write(path, path.relative_to(folder).as_posix())
    database = db.database(archive)
    said = _grid_error(database)
    assert "zip file" in said and f"python -m zipfile -e {archive} folder" in said, said
    assert "a/one.dcm" in said and "b/two.dcm" in said
    assert "instance.remove()" not in said and "out of the folder" not in said
    with pytest.raises(db.ReadOnlyError, match="extract it into a folder") as refusal:
        database.instances()[0].remove()
    assert "writable=True" not in str(refusal.value)
    # the advice, followed
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "extracted")
    (tmp_path / "extracted" / "b" / "two.dcm").unlink()
    (series,) = db.database(tmp_path / "extracted").series()
    assert series.to_xarray().shape[0] == 2


@pytest.fixture
def store(seaweedfs: SeaweedFS, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The two copies in a new prefix of the shared bucket: its URL and file system."""
    folder = _two_copies(tmp_path / "folder")
    fs = bucket_fs(seaweedfs.options)
    prefix = f"{SHARED_BUCKET}/dup{uuid.uuid4().hex[:10]}"
    files = sorted(p for p in folder.rglob("*.dcm"))
    fs.put([str(p) for p in files], [f"{prefix}/{p.relative_to(folder).as_posix()}" for p in files])
    fs.invalidate_cache()
    yield f"s3://{prefix}", fs
    fs.rm(prefix, recursive=True)


def test_a_read_only_store_names_the_objects_and_the_ways_out(
    seaweedfs: SeaweedFS, store: tuple[str, Any]
) -> None:
    url, fs = store
    database = db.database(url, storage_options=seaweedfs.options)
    said = _grid_error(database)
    assert f"{url}/a/one.dcm, {url}/b/two.dcm" in said, said
    assert "writable=True" in said and "store's own tools" in said
    assert "database.save(folder)" in said
    assert "out of the folder" not in said
    assert S3_KEY not in said and S3_SECRET not in said
    # the first way out, followed: opened writable, one copy removed, saved
    writable = db.database(url, storage_options=seaweedfs.options, writable=True)
    assert "database.save() deletes its object" in _grid_error(writable)
    (copy,) = [i for i in writable.instances() if i.path.endswith("b/two.dcm")]
    copy.remove()
    writable.save()
    writable.close()
    fs.invalidate_cache()
    (series,) = db.database(url, storage_options=seaweedfs.options).series()
    assert series.to_xarray().shape[0] == 2
