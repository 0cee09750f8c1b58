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


#: The tags an affine is made of, with their DICOM tag numbers.
_GEOMETRY_TAGS = {
    "ImagePositionPatient": "(0020,0032)",
    "ImageOrientationPatient": "(0020,0037)",
    "PixelSpacing": "(0028,0030)",
}


def _why_no_affine(da: Any) -> str:
    """Why ``da`` has no affine: the geometry tags it lacks, or the slices' layout."""
    missing = []
    for tag, number in _GEOMETRY_TAGS.items():
        if tag in da.attrs and da.attrs[tag] is not None:
            continue
        if tag in da.coords and any(v is not None for v in da[tag].values.ravel()):
            continue
        missing.append(f"{number} {tag}")
    if missing:
        return (
            "no affine: the images have no " + " and no ".join(missing) + ", so they have no "
            "position or orientation in the patient (as X-ray, ultrasound and secondary "
            "capture images often do); NIfTI needs them"
        )
    return (
        "no affine: the frames do not define one volume (slices not evenly spaced, "
        "or positions that vary along a non-slice dim)"
    )


def _nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Voxels indexed (column, row, slice[, volume]), the RAS affine, the sidecar.

    The slice axis is the ``SliceLocation`` dim (a single slice without it);
    every other tag dim is stacked, in order, along the fourth axis, and its
    values at each volume go into the sidecar.
    """
    if "affine" not in da.attrs:
        raise GridError(_why_no_affine(da))
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
    return voxels, _LPS_TO_RAS @ da.attrs["affine"], sidecar


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
        image = nibabel.Nifti1Image(voxels, affine)
        image.header.set_xyzt_units("mm", "sec")
        image.set_qform(affine, code=1)
        image.set_sform(affine, code=1)
        with written(folder.parent / f"{name}.nii.gz") as temporary:
            nibabel.save(image, temporary)
        with written(folder.parent / f"{name}.json") as temporary:
            temporary.write_text(json.dumps(sidecar, indent=1))


# ------------------------------------------------------------------ PNG
