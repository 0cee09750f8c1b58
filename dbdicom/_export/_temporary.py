"""The temporary files and folders of exports, named by their process, and those left swept.

An export writes each file (or Zarr store, medium, zip file) under a
temporary name beside it first, renamed when complete (see
:func:`dbdicom._export._layout.written`). A process killed meanwhile
(``SIGKILL``, a crash, the machine switched off) leaves that temporary
behind. Its name says whose it is::

    .dbdicom-<host>-<pid>-<start>-<random>.<kind><extension>

``<host>`` is a short hash of the host's name and of the process's PID
namespace (a container or sandbox -- a Flatpak's, a ``docker run
--uts=host`` -- that shares the host's name numbers its processes apart),
``<pid>`` the process's id and ``<start>`` the time it started (in clock
ticks since boot, from ``/proc``; 0 where the system does not say). The
next export into the same folder removes the temporaries whose process is
gone: of this host and namespace, and no process of that id runs, or the
one that does started at another time (the id was reused). A temporary of
a process that still runs (an export at the same time; another user's,
which ``/proc`` mounted with ``hidepid`` does not show), of another host
or namespace (a shared disk), or whose name says no owner (an older
dbdicom's) is never touched. On systems without POSIX signals (Windows)
nothing is swept.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

__all__ = ["new_sweeps", "sweep", "sweep_once", "temporary_path"]

#: the folders swept since the present export began (each swept once an export)
_SWEPT: set[Path] = set()

_NAME = re.compile(r"\.dbdicom-([0-9a-f]{8})-([0-9]+)-([0-9]+)-[0-9a-f]{8}\.")


@functools.cache
def _host() -> str:
    """The hash of the host's name and of this process's PID namespace (see the module)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # no /proc (macOS), or no namespaces: the host's processes are one set
        namespace = ""
    return hashlib.sha1(f"{socket.gethostname()} {namespace}".encode()).hexdigest()[:8]


def _start(pid: int) -> int | None:
    """When the process ``pid`` started (clock ticks since boot); 0: not said; None: none runs.

    A zombie (killed, not yet waited for by its parent) runs no more.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return None if fields[0] == b"Z" else int(fields[19])  # (fields 3 and 22 of proc(5))
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else 0
    except (OSError, ValueError, IndexError):
        return 0


@functools.cache
def _me() -> tuple[int, str]:
    pid = os.getpid()
    return pid, f"{_host()}-{pid}-{_start(pid) or 0}"


def temporary_path(folder: Path, kind: str, extension: str = "") -> Path:
    """A new temporary name in ``folder``, of this process: ``.dbdicom-<owner>-<random>.<kind>``.

    Examples
    --------
    >>> path = temporary_path(Path("out"), "tmp", ".nii.gz")
    >>> path.parent.name, path.name.startswith(".dbdicom-"), path.name.endswith(".tmp.nii.gz")
    ('out', True, True)
    >>> _gone(path.name)  # this process runs
    False
    """
    pid, owner = _me()
    if pid != os.getpid():  # a forked child: its own id and start
        _me.cache_clear()
        pid, owner = _me()
    return folder / f".dbdicom-{owner}-{uuid.uuid4().hex[:8]}.{kind}{extension}"


def _gone(name: str) -> bool:
    """Whether ``name`` is a temporary whose process, of this host, no longer runs."""
    found = _NAME.match(name)
    if found is None or found.group(1) != _host() or os.name != "posix":
        return False
    pid, start = int(found.group(2)), int(found.group(3))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process runs with that id: its start says if it is ours
        now = _start(pid)  # (None: /proc hides it, mounted with hidepid: it runs)
        return bool(start and now and now != start)
    now = _start(pid)
    return now is None or bool(start and now and now != start)


def new_sweeps() -> None:
    """An export begins: each folder it writes into is swept again (:func:`sweep_once`)."""
    _SWEPT.clear()


def sweep_once(folder: Path) -> None:
    """:func:`sweep` ``folder``, unless done since the export began (one listing a folder)."""
    if folder not in _SWEPT:
        _SWEPT.add(folder)
        sweep(folder)


def sweep(folder: Path) -> list[str]:
    """Remove the temporaries in ``folder`` that exports killed left; the names removed.

    Only names of :func:`temporary_path` whose process is gone (see the
    module's docstring); a folder is removed whole, without following
    links. Nothing is raised: a temporary that cannot be removed stays.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = temporary_path(folder, "tmp", ".dcm").write_bytes(b"")  # this process's
    >>> _ = (folder / ".dbdicom-0123456789ab.tmp.dcm").write_bytes(b"")  # no owner said
    >>> sweep(folder), len(list(folder.iterdir()))
    ([], 2)
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".dbdicom-") or not _gone(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except FileNotFoundError:  # another export swept it first
            pass
        except OSError:
            continue
        removed.append(entry.name)
    return removed
