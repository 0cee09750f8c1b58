"""NIfTI export: one ``.nii.gz`` and a JSON sidecar per series (``dbdicom[nifti]``).

The sidecar has dcm2niix's keys and units (see :mod:`._sidecar`); with
``bids`` the files are named and placed as a BIDS dataset (see :mod:`._bids`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import DicomError, GeometryError, GridError, install_hint
from ._bids import ENTITY_DIMS, BidsName, chosen_name, dataset_description
from ._each import ExportedPath, each_series
from ._gradients import gradients_of, write_gradients
from ._header import header_values
from ._layout import bids_label, local_target, series_folders, target_folder, written
from ._sidecar import RULES, iso_time, sidecar_values, slice_timing, volume_lists

#: What ``bids=`` may be: True for dbdicom's mapping, a mapping or a callable.
BidsOption = bool | Mapping[str, str | None] | Callable[[Any], str | None]

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


def _nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, list[Any]]]:
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


def _ranks(values: list[Any]) -> list[int]:
    """Each value's place (from 1) among the distinct values, in ascending order."""
    distinct = sorted(set(values))
    return [distinct.index(v) + 1 for v in values]


def _sidecar(
    header: dict[str, Any], da: Any, per_volume: dict[str, list[Any]], identifiers: bool
) -> tuple[dict[str, Any], set[str]]:
    """The sidecar of a file of ``da`` and its ``per_volume`` values; its keys that list them."""
    volumes = len(next(iter(per_volume.values()))) if per_volume else 1
    echoes = len(set(per_volume.get("EchoTime", [None])))
    sidecar = sidecar_values({**header, "_volumes": volumes, "_echoes": echoes}, identifiers)
    times = _slice_times(da)
    sidecar.update(slice_timing(header, times))
    if times and "AcquisitionTime" in sidecar and "AcquisitionTime" not in per_volume:
        sidecar["AcquisitionTime"] = iso_time(min(times))  # BIDS: of the first data
    lists = volume_lists({k: v for k, v in per_volume.items() if k != _arrays.DIFFUSION})
    if "EchoTime" in per_volume:
        lists["EchoNumber"] = _ranks(per_volume["EchoTime"])
    # the lists first, in the order of the dims: the first names the 4th dim on import
    return {**lists, **{k: v for k, v in sidecar.items() if k not in lists}}, set(lists)


def _dataarray(record: Any) -> Any:
    """A series' DataArray, or an instance's own frames as one."""
    if record.level == "series":
        return record.to_xarray()
    return _arrays.build_dataarray(record._db.index, record._rows(), None)


def _arrays_of(record: Any, series: Any, folder_name: str) -> list[Any]:
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


def _first_header(record: Any, series: Any, da: Any) -> Any:
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


def export_nifti(
    record: Any,
    path: str | os.PathLike[str],
    identifiers: bool = False,
    bids: BidsOption = False,
) -> ExportedPath:
    """One NIfTI file per series (per geometry group where a series mixes them).

    3-D, or 4-D when the series has tag dims besides ``SliceLocation``; the
    affine converted from DICOM LPS to NIfTI RAS; a JSON sidecar with
    dcm2niix's keys and units (see :mod:`._sidecar`), with the values of
    the tags along the fourth dim as lists; ``identifiers`` adds the
    patient's and the study's. With ``bids``, a BIDS dataset (see
    :mod:`._bids`). A series that cannot be written (no image, no
    affine, no BIDS name...) is skipped with a message, or raises when it
    is the record exported (see :func:`each_series`).
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError(f"NIfTI export needs nibabel: {install_hint('nifti')}") from exc

    root = target_folder(path)
    if bids is not False:
        return _export_bids(record, root, identifiers, bids, nibabel)

    def write(series: Any, folder: Path) -> None:
        _write_series(record, series, folder, identifiers, nibabel)

    return each_series(record, root, write, "NIfTI")


def _volumes(
    record: Any, series: Any, arrays: list[Any], name: str
) -> list[tuple[str, np.ndarray, np.ndarray, dict[str, list[Any]], Any]]:
    """(name, voxels, affine, values per volume, DataArray) of each array that has an affine."""
    volumes = []
    for k, da in enumerate(arrays):
        label = name if len(arrays) == 1 else f"{name}_{k + 1}"
        try:
            volumes.append((label, *_nifti_volume(da), da))
        except GridError as exc:
            if len(arrays) == 1:
                raise
            record.message(f"Series {series.label()!r}, group {k + 1} skipped: {exc}")
    if not volumes:
        raise GridError(f"none of its {len(arrays)} groups has an affine")
    return volumes


def _write_series(record: Any, series: Any, folder: Path, identifiers: bool, nibabel: Any) -> None:
    """The NIfTI files of one series (one per geometry group); raises if none can be."""
    arrays = _arrays_of(record, series, folder.name)
    for name, voxels, affine, per_volume, da in _volumes(record, series, arrays, folder.name):
        header = _first_header(record, series, da)
        sidecar, _ = _sidecar(header, da, per_volume, identifiers)
        step = time_step(da, per_volume, sidecar)
        _save(nibabel, voxels, affine, sidecar, folder.parent / name, step)
        _save_gradients(record, da, affine, folder.parent / name)


def _save_gradients(record: Any, da: Any, affine: np.ndarray, stem: Path) -> None:
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
    they have one (a dynamic series: 4 s, where its excitation TR is 0.5 s),
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
        return float(np.median(steps))
    return tr


def _save(
    nibabel: Any,
    voxels: np.ndarray,
    affine: np.ndarray,
    sidecar: dict[str, Any],
    stem: Path,
    step: float | None = None,
) -> None:
    """``<stem>.nii.gz`` and ``<stem>.json``, each written whole or not at all.

    ``step``: the time between volumes (pixdim[4], see :func:`time_step`);
    None for one volume: its RepetitionTime, as dcm2niix writes.
    The qform is the affine where one can be (no shear: a CT with gantry
    tilt has one), else not set (code 0): the sform holds it.
    """
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


# ------------------------------------------------------------------ BIDS


def _subject(series: Any, identifiers: bool) -> str:
    """``01``, ``02``... in the order of the database's patients (their ID if allowed)."""
    patient = series.parent.parent
    if identifiers and bids_label(str(patient.uid)):
        return bids_label(str(patient.uid))
    uids = sorted(str(p.uid) for p in series.database.patients())
    return f"{uids.index(str(patient.uid)) + 1:02d}"


def _session(series: Any) -> str:
    """``1``, ``2``... in the order of the patient's studies by date and time."""
    study = series.parent

    def when(s: Any) -> tuple[str, str, str]:
        return (str(s.StudyDate or ""), str(s.StudyTime or ""), str(s.uid))

    ordered = sorted(study.parent.studies(), key=when)
    return str([s.uid for s in ordered].index(study.uid) + 1)


class _BidsPlan:
    """The BIDS name of every series of an export, runs numbered where names clash."""

    def __init__(self, record: Any, root: Path, identifiers: bool, bids: BidsOption) -> None:
        self.identifiers = identifiers
        self.names: dict[str, BidsName | Exception] = {}
        self.arrays: dict[str, list[Any]] = {}
        clashes: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for series, folder in series_folders(record, root):
            try:
                arrays = _arrays_of(record, series, folder.name)
                self.arrays[series.uid] = arrays
                header = _first_header(record, series, arrays[0])
                name = chosen_name(series, header, _fourth(arrays[0]), bids)
            except DicomError as exc:  # said when the series is written (or skipped)
                self.names[series.uid] = exc
                continue
            entities = {"sub": _subject(series, identifiers), "ses": _session(series)}
            name = BidsName(name.datatype, name.suffix, {**entities, **name.entities})
            self.names[series.uid] = name
            number = float(header.get("SeriesNumber") or 0)
            key = (name.folder(), name.file())
            clashes.setdefault(key, []).append((number, series.uid))
        for found in clashes.values():
            if len(found) > 1 and all("run" not in self._name(u).entities for _, u in found):
                for run, (_, uid) in enumerate(sorted(found), start=1):
                    name = self._name(uid)
                    self.names[uid] = BidsName(
                        name.datatype, name.suffix, {**name.entities, "run": str(run)}
                    )

    def _name(self, uid: str) -> BidsName:
        name = self.names[uid]
        assert isinstance(name, BidsName)
        return name

    def name(self, series: Any) -> BidsName:
        found = self.names[series.uid]
        if isinstance(found, Exception):
            raise found
        return found


#: BIDS suffixes of maps whose values BIDS wants in seconds
_IN_SECONDS = frozenset({"T1map", "T2map", "T2starmap"})


def _fourth(da: Any) -> tuple[str, ...]:
    """The tag dims of ``da`` stacked along the fourth axis of its NIfTI file."""
    return tuple(d for d in da.dims if d not in ("row", "column", "channel", "SliceLocation"))


def _export_bids(
    record: Any, root: Path, identifiers: bool, bids: BidsOption, nibabel: Any
) -> ExportedPath:
    """The series below ``record`` as a BIDS dataset in ``root`` (see :mod:`._bids`).

    Its ``dataset_description.json`` is written once the first series was
    (not when every one was skipped: a folder that held no BIDS dataset
    does not become one), unless ``root`` has one.
    """
    plan = _BidsPlan(record, root, identifiers, bids)
    # the record's label (a folder, a patient's name) may identify the patient
    named = f"DICOM export of {record.label()}" if identifiers else "DICOM export by dbdicom"
    described: list[bool] = []

    def write(series: Any, folder: Path) -> None:
        _bids_series(record, plan, root, series, nibabel)
        if not described:  # after the first series, not the last: whatever comes after
            dataset_description(root, named)
            described.append(True)

    return each_series(record, root, write, "NIfTI (BIDS)")


def _bids_series(record: Any, plan: _BidsPlan, root: Path, series: Any, nibabel: Any) -> None:
    """The NIfTI files and sidecars of one series of a BIDS export (see :func:`_export_bids`)."""
    name = plan.name(series)
    if name.suffix in _IN_SECONDS:
        record.message(
            f"{name.file()}: BIDS wants a {name.suffix} in seconds; DICOM does not say the "
            f"unit of its values (most scanners' maps are in ms): written as stored. In "
            "ms? Write a series of the values / 1000 first (set_xarray) and export that."
        )
    arrays = plan.arrays[series.uid]
    volumes = _volumes(record, series, arrays, name.file())
    for k, (_, voxels, affine, per_volume, da) in enumerate(volumes):
        chunk = ("chunk", str(k + 1)) if len(volumes) > 1 else ()
        header = _first_header(record, series, da)
        sidecar, lists = _sidecar(header, da, per_volume, plan.identifiers)
        if "task" in name.entities:  # required by BIDS for func data
            sidecar["TaskName"] = name.entities["task"]
        if name.suffix == "VFA" and "RepetitionTime" in sidecar:
            # required by BIDS for VFA: (0018,0080) is the one DICOM has, BIDS says
            sidecar["RepetitionTimeExcitation"] = sidecar["RepetitionTime"]
            if "RepetitionTime" in lists:
                lists = lists | {"RepetitionTimeExcitation"}
        split = [d for d in _fourth(da) if d in ENTITY_DIMS]
        if not split or len(split) < len(_fourth(da)):  # one file, 4-D if it has volumes
            if name.datatype == "func" and voxels.ndim == 3:
                voxels = voxels[..., None]  # BIDS: BOLD data are 4-D, if of one volume
            for key in lists & set(RULES):  # one value for a BIDS key: the first volume's
                sidecar[key] = sidecar[key][0]
            stem = root / name.folder() / name.file(*chunk)
            _save(nibabel, voxels, affine, sidecar, stem, time_step(da, per_volume, sidecar))
            _save_gradients(record, da, affine, stem)
            continue
        ranks = {d: _ranks(per_volume[d]) for d in split}
        for t in range(voxels.shape[3]):  # a file per echo / flip angle / inversion
            entities = [x for d in split for x in (ENTITY_DIMS[d], str(ranks[d][t]))]
            one = {k: (v[t] if k in lists else v) for k, v in sidecar.items()}
            stem = root / name.folder() / name.file(*entities, *chunk)
            _save(nibabel, voxels[..., t], affine, one, stem)


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
    voxels, affine, per_volume = _nifti_volume(da)
    header = header_values(str(source)) if source is not None else {}
    sidecar, _ = _sidecar(header, da, per_volume, False)
    target.parent.mkdir(parents=True, exist_ok=True)
    step = time_step(da, per_volume, sidecar)
    _save(nibabel, voxels, affine, sidecar, target.parent / stem, step)
    _save_gradients(None, da, affine, target.parent / stem)
    return target.parent / f"{stem}.nii.gz"
