"""Files an array was built from that are gone when it is read: what to say, and to whom.

A missing file is a :class:`~dbdicom.FileGoneError` that says whether the
file alone is gone (removed by another program, or replaced by a write) or
its whole folder is not on the machine that read it (a dask worker without
the database's disk).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .._errors import DicomError, FileGoneError
from .._index import WORKING_MARK

__all__ = ["REOPEN_HINT", "gone_as_stale"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

REOPEN_HINT = "reopen the folder, or call database.refresh(), and build the array again"


def gone_as_stale(read: Callable[_P, _T]) -> Callable[_P, _T]:
    """``read``, a FileNotFoundError of it made a :class:`~dbdicom.FileGoneError`.

    An array names files that may be gone by the time it is read: the
    error says so, and how to build the array again (a store's own
    not-found error, a DicomError already, is left as it is).
    """

    @functools.wraps(read)
    def reading(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return read(*args, **kwargs)
        except FileNotFoundError as exc:
            if isinstance(exc, DicomError):
                raise
            raise FileGoneError(_gone(exc)) from exc

    return reading


def _gone(exc: FileNotFoundError) -> str:
    """What to say of a file not found: gone since, or its whole folder not on this machine.

    Examples
    --------
    >>> _gone(FileNotFoundError(2, "gone", "/home/u/.local/share/dbdicom/work-s3/a/1.dcm"))[:72]
    '/home/u/.local/share/dbdicom/work-s3/a/1.dcm: an object of a database in'
    >>> "does not share the database's disk" in _gone(FileNotFoundError(2, "x", "/nowhere/a.dcm"))
    True
    """
    name = str(exc.filename or exc)
    if exc.filename and WORKING_MARK in str(exc.filename).replace("\\", "/"):
        return (
            f"{name}: an object of a database in a store whose changes are not saved yet is "
            "kept on the machine that changed it, until database.save(): save first, or "
            "compute with dask's local scheduler (.compute(scheduler='threads'))"
        )
    if exc.filename and not os.path.isdir(os.path.dirname(str(exc.filename))):
        return (
            f"{name}: neither the file nor its folder is on the machine that read it: the "
            "folder was removed, or this was a worker of a dask cluster that does not share "
            "the database's disk (such a cluster reads databases in object stores or DICOMweb "
            "archives; compute a folder's arrays with dask's local scheduler: "
            ".compute(scheduler='threads'))"
        )
    return (
        f"{name}: the file is gone since it was indexed or the array was made (removed by "
        "another program, or replaced: writing a series' own array back writes new files): "
        f"{REOPEN_HINT}."
    )
