"""One exception hierarchy for dbdicom.

Every error raised on purpose by dbdicom is a :class:`DicomError`. Subclasses
also inherit the built-in exception that matches their meaning, so that code
written for plain Python (``except KeyError``) keeps working.
"""

from __future__ import annotations

__all__ = [
    "DicomError",
    "DatabaseNotFoundError",
    "EmptyRecordError",
    "DecoderNotFoundError",
    "InvalidFileError",
    "InvalidValueError",
    "UnknownAttributeError",
    "UnknownTagError",
    "GridError",
    "GeometryError",
    "ReadOnlyError",
    "StaleFileError",
]


class DicomError(Exception):
    """Base class of every error raised on purpose by dbdicom."""


class DatabaseNotFoundError(DicomError, FileNotFoundError):
    """The folder given as a database does not exist or is not a folder."""


class InvalidFileError(DicomError, ValueError):
    """A file could not be read as DICOM (the message says why and where)."""


class InvalidValueError(DicomError, ValueError):
    """A value that is not valid for the VR of the tag it is assigned to."""


class DecoderNotFoundError(DicomError, ImportError):
    """No installed plugin decodes the compressed pixel data of a file.

    The message names the file, the transfer syntax and the package to install.
    """


class UnknownAttributeError(DicomError, AttributeError):
    """A name is neither a DICOM keyword, a custom attribute nor a method."""


class UnknownTagError(DicomError, KeyError):
    """A tag, keyword or custom attribute name that dbdicom does not know."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep messages readable
        return str(self.args[0]) if self.args else ""


class GridError(DicomError, ValueError):
    """Frames do not fit the grid of the dims asked for.

    Collisions, holes, a dim no frame has: the message names the values, the
    files and the way out.
    """


class GeometryError(GridError):
    """Frames of different sizes or orientations would be stacked together."""


class EmptyRecordError(DicomError, LookupError):
    """A method needs files, and the record has none yet.

    A new patient, study or series lives in memory until a file is written
    below it; the message names what is missing and how to add it.
    """


class ReadOnlyError(DicomError, PermissionError):
    """A change was asked of a database that cannot be changed.

    A read-only folder, another process editing it, or a closed database.
    """


class StaleFileError(DicomError, RuntimeError):
    """A file changed since it was indexed, and no longer fits the array built from it.

    Its header now gives another image size or pixel type than the array
    was made for; the message names the file. Reopen the folder, or call
    ``database.refresh()``, and build the array again.
    """
