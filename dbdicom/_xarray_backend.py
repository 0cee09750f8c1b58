"""``xr.open_dataarray``, ``open_dataset``, ``open_datatree``, ``open_groups``: the backend.

Like xarray's own backends, the entrypoint only cleans arguments and hands
off: a folder is opened as a database (:func:`dbdicom.database`: indexed
once, the index kept in the folder, or in the user's cache when the folder
cannot be written), and its tree (``/<patient>/<study>/<series>``, see
:meth:`dbdicom.Database.to_datatree`) built by the records layer. Variables
are lazily indexed backend arrays (:class:`dbdicom._arrays._lazy.FramesBackendArray`):
no dask unless ``chunks=`` asks for it, and then xarray makes the dask
array; ``encoding["preferred_chunks"]`` says what is stored: frames, each
read on its own (see :func:`dbdicom._arrays._lazy.preferred_chunks`).

A URL (``s3://bucket/prefix``, ``https://``, a ``.zip``) is opened as a
read-only database of the objects below it, with the fsspec options given
as ``storage_options=`` (see docs/remote.md).

A single DICOM file is opened as a database of that file alone: a link to
it in a temporary folder (removed when Python exits), so that its own folder
is neither read whole nor written.

``guess_can_open`` claims, without ``engine=``, a DICOM file (a 128-byte
preamble then ``DICM``) and a folder that holds one (looking at up to
:data:`GUESS_FILES` files, hidden ones left out) or that dbdicom has indexed
(it holds ``.dbdicom``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

from ._accessor import register_accessor
from ._errors import DatabaseNotFoundError
from ._files import is_url, starts_like_dicom
from ._records import Database, database, open_group, tree_of
from ._web import is_dicomweb

__all__ = ["GUESS_FILES", "DbdicomBackendEntrypoint", "is_dicom_file", "looks_like_dicom"]

register_accessor()  # xarray is imported: da.dicom works on what this backend opens

#: at most this many files of a folder are looked at by ``guess_can_open``
GUESS_FILES = 64
# the metadata files of a Zarr store (formats 3 and 2)
_ZARR = ("zarr.json", ".zgroup", ".zarray")
# the temporary folders holding links to single files, removed at exit
_LINKS: list[str] = []


@atexit.register
def _remove_links() -> None:
    for folder in _LINKS:
        shutil.rmtree(folder, ignore_errors=True)


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file that dbdicom reads as DICOM (see ``starts_like_dicom``).

    A preamble and ``DICM``, or a data set without them (ACR-NEMA style).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> is_dicom_file(get_testdata_file("CT_small.dcm")), is_dicom_file(__file__)
    (True, False)
    >>> is_dicom_file(get_testdata_file("OT-PAL-8-face.dcm"))  # no preamble, no file meta
    True
    """
    try:
        with open(path, "rb") as f:
            return starts_like_dicom(f.read(132))
    except OSError:
        return False


def looks_like_dicom(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a DICOM file, or a folder indexed by dbdicom or holding one.

    In a folder, files are looked at a folder at a time, the folder's own
    files first, at most :data:`GUESS_FILES` of them; hidden files and
    folders (``.name``) are left out, and a Zarr store is not looked into.
    Nothing is written.
    """
    root = Path(path)
    if root.is_file():
        return is_dicom_file(root)
    if not root.is_dir():
        return False
    if (root / ".dbdicom").is_dir():
        return True
    if any((root / name).exists() for name in _ZARR):
        return False  # a Zarr store: for the zarr engine, without reading its chunks
    seen, todo = 0, [root]
    while todo and seen < GUESS_FILES:
        folder = todo.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                todo.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False) and seen < GUESS_FILES:
                seen += 1
                if is_dicom_file(entry.path):
                    return True
    return False


def _single_file(path: Path) -> Database:
    """A database of the one file ``path``: a link to it in a temporary folder."""
    folder = tempfile.mkdtemp(prefix="dbdicom-file-")
    _LINKS.append(folder)
    link = Path(folder) / path.name
    try:
        os.symlink(path.absolute(), link)
    except OSError:  # no symbolic links here (Windows without the right): a copy
        shutil.copyfile(path, link)
    return database(folder, follow_links=True)


def _open(filename_or_obj: Any, storage_options: Mapping[str, Any] | None = None) -> Database:
    """The database of a folder, of one file, or of a URL (see docs/remote.md)."""
    if is_url(filename_or_obj) or is_dicomweb(filename_or_obj):
        return database(filename_or_obj, storage_options=storage_options)
    try:
        path = Path(os.fspath(filename_or_obj)).expanduser()
    except TypeError:
        raise DatabaseNotFoundError(
            f"dbdicom opens a folder or a file of DICOM by its path, not a "
            f"{type(filename_or_obj).__name__}: give xr.open_dataset the path"
        ) from None
    if path.is_file():
        if not is_dicom_file(path):
            raise DatabaseNotFoundError(
                f"{str(path)!r} is not a DICOM file (no 'DICM' at byte 128, nor a data set "
                "without it): give a DICOM "
                "file, or the folder that holds the files"
            )
        return _single_file(path)
    return database(path)


def _dropped(ds: xr.Dataset, drop_variables: str | Iterable[str] | None) -> xr.Dataset:
    if not drop_variables:
        return ds
    drop = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
    return ds.drop_vars(drop, errors="ignore")


register_accessor()  # xarray is imported: da.dicom works on what this backend opens


#: xarray's CF decoding switches: accepted (a user's decode_times=False), with nothing to
#: decode -- the values come from the DICOM elements, as their VRs say (see the class's
#: docstring: decode_times=False does not give the DICOM strings)
_CF_DECODERS = (
    "mask_and_scale",
    "decode_times",
    "decode_timedelta",
    "use_cftime",
    "concat_characters",
    "decode_coords",
)


class DbdicomBackendEntrypoint(BackendEntrypoint):
    """Open a folder (or a file) of DICOM as lazy Datasets, one per series, or as a tree.

    ``open_dataset`` / ``open_dataarray`` take xarray's ``group``: a path in
    the tree (``"/<patient>/<study>/<series>"``, as ``open_datatree`` gives
    it; ``<series path>/1``... for a series that mixes image sizes or
    orientations), a SeriesInstanceUID, or a SeriesDescription that only one
    series has; it may be left out when the folder (or file) holds one
    series. ``series=`` is the same as ``group=``. ``dims`` and ``fill`` as
    in :meth:`dbdicom.Series.to_xarray`. Without ``chunks`` the data are
    lazily indexed (no dask), and a selection reads only its frames;
    ``chunks={}`` gives a dask chunk per frame; ``chunks={dim: n}`` ``n``
    grid points a chunk along ``dim`` (-1: all), one along the tag dims not
    named.

    ``open_datatree`` / ``open_groups`` give every series (see
    :meth:`dbdicom.Database.to_datatree`); their ``group`` (a path, UID or
    description) gives the tree below that node.

    xarray's CF switches (``decode_times``, ``decode_timedelta``,
    ``use_cftime``, ``mask_and_scale``, ``concat_characters``,
    ``decode_coords``) are accepted and change nothing: there is no CF
    encoding to undo. ``decode_times=False`` in particular still gives
    dates (VR DA) and date-times (DT) as ``datetime64`` and times of day
    (TM) as seconds since midnight: these are not a decoding of stored
    numbers, as CF times are, but what :meth:`dbdicom.Series.to_xarray`
    reads from the DICOM text, the same whatever the switch, so that a
    script that passes it to every backend gets the same DataArray here.
    The text as the files hold it (``"20240115"``, ``"103010"``) is what
    a record's attribute gives (``series.AcquisitionTime``: one value per
    file where the files differ); it cannot be had as a coordinate, as
    the times of a series acquired across midnight count on from the first
    day's midnight (86410 s), which no DICOM time of day can say.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> from dbdicom._demo import build_demo
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = build_demo(folder)
    ...     da = xr.open_dataarray(folder, group="VFA")   # no engine: guessed
    ...     da.dims, da.chunks, da.isel(SliceLocation=0, FlipAngle=1).values.shape
    ...     chunks = {"SliceLocation": 3, "FlipAngle": -1}
    ...     xr.open_dataarray(folder, engine="dbdicom", group="VFA", chunks=chunks).chunks
    ...     tree = xr.open_datatree(folder, engine="dbdicom")
    ...     sorted(tree.children)
    (('SliceLocation', 'FlipAngle', 'row', 'column'), None, (64, 64))
    ((3, 3), (4,), (64,), (64,))
    ['Phantom_Alpha_DEMO-001', 'Phantom_Beta_DEMO-002']
    """

    description = "Folders and files of DICOM: each series a lazy DataArray (dbdicom)"
    url = "https://github.com/QIB-Sheffield/dbdicom"
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "group",
        "series",
        "dims",
        "fill",
        "storage_options",
        *_CF_DECODERS,
    )
    supports_groups = True

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        series: str | None = None,
        dims: str | Sequence[str] | None = None,
        fill: bool = False,
        storage_options: Mapping[str, Any] | None = None,
        **decoders: Any,
    ) -> xr.Dataset:
        unknown = sorted(set(decoders) - set(_CF_DECODERS))
        if unknown:
            raise TypeError(f"open_dataset() got unexpected keyword arguments {unknown}")
        db = _open(filename_or_obj, storage_options)
        ds = open_group(db, group if group is not None else series, dims=dims, fill=fill)
        return _dropped(ds, drop_variables)

    def open_groups_as_dict(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        fill: bool = False,
        storage_options: Mapping[str, Any] | None = None,
    ) -> dict[str, xr.Dataset]:
        db = _open(filename_or_obj, storage_options)
        nodes = tree_of(db, group, fill=fill, chunks=False).nodes
        return {path: _dropped(ds, drop_variables) for path, ds in nodes.items()}

    def open_datatree(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        group: str | None = None,
        fill: bool = False,
        storage_options: Mapping[str, Any] | None = None,
    ) -> xr.DataTree:
        groups = self.open_groups_as_dict(
            filename_or_obj,
            drop_variables=drop_variables,
            group=group,
            fill=fill,
            storage_options=storage_options,
        )
        return xr.DataTree.from_dict(groups)

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """A DICOM file, a folder indexed by dbdicom or holding one, a ``dicomweb+`` URL.

        Other URLs (``s3://``, ``https://``...) are not looked into: xarray
        asks every backend about every URL it opens, and a listing of a
        store for each would cost them all; ``engine="dbdicom"`` opens them.
        """
        try:
            path = os.fspath(filename_or_obj)
        except TypeError:
            return False
        if isinstance(path, bytes):
            return False
        if "://" in path:
            return path.lower().startswith("dicomweb+")
        return looks_like_dicom(path)
