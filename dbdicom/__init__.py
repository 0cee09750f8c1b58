"""dbdicom: a folder of DICOM files as a database.

>>> import dbdicom as db
>>> sorted(db.__all__)[:3]
['Database', 'DatabaseNotFoundError', 'DicomError']
"""

from ._errors import (
    DatabaseNotFoundError,
    DicomError,
    InvalidFileError,
    ReadOnlyError,
    UnknownAttributeError,
    UnknownTagError,
)
from ._interaction import Status
from ._records import Database, Instance, Patient, Record, Series, Study, database

__version__ = "0.1.0"

__all__ = [
    "Database",
    "DatabaseNotFoundError",
    "DicomError",
    "Instance",
    "InvalidFileError",
    "Patient",
    "ReadOnlyError",
    "Record",
    "Series",
    "Status",
    "Study",
    "UnknownAttributeError",
    "UnknownTagError",
    "__version__",
    "database",
]
