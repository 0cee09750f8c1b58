"""An export into a zip file: the folder an export writes, as one archive.

``export_as_dicom("out.zip")`` (any ``export_as_*``) writes what the export
into a folder would hold, at the same relative paths, into the zip file
``out.zip``: the export is written into a temporary folder next to it (on
the same disk: an export may be larger than the system's temporary
folder), that folder is written into a temporary file of the same folder
as ``out.zip``, and that file is renamed ``out.zip`` in one step
(``os.replace``) once complete. An ``out.zip`` that was there is replaced
only then: a failed or killed export never leaves a half-written zip file
under the name given, and the temporary folder is removed either way.

Members are compressed with Deflate, as ``shutil.make_archive`` does,
except those that are compressed already (``.gz``, ``.png``, ``.zip``),
which are stored. ``db.database("out.zip")`` opens a zip of DICOM files
read-only, and ``zipfile`` lists it.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._each import ExportedPath
from ._layout import target_folder, written

__all__ = ["export_zip", "zip_folder"]

#: member names that are compressed already: stored, not deflated again
_STORED = (".gz", ".png", ".zip")


def zip_folder(folder: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Write every file below ``folder`` into the new zip file ``target``, at its relative path.

    Paths use ``/``, in sorted order; files are read in chunks, never whole.
    Returns the number of files written.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "a").mkdir()
    >>> _ = (folder / "a" / "x.dcm").write_bytes(b"DICM")
    >>> zip_folder(folder, folder.with_name(folder.name + ".zip"))
    1
    >>> zipfile.ZipFile(folder.with_name(folder.name + ".zip")).namelist()
    ['a/x.dcm']
    """
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    # (strict_timestamps=False: a file dated before 1980, which zip cannot hold, gets 1980)
    with zipfile.ZipFile(
        target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, strict_timestamps=False
    ) as archive:
        for path in files:
            stored = path.name.lower().endswith(_STORED)
            kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.write(path, path.relative_to(root).as_posix(), compress_type=kind)
    return len(files)


def export_zip(path: str | os.PathLike[str], export: Callable[[Path], Any]) -> ExportedPath:
    """``export(folder)`` into a temporary folder, written as the zip file ``path``.

    ``path`` is replaced in one rename once the zip file is complete (see
    the module's docstring); its folder is made if needed. Returns
    ``path`` as an :class:`ExportedPath` with what ``export`` skipped.

    Raises
    ------
    NotADirectoryError, PermissionError
        The folder of ``path`` is a file, or cannot be written.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> out = Path(tempfile.mkdtemp()) / "out.zip"
    >>> def export(root):
    ...     (root / "a").mkdir(parents=True)
    ...     _ = (root / "a" / "x.dcm").write_bytes(b"DICM")
    ...     return ExportedPath(root, exported=1)
    >>> done = export_zip(out, export)
    >>> done == out, done.exported, zipfile.ZipFile(out).namelist()
    (True, 1, ['a/x.dcm'])
    >>> sorted(p.name for p in out.parent.iterdir())  # nothing else left there
    ['out.zip']
    """
    target = Path(path)
    folder = target_folder(target.parent)
    with tempfile.TemporaryDirectory(prefix=".dbdicom-", suffix=".export", dir=folder) as tmp:
        local = export(Path(tmp, "export"))
        with written(target) as temporary:
            zip_folder(Path(tmp, "export"), temporary)
    return ExportedPath(
        target, exported=getattr(local, "exported", 0), skipped=getattr(local, "skipped", ())
    )
