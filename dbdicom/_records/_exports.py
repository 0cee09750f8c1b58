"""The export methods every record has, delegated to the export layer."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _export
from .._errors import DiskFullError, disk_full
from ._empty import require_files

if TYPE_CHECKING:
    from .._export import ExportedPath

__all__ = ["Exports", "export_space"]


@contextlib.contextmanager
def export_space(path: str | os.PathLike[str]) -> Iterator[None]:
    """An export into ``path``: a full disk there is a :class:`DiskFullError` that says so.

    Each exported file is written whole to a temporary name first, deleted
    when the writing fails (see ``dbdicom._export``): the files exported
    before the disk filled up are complete, and no half-written one stays.
    """
    try:
        yield
    except OSError as exc:
        if not disk_full(exc) or isinstance(exc, DiskFullError):
            raise
        raise DiskFullError(
            f"The disk of {os.fspath(path)} is full ({exc.strerror or exc}): the export "
            "stopped; the files exported before it are complete, and no half-written one "
            "is left. Free some space on it (or export elsewhere), then export again.",
            exc.errno,
        ) from exc


class Exports:
    """``export_as_*`` of :class:`Record`: the record's files in other formats.

    Each writes into the folder layout of :mod:`dbdicom._export`, one
    module per format. A database, patient or study exports every series it
    can: a series that cannot be exported in the format (no image, no grid,
    no decoder, no affine for NIfTI...) is skipped with a message saying
    which and why, and a last message lists them. The folder returned is an
    ``ExportedPath``: a :class:`pathlib.Path` whose ``skipped`` lists those
    series (label, folder, reason) and ``exported`` counts the others. A
    series or an instance exported on its own raises the
    :class:`dbdicom.DicomError` instead.
    """

    __slots__ = ()

    def _synced(self) -> Any:
        """The record, once the edits held in memory for its files are written."""
        record: Any = self
        require_files(record, "export")
        record._db._editor.sync(record._rows())
        return record

    def export_as_dicom(self, path: str | os.PathLike[str], dicomdir: bool = False) -> ExportedPath:
        """Copy this record's files, unchanged, into ``path``/patient/study/series/.

        Folder names are readable and filesystem-safe. Returns ``path``.
        Raises ``NotADirectoryError`` if ``path`` is a file and
        ``PermissionError`` if it cannot be written.

        With ``dicomdir=True`` the files go into ``path`` as a DICOM medium
        (a CD, DVD or USB stick's File-set): named in the media layout
        (``PT000000/ST000000/SE000000/IM000000``) and listed by a
        ``DICOMDIR`` that pydicom's ``FileSet`` writes. ``path`` must be
        empty; a series whose files lack a value the DICOMDIR's records
        need (a Study ID, a Series Number...) is skipped with a message,
        or raises :class:`~dbdicom.MediumError` when exported on its own.
        See docs/media.md.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> out = database.studies(Modality="CT")[0].export_as_dicom(tempfile.mkdtemp())
        >>> len(list(pathlib.Path(out).rglob("*.dcm")))
        10
        """
        record = self._synced()
        with export_space(path):
            if dicomdir:
                return _export.export_dicomdir(record, path)
            return _export.export_dicom(record, path)

    def export_as_csv(self, path: str | os.PathLike[str]) -> ExportedPath:
        """One CSV table per series: a row per instance, a column per top-level tag.

        Sequences are summarised as ``<sequence of N items>``, binary values
        by their size; files go into ``path``/patient/study/series.csv.
        """
        record = self._synced()
        with export_space(path):
            return _export.export_csv(record, path)

    def export_as_nifti(self, path: str | os.PathLike[str]) -> ExportedPath:
        """One NIfTI file (``.nii.gz`` + JSON sidecar) per series, in the layout.

        3-D, or 4-D for series with tag dims besides ``SliceLocation``; the
        affine converted from DICOM LPS to NIfTI RAS. Needs nibabel:
        ``pip install "dbdicom[nifti]"``.
        """
        record = self._synced()
        with export_space(path):
            return _export.export_nifti(record, path)

    def export_as_npy(self, path: str | os.PathLike[str], sortby: Any = None) -> Path:
        """One ``.npy`` file per series (see :meth:`Series.array`), in the layout.

        Returns an ``ExportedPath`` (a series: the file it wrote, a plain path).
        """
        record = self._synced()
        with export_space(path):
            return _export.export_npy_all(record, path, sortby)

    def export_as_png(self, path: str | os.PathLike[str]) -> ExportedPath:
        """One PNG image per frame, into ``path``/patient/study/series/.

        Grey-scale frames are windowed with the WindowCenter and WindowWidth
        of their header (the first if several; the frame's minimum and
        maximum without them) and saved as 8-bit grey PNGs, or as RGB PNGs
        through the matplotlib colormap of the instance's ``colormap``.
        Files are named ``<InstanceNumber>.png``, or
        ``<InstanceNumber>_frame<k>.png`` for multi-frame files. Instances
        without an image are skipped with a message. Returns ``path``.
        Raises ``NotADirectoryError`` if ``path`` is a file and
        ``PermissionError`` if it cannot be written. Needs matplotlib:
        ``pip install "dbdicom[plot]"``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> vfa.colormap = "viridis"
        >>> out = vfa.export_as_png(tempfile.mkdtemp())
        >>> pngs = sorted(pathlib.Path(out).rglob("*.png"))
        >>> len(pngs), pngs[0].parent.name, pngs[0].name
        (24, '3_VFA', '1.png')
        >>> database.restore()
        24
        """
        record = self._synced()
        with export_space(path):
            return _export.export_png(record, path)

    def export_as_zarr(
        self, path: str | os.PathLike[str], chunks: dict[str, int] | None = None
    ) -> ExportedPath:
        """One Zarr store per series, ``path``/patient/study/series.zarr.

        Each store holds the series' DataArray (see :meth:`Series.to_xarray`)
        with its dims, coordinates and attrs; ``dbdicom._export.open_zarr``
        reads it back identical. Tuples, arrays and per-frame objects are
        encoded for Zarr's JSON metadata (documented in
        :mod:`dbdicom._export`); plain xarray and Zarr read the stores too.
        Written chunk by chunk from dask, never computed as a whole;
        ``chunks`` (grid points per chunk along tag dims, as in
        ``to_xarray``) sets the Zarr chunks. A series mixing image sizes or
        orientations gives one store per group (``_1``, ``_2``... appended,
        with a message); instances without an image are skipped with a
        message. Returns ``path``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> out = database.studies(Modality="CT")[0].export_as_zarr(tempfile.mkdtemp())
        >>> [p.name for p in pathlib.Path(out).rglob("*.zarr")]
        ['1_CT_phantom.zarr']
        """
        record = self._synced()
        with export_space(path):
            return _export.export_zarr(record, path, chunks)
