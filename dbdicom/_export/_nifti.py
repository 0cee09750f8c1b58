"""NIfTI export: one ``.nii.gz`` and a JSON sidecar per series (``dbdicom[nifti]``).

The files are made by :mod:`._nifti_file` (the sidecar has dcm2niix's keys
and units, see :mod:`._sidecar`); with ``bids`` they are named and placed
as a BIDS dataset (see :mod:`._bids_export`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._errors import install_hint
from ._bids_export import BidsOption, export_bids
from ._each import ExportedPath, each_series
from ._layout import target_folder
from ._nifti_file import (
    arrays_of,
    first_header,
    nifti_volumes,
    save_gradients,
    save_nifti,
    sidecar_of,
    time_step,
)

__all__ = ["export_nifti"]


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
    :mod:`._bids_export`). A series that cannot be written (no image, no
    affine, no BIDS name...) is skipped with a message, or raises when it
    is the record exported (see :func:`each_series`).
    """
    try:
        import nibabel
    except ImportError as exc:
        raise ImportError(f"NIfTI export needs nibabel: {install_hint('nifti')}") from exc

    root = target_folder(path)
    if bids is not False:
        return export_bids(record, root, identifiers, bids, nibabel)

    def write(series: Any, folder: Path) -> None:
        _write_series(record, series, folder, identifiers, nibabel)

    return each_series(record, root, write, "NIfTI")


def _write_series(record: Any, series: Any, folder: Path, identifiers: bool, nibabel: Any) -> None:
    """The NIfTI files of one series (one per geometry group); raises if none can be."""
    arrays = arrays_of(record, series, folder.name)
    for name, voxels, affine, per_volume, da in nifti_volumes(record, series, arrays, folder.name):
        header = first_header(record, series, da)
        sidecar, _ = sidecar_of(header, da, per_volume, identifiers)
        step = time_step(da, per_volume, sidecar)
        save_nifti(nibabel, voxels, affine, sidecar, folder.parent / name, step)
        save_gradients(record, da, affine, folder.parent / name)
