"""Exporting records: DICOM files, CSV tables and numpy arrays, in a readable layout.

Every export writes into a folder that mirrors the hierarchy, one level a
folder, with readable, filesystem-safe names::

    <path>/<patient>/<study>/<series>/...

``<patient>`` is the PatientName and PatientID, ``<study>`` the
StudyDescription and StudyDate, ``<series>`` the SeriesNumber and
SeriesDescription; a name taken twice gets the record's UID appended. The
user's files are only read, never changed.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from ._arrays import safe_name

__all__ = ["export_csv", "export_dicom", "export_nifti", "export_npy_all", "target_folder"]


def target_folder(path: str | os.PathLike[str]) -> Path:
    """The export folder, made if needed; a clear error if it cannot be.

    Raises ``NotADirectoryError`` when ``path`` is a file and
    ``PermissionError`` when the folder cannot be written (nothing is
    written then).
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(
            f"cannot export into {str(root)!r}: it is a file. Give a folder (new or existing)."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermissionError(
            f"cannot export into {str(root)!r}: {exc.strerror or exc}. Give a folder you can write."
        ) from exc
    mode = root.stat().st_mode
    if not os.access(root, os.W_OK) or not mode & 0o222:
        raise PermissionError(
            f"cannot export into {str(root)!r}: the folder is read-only. "
            "Give a folder you can write."
        )
    return root


def _label(record: Any) -> str:
    level = record.level
    first = record._db._values(
        record._rows()[:1],
        {
            "patient": "PatientName",
            "study": "StudyDescription",
            "series": "SeriesDescription",
        }.get(level, "InstanceNumber"),
    )[0]
    if level == "patient":
        name = f"{first or 'anonymous'} [{record.uid}]"
    elif level == "study":
        date = record._db._values(record._rows()[:1], "StudyDate")[0]
        name = f"{first or 'study'} {date or ''}"
    elif level == "series":
        number = record._db._values(record._rows()[:1], "SeriesNumber")[0]
        name = f"{number if number is not None else ''} {first or 'series'}"
    else:
        name = f"{first if first is not None else ''}"
    return safe_name(name.strip())


def _series_folders(record: Any, root: Path) -> Iterator[tuple[Any, Path]]:
    """Each series below (or at) ``record`` with the folder it exports into."""
    taken: dict[Path, str] = {}

    def place(parent: Path, rec: Any) -> Path:
        folder = parent / _label(rec)
        if folder in taken and taken[folder] != rec.uid:
            folder = parent / safe_name(f"{_label(rec)}_{rec.uid}")
        taken[folder] = rec.uid
        return folder

    if record.level == "instance":
        series = record.series()
        yield series, root / _label(series)
        return
    everything = [record] if record.level == "series" else record.series()
    for series in everything:
        folder = root
        for level in ("patient", "study"):
            up = series.patients() if level == "patient" else series.studies()
            if _depth(up) <= _depth(record):
                continue  # the exported record and the levels above it get no folder
            folder = place(folder, up)
        yield series, place(folder, series)


def _depth(record: Any) -> int:
    return ("database", "patient", "study", "series", "instance").index(record.level)


def _progress(record: Any, what: str) -> Callable[[int, int], None]:
    return lambda done, total: record.progress(done, total, what)


def export_dicom(record: Any, path: str | os.PathLike[str]) -> Path:
    """Copy the files of ``record`` (unchanged, byte for byte) into the layout."""
    root = target_folder(path)
    plan = []
    for series, folder in _series_folders(record, root):
        instances = [record] if record.level == "instance" else series.instances()
        for instance in instances:
            plan.append((instance.path, folder / f"{_label(instance) or 'instance'}.dcm"))
    seen: set[Path] = set()
    report = _progress(record, "Exporting DICOM")
    for i, (source, target) in enumerate(plan):
        if target in seen:
            target = target.with_name(f"{target.stem}_{i}.dcm")
        seen.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        report(i + 1, len(plan))
    return root


def _cell(element: Any) -> str:
    """A CSV cell: the value as text, sequences summarised, bytes by size."""
    if element.VR == "SQ":
        return f"<sequence of {len(element.value)} items>"
    value = element.value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def export_csv(record: Any, path: str | os.PathLike[str]) -> Path:
    """One CSV file per series: a row per instance, a column per top-level tag."""
    root = target_folder(path)
    pairs = list(_series_folders(record, root))
    report = _progress(record, "Exporting CSV")
    for i, (series, folder) in enumerate(pairs):
        instances = [record] if record.level == "instance" else series.instances()
        rows: list[dict[str, str]] = []
        columns: dict[str, None] = {}
        for instance in instances:
            ds = pydicom.dcmread(instance.path, stop_before_pixels=True)
            row = {}
            for element in ds:
                name = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
                row[name] = _cell(element)
                columns.setdefault(name)
            rows.append(row)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
        report(i + 1, len(pairs))
    return root


def export_npy_all(record: Any, path: str | os.PathLike[str], sortby: Any = None) -> Path:
    """One ``.npy`` per series (see :meth:`dbdicom.Series.array`)."""
    root = target_folder(path)
    pairs = list(_series_folders(record, root))
    report = _progress(record, "Exporting NPY")
    for i, (series, folder) in enumerate(pairs):
        if record.level == "instance":  # only its own frames
            from ._arrays import build_dataarray

            dims = [sortby] if isinstance(sortby, str) else list(sortby or [])
            array = build_dataarray(
                record._db.index, record._rows(), dims, repeats=True, fill=True
            ).values
        else:
            array, _ = series.array(sortby)
        folder.parent.mkdir(parents=True, exist_ok=True)
        np.save(folder.with_suffix(".npy"), array)
        report(i + 1, len(pairs))
    return root


# LPS (DICOM) to RAS (NIfTI): the first two axes change sign
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _nifti_volume(da: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Voxels indexed (column, row, slice[, volume]), the RAS affine, the sidecar.

    The slice axis is the ``SliceLocation`` dim (a single slice without it);
    every other tag dim is stacked, in order, along the fourth axis, and its
    values at each volume go into the sidecar.
    """
    if "affine" not in da.attrs:
        raise ValueError("no affine: the frames do not define one volume geometry")
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
    from ._arrays import build_dataarray

    return build_dataarray(record._db.index, record._rows(), None)


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
    import json

    from ._errors import GeometryError, GridError

    root = target_folder(path)
    pairs = list(_series_folders(record, root))
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
            nibabel.save(image, folder.parent / f"{name}.nii.gz")
            (folder.parent / f"{name}.json").write_text(json.dumps(sidecar, indent=1))
        record.progress(i + 1, len(pairs), "Exporting NIfTI")
    return root
