"""A database in a writable object store (SeaweedFS, real, on localhost): edits staged locally,
the store unchanged until save(), a save cut short finished or undone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from servers import LIMITED_KEY, LIMITED_SECRET, SHARED_BUCKET, SeaweedFS, bucket_fs, free_port

import dbdicom as db
from dbdicom._index import StagedIndex

s3fs = pytest.importorskip("s3fs")

BUCKET = SHARED_BUCKET


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
    fs = bucket_fs(seaweedfs.options)
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
    wrong = {**seaweedfs.options, "secret": "not-the-secret-0123"}  # not "may read, not write"
    with pytest.raises(db.StorageAccessError, match="they are wrong") as info:
        db.database(url, storage_options=wrong, writable=True)
    assert "not-the-secret" not in str(info.value) and "may read" not in str(info.value)


def test_the_write_probe_is_deleted_when_cut_short_and_a_refused_delete_says_so(
    seaweedfs: SeaweedFS, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbdicom._journal import _store_lock

    url, fs = _store(seaweedfs, source)
    put = _store_lock.put

    def killed(*args: Any, **kwargs: Any) -> str:
        put(*args, **kwargs)
        raise KeyboardInterrupt  # between the put and the delete

    monkeypatch.setattr(_store_lock, "put", killed)
    with pytest.raises(KeyboardInterrupt):
        db.database(url, storage_options=seaweedfs.options, writable=True)
    assert _hidden(fs, url) == []
    monkeypatch.setattr(_store_lock, "put", put)

    def no_delete(*args: Any, **kwargs: Any) -> None:
        raise PermissionError("Access Denied.")  # a policy that may put, not delete

    monkeypatch.setattr(_store_lock, "delete", no_delete)
    with pytest.raises(db.StorageAccessError, match="may write there but not delete"):
        db.database(url, storage_options=seaweedfs.options, writable=True)
    (probe,) = _hidden(fs, url)  # left, as the message says
    assert ".dbdicom/probe-" in probe


def test_a_failed_open_leaves_no_working_folder_and_takes_none_in_use(
    seaweedfs: SeaweedFS, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial K: a writable open that failed (the URL of one object) left its working folder in
    the user data folder, as read-only opens once left theirs in the cache. One that another
    open of the store uses (with unsaved changes) stays."""
    url, fs = _store(seaweedfs, source)
    data = tmp_path / "user-data"
    one = next(k for k in fs.find(url[len("s3://") :]) if k.endswith(".dcm"))
    for writable in (True, False):
        with pytest.raises(db.DatabaseNotFoundError, match="is one object"):
            db.database(f"s3://{one}", storage_options=seaweedfs.options, writable=writable)
    assert not [p for p in (tmp_path / "user-data").rglob("*") if "work-" in p.as_posix()]
    assert not [p for p in (tmp_path / "user-cache").rglob("*") if "remote-" in p.as_posix()]
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "unsaved"

    def cut_short(index: Any) -> None:
        raise KeyboardInterrupt  # the store's listing, say: the open fails

    monkeypatch.setattr(StagedIndex, "open", cut_short)
    with pytest.raises(KeyboardInterrupt):
        db.database(url, storage_options=seaweedfs.options, writable=True)
    monkeypatch.undo()
    assert database._index.root.is_dir() and database.unsaved
    assert database.series()[0].SeriesDescription == "unsaved"
    assert database.restore() == 3 and len(list(data.rglob("work-*"))) == 1


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


def test_a_save_killed_after_its_commit_is_finished_never_undone(
    seaweedfs: SeaweedFS, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the journal's commit and the plan's deletion: the save stands."""
    from dbdicom._journal import _journal

    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (series,) = database.series()
    series.copy_to(series.parent).SeriesDescription = "copy"
    series.instances()[0].SeriesDescription = "edited"
    series.instances()[2].remove()
    commit = _journal.Journal.save

    def killed(self: Any, paths: Any = None) -> list[str]:
        commit(self, paths)
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(_journal.Journal, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        database.save()
    monkeypatch.undo()
    saved = _state(fs, url)
    assert len(saved) == 5
    database.restore()  # nothing to undo: the save is finished
    assert _state(fs, url) == saved and _hidden(fs, url) == []
    database.series()[0].SeriesDescription = "more"  # changes are taken again
    database.restore()
    fresh = db.database(url, storage_options=seaweedfs.options)
    assert sorted(s.SeriesDescription for s in fresh.series()) == ["copy", series.SeriesDescription]


def test_another_writers_change_behind_a_multipart_etag_is_not_overwritten(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    """Same size, ETags that are no MD5 ("...-2"): the ETag fetched tells them apart."""
    pydicom = pytest.importorskip("pydicom")
    src = tmp_path / "big"
    db.series(np.zeros((1, 2300, 2300), dtype=np.uint16)).save(src)  # 10.6 MB: three parts
    (local,) = src.rglob("*.dcm")
    fs = bucket_fs(seaweedfs.options)
    prefix = f"{BUCKET}/w{uuid.uuid4().hex[:10]}"
    key = f"{prefix}/{local.relative_to(src).as_posix()}"
    fs.put_file(str(local), key, chunksize=5 * 2**20)
    database = db.database(f"s3://{prefix}", storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "mine"
    ds = pydicom.dcmread(local)
    ds.PixelData = np.full((2300, 2300), 1234, dtype=np.uint16).tobytes()
    ds.save_as(tmp_path / "theirs.dcm")
    fs.put_file(str(tmp_path / "theirs.dcm"), key, chunksize=5 * 2**20)
    fs.invalidate_cache()
    assert "-" in fs.info(key)["ETag"] and fs.info(key)["size"] == local.stat().st_size
    with pytest.raises(db.StaleFileError, match="another writer"):
        database.save()
    assert fs.cat_file(key) == (tmp_path / "theirs.dcm").read_bytes()
    database.restore()


def test_a_copy_left_in_the_working_folder_is_not_read_as_the_object(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    """read() keeps copies past a save; another writer changes an object; it is fetched again."""
    pydicom = pytest.importorskip("pydicom")
    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (series,) = database.series()
    series.read()
    series.instances()[0].SeriesDescription = "mine"
    database.save()
    database.close()
    target = sorted(k for k in fs.find(url[5:]) if k.endswith(".dcm"))[2]
    ds = pydicom.dcmread(io.BytesIO(fs.cat_file(target)))
    ds.PatientName = "Changed^ByOther"
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    fs.pipe_file(target, out.getvalue())
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (inst,) = [i for i in database.instances() if str(i.PatientName) == "Changed^ByOther"]
    inst.StudyDescription = "on top"
    assert str(inst.PatientName) == "Changed^ByOther"
    database.save()
    fs.invalidate_cache()
    saved = pydicom.dcmread(io.BytesIO(fs.cat_file(target)))
    assert (str(saved.PatientName), saved.StudyDescription) == ("Changed^ByOther", "on top")


def test_an_uploaded_dbdicom_folder_is_no_lock(seaweedfs: SeaweedFS, source: Path) -> None:
    url, fs = _store(seaweedfs, source)
    fs.pipe_file(f"{url[5:]}/.dbdicom/lock", b"4242\n")  # a local folder's lock file, uploaded
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "mine"
    database.restore()
    assert _hidden(fs, url) == [f"{url[5:]}/.dbdicom/lock"]


def test_an_error_is_read_from_its_code_not_from_its_text() -> None:
    """A connection error whose URL holds "412" is no refused condition."""
    from dbdicom._files import Store, error_code, refused
    from dbdicom._journal._objects import put

    port = free_port()
    options = {
        "key": "k",
        "secret": "s",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
    }
    options["config_kwargs"] = {"retries": {"max_attempts": 1}}
    store = Store("s3://bucket/prefix", options)
    with pytest.raises(Exception) as info:
        put(store, "1.2.826.0.1.3680043.8.498.4120.412.dcm", b"x", new=True)
    assert "412" in str(info.value) and not refused(info.value)
    assert error_code(info.value) == ("", 0)


def test_an_object_deleted_by_another_client_then_edited_is_gone(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.instances()[0].ImageComments = "y"  # the lock taken, the store listed
    inst = database.instances()[1]
    fs.rm_file(inst.path[len("s3://") :])
    with pytest.raises(db.FileGoneError, match="refresh\\(\\)") as info:
        inst.ImageComments = "x"
    assert inst.path in str(info.value)
    database.restore()
    database.refresh()
    assert len(database.instances()) == 2 and not database.unsaved


def test_restore_leaves_an_object_another_writer_deleted(
    seaweedfs: SeaweedFS, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save cut short after replacing an object; another client deletes it; restore leaves it."""
    from dbdicom._journal import _push

    url, fs = _store(seaweedfs, source)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    (series,) = database.series()
    series.copy_to(series.parent)
    inst = series.instances()[0]
    inst.ImageComments = "edited"
    path = inst.path[len("s3://") :]
    put = _push.put

    def cut(store: Any, rel: str, *args: Any, **kwargs: Any) -> str:
        if not kwargs.get("new"):
            raise ConnectionError("lost")  # the first replace: after every new object
        return put(store, rel, *args, **kwargs)

    monkeypatch.setattr(_push, "put", cut)
    with pytest.raises(db.StorageError, match="stopped after 3 of 4"):
        database.save()
    monkeypatch.undo()
    fs.rm_file(path)
    with pytest.warns(db.DicomWarning, match="changed or deleted by another writer"):
        database.restore()
    fs.invalidate_cache()
    assert not fs.exists(path)
    assert len(_state(fs, url)) == 2 and _hidden(fs, url) == []


def test_a_read_only_view_sees_a_save_of_the_same_size_in_the_same_second(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    url, _ = _store(seaweedfs, source)
    assert db.database(url, storage_options=seaweedfs.options).series()  # its index cached
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "AAAA"
    database.save()
    seen = db.database(url, storage_options=seaweedfs.options)
    assert seen.series()[0].SeriesDescription == "AAAA"
    database.series()[0].SeriesDescription = "BBBB"  # the same size, within a second
    database.save()
    seen = db.database(url, storage_options=seaweedfs.options)
    assert seen.series()[0].SeriesDescription == "BBBB"


def test_a_save_cut_short_never_takes_another_writers_multipart_object_for_its_own(
    seaweedfs: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our replace done, the save cut short; another client puts a multipart object of the same
    size there: the resumed save refuses, naming it; restore() leaves it and warns."""
    from dbdicom._journal import _push

    src = tmp_path / "big"
    db.series(np.zeros((2, 2300, 2300), dtype=np.uint16)).save(src)  # 10.6 MB each
    url, fs = _store(seaweedfs, src)
    database = db.database(url, storage_options=seaweedfs.options, writable=True)
    edited, removed = sorted(database.instances(), key=lambda i: i.path)
    edited.SeriesDescription = "mine"
    removed.remove()
    key = edited.path[len("s3://") :]

    def lost(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("lost")  # after the replace, at the delete

    monkeypatch.setattr(_push, "delete", lost)
    with pytest.raises(db.StorageError, match="stopped after 1 of 2"):
        database.save()
    monkeypatch.undo()
    ours = fs.cat_file(key)
    theirs = tmp_path / "theirs.dcm"
    theirs.write_bytes(ours[:-1000] + b"\x11" * 1000)  # their pixels, the same size
    fs.put_file(str(theirs), key, chunksize=5 * 2**20)
    fs.invalidate_cache()
    assert "-" in fs.info(key)["ETag"] and fs.info(key)["size"] == len(ours)
    with pytest.raises(db.StaleFileError, match=key.rsplit("/", 1)[-1]):
        database.save()
    assert fs.cat_file(key) == theirs.read_bytes()
    with pytest.warns(db.DicomWarning, match="another writer"):
        database.restore()
    fs.invalidate_cache()
    assert fs.cat_file(key) == theirs.read_bytes()
    assert fs.exists(removed.path[len("s3://") :]) and _hidden(fs, url) == []


def test_a_dead_writers_lock_waits_while_its_working_folder_holds_unsaved_changes(
    seaweedfs: SeaweedFS, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer A stages changes and its process ends: B is refused, naming A's working folder;
    once A's work is given up (restored), B takes the lock over."""
    from dbdicom._journal import _store_lock

    url, fs = _store(seaweedfs, source)
    a = db.database(url, storage_options=seaweedfs.options, writable=True)
    a.series()[0].SeriesDescription = "A's"
    lock = f"{url[5:]}/.dbdicom/store-lock.json"
    held = json.loads(fs.cat_file(lock))
    assert Path(held["root"]) == a._index.root
    monkeypatch.setattr(_store_lock, "_alive", lambda pid: False)  # A's process has ended
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "b-data"))  # B: its own working folder
    b = db.database(url, storage_options=seaweedfs.options, writable=True)
    with pytest.raises(db.ReadOnlyError, match="left changes unsaved") as info:
        b.series()[0].SeriesDescription = "B's"
    assert str(a._index.root) in str(info.value)
    kept = fs.cat_file(lock)
    a.restore()  # A's work given up; its lock left behind (as by a kill)
    fs.pipe_file(lock, kept)
    with pytest.warns(db.DicomWarning, match="takes the lock over"):
        b.series()[0].SeriesDescription = "B's"
    b.save()
    assert (
        db.database(url, storage_options=seaweedfs.options).series()[0].SeriesDescription == "B's"
    )


def test_two_database_objects_of_one_store_are_views_of_it(
    seaweedfs: SeaweedFS, source: Path
) -> None:
    """As two of a folder: each sees the store as the other's change, save or restore
    left it; the lock object is one, whichever saves (it once went with one's save,
    and the other's next save was refused as if another writer had taken it)."""
    url, fs = _store(seaweedfs, source)
    before = _state(fs, url)
    options = seaweedfs.options
    first = db.database(url, storage_options=options, writable=True)
    second = db.database(url, storage_options=options, writable=True)
    (one,), (two,) = first.series(), second.series()
    original = one.SeriesDescription
    one.SeriesDescription = "by first"
    assert second.series(SeriesDescription="by first") == [two]
    assert second.restore() == 3 and not first.unsaved
    assert one.SeriesDescription == original and _state(fs, url) == before
    two.SeriesDescription = "by second"
    one.ImageComments = "by first"
    first.save()  # the store's changes: second's too
    assert not second.unsaved and two.ImageComments == ["by first"]
    two.SeriesDescription = "again by second"
    second.save()
    one.SeriesDescription = "again by first"
    first.save()
    assert second.series(SeriesDescription="again by first") == [two]
    assert not second.unsaved and not _hidden(fs, url)  # no lock object left
    assert first.close() and second.close()
    again = db.database(url, storage_options=options)
    assert again.series()[0].SeriesDescription == "again by first"
