"""The checks of one folder holding bad files next to a valid series.

:func:`check_folder` opens the folder with ``db.database`` and checks what
the issue "one bad file never stops a folder, and no result is silently
wrong" asks: the folder opens; every bad file is in the tree or in
``problems()`` with a reason (and where its kind says so, listed, with the
words due); every series reads or raises a ``dbdicom.DicomError``; what
reads holds the right values; the valid series reads its own. It returns
the failures (empty: the case passes) and what it saw, for the report.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bad_files import VALID_PIXELS
from corpus_base import Built, Expect, meta_end
from pydicom.data import get_testdata_file

import dbdicom as db

#: the values of the valid series (bad_files.write_valid_series), slice by slice
VALID_VALUES = np.stack([VALID_PIXELS + k for k in range(3)])
# what a reason or an error must never say: a limit was hit, not a file understood
_LIMITS = ("MemoryError", "RecursionError", "Cannot allocate", "Unable to allocate")


class CaseTimeout(BaseException):
    """A case ran past its time limit (a BaseException: no ``except Exception`` eats it)."""


@dataclass
class _Source:
    """The shipped file a bad file was made from, as dbdicom reads it intact."""

    reasons: set[str] = field(default_factory=set)
    values: np.ndarray | None = None


def check_folder(folder: Path, built: Built, expect: Expect) -> tuple[list[str], dict[str, Any]]:
    """Open ``folder`` and check it; ``(failures, seen)``."""
    failures: list[str] = []
    seen: dict[str, Any] = {}
    source = _read_source(built.source, folder.parent / f"{folder.name}-source")
    try:
        database = db.database(folder)
    except Exception as exc:  # the first promise: the folder opens, whatever it holds
        return [f"db.database raised {type(exc).__name__}: {exc}"], seen
    try:
        _check_listing(database, folder, built, expect, source, failures, seen)
        _check_instances(database, built, failures)
        _check_series(database, built, expect, source, failures, seen)
    finally:
        database.close()
    return failures, seen


def _read_source(name: str, scratch: Path) -> _Source:
    """dbdicom's reading of the intact shipped file ``name``, in a folder of its own."""
    if not name:
        return _Source()
    scratch.mkdir()
    shutil.copyfile(str(get_testdata_file(name)), scratch / name)
    database = db.database(scratch)
    try:
        reasons = {str(p) for p in database.problems()["problem"]}
        (series,) = database.series()
        return _Source(reasons, np.asarray(series.to_xarray().values))
    finally:
        database.close()


def _check_listing(
    database: db.Database,
    folder: Path,
    built: Built,
    expect: Expect,
    source: _Source,
    failures: list[str],
    seen: dict[str, Any],
) -> None:
    """Each bad file is accounted for: in the tree, or listed; listed as its kind says.

    A reason the intact source file has too does not count as listing it.
    """
    reasons: dict[str, list[str]] = {}
    for path, problem in database.problems().itertuples(index=False):
        reasons.setdefault(str(path), []).append(str(problem))
    in_tree = {Path(f).resolve() for f in database.files()}
    seen["reasons"] = {}
    seen["in_tree"] = {}
    for path in built.paths:
        rel = path.relative_to(folder).as_posix()
        why = [w for w in reasons.get(rel, []) if w not in source.reasons]
        inside = path.resolve() in in_tree
        seen["reasons"][rel] = why
        seen["in_tree"][rel] = inside
        if not inside and not why:
            failures.append(f"{rel}: neither in the tree nor in problems()")
        if expect.listed and not why:
            failures.append(f"{rel}: not in problems()")
        if any(not w.strip() for w in why):
            failures.append(f"{rel}: listed with an empty reason")
        if expect.reason and why and not any(expect.reason.lower() in w.lower() for w in why):
            failures.append(f"{rel}: no reason holds {expect.reason!r}: {why}")
        if any(limit in w for w in why for limit in _LIMITS):
            failures.append(f"{rel}: a limit was hit, not a file understood: {why}")
        if expect.tree == "in" and not inside:
            failures.append(f"{rel}: left out of the tree ({why})")
        if expect.tree == "out" and inside:
            failures.append(f"{rel}: in the tree, but a file that cannot be read must be left out")


def _check_instances(database: db.Database, built: Built, failures: list[str]) -> None:
    """A bad file in the tree that still holds its SOP Instance UID is indexed under it.

    Another UID means its header was misread (a data set parsed as garbage,
    placed under UIDs derived for it), whatever ``problems()`` says.
    """
    uids = built.uids()
    for instance in database.instances():
        files = [Path(f).resolve() for f in instance.files()]
        uid = uids.get(files[0], "") if files else ""
        if uid and _holds_uid(files[0].read_bytes(), uid) and instance.SOPInstanceUID != uid:
            failures.append(
                f"{files[0].name}: in the tree as SOP Instance UID "
                f"{instance.SOPInstanceUID!r}, but the file holds {uid!r}: its header was misread"
            )


def _holds_uid(data: bytes, uid: str) -> bool:
    """Whether the data set of ``data`` (after its meta group, if it has one) holds ``uid``."""
    try:
        start = meta_end(data)
    except (ValueError, struct.error):
        start = 0
    return data.find(uid.encode(), start) >= 0


def _check_series(
    database: db.Database,
    built: Built,
    expect: Expect,
    source: _Source,
    failures: list[str],
    seen: dict[str, Any],
) -> None:
    """Every series reads or raises a DicomError; the valid one and the bad ones as due."""
    bad = {p.resolve() for p in built.paths}
    seen["reads"] = {}
    valid = 0
    for series in database.series():
        files = {Path(f).resolve() for f in series.files()}
        label = f"series {series.SeriesDescription!r}"
        values, error = _read(series)
        if error is not None and not isinstance(error, db.DicomError):
            failures.append(f"{label}: {type(error).__name__} (not a DicomError): {error}")
        if error is not None and any(limit in str(error) for limit in _LIMITS):
            failures.append(f"{label}: a limit was hit: {type(error).__name__}: {error}")
        if files & bad:
            outcome = "reads" if error is None else f"{type(error).__name__}: {error}"
            seen["reads"][label] = outcome
            reference = source.values if built.reference else None
            _check_bad_series(label, values, error, built, expect, failures, reference)
        elif files and all(f.parent.name == "valid" for f in files):
            valid += 1
            if error is not None:
                failures.append(f"the valid series does not read: {type(error).__name__}: {error}")
            elif not np.array_equal(values, VALID_VALUES):
                failures.append(f"the valid series reads wrong values: {_describe(values)}")
    if valid != 1:
        failures.append(f"{valid} valid series where there is one")
    if expect.tree == "in" and not seen["reads"] and not failures:
        failures.append("the bad file is in the tree, but in no series")


def _read(series: Any) -> tuple[np.ndarray | None, BaseException | None]:
    """The values of ``series`` by ``to_xarray()``, then by ``array()``; or what either raised.

    ``array()`` is a layer over ``to_xarray()``: it must read as well, or
    raise too (a ``DicomError`` of its own is judged as the first would be).
    """
    try:
        values = np.asarray(series.to_xarray().values)
    except Exception as exc:  # judged by the caller: a DicomError or a failure
        return None, exc
    try:
        series.array()
    except Exception as exc:  # to_xarray read it: array() must too
        return None, exc
    return values, None


def _check_bad_series(
    label: str,
    values: np.ndarray | None,
    error: BaseException | None,
    built: Built,
    expect: Expect,
    failures: list[str],
    reference: np.ndarray | None,
) -> None:
    """The series of a bad file: reads the right values, or raises a DicomError, as due."""
    if error is not None:
        if expect.read == "values":
            failures.append(f"{label}: should read, raised {type(error).__name__}: {error}")
        elif isinstance(error, db.DicomError) and not str(error).strip():
            failures.append(f"{label}: {type(error).__name__} with no message")
        return
    assert values is not None
    if expect.read == "error":
        failures.append(f"{label}: should raise a DicomError, read {_describe(values)}")
        return
    if built.expected is not None:
        wrong = _frames_differ(values, built.expected)
        if wrong:
            failures.append(f"{label}: reads wrong values: {wrong}")
    if reference is not None:
        wrong = _reference_differs(values, reference)
        if wrong:
            failures.append(f"{label}: differs from {built.source} read by dbdicom: {wrong}")


def _frames_differ(values: np.ndarray, expected: np.ndarray) -> str:
    """Why ``values`` do not hold the frames ``expected`` (in any order); "" if they do."""
    frame = expected.shape[1:]
    got = np.asarray(values, dtype=np.float64)
    want = np.asarray(expected, dtype=np.float64)
    if got.size != want.size or got.shape[got.ndim - len(frame) :] != frame:
        return f"{_describe(values)} where {want.shape[0]} frame(s) of {frame} are due"
    got = got.reshape(-1, *frame)
    if sorted(f.tobytes() for f in got) == sorted(f.tobytes() for f in want):
        return ""
    return f"{_describe(values)}; expected {_describe(expected)}"


def _reference_differs(values: np.ndarray, reference: np.ndarray) -> str:
    """Why ``values`` differ from ``reference`` (frame order included); "" if they do not."""
    if values.shape != reference.shape:
        return f"shape {values.shape}, not {reference.shape}"
    if np.array_equal(values.astype(np.float64), reference.astype(np.float64), equal_nan=True):
        return ""
    diff = [i for i in range(len(values)) if not np.array_equal(values[i], reference[i])]
    return f"frames {diff} differ"


def _describe(values: np.ndarray) -> str:
    arr = np.asarray(values)
    if arr.size == 0:
        return f"an empty array {arr.shape}"
    return f"{arr.dtype} {arr.shape}, min {arr.min()}, max {arr.max()}, first {arr.flat[0]}"
