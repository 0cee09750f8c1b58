"""The export methods every record has, delegated to the export layer."""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _export, _files
from .._errors import DiskFullError, ReadOnlyError, disk_full
from ._empty import require_files
from ._web import export_from_archive, is_dicomweb, store_record

if TYPE_CHECKING:
    from .._export import ExportedPath, ExportedURL

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


def exported_to(
    path: str | os.PathLike[str],
    storage_options: Mapping[str, Any] | None,
    export: Callable[[Path], Any],
) -> Any:
    """``export(folder)`` into ``path``: a local folder, a zip file, or a store's URL.

    A ``path`` ending in ``.zip`` (not an existing folder) is a zip file
    holding what the folder would (:func:`dbdicom._export.export_zip`).
    Into a store (``s3://bucket/prefix``...), the export is written into a
    temporary local folder, then every file of it is put into the store at
    the same relative path (:func:`dbdicom._files.upload_folder`), and the
    URL of what ``export`` returned is returned (an :class:`ExportedURL`);
    a URL ending in ``.zip`` (``s3://bucket/results/out.zip``) is one
    object, the zip file.
    """
    text = os.fspath(path)
    if text[:7].lower() == "file://":  # a local folder
        parts = urllib.parse.urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ReadOnlyError(
                f"cannot export into {_files.redact(text)}: a file:// URL of another machine "
                f"({parts.netloc}). Give a local folder (file:///path, or the path itself)."
            )
        text = urllib.request.url2pathname(parts.path)
    if not _files.has_scheme(text):
        if storage_options:
            raise ValueError(
                f"storage_options are for exports into an object store (s3://...), not into "
                f"the local folder {text!r}: leave them out, or give the store's URL."
            )
        with export_space(path):
            if _files.is_zip_path(text):  # (a folder named x.zip stays a folder)
                return _export.export_zip(Path(text), export)
            return export(Path(text))
    folder, name = _zip_object(text)
    store = _files.writable_store(folder, storage_options)
    store.filesystem()  # a missing package is said before the export's work
    with tempfile.TemporaryDirectory(prefix="dbdicom-export-") as tmp:
        root = Path(tmp, "export")
        with export_space(root):
            if name:  # one object: the zip file
                local = _export.export_zip(root / name, export)
            else:
                local = export(root)
        _files.upload_folder(store, str(root))
        rel = Path(local).relative_to(root).as_posix()
    url = store.url.rstrip("/") + ("" if rel == "." else "/" + rel)
    skipped = getattr(local, "skipped", ())
    return _export.ExportedURL(url, getattr(local, "exported", 0), skipped)


def _zip_object(url: str) -> tuple[str, str]:
    """``(url of its folder, name)`` for the URL of a zip object in a store; else ``(url, "")``.

    Examples
    --------
    >>> _zip_object("s3://bucket/results/out.zip"), _zip_object("s3://bucket/results")
    (('s3://bucket/results', 'out.zip'), ('s3://bucket/results', ''))
    >>> _zip_object("s3://archive.zip")  # a bucket is no object
    ('s3://archive.zip', '')
    """
    scheme, sep, rest = url.partition("://")
    folder, slash, name = rest.rstrip("/").rpartition("/")
    if "::" in url or not slash or not folder or not name.lower().endswith(".zip"):
        return url, ""
    return f"{scheme}{sep}{folder}", name


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

    A ``path`` ending in ``.zip`` (``"out.zip"``; not an existing folder,
    which stays a folder) is a zip file that holds what the folder would,
    at the same relative paths: written whole into a temporary file next
    to it, then renamed, so a failed export never leaves half a zip file;
    an existing ``out.zip`` keeps its other members, as a folder keeps its
    other files (see :mod:`dbdicom._export._archive`). ``db.database("out.zip")``
    opens a zip of DICOM files read-only. See docs/export.md.

    Every ``path`` may be an object store's URL (``s3://bucket/prefix``,
    ``gs://``, ``az://``), with ``storage_options`` (fsspec's, as for
    :func:`dbdicom.database`): the export is written into a temporary
    local folder, then uploaded (:func:`exported_to`), and the URL
    returned, an ``ExportedURL`` (a ``str``) with the same ``skipped``
    and ``exported``; a URL ending in ``.zip``
    (``"s3://bucket/results/out.zip"``) is uploaded as one object, the
    zip file. See docs/remote.md.
    """

    __slots__ = ()

    def _synced(self) -> Any:
        """The record, once the edits held in memory for its files are written."""
        record: Any = self
        require_files(record, "export")
        record._db._editor.sync(record._rows())
        return record

    def export_as_dicom(
        self,
        path: str | os.PathLike[str],
        dicomdir: bool = False,
        *,
        session: Any = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> ExportedPath | ExportedURL:
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

        A ``path`` ending in ``.zip`` is a zip file holding what the folder
        would, at the same paths (with ``dicomdir=True``, the medium: its
        ``DICOMDIR`` at the top of the zip); an existing one is replaced
        once the new one is complete. A store's URL ending in ``.zip``
        (``"s3://bucket/results/out.zip"``) is uploaded as one object.

        A ``path`` ``"dicomweb+http://host/dicom-web"`` stores the files
        into that DICOMweb archive with STOW-RS instead (``session``: a
        ``requests.Session`` with its credentials); see docs/dicomweb.md.

        Examples
        --------
        >>> import tempfile, pathlib, zipfile
        >>> ct = database.studies(Modality="CT")[0]
        >>> out = ct.export_as_dicom(tempfile.mkdtemp())
        >>> len(list(pathlib.Path(out).rglob("*.dcm")))
        10
        >>> archive = ct.export_as_dicom(tempfile.mkdtemp() + "/ct.zip")
        >>> names = zipfile.ZipFile(archive).namelist()
        >>> sorted(names) == sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm"))
        True
        >>> len(db.database(archive).instances())  # read-only
        10
        """
        record = self._synced()
        if is_dicomweb(path):  # a DICOMweb archive: stored with STOW-RS
            if storage_options:
                raise ValueError(
                    "storage_options are for object stores (s3://...): a DICOMweb archive "
                    "takes its credentials in session= (a requests.Session)."
                )
            return store_record(record, str(path), session)  # type: ignore[return-value]
        if record._db._index.archive is not None:  # a DICOMweb archive: retrieved
            return exported_to(
                path, storage_options, lambda root: export_from_archive(record, root, dicomdir)
            )

        def export(root: Path) -> ExportedPath:
            if dicomdir:
                return _export.export_dicomdir(record, root)
            return _export.export_dicom(record, root)

        return exported_to(path, storage_options, export)

    def export_as_csv(
        self, path: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
    ) -> ExportedPath | ExportedURL:
        """One CSV table per series: a row per instance, a column per top-level tag.

        Sequences are summarised as ``<sequence of N items>``, binary values
        by their size; files go into ``path``/patient/study/series.csv.
        """
        record = self._synced()
        return exported_to(path, storage_options, lambda root: _export.export_csv(record, root))

    def export_as_nifti(
        self,
        path: str | os.PathLike[str],
        identifiers: bool = False,
        bids: Any = False,
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> ExportedPath | ExportedURL:
        """One NIfTI file (``.nii.gz`` + JSON sidecar) per series, in the layout or as BIDS.

        3-D, or 4-D for series with tag dims besides ``SliceLocation``; the
        affine converted from DICOM LPS to NIfTI RAS. Needs nibabel:
        the ``nifti`` extra.

        The sidecar has the keys and units of dcm2niix's (BIDS): times in
        seconds (``EchoTime``, ``RepetitionTime``...), the values along the
        fourth dim as lists. Names, IDs, UIDs and dates of the patient and
        the study are left out unless ``identifiers`` is True.

        With ``bids`` the files form a BIDS dataset:
        ``sub-<label>/ses-<label>/anat|func|dwi|fmap|perf/sub-..._<suffix>.nii.gz``
        and a ``dataset_description.json``. ``bids=True`` names the series
        by dbdicom's mapping (see the docs, "BIDS"); a dict
        ``{"keyword in SeriesDescription": "anat/T1w"}`` (None: leave out)
        comes first, and a callable ``bids(series) -> "datatype/suffix"``
        (or None) replaces it. Series without a name are left out, with a
        message; when all are, no ``dataset_description.json`` is
        written either. ``participants.tsv`` and ``sessions.tsv`` record
        which patient and study each label is: an export into the same
        folder keeps them, and raises :class:`dbdicom.LabelConflictError`
        rather than put two patients in one subject; files of an earlier
        export it does not write again are listed in ``out.stale``.

        Examples
        --------
        >>> import json, tempfile
        >>> t2w = database.series(SeriesDescription="T2w")[0]
        >>> out = t2w.export_as_nifti(tempfile.mkdtemp())
        >>> sidecar = json.loads(next(out.rglob("*.json")).read_text())
        >>> sidecar["EchoTime"], sidecar["RepetitionTime"], "PatientID" in sidecar
        (0.1, 4, False)
        >>> out = t2w.export_as_nifti(tempfile.mkdtemp(), bids=True)
        >>> [p.relative_to(out).as_posix() for p in sorted(out.rglob("*.nii.gz"))]
        ['sub-01/ses-1/anat/sub-01_ses-1_T2w.nii.gz']
        """
        record = self._synced()
        return exported_to(
            path,
            storage_options,
            lambda root: _export.export_nifti(record, root, identifiers=identifiers, bids=bids),
        )

    def export_as_npy(
        self,
        path: str | os.PathLike[str],
        sortby: Any = None,
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> Path | ExportedURL:
        """One ``.npy`` file per series (see :meth:`Series.array`), in the layout.

        Returns an ``ExportedPath`` (a series: the file it wrote, a plain path).
        """
        record = self._synced()
        return exported_to(
            path, storage_options, lambda root: _export.export_npy_all(record, root, sortby)
        )

    def export_as_png(
        self, path: str | os.PathLike[str], *, storage_options: Mapping[str, Any] | None = None
    ) -> ExportedPath | ExportedURL:
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
        the ``plot`` extra.

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
        return exported_to(path, storage_options, lambda root: _export.export_png(record, root))

    def export_as_zarr(
        self,
        path: str | os.PathLike[str],
        chunks: dict[str, int] | None = None,
        *,
        levels: int = 1,
        zarr_format: int = 3,
        storage_options: Mapping[str, Any] | None = None,
    ) -> ExportedPath | ExportedURL:
        """One OME-Zarr image per series, ``path``/patient/study/series.zarr.

        Each store is an OME-Zarr image (OME-NGFF 0.5: Zarr 3, axes with
        units, scale and translation from the affine) that OME-Zarr readers
        and viewers open, with the series' DataArray (see
        :meth:`Series.to_xarray`) kept beside it: ``db.open_zarr`` reads it
        back identical, dims, coordinates and attrs. The layout, axes and
        geometry conventions are in docs/zarr.md. Written chunk by chunk
        from dask, never computed as a whole; ``chunks`` (a dict of grid
        points per chunk along tag dims, as in ``to_xarray``: 1 or more, -1
        or None for the whole dim; not ``"auto"``) sets the Zarr chunks
        along them (by default: one channel or time point, as many slices
        as fit in 1 MiB, tiles of 256 x 256 pixels). ``levels`` > 1 adds
        pyramid levels that halve rows and columns (an image that reaches
        one pixel sooner gets fewer);
        ``zarr_format=2`` writes OME-NGFF 0.4 (Zarr 2) for older readers. A
        series mixing image sizes, orientations or pixel spacings gives one store per group
        (``_1``, ``_2``... appended, with a message); instances without an
        image are skipped with a message. Returns ``path``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> out = database.studies(Modality="CT")[0].export_as_zarr(tempfile.mkdtemp(), levels=2)
        >>> [p.name for p in pathlib.Path(out).rglob("*.zarr")]
        ['1_CT_phantom.zarr']
        >>> ct = db.open_zarr(next(pathlib.Path(out).rglob("*.zarr")))
        >>> ct.dims, ct.shape
        (('SliceLocation', 'row', 'column'), (10, 64, 64))
        """
        record = self._synced()
        return exported_to(
            path,
            storage_options,
            lambda root: _export.export_zarr(
                record, root, chunks, levels=levels, zarr_format=zarr_format
            ),
        )

    def to_kerchunk(self, dims: str | Sequence[str] | None = None) -> dict[str, Any]:
        """References to this record's frames where they are: a virtual Zarr store.

        The kerchunk reference set (format version 1) of a Zarr store whose
        chunks are the frames, read in place from the DICOM files: plain
        xarray, Zarr and fsspec open it, without dbdicom, with the values of
        :meth:`Series.to_xarray` (RescaleSlope and RescaleIntercept as CF
        ``scale_factor`` and ``add_offset``), its dims and coordinates.
        Compressed frames need ``imagecodecs`` to read. A series is the
        root group; above, one group per series, ``patient/study/series``.
        See ``docs/virtual-zarr.md`` and :mod:`dbdicom._export._virtual`.

        Parameters
        ----------
        dims : str or list of str, optional
            The dims of every series, as in :meth:`Series.to_xarray`.

        Returns
        -------
        dict
            ``{"version": 1, "refs": {...}}``, for
            ``fsspec.filesystem("reference", fo=...)``.

        Raises
        ------
        dbdicom.VirtualZarrError
            Frames that cannot be chunks read in place (bit-packed, Deflate,
            a compressed syntax without a codec, a palette...): the message
            says why and the way out. Above the series level, such a series
            is skipped with a message instead.
        dbdicom.StaleFileError
            A file changed since it was indexed.

        Examples
        --------
        >>> import fsspec, xarray as xr
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> fs = fsspec.filesystem("reference", fo=vfa.to_kerchunk())
        >>> da = xr.open_dataarray(fs.get_mapper(), engine="zarr", zarr_format=2)
        >>> da.dims
        ('SliceLocation', 'FlipAngle', 'row', 'column')
        >>> bool((da.values == vfa.to_xarray().values).all())
        True
        """
        record = self._synced()
        return _export.virtual_references(record, dims)[0]

    def to_virtual_zarr(
        self, path: str | os.PathLike[str], dims: str | Sequence[str] | None = None
    ) -> ExportedPath:
        """Write :meth:`to_kerchunk`'s references as one JSON file, ``path``.

        Nothing is copied: the file points at the frames in the DICOM files,
        by absolute path, and records each file's size and modification
        time (the root attr ``dicom_files``); a file changed after this is
        read as it is then, with nothing to notice it but a reader's own
        check. Returns ``path`` (an ``ExportedPath``: its ``skipped`` lists
        the series that could not be referenced, with the reason). A
        ``path`` that is a folder raises ``IsADirectoryError``: unlike the
        exports, this one takes the file's name.

        Examples
        --------
        >>> import tempfile, xarray as xr
        >>> out = database.series(SeriesDescription="VFA")[0].to_virtual_zarr(
        ...     tempfile.mkdtemp() + "/vfa.json")
        >>> da = xr.open_dataarray("reference://", engine="zarr", backend_kwargs={
        ...     "storage_options": {"fo": str(out)}, "zarr_format": 2})
        >>> da.sizes["FlipAngle"], out.skipped
        (4, ())
        """
        record = self._synced()
        return _export.export_virtual(record, path, dims)
