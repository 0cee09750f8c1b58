"""The four levels of the hierarchy below a database."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._record import Record

__all__ = ["Patient", "Study", "Series", "Instance"]


def _first(record: Record, keyword: str) -> Any:
    rows = record._rows()
    if not len(rows):  # a new record without files: its own attributes
        found = record.get(keyword)
        return found[0] if found else None
    values = record._db._values(rows[:1], keyword)
    return values[0] if values else None


class Patient(Record):
    """A patient (or volunteer, animal, phantom): keyed by PatientID."""

    __slots__ = ()
    level = "patient"

    def label(self) -> str:
        name = _first(self, "PatientName")
        return str(name) if name else self._key


class Study(Record):
    """A study: one examination of a patient, keyed by StudyInstanceUID."""

    __slots__ = ()
    level = "study"

    def label(self) -> str:
        desc = _first(self, "StudyDescription")
        date = _first(self, "StudyDate")
        text = str(desc) if desc else "(no description)"
        return f"{text} [{date}]" if date else text


class Instance(Record):
    """One instance (one file): an image, a multi-frame image or another object."""

    __slots__ = ()
    level = "instance"

    def label(self) -> str:
        number = _first(self, "InstanceNumber")
        return f"instance {number}" if number is not None else self._key

    @property
    def path(self) -> str:
        """The absolute path of the instance's file."""
        return self._db._files(self._rows())[0]


class _SeriesArrays:
    """Array methods of :class:`Series`, delegated to the arrays layer."""

    __slots__ = ()

    def to_xarray(
        self,
        dims: Sequence[str] | None = None,
        *,
        fill: bool = False,
        chunks: dict[str, int] | None = None,
    ) -> Any:
        """The series as a lazy, labelled :class:`xarray.DataArray`.

        Nothing is read until the values are needed, and a selection reads
        only the frames it selects.

        Parameters
        ----------
        dims : list of str, optional
            DICOM keywords to use as dims, e.g. ``["SliceLocation",
            "FlipAngle"]``; any tag works, also tags not in the index (read
            once, then remembered), and ``"frame"`` (the frame number of a
            multi-frame file). By default the tags that put every frame on a
            full grid, slice position first (see :data:`dbdicom._arrays.AUTO_DIMS`).
        fill : bool
            Allow grid points without a frame (NaN there); refused otherwise.
        chunks : dict, optional
            Grid points per dask chunk along tag dims, e.g.
            ``{"SliceLocation": 1, "AcquisitionTime": -1}`` (-1: the whole
            dim). By default chunks of about 8 MiB, filling the last dims
            first. Whatever the chunks, selecting along tag dims (``sel``,
            ``isel``, indexing) reads only the frames selected.

        Returns
        -------
        xarray.DataArray
            Dims: the tag dims, then ``row``, ``column`` (and ``channel`` for
            colour images). Coordinates: the dims' values; ``SOPInstanceUID``
            of every frame; every other per-frame value that varies (e.g.
            ``AcquisitionTime``, ``ImagePositionPatient``). Attrs: the values
            shared by all frames, and ``affine`` (4 x 4, maps (column, row,
            slice) indices to patient LPS mm) when the geometry defines one.
            Values are in physical units (RescaleSlope and RescaleIntercept
            applied): integers stay integers when the rescale allows it,
            otherwise ``float32``. Times (VR TM) are seconds since midnight.

        Raises
        ------
        GridError
            Frames that collide on one grid point, a grid with empty points,
            a dim that no frame has; the message names the values, the files
            and the way out.
        GeometryError
            Frames of different sizes or orientations (use :meth:`to_xarrays`).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> da = vfa.to_xarray()
        >>> da.dims
        ('SliceLocation', 'FlipAngle', 'row', 'column')
        >>> da.FlipAngle.values.tolist()
        [2.0, 5.0, 10.0, 15.0]
        >>> frame = da.sel(FlipAngle=10).isel(SliceLocation=3).values  # reads one frame
        >>> frame.shape
        (64, 64)
        >>> da.attrs["affine"].shape
        (4, 4)
        """
        from .._arrays import build_dataarray

        series: Any = self
        series._db._editor.sync(series._rows())
        return build_dataarray(
            series._db.index,
            series._rows(),
            dims,
            fill=fill,
            name=_name(series),
            token=series.uid,
            chunks=chunks,
        )

    def to_xarrays(self, dims: Sequence[str] | None = None, *, fill: bool = False) -> list[Any]:
        """One DataArray per group of frames of one size and orientation.

        For series that mix geometries (a localizer inside an axial series);
        the groups come largest first.
        """
        from .._arrays import build_dataarray
        from .._arrays._frames import Frames, geometry_groups

        series: Any = self
        series._db._editor.sync(series._rows())
        index = series._db.index
        rows = series._rows()
        groups = geometry_groups(Frames(index, rows))
        ordered = sorted(groups, key=lambda k: -len(groups[k]))
        return [
            build_dataarray(
                index, rows, dims, fill=fill, name=_name(series), token=series.uid, group=key
            )
            for key in ordered
        ]

    def array(
        self, sortby: Sequence[str] | str | None = None, pixels_first: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pixel values as a numpy array, with the instances they come from.

        Parameters
        ----------
        sortby : list of str, optional
            DICOM keywords to sort the images by, one axis each.
        pixels_first : bool
            Put the pixel axes first: ``(row, column, *sortby, n)``.

        Returns
        -------
        array : numpy.ndarray
            ``(*sortby, n, row, column)``: ``n`` enumerates the images at the
            same values of the ``sortby`` tags (by InstanceNumber); without
            ``sortby``, ``(n, row, column)``.
        header : numpy.ndarray
            Object array shaped like the non-pixel axes, holding each image's
            :class:`Instance` (None where a grid point has fewer images).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> array, header = vfa.array(["SliceLocation", "FlipAngle"])
        >>> array.shape, header.shape
        ((6, 4, 1, 64, 64), (6, 4, 1))
        >>> [hdr.FlipAngle for hdr in header[0, :, 0]]
        [2.0, 5.0, 10.0, 15.0]
        >>> vfa.array(["SliceLocation", "FlipAngle"], pixels_first=True)[0].shape
        (64, 64, 6, 4, 1)
        """
        from .._arrays import array_and_header, build_dataarray

        series: Any = self
        series._db._editor.sync(series._rows())
        dims = [sortby] if isinstance(sortby, str) else (list(sortby) if sortby else [])
        da = build_dataarray(
            series._db.index, series._rows(), dims, repeats=True, token=series.uid, fill=True
        )
        return array_and_header(
            da, series._db.index, lambda k: Instance(series._db, k), pixels_first
        )

    def export_as_npy(
        self,
        path: str | os.PathLike[str],
        sortby: Sequence[str] | None = None,
        pixels_first: bool = False,
    ) -> Path:
        """Save :meth:`array` as ``.npy``: to ``path`` if it ends in ``.npy``, else
        into the folder ``path`` as ``<SeriesDescription>.npy``. Returns the file."""
        from .._arrays import export_npy

        array, _ = self.array(sortby, pixels_first=pixels_first)
        series: Any = self
        series._db._editor.sync(series._rows())
        return export_npy(array, path, _name(series) or series.uid)


def _name(series: Any) -> str | None:
    desc = _first(series, "SeriesDescription")
    return str(desc) if desc else None


class Series(_SeriesArrays, Record):
    """A series: images acquired or derived together, keyed by SeriesInstanceUID."""

    __slots__ = ()
    level = "series"

    def label(self) -> str:
        desc = _first(self, "SeriesDescription")
        number = _first(self, "SeriesNumber")
        text = str(desc) if desc else "(no description)"
        return f"{number}: {text}" if number is not None else text
