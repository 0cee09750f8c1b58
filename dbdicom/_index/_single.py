"""One file read as the index reads it, and its problems as ``problems()`` lists them.

For ``dbdicom info FILE``: the same header reading and the same judgement
as a database of that file alone, not a second one.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ._columns import make_frame
from ._dicomdir import MEDIUM
from ._keys import assign_keys, find_problems
from ._scan import scanned_with_warnings

__all__ = ["FileReport", "file_report"]


class FileReport(NamedTuple):
    """What the index makes of one file.

    Attributes
    ----------
    readable : bool
        Whether a database would place it in its tree (or read it as a
        DICOMDIR): False for a file that is not DICOM, truncated, or that
        cannot be read.
    problems : list of str
        Its rows of ``database.problems()``, as a database of that file
        alone lists them.
    """

    readable: bool
    problems: list[str]


def file_report(path: str | os.PathLike[str]) -> FileReport:
    """Read ``path`` as a scan does, and judge it as ``problems()`` does.

    pydicom's warnings while it is read are among the problems, as in a
    scan, not printed.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> file_report(get_testdata_file("CT_small.dcm"))
    FileReport(readable=True, problems=[])
    >>> file_report(get_testdata_file("README.txt"))  # doctest: +ELLIPSIS
    FileReport(readable=False, problems=["not a DICOM file: no 'DICM' marker at byte 128"])
    """
    root, rel = os.path.split(os.path.abspath(path))
    stat = os.stat(path)
    row, _ = scanned_with_warnings(root, rel, stat.st_size, stat.st_mtime_ns)
    frame = make_frame([row])
    assign_keys(frame)
    problems = find_problems(frame)["problem"].tolist()
    return FileReport(row.get("_error", "") in ("", MEDIUM), [str(p) for p in problems])
