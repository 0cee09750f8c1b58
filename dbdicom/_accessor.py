"""``da.dicom``: the geometry, the sources and the display of a DataArray of DICOM frames.

As rioxarray gives every DataArray ``da.rio``, dbdicom gives it
``da.dicom``: the affine, orientation, spacing and world coordinates of the
frames in hand (worked out from the coordinates, so they follow any
selection), writing back (``write_to``), NIfTI export (``to_nifti``), the
instances the frames come from (``source_instances``) and a display as a
viewer shows it (``imshow``).

The accessor is registered with xarray as soon as dbdicom's arrays are
used (``series.to_xarray()``, ``xr.open_dataarray(..., engine="dbdicom")``,
``db.open_zarr``), or at ``import dbdicom`` when xarray is already
imported: ``import dbdicom`` does not load xarray by itself.

Conventions (see :mod:`dbdicom._geometry`): patient coordinates are LPS
millimetres; the affine maps (column, row, slice) indices to them; the
slices are the ``SliceLocation`` dim (a single slice without it); patient
directions are DICOM's letters L/R, P/A, H/F.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _arrays, _export
from ._errors import DicomError, GeometryError, GridError, install_hint
from ._geometry import axis_codes, direction_letters
from ._records import Instance, open_databases

if TYPE_CHECKING:
    import os

    import xarray as xr

__all__ = ["DicomAccessor", "register_accessor"]

_PIXEL_DIMS = ("row", "column", "channel")
_SLICE = "SliceLocation"
# LPS <-> RAS: the first two axes change sign
_FLIP = np.array([-1.0, -1.0, 1.0])


def register_accessor() -> bool:
    """Register ``da.dicom`` with xarray, if xarray is imported; True once registered."""
    xarray = sys.modules.get("xarray")
    if xarray is None:
        return False
    if getattr(xarray.DataArray, "dicom", None) is not DicomAccessor:
        xarray.register_dataarray_accessor("dicom")(DicomAccessor)
    return True


class DicomAccessor:
    """The ``dicom`` accessor of a DataArray (``da.dicom``).

    Examples
    --------
    >>> t2w = database.series(SeriesDescription="T2w")[0]
    >>> da = t2w.to_xarray()
    >>> da.dicom.affine[:3].round(3).tolist()
    [[3.75, 0.0, 0.0, -118.125], [0.0, 3.75, 0.0, -118.125], [0.0, 0.0, 5.0, -12.5]]
    >>> da.dicom.orientation, da.dicom.spacing
    (('L', 'P', 'H'), (5.0, 3.75, 3.75))
    >>> da.isel(SliceLocation=slice(2, None)).dicom.affine[2, 3]  # the selection's first slice
    np.float64(-2.5)
    """

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da

    # ------------------------------------------------------------------ geometry
    @property
    def affine(self) -> np.ndarray:
        """The 4 x 4 affine: (column, row, slice) indices to patient LPS mm.

        Raises
        ------
        GeometryError
            If the frames have no geometry tags, or do not make one volume
            (the message says which).
        """
        affine = _arrays.affine_of(self._da)
        if affine is None:
            raise GeometryError(_arrays.why_no_affine(self._da))
        return affine

    @property
    def orientation(self) -> tuple[str, str, str]:
        """The patient directions toward which the column, row and slice indices grow.

        One letter each, DICOM's L/R, P/A, H/F: ``("L", "P", "H")`` for an
        axial stack from feet to head (see :func:`dbdicom._geometry.axis_codes`).
        """
        return axis_codes(self.affine)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """The voxel size in mm, in the array's index order: (slice, row, column).

        The slice step is the distance between slice positions (SliceThickness
        for a single slice); row and column, the PixelSpacing.
        """
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(round(norms[2], 9)), float(round(norms[1], 9)), float(round(norms[0], 9))

    @property
    def position(self) -> xr.DataArray:
        """The ImagePositionPatient of every frame, with a trailing dim ``xyz`` (LPS mm).

        The coordinates ``ImagePositionPatient[0..2]`` (or the attr) as one
        DataArray on the tag dims, NaN where a frame has none.

        Examples
        --------
        >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
        >>> da.dicom.position.dims, da.dicom.position.isel(SliceLocation=0).values.tolist()
        (('SliceLocation', 'xyz'), [-118.125, -118.125, -12.5])
        """
        import xarray as xr

        # of the array's own first pixels (a crop or a flip: see affine)
        vectors = _arrays.tag_vectors(_arrays.in_plane_applied(self._da), "ImagePositionPatient", 3)
        if vectors is None:
            raise GeometryError(
                "the frames have no (0020,0032) ImagePositionPatient: no attr and no "
                "coordinates ImagePositionPatient[0..2]"
            )
        dims = [d for d in self._da.dims if d not in _PIXEL_DIMS]
        coords = {d: self._da.coords[d] for d in dims if d in self._da.coords}
        return xr.DataArray(
            vectors,
            dims=[*dims, "xyz"],
            coords={**coords, "xyz": ["x", "y", "z"]},
            name="ImagePositionPatient",
            attrs={"space": "LPS", "units": "mm"},
        )

    def world(self, space: str = "LPS") -> xr.DataArray:
        """The patient coordinates (mm) of every voxel centre, dims (slice, row, column, xyz).

        Parameters
        ----------
        space : {"LPS", "RAS"}
            DICOM's LPS (x to the patient's left, y posterior, z head), or
            NIfTI's RAS (x right, y anterior, z head: x and y change sign).

        Returns
        -------
        xarray.DataArray
            ``(SliceLocation, row, column, xyz)`` (no ``SliceLocation``
            without that dim), ``float64``, with the array's
            ``SliceLocation`` coordinate and ``xyz`` labels.

        Examples
        --------
        >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
        >>> w = da.dicom.world()
        >>> w.dims, w.isel(SliceLocation=0, row=0, column=1).values.tolist()
        (('SliceLocation', 'row', 'column', 'xyz'), [-114.375, -118.125, -12.5])
        >>> da.dicom.world("RAS").isel(SliceLocation=0, row=0, column=1).values.tolist()
        [114.375, 118.125, -12.5]
        """
        import xarray as xr

        if space not in ("LPS", "RAS"):
            raise ValueError(f"space must be 'LPS' or 'RAS'; got {space!r}")
        affine = self.affine
        da = self._da
        slices = int(da.sizes.get(_SLICE, 1))
        k, j, i = np.meshgrid(
            np.arange(slices), np.arange(da.sizes["row"]), np.arange(da.sizes["column"]),
            indexing="ij",
        )  # fmt: skip
        points = np.stack([i, j, k], axis=-1) @ affine[:3, :3].T + affine[:3, 3]
        if space == "RAS":
            points = points * _FLIP
        dims = ["row", "column", "xyz"]
        coords: dict[str, Any] = {"xyz": ["x", "y", "z"]}
        if _SLICE in da.dims:
            dims.insert(0, _SLICE)
            if _SLICE in da.coords:
                coords[_SLICE] = da.coords[_SLICE].values
        else:
            points = points[0]
        return xr.DataArray(points, dims=dims, coords=coords, attrs={"space": space, "units": "mm"})

    # ------------------------------------------------------------------ records
    def source_instances(self, database: Any = None) -> xr.DataArray:
        """The instance each frame comes from, on the tag dims (None where none).

        Found by the ``SOPInstanceUID`` coordinate in ``database``, or else
        in the databases open in this process; where several files hold a
        UID, the one whose values of the array's coordinates are the frame's.

        Raises
        ------
        DicomError
            If the array has no ``SOPInstanceUID`` coordinate (a reduction
            drops it), or no open database holds its frames, or several files
            hold a frame's UID and its coordinates do not tell which.

        Examples
        --------
        >>> da = database.series(SeriesDescription="VFA")[0].to_xarray()
        >>> instances = da.dicom.source_instances()
        >>> instances.dims, instances.isel(SliceLocation=0, FlipAngle=2).item().FlipAngle
        (('SliceLocation', 'FlipAngle'), 10.0)
        """
        import xarray as xr

        uids = self._da.coords.get("SOPInstanceUID")
        if uids is None:
            raise DicomError(
                "the array has no SOPInstanceUID coordinate, so its frames name no source "
                "instances (a reduction over a dim, e.g. da.mean('FlipAngle'), drops it). "
                "Select frames instead (da.isel(...)), or look up the source series."
            )
        databases = [database] if database is not None else open_databases()
        # the database that holds most of the frames (another open one may hold some UIDs:
        # a copy of the folder, or files made alike)
        best: tuple[int, Any, np.ndarray] | None = None
        refused: DicomError | None = None
        for db in databases:
            try:
                rows = _arrays.source_rows(db.index, self._da)
            except DicomError as exc:  # files sharing a UID there: said if no other holds them
                refused = refused or exc
                continue
            held = int((rows >= 0).sum())
            if held and (best is None or held > best[0]):
                best = (held, db, rows)
        if best is None and refused is not None:
            raise refused
        if best is not None:
            _, db, rows = best
            keys = db.index.array("_instance", np.maximum(rows.ravel(), 0))
            found = np.empty(rows.shape, dtype=object)
            for pos, key in zip(np.ndindex(rows.shape), keys.tolist(), strict=True):
                found[pos] = Instance(db, str(key)) if rows[pos] >= 0 else None
            coords = {d: uids.coords[d] for d in uids.dims if d in uids.coords}
            return xr.DataArray(found, dims=uids.dims, coords=coords)
        raise DicomError(
            "no open database holds the frames of this array (by their SOPInstanceUID): "
            "open the database it comes from (db.database(folder)) or pass it, "
            "da.dicom.source_instances(database)."
        )

    def write_to(self, target: Any, name: str | None = None, **options: Any) -> Any:
        """Write the array into a series, or as a new series of a study.

        Parameters
        ----------
        target : Series or Study
            A series (its instances are replaced: see
            :meth:`dbdicom.Series.set_xarray`), or a study, which gets a new
            series named ``name`` (by default the array's name).
        name : str, optional
            The SeriesDescription of a new series.
        **options
            ``header``, ``description`` and ``kind`` of ``set_xarray``.

        Returns
        -------
        Series
            The series written.

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> mean = vfa.to_xarray().mean("FlipAngle")
        >>> series = mean.dicom.write_to(vfa.parent, "mean over flip angles")
        >>> series.SeriesDescription, len(series.instances())
        ('mean over flip angles', 6)
        >>> _ = database.restore()
        """
        level = getattr(target, "level", None)
        if level == "series":
            return target.set_xarray(self._da, **options)
        if level == "study":
            description = name if name is not None else self._description()
            attributes = {"SeriesDescription": str(description)} if description else {}
            return target.new_series(**attributes).set_xarray(self._da, **options)
        raise DicomError(
            f"an array is written into a series or a study (as a new series), not into "
            f"{'a ' + level if level else type(target).__name__}."
        )

    def _description(self) -> Any:
        """The array's name as a SeriesDescription: the one it was made of, if it was.

        A DataArray's name is its series' description with ``/`` made ``_``
        (:func:`dbdicom._export.array_name`); the attr keeps the description.
        """
        kept = self._da.attrs.get("SeriesDescription")
        if isinstance(kept, str) and _export.array_name(kept) == self._da.name:
            return kept
        return self._da.name

    def to_nifti(self, path: str | os.PathLike[str]) -> Path:
        """Write the array as a NIfTI file (``.nii.gz``) and its JSON sidecar.

        Laid out as :meth:`dbdicom.Series.export_as_nifti` does; needs
        nibabel (the ``nifti`` extra). Returns the file's path.

        Examples
        --------
        >>> import tempfile, pathlib, nibabel
        >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
        >>> file = da.dicom.to_nifti(pathlib.Path(tempfile.mkdtemp()) / "t2w")
        >>> file.name, nibabel.load(file).shape
        ('t2w.nii.gz', (64, 64, 6))
        """
        source = None
        if "SOPInstanceUID" in self._da.coords:  # the sidecar from its first frame's header
            try:
                found = [i for i in self.source_instances().values.ravel() if i is not None]
            except DicomError:  # no open database holds its frames: values of the array only
                found = []
            source = found[0].path if found else None
        return Path(_export.write_nifti(self._da, path, source))

    # ------------------------------------------------------------------ display
    def imshow(
        self,
        ax: Any = None,
        *,
        window: tuple[float, float] | None = None,
        database: Any = None,
        letters: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Show one frame as a viewer does; returns matplotlib's ``AxesImage``.

        Row 0 at the top, square pixels (the aspect of PixelSpacing), grey
        levels through the window, and the patient directions (L/R, P/A,
        H/F, from ImageOrientationPatient) at the edges. Needs matplotlib
        (the ``plot`` extra).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (a new figure by default).
        window : (center, width), optional
            The window. By default the header's (WindowCenter and
            WindowWidth of the frame's source instance, found in the open
            databases, or ``database``), else the frame's minimum to maximum.
        database : Database, optional
            Where to look for the source instance.
        letters : bool
            Write the patient directions at the edges.
        **kwargs
            Passed to ``ax.imshow``.

        Raises
        ------
        GridError
            If the array holds more than one frame: select one first, e.g.
            ``da.isel(SliceLocation=3).dicom.imshow()``.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
        >>> image = da.isel(SliceLocation=2).dicom.imshow()
        >>> image.origin, [t.get_text() for t in image.axes.texts]
        ('upper', ['A', 'P', 'R', 'L'])
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(f"plotting needs matplotlib: {install_hint('plot')}") from exc
        frame = self._frame()
        values = np.asarray(frame.values)
        with contextlib.suppress(GeometryError):  # picked unevenly: the stored directions
            frame = _arrays.in_plane_applied(frame)  # its own pixels' (strided, flipped)
        if ax is None:
            _, ax = plt.subplots()
        spacing = _arrays.tag_vectors(frame, "PixelSpacing", 2)
        row_step, column_step = (1.0, 1.0) if spacing is None else spacing.reshape(-1, 2)[0]
        options: dict[str, Any] = {
            "origin": "upper",
            "aspect": float(row_step / column_step) if row_step == row_step else 1.0,
            "interpolation": "nearest",
        }
        if "channel" in frame.dims:
            shown = values.astype(float)
            low, high = float(np.nanmin(shown)), float(np.nanmax(shown))
            shown = (shown - low) / (high - low) if high > low else np.zeros_like(shown)
        else:
            center, width = window if window is not None else self._header_window(database)
            shown = _export.apply_window(values, center, width)
            if str(frame.attrs.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
                shown = 1.0 - shown
            options.update(cmap="gray", vmin=0.0, vmax=1.0)
        image = ax.imshow(shown, **{**options, **kwargs})
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(self._title(frame), fontsize="small")
        if letters:
            self._letters(ax, frame)
        return image

    plot = imshow

    def _frame(self) -> xr.DataArray:
        """The one frame of the array (tag dims of size 1 squeezed)."""
        da = self._da
        tags = [d for d in da.dims if d not in _PIXEL_DIMS]
        more = {d: int(da.sizes[d]) for d in tags if da.sizes[d] > 1}
        if more:
            first = next(iter(more))
            raise GridError(
                f"imshow shows one frame, and the array has {more}: select one first, "
                f"e.g. da.isel({first}=0).dicom.imshow()"
            )
        return da.isel({d: 0 for d in tags}) if tags else da

    def _header_window(self, database: Any) -> tuple[float | None, float | None]:
        """The WindowCenter and WindowWidth of the frame's source instance (None: unknown)."""
        try:
            instances = self.source_instances(database)
        except DicomError:
            return None, None
        instance = instances.values.ravel()[0]
        if instance is None:
            return None, None
        return _number(instance.get("WindowCenter")), _number(instance.get("WindowWidth"))

    def _title(self, frame: xr.DataArray) -> str:
        """The name, and the values of the tag dims at the frame (kept as scalar coords)."""
        parts = [str(frame.name)] if frame.name is not None else []
        for d in _arrays.AUTO_DIMS:
            if d in frame.coords and frame.coords[d].ndim == 0:
                value = frame.coords[d].item()
                parts.append(f"{d}={value:g}" if isinstance(value, float) else f"{d}={value}")
        return ", ".join(parts)

    def _letters(self, ax: Any, frame: xr.DataArray) -> None:
        """Patient directions at the four edges (from ImageOrientationPatient)."""
        cosines = _arrays.tag_vectors(frame, "ImageOrientationPatient", 6)
        if cosines is None or np.isnan(cosines).any():
            return
        row, column = cosines.reshape(-1, 6)[0][:3], cosines.reshape(-1, 6)[0][3:]
        style = {"transform": ax.transAxes, "color": "orange", "fontweight": "bold"}
        ax.text(0.5, 0.98, direction_letters(-column), ha="center", va="top", **style)
        ax.text(0.5, 0.02, direction_letters(column), ha="center", va="bottom", **style)
        ax.text(0.02, 0.5, direction_letters(-row), ha="left", va="center", **style)
        ax.text(0.98, 0.5, direction_letters(row), ha="right", va="center", **style)


def _number(value: Any) -> float | None:
    """The first value of a header number (None if absent)."""
    if value is None:
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
