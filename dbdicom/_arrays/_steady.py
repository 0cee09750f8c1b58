"""Reads of a file another program may be rewriting: one version of it, start to end.

The place of a file's pixel data (its offset and length) and the bytes read
there must come from the same version of the file. Another program may
replace the file while an array is read -- write a new one and rename it
over the old (dcmtk, GDCM, rsync and dbdicom do), or rewrite it in place --
and the header and the pixels are read by separate opens of its path: a
header of one version could place the pixels of another, read as an image
shifted by the difference of their header lengths, header bytes in its
first pixels. So a read is bracketed by two ``stat`` of the path: where the
file is not the same one after as before (its device and inode, size,
modification and change times), what was read is thrown away and read
again; a file that keeps changing is a :class:`~dbdicom.StaleFileError`.

The fast path (:func:`~dbdicom._files.read_frames_into`) reads through one
open file and compares ``fstat`` before and after in the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from .. import _files
from .._errors import StaleFileError
from ._gone import REOPEN_HINT

__all__ = ["current_place", "steady_read"]

_T = TypeVar("_T")

#: reads of a file that changed while it was read, before it is given up
ATTEMPTS = 5


def steady_read(path: str, read: Callable[[], _T]) -> _T:
    """``read()`` of the file at ``path``, done again where the file changed meanwhile.

    What ``read`` raises is raised where the file did not change while it
    ran (a file cut short, gone, of another format...); where it changed,
    the failure or the values are those of a file being replaced, and the
    read is made again.

    Raises
    ------
    dbdicom.StaleFileError
        The file changed during each of :data:`ATTEMPTS` reads.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> steady_read(get_testdata_file("CT_small.dcm"), lambda: "read")
    'read'
    """
    for _ in range(ATTEMPTS):
        before = _files.path_version(path)
        try:
            found = read()
        except Exception:
            if _files.path_version(path) == before:
                raise
            continue  # it failed on a file being replaced: read the new one
        if _files.path_version(path) == before:
            return found
    raise StaleFileError(
        f"{path} changed while it was read, {ATTEMPTS} times: another program is writing it. "
        f"Read the array again once it is done; if the file's image changed, {REOPEN_HINT}."
    )


def current_place(
    path: str,
    fmt: _files.PixelFormat,
    offset: int,
    nbytes: int,
    size: int | None,
    mtime: int | None,
    frame: Sequence[Any] | None = None,
) -> tuple[_files.PixelFormat, int, int]:
    """The format, byte offset and length of a file's pixel data, checked against the file.

    Parameters
    ----------
    path : str
        The file.
    fmt : PixelFormat
        Its pixel format as the index recorded it.
    offset, nbytes : int
        Byte offset and length of its pixel data as the index recorded them
        (-1 when unknown).
    size, mtime : int or None
        Its size in bytes and modification time in ns when it was indexed;
        None: not known, nothing is checked.
    frame : FrameRef, optional
        A frame of the array read from it: a changed file must still be its
        instance (the SOPInstanceUID) with its rescale (or dose scaling).

    Returns
    -------
    tuple
        ``(fmt, offset, nbytes)``: as given when the file is unchanged (or
        gone: the read then reports it), else as its header says now.

    Raises
    ------
    dbdicom.StaleFileError
        The file changed, and its header now gives another frame shape or
        data type, no image at all, another instance or another rescale.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("CT_small.dcm")
    >>> fmt, offset, nbytes = _files.pixel_format(path)
    >>> st = os.stat(path)
    >>> place = current_place(path, fmt, offset, nbytes, st.st_size, st.st_mtime_ns)
    >>> place == (fmt, offset, nbytes)  # unchanged: as given, nothing read
    True
    >>> current_place(path, fmt, 0, nbytes, st.st_size + 1, st.st_mtime_ns)[1] == offset  # re-read
    True
    """
    if size is None or mtime is None:
        return fmt, offset, nbytes
    try:
        st = os.stat(path)
    except OSError:
        return fmt, offset, nbytes  # the read names the missing file
    if st.st_size == size and st.st_mtime_ns == mtime:
        return fmt, offset, nbytes
    try:
        now, now_offset, now_nbytes = _files.pixel_format(path)
    except (KeyError, ValueError) as error:  # no Rows/Columns, or not DICOM any more
        raise StaleFileError(
            f"{path} changed since it was indexed and has no readable image now "
            f"({type(error).__name__}: {error}): {REOPEN_HINT}."
        ) from error
    problem = _files.format_problem(now)
    if problem:
        raise StaleFileError(
            f"{path} changed since it was indexed and its image cannot be read now "
            f"({problem}): {REOPEN_HINT}."
        )
    if now.modality_lut_bits != fmt.modality_lut_bits:  # the rescale was chosen by it
        said = "has" if now.modality_lut_bits else "has no"
        raise StaleFileError(
            f"{path} changed since it was indexed: it {said} (0028,3000) 'Modality LUT "
            f"Sequence' now, which makes its stored values physical: {REOPEN_HINT}."
        )
    if now.frame_shape != fmt.frame_shape or now.dtype != fmt.dtype:
        raise StaleFileError(
            f"{path} changed since it was indexed: its frames are now {now.frame_shape} "
            f"{now.dtype}, the array was built for {fmt.frame_shape} {fmt.dtype}: {REOPEN_HINT}."
        )
    if frame is not None:
        _check_same(path, frame, now)
    return now, now_offset, now_nbytes


#: what a changed file must still have: its instance and the scaling of its values
_SAME_TAGS = {0x00080018: "UI", 0x00281052: "DS", 0x00281053: "DS", 0x3004000E: "DS"}


def _check_same(path: str, frame: Sequence[Any], fmt: _files.PixelFormat) -> None:
    """A changed file is still the instance of ``frame``, its values scaled as they were.

    Another instance under the same name (a file replaced by another
    program) would put its pixels under the array's coordinates; a new
    RescaleSlope would scale the values wrongly. The scaling is compared
    as the array makes it (RescaleSlope times DoseGridScaling, and
    RescaleIntercept) where the file's top-level header gives one; not
    for per-frame functional groups, nor where a Modality LUT makes the
    values (``fmt``).
    """
    uid, slope, intercept = frame[9], frame[5], frame[6]
    try:
        values = _files.read_any_header(path, _SAME_TAGS).values
    except (OSError, ValueError, KeyError) as error:  # read above a moment ago: changed again
        raise StaleFileError(
            f"{path} changed since it was indexed and cannot be read now "
            f"({type(error).__name__}: {error}): {REOPEN_HINT}."
        ) from error
    now = values.get(0x00080018)
    if uid and isinstance(now, str) and now and now != uid:
        raise StaleFileError(
            f"{path} changed since it was indexed: it holds another instance now "
            f"(SOPInstanceUID {now}, the array was built for {uid}), whose pixels "
            f"would be read as the array's: {REOPEN_HINT}."
        )
    given = [values.get(t) for t in (0x00281053, 0x3004000E, 0x00281052)]
    if fmt.modality_lut_bits or all(v is None for v in given):
        return  # a table makes the values, or the scaling is per frame: not compared here
    name = "DoseGridScaling" if given[1] is not None else "RescaleSlope"
    now_slope: Any = given[0] if given[1] is None else given[1]
    now_intercept: Any = given[2]
    try:
        now_slope = float(given[0] if given[0] is not None else 1) * float(
            given[1] if given[1] is not None else 1
        )
        now_intercept = float(given[2] or 0)
        same = bool(np.isclose(now_slope, slope, rtol=1e-9, atol=0)) and bool(
            np.isclose(now_intercept, intercept, rtol=1e-9, atol=1e-12)
        )
    except (TypeError, ValueError):  # not a number now
        same = False
    if not same:
        raise StaleFileError(
            f"{path} changed since it was indexed: its {name} is now {now_slope!r} (and "
            f"intercept {now_intercept!r}), the array was built for {slope} and {intercept}, "
            f"so its values would be scaled wrongly: {REOPEN_HINT}."
        )
