"""The export layer: one module per format, all writing one folder layout.

DICOM (copies, or a medium with a DICOMDIR), CSV, NPY, NIfTI (with BIDS
sidecars and names), PNG, (OME-)Zarr and virtual Zarr (references to the
frames in place); :mod:`._layout` holds the layout and the names made from
header values, :mod:`._archive` the layout written as one zip file. Each
public name is imported from its module when first used (see
:mod:`dbdicom._facade`), so the formats' libraries (xarray, zarr, nibabel,
matplotlib) load only when that format is exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._facade import lazy_names

if TYPE_CHECKING:
    from ._archive import export_zip, zip_folder
    from ._csv import export_csv
    from ._dicom import export_dicom
    from ._dicomdir import export_dicomdir
    from ._each import ExportedPath, ExportedURL, Skipped, why_skipped
    from ._layout import (
        array_name,
        bids_label,
        frame_rows,
        label,
        safe_name,
        series_description,
        series_folders,
        series_name,
        target_folder,
    )
    from ._nifti import export_nifti
    from ._nifti_file import write_nifti
    from ._npy import export_npy, export_npy_all, npy_arrays
    from ._png import apply_window, export_png
    from ._sidecar_volumes import dicom_lists
    from ._virtual import export_virtual, series_references, virtual_references
    from ._zarr import export_zarr, open_zarr, write_zarr
    from ._zarr_encoding import decode_zarr, encode_zarr

_MODULES = {
    "ExportedPath": "._each",
    "ExportedURL": "._each",
    "Skipped": "._each",
    "apply_window": "._png",
    "array_name": "._layout",
    "bids_label": "._layout",
    "decode_zarr": "._zarr_encoding",
    "dicom_lists": "._sidecar_volumes",
    "encode_zarr": "._zarr_encoding",
    "export_csv": "._csv",
    "export_dicom": "._dicom",
    "export_dicomdir": "._dicomdir",
    "export_nifti": "._nifti",
    "export_npy": "._npy",
    "export_npy_all": "._npy",
    "export_png": "._png",
    "export_virtual": "._virtual",
    "export_zip": "._archive",
    "export_zarr": "._zarr",
    "frame_rows": "._layout",
    "label": "._layout",
    "npy_arrays": "._npy",
    "open_zarr": "._zarr",
    "safe_name": "._layout",
    "series_description": "._layout",
    "series_folders": "._layout",
    "series_name": "._layout",
    "series_references": "._virtual",
    "target_folder": "._layout",
    "why_skipped": "._each",
    "virtual_references": "._virtual",
    "write_nifti": "._nifti_file",
    "write_zarr": "._zarr",
    "zip_folder": "._archive",
}
__getattr__ = lazy_names(__name__, _MODULES)

__all__ = [
    "ExportedPath",
    "ExportedURL",
    "Skipped",
    "apply_window",
    "array_name",
    "bids_label",
    "decode_zarr",
    "dicom_lists",
    "encode_zarr",
    "export_csv",
    "export_dicom",
    "export_dicomdir",
    "export_nifti",
    "export_npy",
    "export_npy_all",
    "export_png",
    "export_virtual",
    "export_zarr",
    "export_zip",
    "frame_rows",
    "label",
    "npy_arrays",
    "open_zarr",
    "safe_name",
    "series_description",
    "series_folders",
    "series_name",
    "series_references",
    "target_folder",
    "why_skipped",
    "virtual_references",
    "write_nifti",
    "write_zarr",
    "zip_folder",
]
