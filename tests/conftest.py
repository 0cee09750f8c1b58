"""Fixtures that build DICOM test data in ``tmp_path`` (see ``builders.py``)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bad_files import BadFiles, build_bad_files
from builders import Manifest, build_database, pydicom_shipped_files
from servers import (
    WEED,
    WEED_INSTALL,
    Orthanc,
    SeaweedFS,
    missing_server,
    need_orthanc,
    start_orthanc,
    start_seaweedfs,
)

import dbdicom as db
from dbdicom._demo import build_demo


@pytest.fixture
def database_folder(tmp_path: Path) -> tuple[Path, Manifest]:
    """A realistic 3-patient database (28 files) and its manifest."""
    root = tmp_path / "database"
    return root, build_database(root)


@pytest.fixture
def bad_files_folder(tmp_path: Path) -> tuple[Path, BadFiles]:
    """A folder holding every kind of bad input next to one valid series."""
    root = tmp_path / "bad"
    return root, build_bad_files(root)


@pytest.fixture
def shipped_files_folder(tmp_path: Path) -> Path:
    """Copies of varied files shipped with pydicom and pydicom-data, flat in one folder."""
    root = tmp_path / "shipped"
    root.mkdir()
    for path in pydicom_shipped_files():
        shutil.copyfile(path, root / path.name)
    return root


@pytest.fixture
def demo_folder(tmp_path: Path) -> Path:
    """The demo database of ``dbdicom demo``."""
    return build_demo(tmp_path / "demo")


@pytest.fixture
def demo(demo_folder: Path) -> Iterator[db.Database]:
    """The demo database, opened with a dialog that never waits for an answer;
    restored (unsaved changes undone) and closed after the test."""
    database = db.database(demo_folder, dialog=db.TerminalDialog(interactive=False))
    yield database
    if not database._closed:
        database.restore()
        database.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[db.Database]:
    """The built test database (see builders.build_database), opened once per module."""
    root = tmp_path_factory.mktemp("built") / "database"
    build_database(root)
    database = db.database(root)
    yield database
    database.close()


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[db.Database]:
    """The demo database, made and opened once per module."""
    database = db.database(build_demo(tmp_path_factory.mktemp("demo") / "demo"))
    yield database
    database.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """A real S3 server (moto's, in a thread) on a free localhost port, for the session.

    Gives the fsspec storage options that reach it (credentials moto takes
    as they are); stopped at the end. Other processes (dask workers) reach
    it too.
    """
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        missing_server("the moto S3 server", "pip install 'moto[server]' s3fs", exc)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line a request, else
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
    except OSError as exc:
        missing_server("the moto S3 server", "pip install 'moto[server]' s3fs", exc)
    host, port = server.get_host_and_port()
    yield {
        "key": "dbdicom-test-key",
        "secret": "dbdicom-test-secret-0123",
        "client_kwargs": {"endpoint_url": f"http://{host}:{port}"},
    }
    server.stop()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc with its DICOMweb plugin on a free localhost port (see ``servers.py``).

    Skips without Orthanc (saying how to install it); fails instead under
    ``DBDICOM_REQUIRE_SERVERS=1``.
    """
    need_orthanc()
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """SeaweedFS's S3 gateway on free localhost ports, for the session (see ``servers.py``).

    It checks signatures (moto's server does not) and lets anyone read the
    bucket ``PUBLIC_BUCKET``. Skips without ``weed`` (saying how to install
    it); fails instead under ``DBDICOM_REQUIRE_SERVERS=1``.
    """
    if shutil.which(WEED) is None:
        missing_server("SeaweedFS", WEED_INSTALL, f"{WEED} not found")
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def each_s3(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The storage options of each S3 server in turn (SeaweedFS skips without ``weed``)."""
    if request.param == "moto":
        return dict(request.getfixturevalue("s3_server"))
    return dict(request.getfixturevalue("seaweedfs").options)
