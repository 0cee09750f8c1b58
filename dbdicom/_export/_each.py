"""One rule for every format: what an export does with a series it cannot write.

A record above the series level (the database, a patient, a study) is
exported series by series; a series that cannot be written (no image, no
grid, no decoder, no geometry for the format...) is skipped with a message
that says which and why, and the export goes on. The folder returned says
what was skipped (:class:`ExportedPath`). A series or an instance exported
on its own raises the :class:`dbdicom.DicomError` instead: the user asked
for that one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path, PosixPath, WindowsPath
from typing import Any, NamedTuple

from .._errors import DicomError, DiskFullError
from ._layout import series_folders

__all__ = ["ExportedPath", "Skipped", "each_series", "why_skipped"]

if sys.platform == "win32":  # Path itself cannot be subclassed before Python 3.12
    _ConcretePath = WindowsPath
else:
    _ConcretePath = PosixPath


class Skipped(NamedTuple):
    """A series an export left out: its label, where it would have gone, and why."""

    series: str  #: the series' label, as ``series.label()`` gives it
    folder: str  #: its place in the export, relative to the export folder (POSIX)
    reason: str  #: what made it impossible to export


class ExportedPath(_ConcretePath):
    """The folder (or file) an export wrote, with what it left out.

    A :class:`pathlib.Path` in every way; ``skipped`` lists the series
    that could not be exported (empty when all were) and ``exported``
    counts those that were; ``stale`` lists the files of an earlier export
    into the folder that this one did not write again, where the format
    looks for them (BIDS: see :mod:`._bids_export`), relative to the folder
    (POSIX). Paths derived from it (``out / "x"``) are plain in meaning:
    their ``skipped`` and ``stale`` are empty.

    Examples
    --------
    >>> out = ExportedPath("/tmp/out", exported=2, skipped=[Skipped("1: T1", "1_T1", "no image")])
    >>> out == Path("/tmp/out"), out.exported, [s.series for s in out.skipped], out.stale
    (True, 2, ['1: T1'], ())
    """

    skipped: tuple[Skipped, ...] = ()
    stale: tuple[str, ...] = ()
    exported: int = 0

    def __init__(
        self,
        *args: Any,
        exported: int = 0,
        skipped: Sequence[Skipped] = (),
        stale: Sequence[str] = (),
    ) -> None:
        if sys.version_info >= (3, 12):  # pragma: no cover - the versions differ here
            super().__init__(*args)
        self.exported = exported
        self.skipped = tuple(skipped)
        self.stale = tuple(stale)


class ExportedURL(str):
    """The URL of what an export wrote into an object store, with what it left out.

    A ``str`` (a :class:`pathlib.Path` would make ``s3://b/x`` ``s3:/b/x``);
    ``skipped`` and ``exported`` as for :class:`ExportedPath`.

    Examples
    --------
    >>> out = ExportedURL("s3://bucket/results", exported=1)
    >>> out, out.exported, out.skipped
    ('s3://bucket/results', 1, ())
    """

    skipped: tuple[Skipped, ...]
    exported: int

    def __new__(cls, url: str, exported: int = 0, skipped: Sequence[Skipped] = ()) -> ExportedURL:
        made = super().__new__(cls, url)
        made.exported = exported
        made.skipped = tuple(skipped)
        return made


def why_skipped(exc: BaseException, series: Any) -> str:
    """The reason in ``exc``, on one line, without the series' name it may start with.

    So that a message names the series once: ``Series 'X' skipped: holds no
    image...`` rather than ``Series 'X' skipped: Series 'X' holds no image...``.
    """
    text = " ".join(str(exc).split())
    for name in (f"Series {series.label()!r}", f"series {series.label()!r}"):
        if text.startswith(name):
            text = text[len(name) :].lstrip(" :,")
    return text or type(exc).__name__


def each_series(
    record: Any,
    root: Path,
    write: Callable[[Any, Path], None],
    what: str,
    progress: bool = True,
) -> ExportedPath:
    """Call ``write(series, folder)`` for each series below ``record``; skip those that fail.

    ``write`` raises a :class:`dbdicom.DicomError` when it can write nothing
    of the series. Above the series level that series is skipped, with a
    message, and the others are exported; a final message counts and names
    the skipped ones. A series or an instance exported on its own raises
    the error. A full disk always stops the export. With ``progress``, the
    progress is reported a series at a time (formats that report it file by
    file pass False).
    """
    pairs = list(series_folders(record, root))
    skipped: list[Skipped] = []
    for i, (series, folder) in enumerate(pairs):
        try:
            write(series, folder)
        except DicomError as exc:
            if record.level in ("series", "instance") or isinstance(exc, DiskFullError):
                raise
            why = why_skipped(exc, series)
            record.message(f"Series {series.label()!r} skipped: {why}")
            skipped.append(Skipped(series.label(), folder.relative_to(root).as_posix(), why))
        if progress:
            record.progress(i + 1, len(pairs), f"Exporting {what}")
    if skipped:
        names = ", ".join(repr(s.folder) for s in skipped)
        record.message(
            f"{len(skipped)} of {len(pairs)} series skipped (not exported as {what}, "
            f"reasons above): {names}"
        )
    return ExportedPath(root, exported=len(pairs) - len(skipped), skipped=skipped)
