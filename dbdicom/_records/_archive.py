"""``db.dicomweb``: a DICOMweb archive opened as a database (see ``_web``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._interaction import DialogLike, StatusLike
from ._database import Database
from ._web import open_archive

__all__ = ["dicomweb"]


def dicomweb(
    url: str,
    *,
    session: Any = None,
    cache: str | os.PathLike[str] | None = None,
    status: StatusLike | None = None,
    dialog: DialogLike | None = None,
    **filters: Any,
) -> Database:
    """Open a DICOMweb archive (Orthanc, dcm4chee, a cloud DICOM store) as a database.

    ``db.database("dicomweb+http://host:port/dicom-web")`` does the same
    without a session. The series are listed with QIDO-RS, their headers
    fetched with WADO-RS metadata (one request per new series) and kept in
    ``cache``; queries and attributes work as for a folder, and
    ``to_xarray()`` reads the frames from the server when computed, also on
    a dask cluster. Store a series into the archive with
    ``series.export_as_dicom(url)``. Needs ``dbdicom[dicomweb]``; see
    docs/dicomweb.md.

    Parameters
    ----------
    url : str
        The root of the DICOMweb services, ``http(s)://...`` with or without
        ``dicomweb+``; a user name and password in it are taken out of it
        and used as HTTP basic authentication.
    session : requests.Session, optional
        Its ``auth`` and headers (a token) are used for every request, also
        by dask workers in other processes (they must pickle).
    cache : path, optional
        Where the headers are kept (default: the user cache, a folder per URL).
    **filters
        Which series to hold, in the syntax of :meth:`Database.series`
        (``Modality="MR"``, ``StudyDate="20240101-"``, ``SeriesDescription="T1*"``):
        the server matches those QIDO-RS can (only those series' headers are
        fetched); dbdicom matches all of them again on the headers (a
        function, an instance-level tag such as ``FlipAngle``).

    Raises
    ------
    dbdicom.ServerError
        The server cannot be reached or is not a DICOMweb service;
        :class:`dbdicom.ServerAccessError` when it answers 401 or 403. The
        message names the URL without credentials, the cause and the way out.

    Examples
    --------
    >>> db.dicomweb("dicomweb+http://127.0.0.1:9/dicom-web")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._errors.ServerError: listing the series of http://127.0.0.1:9/dicom-web failed: ...
    """

    def make(folder: Path) -> Database:
        return Database(folder, status=status, dialog=dialog)

    return open_archive(url, session, cache, make, filters)
