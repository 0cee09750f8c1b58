"""Doctests in dbdicom/ get ``db``, a fresh demo ``database`` to work on, and ``zip_of``.

Every test, and every example, makes its temporary files (``tempfile.mkdtemp()``,
``TemporaryDirectory``) in a folder pytest keeps for it, not in the system's
temporary folder, where ~140 were left a run; so do the processes it starts
(``TMPDIR``); dbdicom's user cache and data folders are the run's, not the user's.

``zip_of(members)`` makes a zip file (a CD shipped as an archive, a store of
objects) in the test's temporary folder and returns its path: ``members``
maps each member's name to the name of one of pydicom's test files, or to
the bytes it holds.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _user_folders_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # dbdicom's user cache and data folders (the indexes of read-only folders and of
    # stores, DICOMweb headers, work on stores) in the run's folder, not the user's:
    # runs had left ~1,400 folders (150 MB) in ~/.cache/dbdicom
    home = tmp_path_factory.mktemp("user-folders")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home / "cache"))
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        # the temporary files of module-scoped fixtures (set up before a test's own
        # folder): a database without a folder (db.series(array)) made its folder in
        # /tmp, removed only when the worker exits
        (home / "tmp").mkdir()
        patch.setattr(tempfile, "tempdir", str(home / "tmp"))
        patch.setenv("TMPDIR", str(home / "tmp"))
        yield


@pytest.fixture(autouse=True)
def _temporary_files_of_the_test(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # this process's tempfile, and (TMPDIR) those of the processes the test starts: a
    # child killed on purpose (test_crash.py's SIGKILL) never runs the atexit that
    # removes the folder of a database without one (dbdicom-memory-*), and left it in /tmp
    folder = str(tmp_path_factory.mktemp("tmp"))
    monkeypatch.setattr(tempfile, "tempdir", folder)
    monkeypatch.setenv("TMPDIR", folder)


@pytest.fixture(autouse=True)
def _doctest_database(
    request: pytest.FixtureRequest, doctest_namespace: dict[str, object], tmp_path: Path
) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    import dbdicom as db
    from dbdicom._demo import build_demo

    build_demo(tmp_path / "demo")
    doctest_namespace["db"] = db
    doctest_namespace["database"] = db.database(tmp_path / "demo")
    doctest_namespace["zip_of"] = lambda members: _zip_of(tmp_path / "cd.zip", members)


def _zip_of(path: Path, members: Mapping[str, str | bytes]) -> str:
    from pydicom.data import get_testdata_file

    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
            else:
                archive.write(str(get_testdata_file(content)), name)
    return str(path)
