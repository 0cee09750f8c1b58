"""dbdicom: a folder of DICOM files as a database.

>>> import dbdicom as db
>>> sorted(db.__all__)[:3]
['Database', 'DatabaseNotFoundError', 'DecoderNotFoundError']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _arrays, _export, _facade
from ._accessor import DicomAccessor, register_accessor
from ._errors import (
    DatabaseNotFoundError,
    DecoderNotFoundError,
    DicomError,
    DicomWarning,
    DiffusionError,
    DiskFullError,
    ElementNotFoundError,
    EmptyRecordError,
    FileGoneError,
    GeometryError,
    GridError,
    GroupError,
    IndexDamagedError,
    InvalidFileError,
    InvalidValueError,
    LabelConflictError,
    MediumError,
    ReadOnlyError,
    ServerAccessError,
    ServerError,
    StaleFileError,
    StorageAccessError,
    StorageBackendError,
    StorageError,
    StorageObjectNotFoundError,
    UnknownAttributeError,
    UnknownTagError,
    VirtualZarrError,
)
from ._index import TAGS as _TAGS
from ._interaction import DialogLike, Status, StatusLike, TerminalDialog
from ._records import Database, Instance, Patient, Record, Series, Study, database, dicomweb
from ._version import VERSION as __version__

if TYPE_CHECKING:
    import xarray as xr

# da.dicom: now if xarray is already imported, else once dbdicom's arrays load it
if not register_accessor():
    _facade.after_lazy_import(register_accessor)


def to_xarray(
    series: Series | Sequence[Series],
    dims: str | Sequence[str] | None = None,
    *,
    fill: bool = False,
) -> xr.DataArray:
    """Several series (or one) as one lazy DataArray, stacked along tag dims.

    See :meth:`Series.to_xarray`; frames of all the series are placed on one
    grid, e.g. two series at flip angles 5 and 10 along ``FlipAngle``. The
    attrs hold what all frames share: what the series differ in (their
    ``SeriesInstanceUID``, ``SeriesDescription``...) is a coordinate on the
    dims it varies along.
    """
    if isinstance(series, Series):
        return series.to_xarray(dims, fill=fill)
    return _arrays.stack(list(series), dims, fill=fill)


def open_zarr(path: Any, storage_options: Any = None) -> xr.DataArray:
    """A series exported with ``export_as_zarr``, back as the same lazy DataArray.

    ``path`` is the series' ``.zarr`` store, a local path or a URL
    (``s3://...``, with fsspec's ``storage_options``). See
    :func:`dbdicom._export.open_zarr` (its module, which needs xarray, is
    imported when this is first called, so that ``import dbdicom`` stays light).
    """
    return _export.open_zarr(path, storage_options)


def series(array: Any = None, dtype: str = "mri", **attributes: Any) -> Series:
    """A new series in a new database without a folder (see :func:`database`).

    ``array`` is the pixel values ``(..., row, column)`` or just a shape (then
    zeros); ``attributes`` are DICOM keywords of the new series (and of its
    new study and patient). Keep it with ``series.save(path)``.

    Examples
    --------
    >>> import numpy as np, dbdicom as db
    >>> series = db.series(np.random.normal(size=(10, 32, 48)))
    >>> series.PatientName = "Random noise"; series.StudyDate = "20221119"
    >>> series.Rows, series.Columns, len(series.instances())
    ([32], [48], 10)
    >>> db.series((2, 8, 8)).Rows
    [8]
    """
    new = database().new_series(**attributes)
    values = np.zeros(array, dtype=np.uint16) if isinstance(array, tuple) else array
    if values is None:
        return new  # type: ignore[return-value]
    if dtype.lower() not in ("mri", "mr"):
        raise ValueError(f"dtype {dtype!r}: only 'mri' (MR Image) images are made here.")
    return new.set_array(np.asarray(values))


#: The tags the index holds for every file (keywords): queries on them need no
#: file read, and a DataArray's coordinates and attrs are of these (any other tag
#: of a series: ``series.Keyword``).
INDEX_TAGS: tuple[str, ...] = tuple(_TAGS)


__all__ = [
    "INDEX_TAGS",
    "Database",
    "DatabaseNotFoundError",
    "DecoderNotFoundError",
    "DialogLike",
    "DicomAccessor",
    "DicomError",
    "DicomWarning",
    "DiskFullError",
    "ElementNotFoundError",
    "EmptyRecordError",
    "DiffusionError",
    "GeometryError",
    "GridError",
    "GroupError",
    "Instance",
    "InvalidFileError",
    "InvalidValueError",
    "LabelConflictError",
    "MediumError",
    "Patient",
    "IndexDamagedError",
    "ReadOnlyError",
    "ServerAccessError",
    "ServerError",
    "StaleFileError",
    "FileGoneError",
    "StorageAccessError",
    "StorageBackendError",
    "StorageError",
    "StorageObjectNotFoundError",
    "Record",
    "Series",
    "Status",
    "StatusLike",
    "Study",
    "TerminalDialog",
    "UnknownAttributeError",
    "UnknownTagError",
    "VirtualZarrError",
    "__version__",
    "database",
    "dicomweb",
    "open_zarr",
    "series",
    "to_xarray",
]
