"""One NIfTI file and its JSON sidecar from a DataArray (``dbdicom[nifti]``).

The voxels (column, row, slice[, volume]) and the RAS affine of a series'
DataArray, the sidecar with dcm2niix's keys and units (see :mod:`._sidecar`),
the time between volumes, and the file written whole or not at all; the
DataArrays of a series to write (one per geometry group) and the header
their sidecar is made from. Used by the plain export (:mod:`._nifti`) and
the BIDS one (:mod:`._bids_export`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GeometryError, GridError, install_hint
from ._gradients import gradients_of, write_gradients
from ._header import header_values
from ._layout import local_target, written
from ._sidecar import iso_time, sidecar_values, slice_timing
from ._sidecar_volumes import volume_lists

__all__ = [
    "arrays_of",
    "first_header",
    "fourth_dims",
    "nifti_volume",
    "nifti_volumes",
    "ranks",
    "save_gradients",
    "save_nifti",
    "sidecar_of",
    "time_step",
    "volume_timing",
    "write_nifti",
]

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

#: Coordinates listed per volume in the sidecar when they change along the 4th axis.
_VOLUME_COORDS = (
    "AcquisitionTime",
    "AcquisitionNumber",
    "EchoTime",
    "RepetitionTime",
    "InversionTime",
    "FlipAngle",
)


def nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, list[Any]]]:
    """Voxels indexed (column, row, slice[, volume]), the RAS affine, the values per volume.

    The slice axis is the ``SliceLocation`` dim (a single slice without it);
    every other tag dim is stacked, in order, along the fourth axis, and its
    value at each volume is listed (dim -> one value per volume).
    """
    affine = _arrays.affine_of(da)
    if affine is None:
        raise GridError(_arrays.why_no_affine(da))
    tags = [d for d in da.dims if d not in ("row", "column", "channel")]
    others = [d for d in tags if d != "SliceLocation"]
    order = [*others, *(["SliceLocation"] if "SliceLocation" in tags else [])]
    arr = da.transpose(*order, "row", "column").values
    n_slices = da.sizes.get("SliceLocation", 1)
    volumes = int(np.prod([da.sizes[d] for d in others], dtype=int)) if others else 1
    arr = arr.reshape(volumes, n_slices, da.sizes["row"], da.sizes["column"])
    voxels = np.transpose(arr, (3, 2, 1, 0))  # (column, row, slice, volume)
    if volumes == 1:
        voxels = voxels[..., 0]
    per_volume: dict[str, list[Any]] = {}
    if others:
        grid = np.meshgrid(*[da[d].values for d in others], indexing="ij")
        for d, values in zip(others, grid, strict=True):
            per_volume[d] = [v.item() if hasattr(v, "item") else v for v in values.ravel()]
        for name in _VOLUME_COORDS:  # values that change from volume to volume
            coord = da.coords.get(name)
            if name in da.dims or coord is None or not set(coord.dims) & set(others):
                continue
            missing = {d: da.sizes[d] for d in order if d not in coord.dims}
            full = coord.expand_dims(missing).transpose(*order).values
            each = full.reshape(volumes, -1)
            if name == "AcquisitionTime":  # BIDS: the time of the volume's first data
                first = [min(t for t in row if t is not None) for row in each.tolist()]
            else:
                first = each[:, 0].tolist()  # the first slice's, as dcm2niix
            per_volume[name] = first
    # NIfTI stores the column index fastest: the transposed view of the
    # (slice, row, column) array is already in that (Fortran) order, no copy
    return voxels, _LPS_TO_RAS @ affine, per_volume


def _slice_times(da: Any) -> list[float] | None:
    """The AcquisitionTime (s) of each slice of the first volume, in the file's slice order.

    None when the slices share one time (it is no coordinate along the slices).
    """
    coord = da.coords.get("AcquisitionTime")
    if coord is None or "SliceLocation" not in coord.dims:
        return None
    order = [d for d in da.dims if d not in ("row", "column", "channel", "SliceLocation")]
    order.append("SliceLocation")
    missing = {d: da.sizes[d] for d in order if d not in coord.dims}
    full = coord.expand_dims(missing).transpose(*order).values
    first = full.reshape(-1, da.sizes["SliceLocation"])[0]
    try:
        times = [float(t) for t in first]
    except (TypeError, ValueError):
        return None
    return None if any(np.isnan(times)) else times


def ranks(values: list[Any]) -> list[int]:
    """Each value's place (from 1) among the distinct values, in ascending order."""
    distinct = sorted(set(values))
    return [distinct.index(v) + 1 for v in values]


def sidecar_of(
    header: dict[str, Any], da: Any, per_volume: dict[str, list[Any]], identifiers: bool
) -> tuple[dict[str, Any], set[str]]:
    """The sidecar of a file of ``da`` and its ``per_volume`` values; its keys that list them."""
    volumes = len(next(iter(per_volume.values()))) if per_volume else 1
    echoes = len(set(per_volume.get("EchoTime", [None])))
    in_time = bool(per_volume) and all(d in _TIME_DIMS for d in fourth_dims(da))
    extra = {"_volumes": volumes, "_echoes": echoes, "_in_time": in_time}
    sidecar = sidecar_values({**header, **extra}, identifiers)
    times = _slice_times(da)
    sidecar.update(slice_timing(header, times))
    if times and "AcquisitionTime" in sidecar and "AcquisitionTime" not in per_volume:
        sidecar["AcquisitionTime"] = iso_time(min(times))  # BIDS: of the first data
    lists = volume_lists({k: v for k, v in per_volume.items() if k != _arrays.DIFFUSION})
    if "EchoTime" in per_volume:
        lists["EchoNumber"] = ranks(per_volume["EchoTime"])
    # the lists first, in the order of the dims: the first names the 4th dim on import
    return {**lists, **{k: v for k, v in sidecar.items() if k not in lists}}, set(lists)


def _dataarray(record: Any) -> Any:
    """A series' DataArray, or an instance's own frames as one."""
    if record.level == "series":
        return record.to_xarray()
    return _arrays.build_dataarray(record._db.index, record._rows(), None)


def arrays_of(record: Any, series: Any, folder_name: str) -> list[Any]:
    """The DataArrays to write for ``series``: one, or one per geometry group (said).

    Frames of other pixel spacings stack in one DataArray, which has no
    affine: each spacing is a file of its own too.
    """
    try:
        whole = _dataarray(record if record.level == "instance" else series)
        if record.level == "instance" or not _spacing_varies(whole):
            return [whole]
    except GeometryError:
        pass
    arrays = series.to_xarrays()
    if len(arrays) > 1:
        record.message(
            f"Series {series.label()!r} mixes {len(arrays)} image sizes, orientations or "
            "pixel spacings: "
            f"one NIfTI file per group ({folder_name}_1 ... _{len(arrays)})."
        )
    return list(arrays)


def _spacing_varies(da: Any) -> bool:
    """Whether ``da``'s PixelSpacing varies by frame (a coordinate, not an attr)."""
    return any(f"PixelSpacing[{i}]" in da.coords for i in range(2))


def first_header(record: Any, series: Any, da: Any) -> Any:
    """The header values of the first image of ``da``: what the sidecar is made from.

    Read from a local copy where the database is a remote store's.
    """
    instance = record
    if record.level != "instance":
        uid = None
        if "SOPInstanceUID" in da.coords:
            uid = da["SOPInstanceUID"].values.ravel()[0]
        elif "SOPInstanceUID" in da.attrs:
            uid = da.attrs["SOPInstanceUID"]
        found = series.instances(SOPInstanceUID=str(uid)) if uid is not None else []
        instance = found[0] if found else series.instances()[0]
    index = instance._db.index
    with index.local_file(str(index.array("_path", instance._rows())[0])) as path:
        return header_values(path)


def nifti_volumes(
    record: Any, series: Any, arrays: list[Any], name: str
) -> list[tuple[str, np.ndarray, np.ndarray, dict[str, list[Any]], Any]]:
    """(name, voxels, affine, values per volume, DataArray) of each array that has an affine."""
    volumes = []
    for k, da in enumerate(arrays):
        label = name if len(arrays) == 1 else f"{name}_{k + 1}"
        try:
            volumes.append((label, *nifti_volume(da), da))
        except GridError as exc:
            if len(arrays) == 1:
                raise
            record.message(f"Series {series.label()!r}, group {k + 1} skipped: {exc}")
    if not volumes:
        raise GridError(f"none of its {len(arrays)} groups has an affine")
    return volumes


def save_gradients(record: Any, da: Any, affine: np.ndarray, stem: Path) -> None:
    """``<stem>.bval`` and ``<stem>.bvec`` where ``da`` has b-values (see :mod:`._gradients`).

    ``affine`` is the NIfTI file's (RAS). Volumes of b > 0 without a
    direction (isotropic "trace" images) get 0 0 0, as dcm2niix writes,
    and a message.
    """
    gradients = gradients_of(da)
    if gradients is None:
        return
    write_gradients(stem, gradients, _LPS_TO_RAS @ affine)
    undirected = gradients.undirected()
    if undirected and record is not None:
        record.message(
            f"{stem.name}.bvec: volumes {undirected} have b > 0 and no gradient direction "
            "(isotropic trace images?): written 0 0 0, as dcm2niix does."
        )


#: dims along which a series' volumes follow each other in time
_TIME_DIMS = frozenset(
    {
        "TemporalPositionIdentifier",
        "TemporalPositionIndex",
        "AcquisitionNumber",
        "AcquisitionTime",
        "AcquisitionDateTime",
        "ContentTime",
        "TriggerTime",
        "FrameReferenceTime",
        "frame",
        "cardiac_phase",
    }
)


def _repetition(sidecar: dict[str, Any]) -> float:
    """The sidecar's RepetitionTime (s), 0 where it has none (or one per volume)."""
    value = sidecar.get("RepetitionTime")
    return float(value) if isinstance(value, int | float) else 0.0


def time_step(da: Any, per_volume: dict[str, list[Any]], sidecar: dict[str, Any]) -> float:
    """The NIfTI time step (pixdim[4], s): the time between volumes, 0 if they are not in time.

    Along a time dim, the median step of the volumes' AcquisitionTime where
    they have one (a dynamic series: 4 s, where its excitation TR is 0.5 s;
    the TR itself where the step is within 1 % or 5 ms of it: an fMRI
    series' time stamps jitter by their resolution around its TR),
    along a cine's ``cardiac_phase`` the median step of its TriggerTime,
    else the RepetitionTime as dcm2niix sets it; along another dim (echoes,
    flip angles) none: those volumes are not a time series. A single volume
    keeps the RepetitionTime, as dcm2niix writes it.
    """
    tr = _repetition(sidecar)
    others = [d for d in da.dims if d not in ("row", "column", "channel", "SliceLocation")]
    if not others:
        return tr
    if len(others) != 1 or others[0] not in _TIME_DIMS:
        return 0.0
    trigger = da.coords.get("TriggerTime")
    if others[0] == "cardiac_phase" and trigger is not None and others[0] in trigger.dims:
        gaps = np.diff(np.asarray(trigger.values, dtype=float), axis=trigger.dims.index(others[0]))
        if gaps.size and (gaps > 0).all():  # the time between phases (ms)
            return float(np.median(gaps)) / 1000
    times = [t for t in per_volume.get("AcquisitionTime", []) if isinstance(t, int | float)]
    steps = np.diff(np.asarray(times, dtype=float)) if len(times) > 1 else np.array([])
    if len(steps) and (steps > 0).all():
        step = float(np.median(steps))
        # time stamps within their resolution of the TR (Siemens': 2.5 ms) are the TR's volumes
        return tr if tr > 0 and abs(step - tr) <= max(0.01 * tr, 0.005) else round(step, 6)
    return tr


def volume_timing(sidecar: dict[str, Any], step: float) -> dict[str, Any]:
    """The sidecar of volumes ``step`` seconds apart, as BIDS and dcm2niix write it.

    BIDS's RepetitionTime of a 4-D file is the time between its volumes;
    DICOM's (0018,0080) is the time between excitations. Where the two
    differ (a dynamic series whose volumes are 2.5 s apart, with a TR of
    4 ms), ``RepetitionTime`` is the step and ``RepetitionTimeExcitation``
    the header's, as dcm2niix writes them; else the sidecar is as it is.

    Examples
    --------
    >>> volume_timing({"RepetitionTime": 0.004, "EchoTime": 0.002}, 2.5)
    {'RepetitionTime': 2.5, 'EchoTime': 0.002, 'RepetitionTimeExcitation': 0.004}
    >>> volume_timing({"RepetitionTime": 2.5}, 2.5)
    {'RepetitionTime': 2.5}
    """
    tr = _repetition(sidecar)
    if step <= 0 or tr <= 0 or math.isclose(step, tr, rel_tol=1e-6):
        return sidecar
    return {**sidecar, "RepetitionTime": step, "RepetitionTimeExcitation": tr}


def save_nifti(
    nibabel: Any,
    voxels: np.ndarray,
    affine: np.ndarray,
    sidecar: dict[str, Any],
    stem: Path,
    step: float | None = None,
) -> None:
    """``<stem>.nii.gz`` and ``<stem>.json``, each written whole or not at all.

    ``step``: the time between volumes (pixdim[4], see :func:`time_step`);
    None for one volume: its RepetitionTime, as dcm2niix writes. Volumes
    in time whose step is not the header's RepetitionTime get the sidecar
    of :func:`volume_timing`. The qform is the affine where one can be (no
    shear: a CT with gantry tilt has one), else not set (code 0): the sform
    holds it.
    """
    if step is not None and voxels.ndim == 4 and voxels.shape[3] > 1:
        sidecar = volume_timing(sidecar, step)
    stem.parent.mkdir(parents=True, exist_ok=True)
    dtype = None
    if voxels.dtype.kind in "iu" and voxels.dtype.itemsize == 8:
        # 32-bit data with a rescale read as 64-bit: nibabel refuses 64-bit integers
        # unless asked, and most NIfTI readers do not read them
        low, high = (int(voxels.min()), int(voxels.max())) if voxels.size else (0, 0)
        small = np.iinfo(np.int32)
        if small.min <= low and high <= small.max:
            voxels = voxels.astype(np.int32)
        else:
            dtype = voxels.dtype  # written as they are: NIFTI_TYPE_INT64
    image = nibabel.Nifti1Image(voxels, affine, dtype=dtype)
    image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = _repetition(sidecar) if step is None else step
    axes = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    square = np.allclose(axes.T @ axes, np.eye(3), atol=1e-4)  # no shear
    image.set_qform(affine, code=1 if square else 0)
    image.set_sform(affine, code=1)
    with written(stem.with_name(f"{stem.name}.nii.gz")) as temporary:
        nibabel.save(image, temporary)
    with written(stem.with_name(f"{stem.name}.json")) as temporary:
        temporary.write_text(json.dumps(sidecar, indent=1))


def fourth_dims(da: Any) -> tuple[str, ...]:
    """The tag dims of ``da`` stacked along the fourth axis of its NIfTI file."""
    return tuple(d for d in da.dims if d not in ("row", "column", "channel", "SliceLocation"))


def write_nifti(
    da: Any, path: str | os.PathLike[str], source: str | os.PathLike[str] | None = None
) -> Path:
    """Write one DataArray as ``path`` (a ``.nii.gz``) and its JSON sidecar beside it.

    The volume is laid out as :func:`export_nifti` does (its affine from
    :func:`dbdicom._arrays.affine_of`, LPS converted to RAS); the sidecar
    from the header of the file ``source`` (its first frame's, if known)
    and the values along the fourth dim. ``path`` may end in ``.nii.gz``,
    ``.nii`` or nothing; the file written ends in ``.nii.gz``. Returns its
    path.

    Raises
    ------
    GridError
        If ``da`` has no affine (the message says why).
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError(f"NIfTI export needs nibabel: {install_hint('nifti')}") from exc
    target = local_target(path)
    stem = target.name.removesuffix(".gz").removesuffix(".nii")
    voxels, affine, per_volume = nifti_volume(da)
    header = header_values(str(source)) if source is not None else {}
    sidecar, _ = sidecar_of(header, da, per_volume, False)
    target.parent.mkdir(parents=True, exist_ok=True)
    step = time_step(da, per_volume, sidecar)
    save_nifti(nibabel, voxels, affine, sidecar, target.parent / stem, step)
    save_gradients(None, da, affine, target.parent / stem)
    return target.parent / f"{stem}.nii.gz"
