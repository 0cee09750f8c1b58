"""What tells one version of a file from another: the file, its size and its times.

A read that opens a file more than once (its header, then its pixels) must
read one version of it; another program may replace the file (a new one
renamed over it) or rewrite it in place meanwhile. Two ``stat`` (or
``fstat``) results of the same version have the same :func:`version`.
"""

from __future__ import annotations

import os

__all__ = ["path_version", "version"]


def version(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """The device, inode, size, and modification and change times (ns) of ``st``.

    Examples
    --------
    >>> st = os.stat(__file__)
    >>> version(st) == version(os.stat(__file__))
    True
    """
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def path_version(path: str) -> tuple[int, int, int, int, int] | None:
    """The :func:`version` of the file at ``path``; None where there is none.

    Examples
    --------
    >>> path_version("/no/such/file") is None
    True
    """
    try:
        return version(os.stat(path))
    except OSError:
        return None
