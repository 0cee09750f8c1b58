"""Walking a folder and reading the index rows of its files, in parallel."""

from __future__ import annotations

import contextlib
import io
import math
import multiprocessing
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from pydicom.uid import UID

from .._facade import pandas as pd
from .._files import (
    SCALES,
    Header,
    NotDicomError,
    frame_values,
    grid_frame_values,
    groups_problem,
    image_problem,
    one_value,
    read_any_header,
    repeat_problem,
    scale_problem,
    several_values,
)
from ._columns import (
    NUMERIC_VRS,
    TAGS,
    column_data,
    frame_of,
    make_frame,
    tag_label,
    tag_of,
    vr_of,
)
from ._dicomdir import DICOMDIR_CLASS, MEDIUM
from ._walk import skip_reason

__all__ = [
    "HIDDEN",
    "RT_DOSE",
    "WARNINGS_SEPARATOR",
    "Row",
    "header_row",
    "holds_unread",
    "idle_cores",
    "one_of_several",
    "scan_files",
    "scan_one",
    "scanned_with_warnings",
    "warning_lines",
    "warnings_of_each_file",
    "with_warnings",
    "WANTED",
]

HIDDEN = ".dbdicom"
WANTED: dict[int, str] = {}
for _kw in TAGS:
    _tag = tag_of(_kw)
    if _tag is not None:
        WANTED[_tag] = vr_of(_kw)
_KEYWORD = {tag_of(kw): kw for kw in TAGS}
# the index tags whose values are numbers
_NUMERIC = frozenset(tag for tag, vr in WANTED.items() if vr in NUMERIC_VRS)
# the index tags of one value (the dictionary's VM is 1): the index keeps one
_SINGLE = frozenset(tag for tag in WANTED if one_value(tag))
_PLAIN = (int, float, type(None))  # decoded numbers (most values): nothing to check
_PLAIN_SET = frozenset(_PLAIN)
#: between the reasons of one file's ``_warning``
WARNINGS_SEPARATOR = "\n"
#: ends the reason of a value the file holds that is read as none
_UNREAD = ": read as no value"

_SERIES_UID, _ROWS, _SOP_CLASS, _FRAMES = 0x0020000E, 0x00280010, 0x00080016, 0x00280008
RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"  # its frames lie at Grid Frame Offset Vector

# below this many files a scan runs in this process: starting a helper costs more
# (2 cores, ~50 us a file: 2,000 files took 99-102 ms alone, 113-129 ms with a helper;
# 3,000 about even; 5,000 252-379 ms alone, 195-210 ms with a helper)
PARALLEL_THRESHOLD = 2500
_BATCH = 250

Row = dict[str, Any]


def scan_one(
    root: str,
    rel: str,
    size: int,
    mtime: int,
    data: bytes | None = None,
    read: Callable[[], Header] | None = None,
) -> tuple[Row, list[Row]]:
    """The index row of one file, and its frame rows if it is enhanced multi-frame.

    ``data``: the file's bytes, when they are at hand (a file dbdicom has just
    written), read instead of the file. ``read``: gives the header instead
    of reading the file (an object of a remote store, read by range),
    raising as :func:`~dbdicom._files.read_any_header` does. Never raises for a bad file: the
    row's ``_error`` says why the file is left out of the tree, its
    ``_warning`` which values could not be decoded (read as missing).

    This is the boundary of a scan, where one file must never stop a whole
    folder: an exception the layers below do not expect (a pydicom failure
    on bytes nobody foresaw) is caught here too, whatever its type, and
    recorded in ``_error`` with its type and message.

    A negative ``size`` is an entry that is not a file to read (a FIFO, a
    device, a link that leaves the folder: see :func:`~dbdicom._index._walk.walk`):
    it is never opened, and its row says why.
    """
    row: Row = {"_path": rel, "_size": size, "_mtime": mtime}
    if size < 0:
        row["_error"] = skip_reason(root, rel, size)
        return row, []
    try:
        return _scan(root, rel, row, data, read)
    except Exception as exc:  # the scan boundary: see the docstring
        row = {"_path": rel, "_size": size, "_mtime": mtime}
        row["_error"] = f"cannot be read: {type(exc).__name__}: {exc}"
        return row, []


def _scan(
    root: str, rel: str, row: Row, data: bytes | None, read: Callable[[], Header] | None
) -> tuple[Row, list[Row]]:
    """:func:`scan_one`, but for the exceptions nobody expects."""
    path = os.path.join(root, rel)
    try:
        header = read() if read is not None else read_any_header(path, WANTED, data)
    except NotDicomError as exc:
        row["_error"] = str(exc)
        return row, []
    except EOFError as exc:
        row["_error"] = f"truncated: {exc}"
        return row, []
    except OSError as exc:
        row["_error"] = f"cannot be read: {exc.strerror or exc}"
        return row, []
    if header.media_sop_class == DICOMDIR_CLASS:  # checked against the files: see _dicomdir
        row["_error"] = MEDIUM
        return row, []
    cut = _cut_image(header, row["_size"])
    if cut:
        row["_error"] = cut
        return row, []
    frames: list[Row] = []
    if header.has_per_frame_groups:
        try:
            frames = frame_values(
                path if data is None else io.BytesIO(data), header.problems, header.notes
            )
        except (ValueError, KeyError, TypeError, NotImplementedError, EOFError, OSError) as exc:
            row["_error"] = f"per-frame functional groups cannot be read: {exc}"
    elif header.values.get(_SOP_CLASS) == RT_DOSE and (header.values.get(_FRAMES) or 0) > 1:
        frames = grid_frame_values(path, header.values, header.problems, data)
    header_row(row, header)
    if header.has_per_frame_groups and header.has_pixels:
        refusal, note = groups_problem(len(frames), header.values.get(_FRAMES))
        row["_image"] = row.get("_image") or refusal
        if note:
            row["_warning"] = WARNINGS_SEPARATOR.join(filter(None, [row.get("_warning"), note]))
    for i, frame in enumerate(frames):
        frame["_path"] = rel
        frame["_frame"] = i
    return row, frames


def _cut_image(header: Header, size: int) -> str:
    """Why the header of an image object looks cut at an element boundary ("" if not).

    A file cut between two elements reads as a complete data set of fewer
    elements. When its SOP class is an image's and it has neither
    (0020,000E) Series Instance UID nor Rows nor pixel data (all three
    required, the first two long before the pixels), what is there is the
    start of an image: placing it in the tree under a made-up series would
    hide that. Objects without pixel data that keep their Series Instance
    UID (pydicom's stripped DICOMDIR test images) are not caught; fragments
    whose file meta names an image class and whose data set holds none of
    it (pydicom's UN_sequence.dcm) are, and are said to be incomplete.
    """
    values = header.values
    if header.has_pixels or values.get(_SERIES_UID) or values.get(_ROWS):
        return ""
    name = _image_class(header)
    if not name:
        return ""
    return (
        f"truncated or incomplete: the {name} object ends at byte {size} without "
        "(0020,000E) 'Series Instance UID', Rows or Pixel Data, which every one has "
        "(the file was cut short, or is a fragment): left out of the tree"
    )


def _image_class(header: Header) -> str:
    """The name of the file's SOP class if it is an image's (``MR Image Storage``), else ""."""
    sop_class = header.values.get(_SOP_CLASS) or header.media_sop_class
    name = UID(str(sop_class)).name if sop_class else ""
    return name if "Image Storage" in name else ""


#: ImagePositionPatient, ImageOrientationPatient, PixelSpacing: their numbers of values
_VECTORS = {0x00200032: 3, 0x00200037: 6, 0x00280030: 2}


def header_row(row: Row, header: Header) -> Row:
    """Fill ``row`` (its ``_path``, ``_size`` and ``_mtime`` given) from ``header``.

    Values the index cannot keep as they are read as None, the reason added
    to the header's problems (see :func:`_kept_value`). An image whose
    description cannot fit its pixel data (``image_problem``) gets the
    reason in ``_image``: it is in the tree, but not read. An object of an
    image SOP class without pixel data gets a warning.
    """
    keyword, plain, checked, text_checked = _KEYWORD, _PLAIN_SET, _CHECKED, _TEXT_CHECKED
    for tag, value in header.values.items():
        kind = type(value)
        if kind in plain and tag not in checked:  # most values: nothing to check
            row[keyword[tag]] = value
        elif kind is str and tag not in text_checked and tag not in checked:
            row[keyword[tag]] = value  # text of a text tag: as it is
        else:
            row[keyword[tag]] = _kept_value(tag, value, header)
    row["TransferSyntaxUID"] = header.transfer_syntax
    row["_offset"] = header.pixel_offset
    row["_nbytes"] = header.pixel_length
    row["_encapsulated"] = header.encapsulated
    row["_float_bits"] = header.float_bits
    row["_modality_lut"] = header.has_modality_lut
    warnings = warning_lines(header)
    if header.has_pixels:
        row["_image"], note = image_problem(row)
        if note:
            warnings.append(note)
        if not row["_image"]:
            row["_image"] = repeat_problem(header.repeated) or header.pixel_problem
    elif name := _image_class(header):
        warnings.append(
            f"(7FE0,0010) 'Pixel Data' is missing, which every {name} object has (the file "
            "was cut short, or written without): it holds no image"
        )
    if warnings:
        row["_warning"] = WARNINGS_SEPARATOR.join(warnings)
    return row


#: the tags whose plain values (a number, None) :func:`_kept_value` may not keep
_CHECKED = frozenset(SCALES) | frozenset(_VECTORS)
#: the tags whose text (one value) :func:`_kept_value` checks: numbers
_TEXT_CHECKED = _NUMERIC


def _kept_value(tag: int, value: Any, header: Header) -> Any:
    r"""The value of ``tag`` the index keeps: ``value``, or None with the reason in ``header``.

    None for a tag the dictionary makes a number whose value is text that is
    not one (a position stored with the wrong VR code, ``LO`` ``"1A"``): the
    index keeps numbers there; for a rescale that cannot be used; and for a
    tag of one value (VM 1) that holds several numbers, dates or times
    (SliceThickness ``"1.0\2.0"``) or a vector of the wrong count: the
    index keeps one value, or all of the vector, and any pick would be a
    guess. Several values of a text tag of one value (PatientID ``"A\B"``)
    are read as the text stored, backslash and all, and noted in ``header``
    (see :func:`~dbdicom._files.several_values`).
    """
    if type(value) not in _PLAIN and tag in _NUMERIC and not _is_number(value):
        header.problems.setdefault(tag, f"value {value!r} is not a number")
        return None
    if tag in SCALES:
        why = scale_problem(tag, value)
        if why:  # a guess (1, 0, the first value) would give other numbers than meant
            header.problems.setdefault(tag, why)
            return None
    elif tag in _SINGLE and isinstance(value, tuple):
        return one_of_several(tag, WANTED[tag], value, header)
    elif tag in _VECTORS and value is not None:
        n = len(value) if isinstance(value, tuple) else 1
        if n != _VECTORS[tag]:  # the index would keep some of them: no position
            header.problems.setdefault(tag, f"it has {n} values, where {_VECTORS[tag]} are due")
            return None
    return value


def one_of_several(tag: int, vr: str, value: tuple[Any, ...], header: Header) -> str | None:
    r"""What a tag of one value (VM 1) holding several (``value``) is kept as, said in ``header``.

    The text as stored (``"A\B"``), noted: it keeps the record apart and
    found; None for numbers, dates and times (``"1.0\2.0"``: no one of them
    is the value), a problem. The rule of index columns and of tags read on
    demand alike (see :func:`~dbdicom._files.several_values`).
    """
    text, said = several_values(vr, value)
    if text is None:
        header.problems.setdefault(tag, said)
    else:
        header.notes.setdefault(tag, f"{said}: read as the text '{text}'")
    return text


def warning_lines(header: Header, tags: Iterable[int] | None = None) -> list[str]:
    """The lines of a row's ``_warning`` saying the problems and notes of ``header``.

    Those of ``tags`` only, if given. A problem is a value read as none.
    """
    problems, notes = header.problems, header.notes
    if tags is not None:
        problems = {t: problems[t] for t in tags if t in problems}
        notes = {t: notes[t] for t in tags if t in notes}
    lines = [f"{tag_label(tag)}: {why}{_UNREAD}" for tag, why in sorted(problems.items())]
    return lines + [f"{tag_label(tag)}: {why}" for tag, why in sorted(notes.items())]


def holds_unread(warning: str | None, tag: int) -> bool:
    r"""Whether a row's ``_warning`` says its file holds a value of ``tag`` that is read as none.

    Such a value is there, but not one the index can keep (SliceThickness
    ``"1.0\2.0"``, an IS of ``"1A"``); an element present with an empty
    value (an empty RescaleSlope) holds none.

    Examples
    --------
    >>> said = "(0018,0050) 'Slice Thickness': it holds 2 values (1.0\\2.0), where its VM is 1"
    >>> holds_unread(said + _UNREAD, 0x00180050), holds_unread(said + _UNREAD, 0x00280030)
    (True, False)
    >>> holds_unread("(0028,1053) 'Rescale Slope': the value is empty" + _UNREAD, 0x00281053)
    False
    """
    if not warning:
        return False
    start, empty = f"{tag_label(tag)}: ", scale_problem(tag, None)  # (an empty value's why)
    return any(
        line.startswith(start)
        and line.endswith(_UNREAD)
        and not line[len(start) :].startswith(empty)
        for line in warning.split(WARNINGS_SEPARATOR)
    )


def _is_number(value: Any) -> bool:
    """Whether ``value`` (one or a tuple) holds numbers only, as text or not; None is none.

    Examples
    --------
    >>> _is_number((1.5, None, 2)), _is_number("2.5"), _is_number(("1A", "0"))
    (True, True, False)
    """
    if type(value) is tuple and set(map(type, value)) <= _PLAIN_SET:  # decoded numbers
        return True
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(item, str):
            try:
                float(item)
            except ValueError:
                return False
        elif not (item is None or isinstance(item, int | float)):
            return False
    return True


def _scan_batch(root: str, items: list[tuple[str, int, int]]) -> tuple[dict[str, Any], list[Row]]:
    """Index rows of a batch of files, as columns made where they were read."""
    rows: list[Row] = []
    frames: list[Row] = []
    with warnings_of_each_file() as said:
        for rel, size, mtime in items:
            row, fr = scan_one(root, rel, size, mtime)
            rows.append(with_warnings(row, said()))
            frames.extend(fr)
    return column_data(rows), frames


@contextlib.contextmanager
def warnings_of_each_file() -> Iterator[Callable[[], list[str]]]:
    """Catch the warnings raised while files are read; ``said()`` gives those since its last call.

    pydicom warns of what it finds odd in a file (``End of file reached
    before delimiter``) through :mod:`warnings`: printed on standard error,
    or lost in a worker process, for files whose problems the index lists
    anyway. Caught here, they are listed with the file instead (see
    :func:`with_warnings`). Only in a process's main thread:
    :class:`warnings.catch_warnings` changes the filters of the whole
    process, under any other thread that warns meanwhile; elsewhere the
    warnings go their usual way.

    Examples
    --------
    >>> import warnings
    >>> with warnings_of_each_file() as said:
    ...     warnings.warn("odd")
    ...     warnings.warn("a file left open", ResourceWarning)  # not the file's
    ...     said(), said()
    (['UserWarning: odd'], [])
    """
    if threading.current_thread() is not threading.main_thread():
        yield list
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        taken = 0

        def said() -> list[str]:
            nonlocal taken
            new, taken = caught[taken:], len(caught)
            return [_warning_text(w) for w in new if not issubclass(w.category, _NOT_OF_FILES)]

        yield said


#: warnings about the program, not the file read: a ResourceWarning of an object
#: collected meanwhile (pydicom's FileSet's temporary folder), deprecations
_NOT_OF_FILES = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning, ImportWarning)


def _warning_text(caught: warnings.WarningMessage) -> str:
    source = "pydicom" if f"{os.sep}pydicom{os.sep}" in caught.filename else ""
    return f"{source or caught.category.__name__}: {caught.message}"


def with_warnings(row: Row, said: list[str]) -> Row:
    """``row`` with the warnings raised while its file was read, as its problems.

    A file left out of the tree (``_error``) has them after its reason; the
    others, with its warnings (``_warning``).

    Examples
    --------
    >>> with_warnings({"_path": "a.dcm"}, ["pydicom: odd"])["_warning"]
    'pydicom: odd'
    >>> with_warnings({"_error": "truncated"}, ["pydicom: odd"])["_error"]
    'truncated (pydicom: odd)'
    """
    if not said:
        return row
    if row.get("_error"):
        row["_error"] += f" ({'; '.join(said)})"
    else:
        row["_warning"] = WARNINGS_SEPARATOR.join(filter(None, [row.get("_warning"), *said]))
    return row


def scanned_with_warnings(root: str, rel: str, size: int, mtime: int) -> tuple[Row, list[Row]]:
    """:func:`scan_one`, the warnings raised while reading the file listed with its row."""
    with warnings_of_each_file() as said:
        row, frames = scan_one(root, rel, size, mtime)
        return with_warnings(row, said()), frames


def _batches(items: list[tuple[str, int, int]], size: int) -> list[list[tuple[str, int, int]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _context() -> Any:
    """Fork when it is safe: it starts workers in milliseconds, imports done.

    Forking a process that runs other threads (dask's pool after a compute,
    a GUI) can deadlock the child on a lock held by a thread that does not
    exist there; then, and off Linux, workers start fresh (forkserver/spawn).
    """
    if sys.platform == "linux":
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def scan_files(
    root: str,
    files: dict[str, tuple[int, int]],
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, list[Row]]:
    """Read the index rows of ``files`` (relative paths with size and mtime).

    ``workers`` processes read headers, this one among them: when there
    are many files, ``workers - 1`` are started and take batches of files
    while this process reads batches too; below :data:`PARALLEL_THRESHOLD`
    files starting them costs more than it saves, and this process reads
    them all. By default, one per core that is idle (:func:`idle_cores`):
    on a machine whose cores are busy with other work, more processes
    only share the same time, and their start and their results' transfer
    are a loss. Each batch is turned into columns where it was read; the
    table is made once, here. ``progress(done, total)`` is called as
    batches complete. Returns the rows (as an index frame, in path order)
    and the per-frame rows of enhanced multi-frame files.
    """
    items = sorted((rel, s, m) for rel, (s, m) in files.items())
    total = len(items)
    n_workers = workers if workers is not None else idle_cores()
    if progress and total:
        progress(0, total)  # the start: a bar shows the rate from here
    if total < PARALLEL_THRESHOLD or n_workers < 2:
        batches = _batches(items, _BATCH)
        results = []
        done = 0
        for batch in batches:
            results.append(_scan_batch(root, batch))
            done += len(batch)
            if progress:
                progress(done, total)
    else:
        helpers = n_workers - 1
        size = max(25, min(_BATCH, total // (8 * n_workers) or 1))
        with ProcessPoolExecutor(max_workers=helpers, mp_context=_context()) as pool:
            results = _shared(root, _batches(items, size), pool, 2 * helpers, total, progress)
    frames = [f for _, batch_frames in results for f in batch_frames]
    if not results:
        return make_frame([]), frames
    return frame_of([columns for columns, _ in results]), frames


def idle_cores() -> int:
    """The cores of this machine not busy with other work: at least 1, at most all.

    Judged from the load average of the last minute, this process counted
    as one of the busy (a folder is scanned after it was listed), a core
    partly idle as idle (on 2 cores: a helper below a load of 2), where the
    system gives one; else every core.

    Examples
    --------
    >>> 1 <= idle_cores() <= (os.cpu_count() or 1)
    True
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this system
        return cores
    return max(1, min(cores, math.ceil(cores + 1 - load)))


def _shared(
    root: str,
    batches: list[list[tuple[str, int, int]]],
    pool: ProcessPoolExecutor,
    ahead: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> list[tuple[dict[str, Any], list[Row]]]:
    """The results of ``batches``, read by ``pool`` and by this process, in their order.

    The pool is kept ``ahead`` batches ahead; this process reads the next
    batch itself whenever that is so, and waits only when every batch is
    taken.
    """
    results: list[Any] = [None] * len(batches)
    pending: dict[Future[Any], int] = {}
    done = taken = 0
    while taken < len(batches) or pending:
        while taken < len(batches) and len(pending) < ahead:
            pending[pool.submit(_scan_batch, root, batches[taken])] = taken
            taken += 1
        if taken < len(batches):
            results[taken] = _scan_batch(root, batches[taken])
            done += len(batches[taken])
            taken += 1
            finished = [f for f in pending if f.done()]
        else:
            finished = list(wait(pending, return_when=FIRST_COMPLETED).done)
        for fut in finished:
            k = pending.pop(fut)
            results[k] = fut.result()
            done += len(batches[k])
        if progress:
            progress(done, total)
    return results
