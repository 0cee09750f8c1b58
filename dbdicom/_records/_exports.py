"""The export methods every record has, delegated to the export layer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import _export
from ._empty import require_files

__all__ = ["Exports"]


class Exports:
    """``export_as_*`` of :class:`Record`: the record's files in other formats.

    Each writes into the folder layout of :mod:`dbdicom._export`, one
    module per format.
    """

    __slots__ = ()

    def _synced(self) -> Any:
        """The record, once the edits held in memory for its files are written."""
        record: Any = self
        require_files(record, "export")
        record._db._editor.sync(record._rows())
        return record

    def export_as_dicom(self, path: str | os.PathLike[str]) -> Path:
        """Copy this record's files, unchanged, into ``path``/patient/study/series/.

        Folder names are readable and filesystem-safe. Returns ``path``.
        Raises ``NotADirectoryError`` if ``path`` is a file and
        ``PermissionError`` if it cannot be written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> out = database.studies(Modality="CT")[0].export_as_dicom(tempfile.mkdtemp())
        >>> len(list(pathlib.Path(out).rglob("*.dcm")))
        10
        """
        return _export.export_dicom(self._synced(), path)

    def export_as_csv(self, path: str | os.PathLike[str]) -> Path:
        """One CSV table per series: a row per instance, a column per top-level tag.

        Sequences are summarised as ``<sequence of N items>``, binary values
        by their size; files go into ``path``/patient/study/series.csv.
        """
        return _export.export_csv(self._synced(), path)

    def export_as_nifti(self, path: str | os.PathLike[str]) -> Path:
        """One NIfTI file (``.nii.gz`` + JSON sidecar) per series, in the layout.

        3-D, or 4-D for series with tag dims besides ``SliceLocation``; the
        affine converted from DICOM LPS to NIfTI RAS. Needs nibabel:
        ``pip install "dbdicom[nifti]"``.
        """
        return _export.export_nifti(self._synced(), path)

    def export_as_npy(self, path: str | os.PathLike[str], sortby: Any = None) -> Path:
        """One ``.npy`` file per series (see :meth:`Series.array`), in the layout."""
        return _export.export_npy_all(self._synced(), path, sortby)

    def export_as_png(self, path: str | os.PathLike[str]) -> Path:
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
        return _export.export_png(self._synced(), path)

    def export_as_zarr(
        self, path: str | os.PathLike[str], chunks: dict[str, int] | None = None
    ) -> Path:
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
        return _export.export_zarr(self._synced(), path, chunks)
