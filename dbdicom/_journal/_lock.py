"""One writer per folder: an advisory lock on a file in the hidden folder.

The lock is taken at the first change, not at opening: any number of
processes may read a folder, and one of them at a time may change it. The
operating system releases the lock when its process ends, even when it is
killed, so a crash never leaves a folder locked.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FolderLock"]

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


def _write_id(fd: int, data: bytes) -> None:
    """Write ``data`` over the start of the file, then cut the file after it.

    Written in place, not after emptying the file: an id already there
    leaves room for this one on a disk that is otherwise full.
    """
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view) :]
    os.ftruncate(fd, len(data))


class FolderLock:
    """The writer's lock of one database folder.

    Parameters
    ----------
    path : Path
        The lock file (created if needed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> first, second = FolderLock(folder / "lock"), FolderLock(folder / "lock")
    >>> first.acquire(), second.acquire()
    (True, False)
    >>> second.holder() == os.getpid()
    True
    >>> first.release(); second.acquire()
    True
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if no one holds it; True on success (or if already held).

        The process id is written in the lock file for :meth:`holder`. When
        that fails (a full disk: ``OSError`` ENOSPC), the lock is let go
        and the file closed before the error is raised: a later call tries
        afresh, in this process or another.
        """
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                os.close(fd)
                return False
        except BaseException:
            os.close(fd)
            raise
        try:
            _write_id(fd, str(os.getpid()).encode())
        except BaseException:
            try:
                _unlock(fd)
            finally:
                os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Let another writer in."""
        if self._fd is not None:
            try:
                _unlock(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None

    def holds(self, path: Path) -> bool:
        """Whether this object holds the lock of the file ``path``, by whatever path it took it.

        (The folder may have been renamed since, or be reached by another path.)
        """
        if self._fd is None:
            return False
        try:
            a, b = os.fstat(self._fd), os.stat(path)
        except OSError:
            return False
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    def holder(self) -> int | None:
        """The process id written by the last holder (None if unknown)."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None
