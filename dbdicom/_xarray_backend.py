"""``xr.open_dataarray(folder, engine="dbdicom", ...)``: the xarray backend.

Like xarray's own backends, ``open_dataset`` gives variables whose data are
lazily indexed backend arrays (:class:`dbdicom._arrays._lazy.FramesBackendArray`,
via ``Series.to_xarray(chunks=False)``): no dask unless ``chunks=`` asks for
it, and then xarray makes the dask array. ``encoding["preferred_chunks"]``
says what is stored: frames, each read on its own (see
:func:`dbdicom._arrays._lazy.preferred_chunks`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint

from ._accessor import register_accessor
from ._arrays import preferred_chunks
from ._errors import DicomError
from ._records import database

__all__ = ["DbdicomBackendEntrypoint"]

register_accessor()  # xarray is imported: da.dicom works on what this backend opens


class DbdicomBackendEntrypoint(BackendEntrypoint):
    """Open one series of a folder of DICOM files as a lazy Dataset.

    Parameters of ``open_dataset`` / ``open_dataarray``: ``series`` (a
    SeriesInstanceUID or SeriesDescription; may be left out when the folder
    holds a single series), ``dims`` and ``fill`` as in
    :meth:`dbdicom.Series.to_xarray`. Without ``chunks`` the data are lazily
    indexed (no dask), and a selection reads only its frames. ``chunks={}``
    gives a dask chunk per frame; ``chunks={dim: n}`` ``n`` grid points a
    chunk along ``dim`` (-1: all), one along the tag dims not named.

    Examples
    --------
    >>> import tempfile, xarray as xr
    >>> from dbdicom._demo import build_demo
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = build_demo(folder)
    ...     da = xr.open_dataarray(folder, engine="dbdicom", series="VFA")
    ...     da.dims, da.chunks, da.isel(SliceLocation=0, FlipAngle=1).values.shape
    ...     chunks = {"SliceLocation": 3, "FlipAngle": -1}
    ...     xr.open_dataarray(folder, engine="dbdicom", series="VFA", chunks=chunks).chunks
    (('SliceLocation', 'FlipAngle', 'row', 'column'), None, (64, 64))
    ((3, 3), (4,), (64,), (64,))
    """

    description = "A series of a folder of DICOM files, lazily (dbdicom)"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "series", "dims", "fill")

    def open_dataset(  # type: ignore[override]
        self,
        filename_or_obj: str | os.PathLike[str],
        *,
        drop_variables: str | Iterable[str] | None = None,
        series: str | None = None,
        dims: Sequence[str] | None = None,
        fill: bool = False,
    ) -> xr.Dataset:
        db = database(filename_or_obj)
        everything = db.series()
        if series is None:
            if len(everything) != 1:
                names = [s.label() for s in everything]
                raise DicomError(
                    f"{filename_or_obj} holds {len(everything)} series ({names}): "
                    "choose one with series=<SeriesInstanceUID or SeriesDescription>"
                )
            chosen = everything[0]
        else:
            matches = [s for s in everything if s.uid == series] or db.series(
                SeriesDescription=series
            )
            if len(matches) != 1:
                raise DicomError(
                    f"{len(matches)} series match series={series!r} in {filename_or_obj}: "
                    "give a SeriesInstanceUID, or a SeriesDescription that only one series has"
                )
            chosen = matches[0]
        da = chosen.to_xarray(dims, fill=fill, chunks=False)
        da.encoding["preferred_chunks"] = preferred_chunks(dict(da.sizes))
        name = da.name or "pixels"
        ds = da.to_dataset(name=name)
        if drop_variables:
            drop = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            ds = ds.drop_vars(drop, errors="ignore")
        return ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Only folders that dbdicom has indexed before are claimed without ``engine=``."""
        try:
            return os.path.isdir(os.path.join(os.fspath(filename_or_obj), ".dbdicom"))
        except TypeError:
            return False
