"""A restore killed while it puts the originals back, then a save in a new process.

The journal records which paths a restore puts back before it puts back
the first (its marker); the next writer finishes that restore before
anything else. So the save that follows stores either the whole change
(the kill came before the restore began) or none of it, never a series
with some instances restored and the others still changed.

A child process restores with every call that changes the folder
(``os.replace``, ``os.unlink``, ``os.ftruncate``, ``os.rmdir``) counted:
at the k-th it exits at once (``os._exit``, as a SIGKILL would leave it),
for k = 1, 2, ... until the restore ends before the k-th call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from bad_files import write_valid_series
from servers import SeaweedFS

import dbdicom as db

CHILD = r'''
"""Edit, restore killed at the k-th change of the folder, or save; prints a JSON answer."""
import json
import os
import sys

import dbdicom as db

folder, stage = sys.argv[1], sys.argv[2]
database = db.database(folder)
database.mute()
if stage == "edit":
    for name in ("valid", "other"):
        database.series(SeriesDescription=name)[0].SeriesDescription = f"{name}, edited"
elif stage == "restore":
    k, level = int(sys.argv[3]), sys.argv[4]
    record = database if level == "database" else database.series(
        SeriesDescription="valid, edited")[0]
    calls = [0]

    def counted(fn):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == k:
                os._exit(9)  # killed before the k-th change: nothing more happens
            return fn(*args, **kwargs)
        return call

    for name in ("replace", "unlink", "ftruncate", "rmdir"):
        setattr(os, name, counted(getattr(os, name)))
    record.restore()
elif stage == "save":
    database.save()
    print(json.dumps({"unsaved": database.unsaved}))
sys.stdout.flush()
os._exit(0)
'''


def manifest(root: Path) -> dict[str, str]:
    """sha256 of each file of the database (the hidden folder left out)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.dcm"))
        if ".dbdicom" not in p.parts
    }


def run(script: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ~28 s each: a series' restore (which puts back some of the folder's changes, not all)
# runs with the long cases (pytest -m slow)
@pytest.mark.parametrize("level", ["database", pytest.param("series", marks=pytest.mark.slow)])
def test_a_restore_killed_then_saved_is_never_half_saved(tmp_path: Path, level: str) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    template = tmp_path / "template"
    write_valid_series(template / "a")
    write_valid_series(template / "b", "other")
    saved = manifest(template)
    done = run(script, template, "edit")
    assert done.returncode == 0, done.stderr
    edited = manifest(template)
    restored = {p for p in saved if p.startswith("a/") or level == "database"}
    assert all(saved[p] != edited[p] for p in saved)
    outcomes = []
    for k in range(1, 40):
        folder = tmp_path / f"k{k}"
        shutil.copytree(template, folder)
        killed = run(script, folder, "restore", k, level)
        assert killed.returncode in (0, 9), killed.stderr
        saving = run(script, folder, "save")
        assert saving.returncode == 0, saving.stderr
        assert json.loads(saving.stdout.splitlines()[-1]) == {"unsaved": False}
        now = manifest(folder)
        assert set(now) == set(saved), f"k={k}: files {sorted(set(now) ^ set(saved))}"
        back = {p for p in restored if now[p] == saved[p]}
        assert back in (set(), restored), (
            f"k={k}: a restore killed, then saved: {sorted(back)} restored, "
            f"{sorted(restored - back)} saved as edited"
        )
        assert all(now[p] == edited[p] for p in set(saved) - restored), f"k={k}"
        journal = folder / ".dbdicom" / "journal"
        assert not (journal / "restoring").exists(), f"k={k}: the marker is left"
        assert not any((journal / "originals").glob("*")), f"k={k}: originals left"
        outcomes.append("restored" if back else "edited")
        shutil.rmtree(folder)
        if killed.returncode == 0:
            break
    else:
        pytest.fail("the restore was killed at every one of 39 changes")
    # killed before the restore began (its marker), the change is saved; after, never
    first = outcomes.index("restored")
    assert set(outcomes[first:]) == {"restored"}, outcomes
    assert len(outcomes) > len(restored), outcomes  # a kill between each put-back was tried


def test_a_restore_stopped_then_saved_into_a_store_saves_nothing_of_it(
    seaweedfs: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database in a store: its restore stops after one original is back; save() finishes
    the restore before it sends anything, so the store keeps the series as it was."""
    s3fs = pytest.importorskip("s3fs")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    source = tmp_path / "source"
    write_valid_series(source)
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **seaweedfs.options)
    if not fs.exists("dbdicom-ranges"):
        fs.mkdir("dbdicom-ranges")
    prefix = f"dbdicom-ranges/rk{uuid.uuid4().hex[:10]}"
    files = sorted(source.rglob("*.dcm"))
    fs.put([str(p) for p in files], [f"{prefix}/{p.relative_to(source).as_posix()}" for p in files])
    fs.invalidate_cache()

    def objects() -> dict[str, bytes]:
        fs.invalidate_cache()
        return {k: fs.cat_file(k) for k in fs.find(prefix) if "/.dbdicom/" not in k}

    before = objects()
    database = db.database(f"s3://{prefix}", storage_options=seaweedfs.options, writable=True)
    database.series()[0].SeriesDescription = "edited"
    replace, calls = os.replace, [0]

    def stopped(source: Any, *args: Any, **kwargs: Any) -> None:
        if Path(source).parent.name == "originals":  # an original put back
            calls[0] += 1
            if calls[0] == 2:  # one is back
                raise KeyboardInterrupt
        replace(source, *args, **kwargs)

    monkeypatch.setattr(os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt):
        database.restore()
    monkeypatch.setattr(os, "replace", replace)
    assert calls[0] == 2
    database.save()
    assert not database.unsaved
    assert objects() == before
    assert [s.SeriesDescription for s in database.series()] == ["valid"]
    database.close()
