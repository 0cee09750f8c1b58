"""The four levels of the hierarchy below a database."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _arrays, _export
from ._copies import subseries
from ._exports import exported_to
from ._mapping import map_mask_to, map_to
from ._record import Record
from ._tree_facts import facts_of
from ._write import set_xarray
from ._write_numpy import write_array

if TYPE_CHECKING:
    from .._arrays import Chunks

__all__ = ["Patient", "Study", "Series", "Instance"]


def _first(record: Record, keyword: str) -> Any:
    facts = facts_of(record)  # a tree being drawn: found for all records at once
    if facts is not None:
        return facts.first(record, keyword)
    rows = record._rows()
    if not len(rows):  # a new record without files: its own attributes
        found = record.unique(keyword)
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
        """The absolute path of the instance's file.

        Its URL in a remote store, or on the server for a DICOMweb archive.
        """
        return self._db._files(self._rows())[0]


class _SeriesArrays:
    """Array methods of :class:`Series`, delegated to the arrays layer."""

    __slots__ = ()

    def to_xarray(
        self,
        dims: str | Sequence[str] | None = None,
        *,
        fill: bool = False,
        chunks: Chunks = None,
    ) -> Any:
        """The series as a lazy, labelled :class:`xarray.DataArray`.

        Nothing is read until the values are needed, and a selection reads
        only the frames it selects. The data are a dask array by default (to
        compute in parallel, on threads or a ``dask.distributed`` cluster);
        with ``chunks=False`` they are lazily indexed without dask, as
        xarray's own backends give them.

        Parameters
        ----------
        dims : str or list of str, optional
            DICOM keywords to use as dims, e.g. ``["SliceLocation",
            "FlipAngle"]``, or one as a ``str`` (``"SliceLocation"``); any
            tag works, also tags not in the index (read once, then
            remembered), and ``"frame"`` (the 0-based index of a frame in
            its multi-frame file, an integer, as numpy counts: DICOM numbers
            frames from 1, so ``ReferencedFrameNumber`` and WADO-RS
            ``/frames/N`` are this + 1; for single-frame instances, their
            order by InstanceNumber). By default the dims of enhanced files' own
            Dimension Index (``SliceLocation`` and the tags it points at, or
            ``cardiac_phase``, ``diffusion``, ``StackID``: see
            docs/arrays.md); for a diffusion series of single-frame files
            ``SliceLocation`` and ``diffusion``; else the tags that put every
            frame on a full grid, slice position first (see
            :data:`dbdicom._arrays.AUTO_DIMS`), then, where frames still share
            a point, ``cardiac_phase`` for a cine (CardiacNumberOfImages,
            trigger times that differ by slice) or ``frame`` (a written
            ``frame`` dim reads back so, unless it is such a cine).
        fill : bool
            Allow grid points without a frame (NaN there); refused otherwise.
        chunks : dict, int, str or bool, optional
            Grid points per dask chunk along the tag dims, as dask takes
            them (the pixel dims are never split): a dict of tag dims, e.g.
            ``{"SliceLocation": 1, "AcquisitionTime": -1}`` (-1 or None: the
            whole dim; ``"auto"``: dask chooses; tag dims not named: one
            point a chunk); an int for every tag dim (-1: all in one chunk);
            ``"auto"`` (or a size in bytes, ``"64MiB"``) to let dask choose,
            by its ``array.chunk-size``. By default (None, True or ``{}``)
            chunks of about 8 MiB, filling the last dims first. Other values
            (0, -3, 2.5) are an :class:`~dbdicom.InvalidValueError`.
            ``False``: no dask; the DataArray wraps a
            lazily indexed backend array (:class:`dbdicom._arrays._lazy.FramesBackendArray`)
            that reads the frames selected when the values are asked for
            (``.values``, ``.compute()``; ``.data`` reads them too), and
            ``.chunk()`` makes it a dask array. Whatever the chunks,
            selecting along tag dims (``sel``, ``isel``, indexing) reads only
            the frames selected, and the dask graph is named by a token of
            the frames, the selection and the chunks: the same selection of
            the same series gives the same graph.

        Returns
        -------
        xarray.DataArray
            Dims: the tag dims, then ``row``, ``column`` (and ``channel`` for
            colour images). Coordinates: the dims' values; ``SOPInstanceUID``
            of every frame; every other per-frame value that varies (e.g.
            ``AcquisitionTime``, ``ImagePositionPatient[0]`` to ``[2]``), on
            the dims it varies along. Attrs: the values shared by all frames
            (dates shared by all are scalar coordinates). All are plain
            arrays that ``to_netcdf`` and ``to_zarr`` store as they are
            (see :mod:`dbdicom._arrays._plain`): times (VR TM) are seconds
            since midnight, dates ``datetime64``, several numbers a
            ``float64`` array (as coordinates ``Keyword[i]``), several texts
            one string joined by a backslash. ``da.dicom.affine`` (4 x 4,
            (column, row, slice) indices to patient LPS mm) is worked out
            from them. Values are in physical units (RescaleSlope and
            RescaleIntercept applied): integers stay integers when the
            rescale allows it, otherwise ``float32``.

        Raises
        ------
        GridError
            Frames that collide on one grid point, a grid with empty points,
            a dim that no frame has; the message names the values, the files
            and the way out.
        GeometryError
            Frames of different sizes, orientations or pixel spacings (use :meth:`to_xarrays`).
        InvalidValueError
            ``dims`` that are no names, ``chunks`` that are no chunk sizes.

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
        >>> da.dicom.affine.shape
        (4, 4)
        >>> da.data.name == vfa.to_xarray().data.name  # dask, named deterministically
        True
        >>> vfa.to_xarray(chunks={"SliceLocation": 2, "FlipAngle": -1}).chunks[:2]
        ((2, 2, 2), (4,))
        >>> vfa.to_xarray(chunks="auto").chunks[:2]  # dask chooses: all fits its chunk size
        ((6,), (4,))
        >>> lazy = vfa.to_xarray(chunks=False)  # no dask: lazily indexed
        >>> lazy.chunks is None
        True
        >>> lazy.isel(SliceLocation=3, FlipAngle=2).values.shape  # reads one frame
        (64, 64)
        """
        series: Any = self
        series._db._editor.sync(series._rows())
        return _arrays.build_dataarray(
            series._db.index,
            _export.frame_rows(series) if len(series._rows()) else series._rows(),
            dims,
            fill=fill,
            name=_export.series_name(series),
            token=series.uid,
            chunks=chunks,
        )

    def to_xarrays(
        self, dims: str | Sequence[str] | None = None, *, fill: bool = False
    ) -> list[Any]:
        """One DataArray per group of frames of one size and orientation.

        For series that mix geometries (a localizer inside an axial series);
        the groups come largest first.
        """
        series: Any = self
        series._db._editor.sync(series._rows())
        index = series._db.index
        rows = _export.frame_rows(series)
        groups = _arrays.geometry_groups(_arrays.Frames(index, rows))
        ordered = sorted(groups, key=lambda k: -len(groups[k]))
        return [
            _arrays.build_dataarray(
                index,
                rows,
                dims,
                fill=fill,
                name=_export.series_name(series),
                token=series.uid,
                group=key,
            )
            for key in ordered
        ]

    def array(
        self, sortby: Sequence[str] | str | np.ndarray | None = None, pixels_first: bool = False
    ) -> Any:
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
        series: Any = self
        if isinstance(sortby, np.ndarray):  # series.array(values): replace the images
            return series.set_array(sortby, pixels_first=pixels_first, replace=True)
        series._db._editor.sync(series._rows())
        dims = [sortby] if isinstance(sortby, str) else (list(sortby) if sortby else [])
        rows = _export.frame_rows(series) if len(series._rows()) else series._rows()
        index = series._db.index
        values, keys = _arrays.read_array(index, rows, dims)  # no DataArray: no xarray, dask
        return _arrays.array_and_header(
            values, keys, lambda k: Instance(series._db, k), pixels_first
        )

    def set_xarray(
        self, da: Any, header: Any = None, description: str | None = None, kind: str = "image"
    ) -> Any:
        r"""Write a DataArray into this series: each frame becomes an instance.

        The series' previous instances, if any, are replaced. Headers come
        from ``header`` (instances or pydicom datasets, broadcast over the
        frame dims), else from the source frames named by the
        ``SOPInstanceUID`` coordinate, else from the frames of the series
        named by the ``SeriesInstanceUID`` attr with the same dim values,
        else from the MR Image template. Coordinates and attrs become tags
        (they must be DICOM keywords, or ``Keyword[i]``, the i-th value of
        a tag of several values); an ``affine`` attr, if given, the geometry.
        ``da`` must be a DataArray: anything else (a numpy or dask array, an
        ``xarray.Dataset``) is refused before anything is written, with the
        way out (:meth:`set_array` writes a numpy array).

        Values: integers that fit in 16 bits are stored exactly; other data
        with a RescaleSlope and RescaleIntercept chosen so that the error is
        below (max - min) / 65535; booleans as 0 and 1. Complex data, NaN,
        infinities and empty arrays are refused with the way out. A dask
        array is written block by block, in parallel on the current dask
        scheduler (threads, or a ``dask.distributed`` cluster whose workers
        see the database folder).

        The new instances are derived images: new UIDs, ImageType
        ``DERIVED\SECONDARY``, a DerivationDescription (``description``),
        SourceImageSequence and ReferencedSeriesSequence pointing at the
        source frames. Restorable until saved, like every change.

        ``kind="parametric map"`` writes the frames instead as one Parametric
        Map object, the values as 32-bit floats exactly as given (NaN and
        infinities kept); ``kind="segmentation"`` as one binary Segmentation
        object (1 bit per pixel; booleans, or integers 0 and 1). Both hold one
        3-D volume: the frames must lie at distinct positions, and only the
        pixels and their geometry are kept (a message names the other
        coordinates). The default ``kind="image"`` writes images of the
        source's class (MR Image for new ones).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> da = vfa.to_xarray()
        >>> mean = da.mean("FlipAngle")                  # dims SliceLocation, row, column
        >>> out = vfa.new_sibling(SeriesDescription="mean over flip angles")
        >>> out = out.set_xarray(mean)
        >>> back = out.to_xarray()
        >>> back.dims, float(abs(back - mean).max()) <= float(mean.max() - mean.min()) / 65535
        (('SliceLocation', 'row', 'column'), True)
        >>> len(out.instances()[0].SourceImageSequence)   # the 4 flip angles of the slice
        4
        >>> t1 = vfa.new_sibling(SeriesDescription="T1 (float)")
        >>> t1 = t1.set_xarray(mean, kind="parametric map")
        >>> t1.to_xarray().dtype, bool((t1.to_xarray() == mean.astype("float32")).all())
        (dtype('float32'), True)
        >>> mask = vfa.new_sibling(SeriesDescription="mask")
        >>> mask = mask.set_xarray(mean > 500, kind="segmentation")
        >>> int(mask.to_xarray().sum()) == int((mean > 500).sum())
        True
        >>> database.restore()
        8
        """
        return set_xarray(self, da, header, description, kind)  # type: ignore[arg-type]

    def set_array(
        self,
        array: np.ndarray,
        header: Any = None,
        pixels_first: bool = False,
        replace: bool = False,
        kind: str = "image",
    ) -> Any:
        """Write a numpy array into this series (the numpy face of :meth:`set_xarray`).

        ``array`` is ``(..., row, column)`` (``(row, column, ...)`` with
        ``pixels_first``); every 2-D frame becomes an instance, numbered in
        C order. ``header`` holds one instance (or pydicom dataset) per frame,
        or one for all, as :meth:`array` returns them; without it the MR Image
        template is used. The series' previous images are replaced;
        ``series.array(values)`` does the same but refuses images of another
        size than the series' own. ``kind`` as for :meth:`set_xarray`. A numpy
        array has no colour dim: an array that looks like colour images
        (``(..., row, column, 3)``) is written as grey images, with a
        :class:`dbdicom.DicomWarning` that says how to write colour (a
        DataArray with dims ``(..., 'row', 'column', 'channel')``).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> array, header = vfa.array(["SliceLocation", "FlipAngle"])
        >>> mip = np.amax(array, axis=0)                     # (FlipAngle, n, row, column)
        >>> out = vfa.new_sibling(SeriesDescription="MIP").set_array(mip, header[0, :, :])
        >>> out.FlipAngle, len(out.instances())
        ([2.0, 5.0, 10.0, 15.0], 4)
        >>> database.restore()
        4
        """
        return write_array(self, array, header, pixels_first, replace, kind)  # type: ignore[arg-type]

    def subseries(self, **filters: Any) -> Any:
        """A new series next to this one, with copies of the instances matching ``filters``.

        ``filters``: keywords or custom attributes; values or functions, which
        must all hold. When no instance matches (a value mistyped, or not in
        this series), the new series is empty, as in the original dbdicom,
        and a :class:`dbdicom.DicomWarning` names the filters and the values
        the series has (:meth:`instances` selects without making a series).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> sub = vfa.subseries(FlipAngle=10)
        >>> sub.SeriesDescription, len(sub.instances()), sub.FlipAngle
        ('VFA [FlipAngle=10]', 6, [10.0])
        >>> database.restore()
        6
        """
        return subseries(self, filters)  # type: ignore[arg-type]

    def map_to(self, target: Any, order: int = 1, kind: str = "image") -> Any:
        """A new series: this one resampled onto the voxel grid of ``target``.

        Both series need one volume geometry (an ``affine``, see
        :meth:`to_xarray`); the value of every target voxel is interpolated
        from this series at the voxel's centre, in patient coordinates
        (:func:`scipy.ndimage.map_coordinates`; needs scipy:
        the ``geometry`` extra). Tag dims that are not spatial
        (e.g. ``FlipAngle``) are kept, each 3-D volume resampled on its own.

        Target voxels outside this series get 0. A voxel is inside when its
        centre lies within this series' voxels: at most half a voxel beyond
        the outermost voxel centres (there, the edge value is used). The
        two series are assumed to share their patient coordinates (the same
        FrameOfReferenceUID); this is not checked.

        The result is a new series in the target's study, described as
        ``"<this description> mapped to <target description>"``: the
        target's geometry (affine, SliceLocation, SliceThickness,
        FrameOfReferenceUID), headers from the MR Image template with this
        series' RepetitionTime, EchoTime, InversionTime and FlipAngle.

        Parameters
        ----------
        target : Series
            The series whose grid the result takes (any size, orientation
            and resolution); only its geometry is used.
        order : int
            Interpolation: 0 nearest neighbour (keeps the values, e.g. of a
            label map), 1 linear (the default), 2 or 3 splines. Values are
            sampled at the voxel centres, not averaged over a larger target
            voxel.
        kind : str
            ``"image"`` (the default: 16-bit images, as :meth:`set_xarray`
            writes them), or ``"parametric map"``: one object of 32-bit
            floats as they are, NaN kept (a map whose fit failed in places).

        Returns
        -------
        Series
            The new series.

        Raises
        ------
        GeometryError
            This series or the target has no affine or mixes sizes or
            orientations, or no target voxel lies inside this series (the
            two do not overlap).
        DicomError
            ``target`` is not a series.

        Examples
        --------
        The CT phantom (6 mm pixels, 2.5 mm slices) on the grid of the T2w
        series (3.75 mm pixels, 5 mm slices):

        >>> ct = database.series(SeriesDescription="CT phantom")[0]
        >>> t2w = database.series(SeriesDescription="T2w")[0]
        >>> mapped = ct.map_to(t2w)
        >>> mapped.SeriesDescription, mapped.parent == t2w.parent
        ('CT phantom mapped to T2w', True)
        >>> da = mapped.to_xarray()
        >>> da.shape == t2w.to_xarray().shape
        True
        >>> import numpy as np
        >>> bool(np.allclose(da.dicom.affine, t2w.to_xarray().dicom.affine, atol=1e-4))
        True
        >>> database.restore()
        6
        """
        return map_to(self, target, order, kind)  # type: ignore[arg-type]

    def map_mask_to(self, target: Any) -> Any:
        """The mask this series holds (non-zero voxels are in) on the voxel grid of ``target``.

        As :meth:`map_to` with linear interpolation of the 0/1 mask, then a
        threshold: a target voxel is in the mask (1) when the interpolated
        value at its centre is at least 0.5, i.e. when about half of it or
        more lies in the mask; otherwise, and outside this series, it is 0.
        A voxel centred exactly on the mask's edge (0.5) is in. The values
        written are the integers 0 and 1.

        Parameters
        ----------
        target : Series
            The series whose grid the mask takes.

        Returns
        -------
        Series
            The new series (in the target's study), described as
            ``"<this description> mapped to <target description>"``.

        Raises
        ------
        GeometryError
            As :meth:`map_to`: no affine, mixed geometries, or no overlap.

        Examples
        --------
        >>> t2w = database.series(SeriesDescription="T2w")[0]
        >>> da = t2w.to_xarray()
        >>> mask = t2w.new_sibling(SeriesDescription="body").set_xarray(
        ...     (da > 100).astype("uint8"))
        >>> ct = database.series(SeriesDescription="CT phantom")[0]
        >>> on_ct = mask.map_mask_to(ct).to_xarray()
        >>> sorted(int(v) for v in np.unique(on_ct.values))
        [0, 1]
        >>> database.restore()
        16
        """
        return map_mask_to(self, target)  # type: ignore[arg-type]

    def export_as_npy(
        self,
        path: str | os.PathLike[str],
        sortby: Sequence[str] | None = None,
        pixels_first: bool = False,
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> Path | _export.ExportedURL:
        """Save :meth:`array` as ``.npy``; returns the file.

        To ``path`` if it ends in ``.npy``, else into the folder ``path`` as
        ``<SeriesDescription>.npy`` (``<number>_series.npy`` without one, the
        name of the series in every export); ``path`` may be a store's URL
        (``s3://bucket/prefix``, with ``storage_options``), as for every export.

        A series that mixes image sizes, orientations or pixel spacings (a localizer) gives
        one file per group, largest first, ``_1``, ``_2``... added to the
        name (a message says so: "Series '1: localiser' mixes 3 image sizes
        or orientations: one .npy file per group ..."); the folder they are in
        is returned.

        Examples
        --------
        >>> import tempfile
        >>> localiser = database.series(SeriesDescription="localiser")[0]
        >>> folder = localiser.export_as_npy(tempfile.mkdtemp())
        >>> sorted(p.name for p in folder.glob("*.npy"))
        ['localiser_1.npy', 'localiser_2.npy', 'localiser_3.npy']
        """
        series: Any = self
        series._db._editor.sync(series._rows())
        arrays = _export.npy_arrays(series, series, sortby, pixels_first)
        name = _export.series_name(series) or _export.label(series)  # 10_series, as in png
        text = os.fspath(path)
        file = Path(text).name if Path(text).suffix == ".npy" else ""
        stem = Path(file).stem if file else name
        # the folder: the text up to the file's name (a Path would make s3:/ of a URL's s3://)
        where = (text[: len(text) - len(file)] or ".") if file else text

        def export(root: Path) -> Path:
            if len(arrays) == 1:
                return _export.export_npy(arrays[0], root / file if file else root, name)
            files = [_export.export_npy(a, root, f"{stem}_{k + 1}") for k, a in enumerate(arrays)]
            return files[0].parent

        result: Path | _export.ExportedURL = exported_to(where, storage_options, export)
        return result


class Series(_SeriesArrays, Record):
    """A series: images acquired or derived together, keyed by SeriesInstanceUID."""

    __slots__ = ()
    level = "series"

    def label(self) -> str:
        desc = _first(self, "SeriesDescription")
        number = _first(self, "SeriesNumber")
        text = str(desc) if desc else "(no description)"
        return f"{number}: {text}" if number is not None else text
