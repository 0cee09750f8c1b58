"""The layout every export writes: one folder a level, readable safe names.

::

    <path>/<patient>/<study>/<series>/...

``<patient>`` is the PatientName and PatientID, ``<study>`` the
StudyDescription and StudyDate, ``<series>`` the SeriesNumber and
SeriesDescription; a name taken twice gets the record's UID appended.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GridError, ReadOnlyError
from .._files import has_scheme, redact
from ._temporary import new_sweeps, sweep_once, temporary_path

__all__ = [
    "MAX_NAME_BYTES",
    "NAME_BYTES",
    "bids_label",
    "frame_rows",
    "image_rows",
    "label",
    "mixed_groups",
    "progress",
    "safe_name",
    "series_folders",
    "array_name",
    "series_description",
    "series_name",
    "local_target",
    "target_folder",
    "unique_name",
    "written",
]


#: At most this many bytes (UTF-8) of a name come from header values: with a
#: record's UID (up to 64 characters) appended to keep it unique, a group
#: number and the longest extension (``.nii.gz``), a name stays far below
#: :data:`MAX_NAME_BYTES`.
NAME_BYTES = 120

#: The longest file or folder name most file systems allow, in bytes (UTF-8).
MAX_NAME_BYTES = 255


def safe_name(text: str, suffix: str = "", default: str = "series") -> str:
    r"""A file-name-safe version of ``text``: the one rule for names from headers.

    Latin letters with accents become their ASCII letter (``é`` -> ``e``,
    ``ﬁ`` -> ``fi``, by Unicode compatibility decomposition; the micro sign
    ``µ`` of a unit becomes ``u``); letters and
    digits of other scripts are kept as they are (``Люкс``, ``山田``,
    ``Παπαδόπουλος``, with their own marks: ``й`` stays ``й``); every run of
    other characters than letters, digits and ``._-`` (spaces, ``/``, NUL,
    control characters, punctuation...) becomes one ``_``; ``.`` and ``_``
    are stripped from the ends, so the name is never ``.``, ``..`` or
    hidden; an empty result is ``default``. At most :data:`NAME_BYTES`
    bytes (UTF-8) are kept, never half a character, and with ``suffix``
    (e.g. ``".nii.gz"``, added as it is) the name is never longer than
    :data:`MAX_NAME_BYTES` bytes.

    Examples
    --------
    >>> safe_name("T1 map: ax/5°")
    'T1_map_ax_5'
    >>> safe_name("Séquence ../\x00 x", ".zarr"), safe_name(".."), len(safe_name("a" * 500))
    ('Sequence_.._x.zarr', 'series', 120)
    >>> safe_name("Йошкар-Ола 山田"), safe_name("日本" * 100).encode("utf-8").__len__()
    ('Йошкар-Ола_山田', 120)
    >>> safe_name("DWI b1000 µm²/s")  # the micro sign is a unit's u, not a Greek letter
    'DWI_b1000_um2_s'
    """
    parts: list[str] = []
    # NFKD makes the micro sign (U+00B5) Greek mu; a Greek word's own mu stays Greek
    for cluster in _clusters(unicodedata.normalize("NFKD", text.replace("\u00b5", "u"))):
        base = cluster[0]
        if base.isascii():  # a Latin letter: its accents dropped
            kept = base if re.fullmatch(r"[A-Za-z0-9._-]", base) else ""
        else:  # another script: kept with its marks (NFC below composes them again)
            kept = cluster if base.isalnum() else ""
        if kept or (parts and parts[-1]):  # a run of others: one "_"
            parts.append(kept)
    joined = unicodedata.normalize("NFC", "".join(p or "_" for p in parts))
    cleaned = _cut(joined.strip("._"), NAME_BYTES).rstrip("._") or default
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return (_cut(cleaned, room) or cleaned[:1]) + suffix


def _clusters(text: str) -> Iterator[str]:
    """Each character of ``text`` with the combining marks (category M) that follow it."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not unicodedata.category(text[i]).startswith("M"):
            yield text[start:i]
            start = i


def _cut(text: str, limit: int) -> str:
    """The longest start of ``text`` of at most ``limit`` bytes (UTF-8), marks with their letter.

    Examples
    --------
    >>> _cut("aй", 2), _cut("aй", 3), _cut("日本", 5), _cut("ab", 5)
    ('a', 'aй', '日', 'ab')
    """
    size = 0
    for end, char in enumerate(text):
        size += len(char.encode("utf-8"))
        if size > limit:
            while end and unicodedata.category(text[end]).startswith("M"):
                end -= 1  # not a letter without its mark
            return text[:end]
    return text


#: Latin letters that Unicode does not decompose into an ASCII letter and a mark.
_LATIN = str.maketrans(
    {"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
     "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
     "ı": "i", "ħ": "h", "Ħ": "H",
     # the micro sign (U+00B5), which NFKD makes Greek mu: a unit's "u" (µm -> um)
     "µ": "u", "μ": "u"}
)  # fmt: skip


def bids_label(text: str, default: str = "") -> str:
    """A BIDS label (``sub-<label>``...): :func:`safe_name` with ASCII letters and digits only.

    BIDS labels are ASCII letters and digits: the ``._-`` that
    :func:`safe_name` keeps are dropped, Latin letters become ASCII ones
    (``é`` -> ``e``, ``ß`` -> ``ss``, ``ø`` -> ``o``), and a name with
    letters of another script (``Иванов``, ``山田``, or a mix such as
    ``Люкceмбypг``) gives ``default``: keeping only its Latin letters would
    make a label that is not the name, and two names could give one label.
    The callers then number (``sub-01``...) as they do without identifiers.

    Examples
    --------
    >>> bids_label("PAT-001"), bids_label("Séance 2.b"), bids_label("--", default="x")
    ('PAT001', 'Seance2b', 'x')
    >>> bids_label("Groß"), bids_label("Иванов-1"), bids_label("Иванов", default="01")
    ('Gross', '', '01')
    >>> bids_label("DWI b1000 µm²/s")  # the micro sign: u
    'DWIb1000um2s'
    """
    name = safe_name(text, default="").translate(_LATIN)
    if any(char.isalnum() and not char.isascii() for char in name):
        return default
    return re.sub(r"[^A-Za-z0-9]", "", name) or default


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def written(target: Path) -> Iterator[Path]:
    """A temporary path to write ``target`` to: renamed to it when done, removed on failure.

    So an export that fails part-way leaves no half-written file or Zarr
    store behind (an older ``target`` stays until the new one is complete).
    The temporary name, ``.dbdicom-<process>-<random>.tmp<extension>``,
    keeps the extension (``.nii.gz``, ``.npy``...) that the writing library
    looks at, and says the process: the temporaries of killed exports in
    the folder of ``target`` are removed first (see :mod:`._temporary`).
    """
    ext = ".nii.gz" if target.name.endswith(".nii.gz") else target.suffix
    sweep_once(target.parent)
    temporary = temporary_path(target.parent, "tmp", ext)
    try:
        yield temporary
    except BaseException:
        _remove(temporary)
        raise
    try:
        if target.is_dir() and temporary.is_dir():
            shutil.rmtree(target)
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise


def local_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a local path; :class:`dbdicom.ReadOnlyError` for a URL (``s3://``, ``http://``).

    Not a folder ``http:`` in the working folder: exports are written to
    local folders, or (``export_as_dicom``) to a DICOMweb archive.

    Examples
    --------
    >>> local_target("out/t1.npy").as_posix()
    'out/t1.npy'
    """
    text = os.fspath(path)
    if has_scheme(text):
        raise ReadOnlyError(
            f"cannot export into {redact(text)}: dbdicom writes exports into local "
            "folders, and DICOM files into DICOMweb archives (export_as_dicom("
            "'dicomweb+http(s)://host/dicom-web'), with STOW-RS), never into object stores "
            "or web servers. Give a folder, or the archive's dicomweb+ URL."
        )
    return Path(text)


def target_folder(path: str | os.PathLike[str]) -> Path:
    """The export folder, made if needed; a clear error if it cannot be.

    Raises ``NotADirectoryError`` when ``path`` is a file,
    ``PermissionError`` when the folder cannot be written (nothing is
    written then) and :class:`dbdicom.ReadOnlyError` when it is a URL.
    An export begins here: the temporaries that killed exports left in the
    folder are removed (those in its subfolders when it writes there: see
    :func:`written`).
    """
    local_target(path)
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(
            f"cannot export into {str(root)!r}: it is a file. Give a folder (new or existing)."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(
            f"cannot export into {str(root)!r}: {exc.strerror or exc}. Give a folder you can write."
        ) from exc
    mode = root.stat().st_mode
    if not os.access(root, os.W_OK) or not mode & 0o222:
        raise PermissionError(
            f"cannot export into {str(root)!r}: the folder is read-only. "
            "Give a folder you can write."
        )
    new_sweeps()
    sweep_once(root)
    return root


def label(record: Any) -> str:
    """The name of ``record`` in the layout, made by :func:`safe_name` (before any suffix)."""
    level = record.level
    first = record._db._values(
        record._rows()[:1],
        {
            "patient": "PatientName",
            "study": "StudyDescription",
            "series": "SeriesDescription",
        }.get(level, "InstanceNumber"),
    )[0]
    if level == "patient":
        name = f"{first or 'anonymous'} [{record.uid}]"
    elif level == "study":
        date = record._db._values(record._rows()[:1], "StudyDate")[0]
        name = f"{first or 'study'} {date or ''}"
    elif level == "series":
        number = record._db._values(record._rows()[:1], "SeriesNumber")[0]
        name = f"{number if number is not None else ''} {first or 'series'}"
    else:
        name = f"{first if first is not None else ''}"
    return safe_name(name.strip(), default=level)


def series_folders(record: Any, root: Path) -> Iterator[tuple[Any, Path]]:
    """Each series below (or at) ``record`` with the folder it exports into."""
    taken: dict[Path, str] = {}

    def place(parent: Path, rec: Any) -> Path:
        folder = parent / label(rec)
        if folder in taken and taken[folder] != rec.uid:
            folder = parent / f"{label(rec)}_{safe_name(str(rec.uid), default='uid')}"
        taken[folder] = rec.uid
        return folder

    if record.level == "instance":
        series = record.series()
        yield series, root / label(series)
        return
    everything = [record] if record.level == "series" else record.series()
    for series in everything:
        if not len(series._rows()):
            continue  # a new series without files yet: nothing to export
        folder = root
        for level in ("patient", "study"):
            up = series.patients() if level == "patient" else series.studies()
            if _depth(up) <= _depth(record):
                continue  # the exported record and the levels above it get no folder
            folder = place(folder, up)
        yield series, place(folder, series)


def _depth(record: Any) -> int:
    return ("database", "patient", "study", "series", "instance").index(record.level)


def progress(record: Any, what: str) -> Callable[[int, int], None]:
    return lambda done, total: record.progress(done, total, what)


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... if taken; marked as taken."""
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


def mixed_groups(
    record: Any, series: Any, rows: np.ndarray, what: Callable[[int], str]
) -> list[Any]:
    """The geometry groups of the frames at ``rows``, largest first.

    A group has one size and orientation; a message says the series is
    exported as ``what(number of groups)``.
    """
    groups = _arrays.geometry_groups(_arrays.Frames(record._db.index, rows))
    ordered = sorted(groups, key=lambda k: -len(groups[k]))
    record.message(
        f"Series {series.label()!r} mixes {len(ordered)} image sizes, orientations or "
        "pixel spacings: " + what(len(ordered)) + "."
    )
    return ordered


def image_rows(record: Any, series: Any) -> np.ndarray:
    """The rows of ``record`` (of ``series`` unless it is an instance) that hold an image.

    Instances without pixel data (structured reports, presentation states,
    RT plans...) are left out, with a message when others hold an image (a
    record without any is for :func:`frame_rows` to raise).
    """
    rows = record._rows() if record.level == "instance" else series._rows()
    keep = _arrays.has_image(record._db.index, rows)
    skipped = int((~keep).sum())
    if skipped:
        what = f"{record.level.capitalize()} {record.label()!r}"
        if record.level != "instance":
            what = f"Series {series.label()!r}"
        why = _arrays.why_no_image(record._db.index, rows[~keep])
        if keep.any():  # none: the caller skips the series (or raises), saying why
            record.message(f"{what}: {skipped} instance(s) without an image skipped ({why}).")
    return rows[keep]


def frame_rows(record: Any) -> np.ndarray:
    """The rows of ``record`` (a series or an instance) whose instances hold an image.

    Instances without one are left out, said in a message; a record with
    instances but no image at all raises a :class:`dbdicom.GridError` naming it.
    """
    rows = image_rows(record, record)  # the series is only named when record is one
    if not len(rows) and len(record._rows()):
        what = "Instance" if record.level == "instance" else "Series"
        why = _arrays.why_no_image(record._db.index, record._rows())
        raise GridError(f"{what} {record.label()!r} holds no image: {why}")
    return rows


def series_description(series: Any) -> str | None:
    """The SeriesDescription of a series, as it is (None without one)."""
    rows = series._rows()
    if len(rows):
        desc = series._db._values(rows[:1], "SeriesDescription")[0]
    else:  # a new series without files: its own attributes
        found = series.unique("SeriesDescription")
        desc = found[0] if found else None
    return str(desc) if desc else None


def array_name(description: str | None) -> str | None:
    r"""The name of a DataArray made of a series of that SeriesDescription (None: none).

    The description with ``/``, ``\`` and control characters made ``_``:
    netCDF-4 refuses a ``/`` in a variable's name, Zarr makes it a group (and
    a ``\`` one on some stores), and the name may be a Zarr array's folder,
    so it is at most :data:`MAX_NAME_BYTES` bytes; None where nothing but
    dots (``.``, ``..``) or spaces is left. Spaces, letters of any script and
    other punctuation are kept: the name is read by people (safe names for
    files and folders are :func:`safe_name`'s).

    Examples
    --------
    >>> array_name("T2w 5/5mm Plain"), array_name("T1 map: ax"), array_name(".."), array_name("")
    ('T2w 5_5mm Plain', 'T1 map: ax', None, None)
    """
    if not description:
        return None
    name = re.sub(r"[/\\\x00-\x1f\x7f]", "_", description)
    name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore")
    return None if not name.strip(". ") else name


def series_name(series: Any) -> str | None:
    """The name of a series' DataArray, the same everywhere: :func:`array_name` of its description.

    :meth:`dbdicom.Series.to_xarray`, the xarray backend, DataTree nodes and
    the Zarr exports name it so.
    """
    return array_name(series_description(series))
