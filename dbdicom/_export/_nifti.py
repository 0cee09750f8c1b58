"""NIfTI export: one ``.nii.gz`` and a JSON sidecar per series (``dbdicom[nifti]``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GeometryError, GridError
from ._layout import (
    series_folders,
    target_folder,
    written,
)

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Voxels indexed (column, row, slice[, volume]), the RAS affine, the sidecar.

    The slice axis is the ``SliceLocation`` dim (a single slice without it);
    every other tag dim is stacked, in order, along the fourth axis, and its
    values at each volume go into the sidecar.
    """
    if "affine" not in da.attrs:
        raise ValueError(
            "no affine: the frames do not define one volume (slices not evenly spaced, "
            "or positions that vary along a non-slice dim)"
        )
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


def export_nifti(record: Any, path: str | os.PathLike[str]) -> Path:
    """One NIfTI file per series (per geometry group where a series mixes them).

    3-D, or 4-D when the series has tag dims besides ``SliceLocation``; the
    affine converted from DICOM LPS to NIfTI RAS; a JSON sidecar of the
    values of the tags along the fourth dim. Series without images (reports,
    presentation states...) are skipped with a message.
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError('NIfTI export needs nibabel: pip install "dbdicom[nifti]"') from exc

    root = target_folder(path)
    pairs = list(series_folders(record, root))
    for i, (series, folder) in enumerate(pairs):
        try:
            arrays = [_dataarray(record if record.level == "instance" else series)]
        except GeometryError:
            arrays = series.to_xarrays()
            record.message(
                f"Series {series.label()!r} mixes {len(arrays)} image sizes or orientations: "
                f"one NIfTI file per group ({folder.name}_1 ... _{len(arrays)})."
            )
        except GridError as exc:
            record.message(f"Series {series.label()!r} skipped: {exc}")
            continue
        for k, da in enumerate(arrays):
            name = folder.name if len(arrays) == 1 else f"{folder.name}_{k + 1}"
            try:
                voxels, affine, sidecar = _nifti_volume(da)
            except ValueError as exc:
                record.message(f"Series {series.label()!r} skipped: {exc}")
                continue
            folder.parent.mkdir(parents=True, exist_ok=True)
            image = nibabel.Nifti1Image(voxels, affine)
            image.header.set_xyzt_units("mm", "sec")
            image.set_qform(affine, code=1)
            image.set_sform(affine, code=1)
            with written(folder.parent / f"{name}.nii.gz") as temporary:
                nibabel.save(image, temporary)
            with written(folder.parent / f"{name}.json") as temporary:
                temporary.write_text(json.dumps(sidecar, indent=1))
        record.progress(i + 1, len(pairs), "Exporting NIfTI")
    return root


# ------------------------------------------------------------------ PNG
