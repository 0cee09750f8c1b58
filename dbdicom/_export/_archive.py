"""An export into a zip file: the folder an export writes, as one archive.

``export_as_dicom("out.zip")`` (any ``export_as_*``) writes what the export
into a folder would hold, at the same relative paths, into the zip file
``out.zip``. A zip file of that name that is there already is to the
export what a folder is: its other members are kept, unchanged, and a
member of a name the export writes is replaced by the new file (as a file
of a folder is), a Zarr store or a DICOM medium as the export into the
folder treats them. To do so, the members of the zip file are unpacked
into a temporary folder next to it (on the same disk: an export may be
larger than the system's temporary folder), the export is written into
that folder, and the folder is written into a temporary file of the same
folder as ``out.zip``, which is renamed ``out.zip`` in one step
(``os.replace``) once complete: a failed or killed export never leaves a
half-written zip file under the name given, nor a changed one, and the
temporary folder is removed either way. A member the export did not
touch is copied from the old zip file with its own date, compression and
attributes; a file named ``.zip`` that is no zip file, or a zip file
whose members cannot be unpacked as they are (encrypted, two of one
name, a name out of the folder), is refused, and nothing is written.

Members are compressed with Deflate, as ``shutil.make_archive`` does,
except those that are compressed already (``.gz``, ``.png``, ``.zip``),
which are stored. ``db.database("out.zip")`` opens a zip of DICOM files
read-only, and ``zipfile`` lists it.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._errors import InvalidFileError, StaleFileError
from ._each import ExportedPath
from ._layout import target_folder, written
from ._temporary import temporary_path

__all__ = ["export_zip", "zip_folder"]

#: member names that are compressed already: stored, not deflated again
_STORED = (".gz", ".png", ".zip")

#: the modification time (ns) given to the files unpacked from a zip file: with the file's
#: inode and size, it tells a member the export left alone from a file it wrote there
_UNPACKED_NS = 315_532_800 * 10**9 + 1  # 1980-01-01, the first date of a zip file, + 1 ns

#: a member unpacked: its entry in the old zip file, and the unpacked file's identity
Unpacked = tuple[zipfile.ZipInfo, tuple[int, int, int, int]]


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _refuse(target: Path, why: str) -> InvalidFileError:
    return InvalidFileError(
        f"cannot export into the zip file {str(target)!r}: {why}. An export into a zip "
        "file keeps its other members, so it must read them all as they are; nothing was "
        "written. Give a new name (or extract the zip file into a folder, and export into "
        "that)."
    )


def _member_path(root: Path, name: str, target: Path) -> Path:
    """Where the member ``name`` unpacks below ``root``: its own relative path, or refused.

    Refused: a name that the folder would hold under another name (``/x``,
    ``a/../x``, ``a//x``, ``a/./x``; on Windows a backslash and ``:`` too), so
    that the member would come back renamed.
    """
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    odd = (os.sep, os.altsep, ":") if os.name == "nt" else ()
    if any(p in ("", ".", "..") or any(c and c in p for c in odd) for p in parts):
        raise _refuse(target, f"its member {name!r} has a name no folder can hold as it is")
    return root.joinpath(*parts)


def unpack(archive: zipfile.ZipFile, root: Path, target: Path) -> dict[str, Unpacked]:
    """Unpack every member of ``archive`` (the zip file ``target``) below ``root``, as it is.

    Returns the files unpacked by their member name, each with its entry
    and the identity of the file (device, inode, size, time) that says,
    after the export, whether the export replaced or removed it; and the
    folders of entries of their own (``a/``), with no identity.

    Raises
    ------
    dbdicom.InvalidFileError
        A member is encrypted, compressed in a way ``zipfile`` cannot
        read, damaged, named out of the folder, or unpacks where another
        one did (two members of one name, or one a file and the other a
        folder): the zip file cannot be kept as it is.
    """
    out: dict[str, Unpacked] = {}
    for info in archive.infolist():
        name = info.filename
        path = _member_path(root, name, target)
        if name in out:
            raise _refuse(target, f"it holds two members named {name!r}")
        if info.flag_bits & 0x1:
            raise _refuse(target, f"its member {name!r} is encrypted")
        try:
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                out[name] = (info, (0, 0, 0, 0))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(path, "xb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise _refuse(
                target, f"its member {name!r} unpacks where another member is ({exc.strerror})"
            ) from exc
        except (NotImplementedError, zipfile.BadZipFile, EOFError) as exc:
            raise _refuse(target, f"its member {name!r} cannot be read ({exc})") from exc
        os.utime(path, ns=(_UNPACKED_NS, _UNPACKED_NS))
        out[name] = (info, _identity(path))
    return out


def _without_zip64(extra: bytes) -> bytes:
    """The extra field ``extra`` without its Zip64 record, which the writer makes anew."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        kind = int.from_bytes(extra[i : i + 2], "little")
        size = int.from_bytes(extra[i + 2 : i + 4], "little")
        if kind != 1:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return out + extra[i:] if i < len(extra) else out


def _copy_member(source: zipfile.ZipFile, info: zipfile.ZipInfo, archive: zipfile.ZipFile) -> None:
    """Copy the member ``info`` of ``source`` into ``archive``: its bytes, date and attributes."""
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    for field in ("compress_type", "comment", "create_system", "internal_attr", "external_attr"):
        setattr(entry, field, getattr(info, field))
    entry.extra = _without_zip64(info.extra)
    entry.file_size = info.file_size  # (Zip64 is chosen by it)
    with source.open(info) as src, archive.open(entry, "w") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _entries(root: Path, unpacked: Mapping[str, Unpacked]) -> Iterator[tuple[str, Path]]:
    """(member name, path) of every file below ``root``, and of the folder entries still there."""
    for path in root.rglob("*"):
        if path.is_file():
            yield path.relative_to(root).as_posix(), path
    for name, (info, _) in unpacked.items():
        if info.is_dir() and (root / name).is_dir():
            yield name, root / name


def zip_folder(
    folder: str | os.PathLike[str],
    target: str | os.PathLike[str],
    source: zipfile.ZipFile | None = None,
    unpacked: Mapping[str, Unpacked] | None = None,
) -> int:
    """Write every file below ``folder`` into the new zip file ``target``, at its relative path.

    Paths use ``/``, in sorted order; files are read in chunks, never whole.
    A file unpacked from the zip file ``source`` (``unpacked``, see
    :func:`unpack`) that is still there as it was unpacked is copied from
    ``source`` instead, with its date and attributes. Returns the number
    of files written.

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
    unpacked = unpacked or {}
    entries = sorted(_entries(root, unpacked))
    # (strict_timestamps=False: a file dated before 1980, which zip cannot hold, gets 1980)
    with zipfile.ZipFile(
        target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, strict_timestamps=False
    ) as archive:
        for name, path in entries:
            old = unpacked.get(name)
            if (
                source is not None
                and old is not None
                and (old[0].is_dir() or _identity(path) == old[1])
            ):
                _copy_member(source, old[0], archive)
                continue
            stored = path.name.lower().endswith(_STORED)
            kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.write(path, name, compress_type=kind)
    return sum(1 for _, path in entries if path.is_file())


def _state(path: Path) -> tuple[int, int, int, int] | None:
    try:
        return _identity(path)
    except FileNotFoundError:
        return None


@contextmanager
def _existing(target: Path) -> Iterator[zipfile.ZipFile | None]:
    """The zip file ``target`` open for reading (None when there is none), or refused."""
    if not os.path.lexists(target):
        yield None
        return
    try:
        archive = zipfile.ZipFile(target)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        why = "it is not a zip file" if isinstance(exc, zipfile.BadZipFile) else str(exc)
        raise InvalidFileError(
            f"cannot export into {str(target)!r}: {why}, and an export into a zip file adds "
            "to the one that is there (as to a folder). It is left as it is. Remove or rename "
            "it, or give another name."
        ) from exc
    with archive:
        yield archive


@contextmanager
def _temporary_folder(folder: Path) -> Iterator[Path]:
    """A new folder of this process in ``folder`` (see :mod:`._temporary`), removed after."""
    tmp = temporary_path(folder, "export")
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_zip(path: str | os.PathLike[str], export: Callable[[Path], Any]) -> ExportedPath:
    """``export(folder)`` into a temporary folder, written as the zip file ``path``.

    The members of a zip file ``path`` that is there already are unpacked
    into that folder first, and kept unless the export replaces them (see
    the module's docstring). ``path`` is replaced in one rename once the
    new zip file is complete; its folder is made if needed. Returns
    ``path`` as an :class:`ExportedPath` with what ``export`` skipped.

    Raises
    ------
    NotADirectoryError, PermissionError
        The folder of ``path`` is a file, or cannot be written.
    dbdicom.InvalidFileError
        ``path`` is a file but not a zip file whose members can be kept.
    dbdicom.StaleFileError
        Another program changed ``path`` while the export was written.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> out = Path(tempfile.mkdtemp()) / "out.zip"
    >>> def export(root):
    ...     (root / "a").mkdir(parents=True, exist_ok=True)
    ...     _ = (root / "a" / "x.dcm").write_bytes(b"DICM")
    ...     return ExportedPath(root, exported=1)
    >>> with zipfile.ZipFile(out, "w") as z:
    ...     z.writestr("notes.txt", "mine")
    >>> done = export_zip(out, export)
    >>> done == out, done.exported, zipfile.ZipFile(out).namelist()
    (True, 1, ['a/x.dcm', 'notes.txt'])
    >>> sorted(p.name for p in out.parent.iterdir())  # nothing else left there
    ['out.zip']
    """
    target = Path(path)
    folder = target_folder(target.parent)
    before = _state(target)
    with _existing(target) as source, _temporary_folder(folder) as tmp:
        root = tmp / "export"
        root.mkdir()
        unpacked = unpack(source, root, target) if source is not None else {}
        local = export(root)
        with written(target) as temporary:
            zip_folder(root, temporary, source, unpacked)
            if source is not None:
                source.close()  # before the rename (Windows renames no open file)
            if _state(target) != before:
                raise StaleFileError(
                    f"{str(target)!r} was changed by another program while dbdicom exported "
                    "into it: it is left as that program made it, and the export is not "
                    "written. Export again."
                )
    return ExportedPath(
        target, exported=getattr(local, "exported", 0), skipped=getattr(local, "skipped", ())
    )
