"""dbdicom: a folder of DICOM files as a database.

>>> import dbdicom as db
>>> sorted(db.__all__)[:3]
['Database', 'DatabaseNotFoundError', 'DecoderNotFoundError']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._errors import (
    DatabaseNotFoundError,
    DecoderNotFoundError,
    DicomError,
    GeometryError,
    GridError,
    InvalidFileError,
    InvalidValueError,
    ReadOnlyError,
    UnknownAttributeError,
    UnknownTagError,
)
from ._interaction import DialogLike, Status, StatusLike, TerminalDialog
from ._records import Database, Instance, Patient, Record, Series, Study, database

if TYPE_CHECKING:
    import xarray as xr


def to_xarray(
    series: Series | Sequence[Series], dims: Sequence[str] | None = None, *, fill: bool = False
) -> xr.DataArray:
    """Several series (or one) as one lazy DataArray, stacked along tag dims.

    See :meth:`Series.to_xarray`; frames of all the series are placed on one
    grid, e.g. two series at flip angles 5 and 10 along ``FlipAngle``.
    """
    from ._arrays import stack

    if isinstance(series, Series):
        return series.to_xarray(dims, fill=fill)
    return stack(list(series), dims, fill=fill)


__version__ = "0.1.0"

__all__ = [
    "Database",
    "DatabaseNotFoundError",
    "DecoderNotFoundError",
    "DialogLike",
    "DicomError",
    "GeometryError",
    "GridError",
    "Instance",
    "InvalidFileError",
    "InvalidValueError",
    "Patient",
    "ReadOnlyError",
    "Record",
    "Series",
    "Status",
    "StatusLike",
    "Study",
    "TerminalDialog",
    "UnknownAttributeError",
    "UnknownTagError",
    "__version__",
    "database",
    "to_xarray",
]
