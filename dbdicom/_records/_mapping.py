"""Series onto the grid of another series, and NIfTI files into the database.

:func:`map_to` and :func:`map_mask_to` resample a series onto the voxel grid
of a target series (both affines in patient LPS mm, see
:mod:`dbdicom._geometry`) and write the result as a new series in the
target's study; :func:`import_nifti` writes a NIfTI file as a new series.

What the written series holds:

* the pixels, on the target's grid: its affine (ImagePositionPatient,
  ImageOrientationPatient, PixelSpacing, SpacingBetweenSlices of every
  frame), its SliceLocation values, its SliceThickness and its
  FrameOfReferenceUID (the coordinates are the target's);
* the tag dims of the source that are not spatial (e.g. ``FlipAngle``),
  each 3-D volume resampled on its own;
* of the source's other attributes only the MR timing parameters shared by
  all its frames (RepetitionTime, EchoTime, InversionTime, FlipAngle): the
  headers come from the MR Image template, not from the source frames,
  whose geometry would be wrong for the new grid.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._arrays import affine_of, base_keyword
from .._errors import DicomError, GeometryError, InvalidValueError, install_hint
from .._export import dicom_lists, series_description
from .._geometry import ORDERS, affine_defect, inside, resample, source_indices
from .._keywords import tag_for_keyword

if TYPE_CHECKING:
    import xarray as xr

    from ._record import Record

__all__ = ["import_nifti", "map_mask_to", "map_to"]

# LPS (DICOM) <-> RAS (NIfTI): the first two axes change sign (its own inverse)
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
# attrs of the source describing the values (not the grid), kept when mapping
_KEPT = ("RepetitionTime", "EchoTime", "InversionTime", "FlipAngle")
# coordinates that belong to the source's frames or grid: never carried over
_FRAME_COORDS = frozenset(
    {"SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation", "frame"}
)
_SPATIAL = ("SliceLocation", "row", "column")
# mask: a target voxel is in when the interpolated mask is at least this
MASK_THRESHOLD = 0.5


def _series_only(record: Any, role: str) -> None:
    level = getattr(record, "level", None)
    if level != "series":
        what = f"a {level}" if level else f"a {type(record).__name__}"
        raise DicomError(f"the {role} must be a series; got {what}.")


def _volume(series: Record, role: str) -> xr.DataArray:
    """The series' one DataArray with an affine, or a clear error."""
    try:
        da = series.to_xarray()
    except GeometryError as exc:
        groups = len(series.to_xarrays())
        raise GeometryError(
            f"the {role} series {series.label()!r} cannot be resampled: its frames have "
            f"{groups} different sizes, orientations or pixel spacings "
            "(series.to_xarrays() gives them one "
            "by one), not one volume. Split the series first, one geometry a series."
        ) from exc
    if affine_of(da) is None:
        raise GeometryError(
            f"the {role} series {series.label()!r} has no affine: its frames lack "
            "ImagePositionPatient, ImageOrientationPatient or PixelSpacing, or do not "
            "stack into slices along SliceLocation, so the position of its voxels is unknown."
        )
    if "channel" in da.dims:
        raise InvalidValueError(
            f"the {role} series {series.label()!r} holds colour images: only single-valued "
            "(monochrome) images can be resampled."
        )
    return da


def _grid(da: xr.DataArray) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The affine and (slice, row, column) shape of a DataArray's volume."""
    shape = (int(da.sizes.get("SliceLocation", 1)), int(da.sizes["row"]), int(da.sizes["column"]))
    affine = affine_of(da)
    assert affine is not None  # checked by _volume
    return affine, shape


def _resampled(
    source: Record,
    target: Record,
    order: int,
    mask: bool,
) -> xr.DataArray:
    """The source's values on the target's grid, as a DataArray ready to write."""
    import xarray as xr

    _series_only(source, "source")
    _series_only(target, "target")
    if not isinstance(order, int) or isinstance(order, bool) or order not in ORDERS:
        raise InvalidValueError(
            f"order must be one of {ORDERS} (0 nearest, 1 linear, 2 and 3 splines); got {order!r}."
        )
    da = _volume(source, "source")
    grid = _volume(target, "target")
    source_affine, source_shape = _grid(da)
    target_affine, target_shape = _grid(grid)
    at = source_indices(source_affine, target_affine, target_shape)
    if not inside(at, source_shape).any():
        raise GeometryError(
            f"the series {source.label()!r} and {target.label()!r} do not overlap: no voxel "
            "of the target lies inside the source. Are both in the same frame of reference "
            "(FrameOfReferenceUID)?"
        )
    extra = [d for d in da.dims if d not in _SPATIAL]
    ordered = da.transpose(*extra, *[d for d in _SPATIAL if d in da.dims])
    extra_shape = tuple(int(da.sizes[d]) for d in extra)
    out: np.ndarray | None = None
    for index in np.ndindex(*extra_shape):
        part = ordered[index] if index else ordered
        values = np.asarray(part.values)
        if mask:
            values = (values != 0).astype(np.float64)
        volume = resample(
            values, source_affine, target_affine, target_shape, order=order, indices=at
        )
        if mask:
            volume = (volume >= MASK_THRESHOLD - 1e-6).astype(np.uint8)
        if out is None:
            out = np.empty((*extra_shape, *target_shape), dtype=volume.dtype)
        out[index] = volume
    assert out is not None  # np.ndindex() of no dims gives one index
    coords = _mapped_coords(da, grid, extra)
    attrs = _mapped_attrs(da, grid, target_affine)
    result = xr.DataArray(out, dims=(*extra, *_SPATIAL), coords=coords, attrs=attrs)
    # the source's order of dims, SliceLocation where it had it (first if it had none)
    order_dims = list(da.dims[:-2]) if "SliceLocation" in da.dims else ["SliceLocation", *extra]
    return result.transpose(*order_dims, "row", "column")


def _mapped_coords(da: xr.DataArray, grid: xr.DataArray, extra: list[Any]) -> dict[str, Any]:
    """The coords of the resampled DataArray.

    The source's coords along its ``extra`` (not spatial) dims, and the
    target's SliceLocation where it is a dim coordinate.
    """
    coords: dict[str, Any] = {}
    for name, coord in da.coords.items():
        if base_keyword(str(name)) in _FRAME_COORDS or name in ("row", "column"):
            continue
        if set(coord.dims) <= set(extra):
            coords[str(name)] = (coord.dims, coord.values)
    if "SliceLocation" in grid.coords and grid["SliceLocation"].dims == ("SliceLocation",):
        coords["SliceLocation"] = grid["SliceLocation"].values
    return coords


def _mapped_attrs(da: xr.DataArray, grid: xr.DataArray, affine: np.ndarray) -> dict[str, Any]:
    """The attrs of the resampled DataArray.

    The target's ``affine``, SliceThickness and FrameOfReferenceUID, and the
    source's kept attrs that are not coords.
    """
    attrs: dict[str, Any] = {"affine": affine}
    for keyword in _KEPT:
        if keyword in da.attrs and keyword not in da.coords:
            attrs[keyword] = da.attrs[keyword]
    for keyword in ("SliceThickness", "FrameOfReferenceUID"):
        if keyword in grid.attrs:
            attrs[keyword] = grid.attrs[keyword]
    return attrs


def _descriptions(source: Record, target: Record) -> tuple[str, str]:
    return series_description(source) or "series", series_description(target) or "series"


def map_to(source: Record, target: Record, order: int = 1, kind: str = "image") -> Record:
    """``source`` resampled onto ``target``'s grid, as a new series of target's study.

    ``kind``: ``"image"`` or ``"parametric map"`` (floats as they are, NaN kept).
    """
    if kind not in ("image", "parametric map"):
        raise InvalidValueError(
            f"kind must be 'image' or 'parametric map'; got {kind!r} (a mask: map_mask_to)."
        )
    if isinstance(order, int | np.integer) and not isinstance(order, bool):
        order = int(order)
    da = _resampled(source, target, order, mask=False)
    method = {0: "nearest neighbour", 1: "linear", 2: "quadratic spline", 3: "cubic spline"}
    return _write(source, target, da, f"{method[order]} interpolation", kind)


def map_mask_to(source: Record, target: Record) -> Record:
    """The mask ``source`` (non-zero: in) on ``target``'s grid, 0/1, as a new series."""
    da = _resampled(source, target, 1, mask=True)
    return _write(source, target, da, "mask: linear interpolation, at least 0.5 is in")


def _write(
    source: Record, target: Record, da: xr.DataArray, how: str, kind: str = "image"
) -> Record:
    name, onto = _descriptions(source, target)
    new = target.new_sibling(SeriesDescription=f"{name} mapped to {onto}")
    what = f"{source.label()} resampled onto the grid of {target.label()} ({how})"
    if kind == "image" and da.dtype.kind == "f" and bool(np.isnan(da.values).any()):
        raise InvalidValueError(
            f"{source.label()!r} holds NaN values (a parametric map's voxels where a fit "
            "failed), which DICOM images cannot store: map it with "
            "map_to(target, kind='parametric map'), which keeps them."
        )
    return new.set_xarray(da, description=what, kind=kind)


# ------------------------------------------------------------------ NIfTI
def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _sidecar(path: Path) -> dict[str, Any]:
    """The JSON sidecar written next to the file by :meth:`export_as_nifti`, if any."""
    found = path.with_name(_stem(path) + ".json")
    if not found.is_file():
        return {}
    try:
        loaded = json.loads(found.read_text())
    except (OSError, ValueError):
        return {}
    # BIDS keys and units (EchoTime in seconds...) back to DICOM's
    return dicom_lists(loaded) if isinstance(loaded, dict) else {}


def _volume_coords(sidecar: dict[str, Any], n: int) -> tuple[str, dict[str, Any]]:
    """The name of the 4th dim and its coordinates, from the sidecar's lists.

    A list of ``n`` distinct values under a DICOM keyword names the dim (the
    first such list); other lists of ``n`` values of keywords become
    coordinates along it. Without one: ``frame``, a dim without coordinate
    (along which the lists, if any, are still coordinates).
    """
    lists = {
        key: value
        for key, value in sidecar.items()
        if isinstance(value, list)
        and len(value) == n
        and tag_for_keyword(key) is not None
        and all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in value)
    }
    dim = next((k for k, v in lists.items() if len({repr(x) for x in v}) == n), "frame")
    # lists that repeat (several dims flattened) go along, as coordinates: each
    # frame gets its values, and reading the series back finds the dims again
    return dim, {key: (dim, list(value)) for key, value in lists.items()}


def _check_affine(affine: np.ndarray, path: Path) -> None:
    """Refuse a NIfTI file whose affine places no stack of DICOM images (`affine_defect`)."""
    defect = affine_defect(affine)
    if defect is not None:
        raise GeometryError(f"{path} cannot be written as DICOM images: its affine: {defect}.")


def nifti_dataarray(path: str | os.PathLike[str]) -> xr.DataArray:
    """A NIfTI file as a DataArray to write: dims (SliceLocation, [4th,] row, column).

    Voxel (i, j, k[, t]) of the file is column i, row j of slice k (the
    inverse of :func:`dbdicom._export.export_nifti`); the affine goes from
    RAS to LPS.
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError(f"NIfTI import needs nibabel: {install_hint('nifti')}") from exc
    import xarray as xr

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{str(file)!r} is not a file: give the path of a .nii or .nii.gz")
    try:
        image: Any = nibabel.load(file)
    except (OSError, ValueError, nibabel.filebasedimages.ImageFileError) as exc:
        raise InvalidValueError(f"{file} cannot be read as NIfTI: {exc}") from exc
    voxels = np.asanyarray(image.dataobj)
    while voxels.ndim > 4 and voxels.shape[-1] == 1:
        voxels = voxels[..., 0]
    if voxels.ndim == 2:
        voxels = voxels[:, :, None]
    if voxels.ndim not in (3, 4):
        raise InvalidValueError(
            f"{file} has {voxels.ndim} dims {voxels.shape}: only 2-D, 3-D and 4-D images "
            "can be imported."
        )
    if voxels.dtype.kind not in "biuf":
        raise InvalidValueError(f"{file} holds {voxels.dtype} values: only numbers are imported.")
    affine = _RAS_TO_LPS @ np.asarray(image.affine, dtype=float)
    _check_affine(affine, file)
    normal = np.cross(affine[:3, 0], affine[:3, 1])
    thickness = abs(float(affine[:3, 2] @ normal / np.linalg.norm(normal)))
    attrs: dict[str, Any] = {"affine": affine, "SliceThickness": round(thickness, 6)}
    if voxels.ndim == 3:
        data = np.transpose(voxels, (2, 1, 0))  # (slice, row, column)
        return xr.DataArray(data, dims=_SPATIAL, attrs=attrs)
    dim, coords = _volume_coords(_sidecar(file), int(voxels.shape[3]))
    data = np.transpose(voxels, (2, 3, 1, 0))  # (slice, volume, row, column)
    return xr.DataArray(
        data, dims=("SliceLocation", dim, "row", "column"), coords=coords, attrs=attrs
    )


def _axes_onto(source: np.ndarray, target: np.ndarray) -> dict[int, tuple[int, float]] | None:
    """For each axis of the affine ``source``, the ``target`` axis it runs along, and which way.

    ``(axis, 1.0)`` forward, ``(axis, -1.0)`` backward; None where the
    voxels are not of the same size and axes.
    """
    found: dict[int, tuple[int, float]] = {}
    for a in range(3):
        u = source[:3, a]
        for b in range(3):
            v = target[:3, b]
            size = float(np.linalg.norm(v))
            cos = float(u @ v) / (float(np.linalg.norm(u)) * size)
            same_size = abs(float(np.linalg.norm(u)) - size) <= 1e-3 * size
            if abs(abs(cos) - 1) < 1e-4 and same_size and b not in {x for x, _ in found.values()}:
                found[a] = (b, float(np.sign(cos)))
                break
    return found if len(found) == 3 else None


def _on_reference_grid(da: xr.DataArray, reference: Record) -> xr.DataArray:
    """``da`` (of a NIfTI file) laid out as the reference's frames, where its voxels are theirs.

    Another tool's NIfTI of the reference series (dcm2niix stores the rows
    the other way up) holds the same voxels in another order: they are put
    in the reference's order, with the reference's geometry tags exactly
    (positions, SliceLocation), so that the new series lines up with the
    reference index for index and coordinate for coordinate (xarray aligns
    on SliceLocation: a float32 affine's 10.381356 is not 10.381356239319).
    A file on another grid stays on its own, in the right place
    (:func:`map_to` resamples it).
    """
    try:
        ref = reference.to_xarray()
    except DicomError:
        return da
    target = affine_of(ref)
    if tuple(ref.dims) != _SPATIAL or target is None or set(da.dims) != set(_SPATIAL):
        return da
    source = np.asarray(da.attrs["affine"], dtype=float)
    onto = _axes_onto(source, target)
    names = ("column", "row", "SliceLocation")  # the affines' axes
    if onto is None or any(da.sizes[names[a]] != ref.sizes[names[b]] for a, (b, _) in onto.items()):
        return da
    corner = [0.0, 0.0, 0.0, 1.0]  # the reference's voxel that is the file's first
    for b, sign in onto.values():
        corner[b] = 0.0 if sign > 0 else float(ref.sizes[names[b]] - 1)
    spacing = min(float(np.linalg.norm(target[:3, b])) for b in range(3))
    if not np.allclose(source[:3, 3], (target @ corner)[:3], atol=1e-3 * spacing):
        return da
    out = da
    for a, (_, sign) in onto.items():
        if sign < 0:
            out = out.isel({names[a]: slice(None, None, -1)})
    out = out.rename({names[a]: f"_axis{b}" for a, (b, _) in onto.items()})
    out = out.rename({f"_axis{b}": names[b] for b in range(3)}).transpose(*_SPATIAL)
    geometry = ("ImageOrientationPatient", "PixelSpacing", "SliceThickness", "ImagePositionPatient")
    attrs = {k: v for k, v in out.attrs.items() if k != "affine"}
    attrs.update({k: ref.attrs[k] for k in geometry if k in ref.attrs})
    coords = {
        str(name): coord
        for name, coord in ref.coords.items()
        if base_keyword(str(name)) in ("ImagePositionPatient", "SliceLocation")
    }
    out = out.assign_coords(coords)
    out.attrs = attrs
    return out


def import_nifti(
    database: Record, path: str | os.PathLike[str], reference: Record | None = None
) -> Record:
    """The NIfTI file at ``path`` as a new series (see :meth:`Database.import_nifti`)."""
    if reference is not None and (
        getattr(reference, "level", None) not in ("series", "study")
        or reference._db is not database._db
    ):
        raise DicomError(
            f"the reference must be a series (or a study) of this database; got {reference!r}."
        )
    da = nifti_dataarray(path)
    stem = _stem(Path(path))
    if reference is None:
        new = database.new_patient().new_study().new_series(SeriesDescription=stem)
    else:
        if reference.level == "study":
            new = reference.new_series(SeriesDescription=stem)
        else:
            new = reference.new_sibling(SeriesDescription=stem)
            # the file is taken to be in the reference's patient coordinates
            frames = reference.unique("FrameOfReferenceUID")
            if len(frames) == 1 and frames[0]:
                da.attrs["FrameOfReferenceUID"] = frames[0]
            da = _on_reference_grid(da, reference)
    values = da.values
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        finite = np.isfinite(values)
        database._warn(f"{path}: {int((~finite).sum())} NaN or infinite voxel(s) written as 0.")
        da = da.copy(data=np.where(finite, values, 0))
    return new.set_xarray(da, description=f"imported from NIfTI {Path(path).name}")
