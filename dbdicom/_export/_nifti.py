"""NIfTI export: one ``.nii.gz`` and a JSON sidecar per series (``dbdicom[nifti]``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GeometryError, GridError
from ._each import ExportedPath, each_series
from ._layout import target_folder, written

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Voxels indexed (column, row, slice[, volume]), the RAS affine, the sidecar.

    The slice axis is the ``SliceLocation`` dim (a single slice without it);
    every other tag dim is stacked, in order, along the fourth axis, and its
    values at each volume go into the sidecar.
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
    sidecar: dict[str, Any] = {}
    if others:
        grid = np.meshgrid(*[da[d].values for d in others], indexing="ij")
        for d, values in zip(others, grid, strict=True):
            sidecar[d] = [v.item() if hasattr(v, "item") else v for v in values.ravel()]
    for key in (
        "SeriesDescription",
        "Modality",
        "RepetitionTime",
        "EchoTime",
        "FlipAngle",
        "SeriesInstanceUID",
        "StudyInstanceUID",
        "PatientID",
    ):
        value = da.attrs.get(key)
        if isinstance(value, str | int | float) and key not in sidecar:
            sidecar[key] = value
    # NIfTI stores the column index fastest: the transposed view of the
    # (slice, row, column) array is already in that (Fortran) order, no copy
    return voxels, _LPS_TO_RAS @ affine, sidecar


def _dataarray(record: Any) -> Any:
    """A series' DataArray, or an instance's own frames as one."""
    if record.level == "series":
        return record.to_xarray()
    return _arrays.build_dataarray(record._db.index, record._rows(), None)


def export_nifti(record: Any, path: str | os.PathLike[str]) -> ExportedPath:
    """One NIfTI file per series (per geometry group where a series mixes them).

    3-D, or 4-D when the series has tag dims besides ``SliceLocation``; the
    affine converted from DICOM LPS to NIfTI RAS; a JSON sidecar of the
    values of the tags along the fourth dim. A series that cannot be
    written (no image, no affine...) is skipped with a message, or raises
    when it is the record exported (see :func:`each_series`).
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError('NIfTI export needs nibabel: pip install "dbdicom[nifti]"') from exc

    root = target_folder(path)
    return each_series(
        record, root, lambda series, folder: _write_series(record, series, folder, nibabel), "NIfTI"
    )


def _write_series(record: Any, series: Any, folder: Path, nibabel: Any) -> None:
    """The NIfTI files of one series (one per geometry group); raises if none can be."""
    try:
        arrays = [_dataarray(record if record.level == "instance" else series)]
    except GeometryError:
        arrays = series.to_xarrays()
        record.message(
            f"Series {series.label()!r} mixes {len(arrays)} image sizes or orientations: "
            f"one NIfTI file per group ({folder.name}_1 ... _{len(arrays)})."
        )
    volumes = []
    for k, da in enumerate(arrays):
        name = folder.name if len(arrays) == 1 else f"{folder.name}_{k + 1}"
        try:
            volumes.append((name, *_nifti_volume(da)))
        except GridError as exc:
            if len(arrays) == 1:
                raise
            record.message(f"Series {series.label()!r}, group {k + 1} skipped: {exc}")
    if not volumes:
        raise GridError(f"none of its {len(arrays)} groups has an affine")
    for name, voxels, affine, sidecar in volumes:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _save(nibabel, folder.parent / name, voxels, affine, sidecar)


def _save(
    nibabel: Any, stem: Path, voxels: np.ndarray, affine: np.ndarray, sidecar: dict[str, Any]
) -> None:
    """Write ``<stem>.nii.gz`` and its sidecar ``<stem>.json``."""
    image = nibabel.Nifti1Image(voxels, affine)
    image.header.set_xyzt_units("mm", "sec")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    with written(stem.parent / f"{stem.name}.nii.gz") as temporary:
        nibabel.save(image, temporary)
    with written(stem.parent / f"{stem.name}.json") as temporary:
        temporary.write_text(json.dumps(sidecar, indent=1))


def write_nifti(da: Any, path: str | os.PathLike[str]) -> Path:
    """Write one DataArray as ``path`` (a ``.nii.gz``) and its JSON sidecar beside it.

    The volume is laid out as :func:`export_nifti` does (its affine from
    :func:`dbdicom._arrays.affine_of`, LPS converted to RAS). ``path`` may
    end in ``.nii.gz``, ``.nii`` or nothing; the file written ends in
    ``.nii.gz``. Returns its path.

    Raises
    ------
    GridError
        If ``da`` has no affine (the message says why).
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError('NIfTI export needs nibabel: pip install "dbdicom[nifti]"') from exc
    target = Path(path)
    stem = target.name.removesuffix(".gz").removesuffix(".nii")
    voxels, affine, sidecar = _nifti_volume(da)
    target.parent.mkdir(parents=True, exist_ok=True)
    _save(nibabel, target.parent / stem, voxels, affine, sidecar)
    return target.parent / f"{stem}.nii.gz"


# ------------------------------------------------------------------ PNG
