"""Exporting records: DICOM files, CSV tables, numpy arrays, NIfTI, PNG and Zarr.

Every export writes into a folder that mirrors the hierarchy, one level a
folder, with readable, filesystem-safe names::

    <path>/<patient>/<study>/<series>/...

``<patient>`` is the PatientName and PatientID, ``<study>`` the
StudyDescription and StudyDate, ``<series>`` the SeriesNumber and
SeriesDescription; a name taken twice gets the record's UID appended. The
user's files are only read, never changed.

Zarr encoding
-------------
:func:`export_zarr` writes each series' DataArray with xarray (Zarr format
2, consolidated metadata), chunk by chunk. Zarr metadata is JSON, which has
no tuples, numpy arrays or object arrays, so values that JSON cannot hold
as they are are encoded, and each variable that needs it (the image and
any coordinate) gets an attr ``_dbdicom_encoding``, a JSON object saying
what to undo:

``"tuples"``
    names of attrs that were tuples of plain values (``PixelSpacing``,
    ``ImageOrientationPatient``, ``ImageType``...), stored as JSON lists.
``"arrays"``
    ``{name: dtype}`` of attrs that were numeric numpy arrays (the 4 x 4
    ``affine``), stored as nested lists.
``"json"``
    names of attrs holding anything else (nested tuples, non-finite floats,
    bytes, numpy scalars...), stored as text in *dbdicom JSON* (below).
``"values": "json"``
    on a coordinate whose values were Python objects (an object array:
    ``ImagePositionPatient`` of each frame, ``DimensionIndexValues``...):
    stored as an array of strings, each value one dbdicom JSON text, e.g.
    ``"[-118.125, -118.125, -12.5]"``; ``null`` where a frame has none.
``"dtype"``
    on a date or time coordinate: its numpy dtype, restored after reading.
``"format"``, ``"version"``, ``"name"``
    ``"dbdicom-zarr"``, ``1`` and the DataArray's name (image only).

*dbdicom JSON* is JSON in which a JSON array is a tuple; a list is
``{"__list__": [...]}``, a dict ``{"__dict__": [[key, value], ...]}``,
bytes ``{"__bytes__": base64}``, a numpy array ``{"__ndarray__": flat
values, "dtype": ..., "shape": [...]}``, a numpy scalar ``{"__numpy__":
value, "dtype": ...}``; non-finite floats are ``NaN``/``Infinity`` (as
Python's :mod:`json` writes them); other sequences (pydicom's MultiValue)
become tuples. A value of any other type is stored as its text,
``{"__str__": text}``, and read back as that text.

:func:`open_zarr` reads a store back and undoes the encoding: the result
is identical (values, dims, coordinates, attrs) to the exported DataArray.
Tools other than dbdicom read the store as plain xarray/Zarr data (lists
and strings where the DataArray held tuples and objects).
"""

from __future__ import annotations

import base64
import csv
import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pydicom
import xarray as xr

from ._arrays import safe_name

__all__ = [
    "apply_window",
    "decode_zarr",
    "encode_zarr",
    "export_csv",
    "export_dicom",
    "export_nifti",
    "export_npy_all",
    "export_png",
    "export_zarr",
    "open_zarr",
    "target_folder",
    "write_zarr",
]


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
    """One ``.npy`` per series (see :meth:`dbdicom.Series.array`); a series that
    mixes image sizes or orientations gives one per group (``<name>_1.npy``...)."""
    root = target_folder(path)
    pairs = list(_series_folders(record, root))
    report = _progress(record, "Exporting NPY")
    for i, (series, folder) in enumerate(pairs):
        source = record if record.level == "instance" else series  # an instance: its frames
        arrays = npy_arrays(source, series, sortby)
        folder.parent.mkdir(parents=True, exist_ok=True)
        for k, array in enumerate(arrays):
            name = folder.name if len(arrays) == 1 else f"{folder.name}_{k + 1}"
            np.save(folder.with_name(name + ".npy"), array)
        report(i + 1, len(pairs))
    return root


def npy_arrays(
    record: Any, series: Any, sortby: Any = None, pixels_first: bool = False
) -> list[np.ndarray]:
    """The arrays of ``record`` (a series, or an instance of ``series``) as
    :meth:`dbdicom.Series.array` gives them: one, or, where its frames mix
    image sizes or orientations, one per group, largest first (said in a
    message)."""
    from ._arrays import build_dataarray
    from ._errors import GeometryError

    index = record._db.index
    rows = record._rows()
    dims = [sortby] if isinstance(sortby, str) else list(sortby or [])

    def values(group: tuple[Any, ...] | None) -> np.ndarray:
        da = build_dataarray(
            index, rows, dims, repeats=True, fill=True, token=record.uid, group=group
        )
        array = da.values
        if pixels_first:  # the pixel axes (last) first, as Series.array gives them
            n = len([d for d in da.dims if d in ("row", "column", "channel")])
            array = np.moveaxis(array, list(range(da.ndim - n, da.ndim)), list(range(n)))
        return array

    try:
        return [values(None)]
    except GeometryError:
        ordered = _mixed_groups(
            record, series, rows, lambda n: f"one .npy file per group (_1.npy ... _{n}.npy)"
        )
        return [values(key) for key in ordered]


def _mixed_groups(
    record: Any, series: Any, rows: np.ndarray, what: Callable[[int], str]
) -> list[Any]:
    """The geometry groups of the frames at ``rows`` (one size and orientation
    each), largest first; a message says the series is exported as
    ``what(number of groups)``."""
    from ._arrays import geometry_groups
    from ._arrays._frames import Frames

    groups = geometry_groups(Frames(record._db.index, rows))
    ordered = sorted(groups, key=lambda k: -len(groups[k]))
    record.message(
        f"Series {series.label()!r} mixes {len(ordered)} image sizes or orientations: "
        + what(len(ordered))
        + "."
    )
    return ordered


# LPS (DICOM) to RAS (NIfTI): the first two axes change sign
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


# ------------------------------------------------------------------ PNG


def _image_rows(record: Any, series: Any) -> np.ndarray:
    """The rows of ``record`` (of ``series`` unless it is an instance) that hold an image.

    Instances without pixel data (structured reports, presentation states,
    RT plans...) are left out, with a message.
    """
    rows = record._rows() if record.level == "instance" else series._rows()
    heights = np.asarray(record._db.index.array("Rows"), dtype=float)[rows]
    keep = np.nan_to_num(heights) > 0
    skipped = int((~keep).sum())
    if skipped:
        what = f"{record.level.capitalize()} {record.label()!r}"
        if record.level != "instance":
            what = f"Series {series.label()!r}"
        why = "no pixel data: e.g. a structured report, a presentation state or an RT plan"
        if keep.any():
            record.message(f"{what}: {skipped} instance(s) without an image skipped ({why}).")
        else:
            record.message(f"{what} skipped: it holds no image ({why}).")
    return rows[keep]


def apply_window(
    values: np.ndarray, center: float | None = None, width: float | None = None
) -> np.ndarray:
    """Grey levels in [0, 1] of ``values`` seen through a window (DICOM linear VOI).

    Follows DICOM PS3.3 C.11.2.1.2.1: values up to ``center - 0.5 -
    (width - 1) / 2`` are black (0), values above ``center - 0.5 + (width -
    1) / 2`` white (1), linear in between (a width of 1 is a threshold).
    Without a window, or with a width below 1 (which DICOM does not allow),
    the minimum and maximum of ``values`` are the ends. NaN is black.

    Parameters
    ----------
    values : numpy.ndarray
        Pixel values in the units of the window (physical units: after
        RescaleSlope and RescaleIntercept).
    center, width : float, optional
        WindowCenter and WindowWidth.

    Returns
    -------
    numpy.ndarray
        ``float64``, the shape of ``values``.

    Examples
    --------
    >>> apply_window(np.array([-1000.0, 40.0, 1000.0]), center=40, width=400).round(3).tolist()
    [0.0, 0.501, 1.0]
    >>> apply_window(np.array([10, 15, 20])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = np.asarray(values, dtype=np.float64)
    if center is None or width is None or not width >= 1:
        finite = x[np.isfinite(x)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        grey = (x - low) / (high - low) if high > low else np.zeros_like(x)
    elif width == 1:
        grey = (x > center - 0.5).astype(np.float64)
    else:
        grey = (x - (center - 0.5)) / (width - 1) + 0.5
    return np.nan_to_num(np.clip(grey, 0.0, 1.0), nan=0.0)


def _first_number(value: Any) -> float | None:
    """The first value of a (possibly multi-valued) number, None if absent or not one."""
    if isinstance(value, str):
        value = value.split("\\")[0].strip()
    elif isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _PngFrame(NamedTuple):
    """What the PNG of one frame needs from the header."""

    center: float | None
    width: float | None
    inverted: bool  # MONOCHROME1
    colormap: str | None
    number: Any  # InstanceNumber
    frames: int  # in its file


def _png_frames(record: Any, frames: Any) -> dict[tuple[str, int], _PngFrame]:
    """The header values of every frame, by (SOPInstanceUID, frame in its file)."""
    from ._custom import custom

    index = record._db.index
    rows = frames.rows
    attribute = custom("colormap")
    assert attribute is not None
    unique = np.unique(rows)
    names = attribute.get({tag: index.values(unique, tag) for tag in attribute.tags})
    colormaps = dict(zip(unique.tolist(), names, strict=True))
    uids = [str(u) for u in frames.raw("SOPInstanceUID")]
    counts = Counter(uids)
    columns = zip(
        uids,
        frames.table["_frame"].tolist(),
        rows.tolist(),
        frames.raw("WindowCenter"),
        frames.raw("WindowWidth"),
        frames.raw("PhotometricInterpretation"),
        frames.raw("InstanceNumber"),
        strict=True,
    )
    return {
        (uid, int(frame)): _PngFrame(
            center=_first_number(center),
            width=_first_number(width),
            inverted=str(photometric or "").strip() == "MONOCHROME1",
            colormap=colormaps[row],
            number=number,
            frames=counts[uid],
        )
        for uid, frame, row, center, width, photometric, number in columns
    }


def _png_pixels(values: np.ndarray, frame: _PngFrame, colormap: Any) -> np.ndarray:
    """8-bit pixels of one frame: grey (rows, columns) or RGB (rows, columns, 3)."""
    if values.ndim == 3:  # colour images: shown as they are
        if values.dtype == np.uint8:
            return values
        return np.round(apply_window(values) * 255).astype(np.uint8)
    grey = apply_window(values, frame.center, frame.width)
    if frame.inverted:  # MONOCHROME1: low values are white
        grey = 1.0 - grey
    if colormap is not None:
        return np.asarray(colormap(grey, bytes=True))[..., :3]
    return np.round(grey * 255).astype(np.uint8)


def _png_name(frame: _PngFrame, at: int) -> str:
    """``<InstanceNumber>``, with ``_frame<k>`` (from 1) for files of several frames."""
    number = frame.number
    stem = safe_name(str(number)) if number is not None else "instance"
    if frame.frames > 1:
        stem += f"_frame{at + 1:0{len(str(frame.frames))}d}"
    return stem


def _unique_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_2``, ``stem_3``... if taken; marked as taken."""
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


def export_png(record: Any, path: str | os.PathLike[str]) -> Path:
    """One PNG image per frame, in the series folders of the layout.

    Grey-scale frames are windowed (see :func:`apply_window`) with the
    WindowCenter and WindowWidth of their header (the first if several;
    the frame's minimum and maximum without them), inverted if
    MONOCHROME1, and written as 8-bit grey PNGs, or as RGB PNGs through the
    matplotlib colormap named by the instance's ``colormap``. Colour images
    are written as they are. Files are named ``<InstanceNumber>.png``, or
    ``<InstanceNumber>_frame<k>.png`` for the frames of multi-frame files
    (``_2``, ``_3``... appended to a name taken twice); the PNG text holds
    the SOPInstanceUID and frame number. Frames are read chunk by chunk.
    Instances without an image, and frames whose pixel data cannot be
    decoded, are skipped with a message. Needs
    matplotlib: ``pip install "dbdicom[plot]"`` (its Pillow writes the
    files, as grey or RGB PNGs rather than matplotlib's RGBA).
    """
    try:
        import matplotlib
        from PIL import Image, PngImagePlugin  # Pillow: a dependency of matplotlib
    except ImportError as exc:
        raise ImportError('PNG export needs matplotlib: pip install "dbdicom[plot]"') from exc
    from ._arrays import build_dataarray, geometry_groups
    from ._arrays._frames import Frames
    from ._errors import GridError, InvalidFileError

    root = target_folder(path)
    index = record._db.index
    plan = []
    for series, folder in _series_folders(record, root):
        rows = _image_rows(record, series)
        if len(rows):
            plan.append((series, folder, rows, Frames(index, rows)))
    total = sum(len(frames) for *_, frames in plan)
    done = 0
    report = _progress(record, "Exporting PNG")
    colormaps: dict[str, Any] = {}

    def colormap(name: str | None) -> Any:
        if name is None:
            return None
        if name not in colormaps:
            colormaps[name] = matplotlib.colormaps.get(name)
            if colormaps[name] is None:
                record.message(f"colormap {name!r} is unknown to matplotlib: frames left grey.")
        return colormaps[name]

    for series, folder, rows, frames in plan:
        info = _png_frames(record, frames)
        taken: set[str] = set()
        for key, members in geometry_groups(frames).items():
            try:
                da = build_dataarray(
                    index, rows, [], repeats=True, fill=True, token=record.uid, group=key
                )
            except GridError as exc:
                record.message(f"Series {series.label()!r}: {len(members)} frames skipped: {exc}")
                done += len(members)
                continue
            uids = [str(u) for u in da["SOPInstanceUID"].values.tolist()]
            at = da["frame"].values.tolist() if "frame" in da.coords else [0] * len(uids)
            bounds = np.cumsum([0, *(da.chunks[0] if da.chunks else [len(uids)])]).tolist()
            folder.mkdir(parents=True, exist_ok=True)
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
                try:
                    block = np.asarray(da[start:stop].values)  # reads this chunk's frames
                except InvalidFileError:
                    block = None  # a file that cannot be decoded: frame by frame below
                for k in range(start, stop):
                    frame = info.get((uids[k], int(at[k])))
                    if frame is None:  # no frame at this grid point
                        continue
                    try:
                        values = np.asarray(da[k].values) if block is None else block[k - start]
                    except InvalidFileError as exc:
                        record.message(f"Frame {int(at[k]) + 1} of {uids[k]} skipped: {exc}")
                        done += 1
                        continue
                    pixels = _png_pixels(values, frame, colormap(frame.colormap))
                    text = PngImagePlugin.PngInfo()
                    text.add_text("Software", "dbdicom")
                    text.add_text("SOPInstanceUID", uids[k])
                    text.add_text("Frame", str(int(at[k]) + 1))
                    name = _unique_name(_png_name(frame, int(at[k])), taken)
                    Image.fromarray(pixels).save(folder / f"{name}.png", pnginfo=text)
                    done += 1
                    report(done, total)
    return root


# ----------------------------------------------------------------- Zarr

_ENCODING = "_dbdicom_encoding"


def _native(value: Any) -> bool:
    """Whether JSON holds ``value`` as it is (and gives back the same Python value)."""
    if isinstance(value, np.generic):
        return False
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_native(v) for v in value)
    return False


def _to_json(value: Any) -> Any:
    """``value`` as *dbdicom JSON* (see the module docs): a JSON array is a tuple."""
    if isinstance(value, np.generic):
        kind = value.dtype.kind
        if kind in "MmU":
            item: Any = str(value)
        elif kind == "c":
            item = [float(np.real(value)), float(np.imag(value))]
        elif kind in "biuf":
            item = value.item()
        else:
            return {"__str__": str(value)}
        return {"__numpy__": item, "dtype": value.dtype.str}
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, list):
        return {"__list__": [_to_json(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k), _to_json(v)] for k, v in value.items()]}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind in "biuf":
            items: list[Any] = value.ravel().tolist()
        elif kind in "MmU":
            items = value.astype(str).ravel().tolist()
        elif kind == "c":
            items = [[float(v.real), float(v.imag)] for v in value.ravel().tolist()]
        else:
            items = [_to_json(v) for v in value.ravel().tolist()]
        return {"__ndarray__": items, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, Sequence):  # e.g. pydicom's MultiValue: a tuple, as dbdicom gives
        return [_to_json(v) for v in value]
    return {"__str__": str(value)}


def _from_json(value: Any) -> Any:
    """The Python value of *dbdicom JSON* (the inverse of :func:`_to_json`).

    Examples
    --------
    >>> _from_json(json.loads(json.dumps(_to_json((1.5, ("a", None), [2], b"x")))))
    (1.5, ('a', None), [2], b'x')
    """
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    if not isinstance(value, dict):
        return value
    if "__list__" in value:
        return [_from_json(v) for v in value["__list__"]]
    if "__dict__" in value:
        return {_from_json(k): _from_json(v) for k, v in value["__dict__"]}
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    if "__complex__" in value:
        return complex(*value["__complex__"])
    if "__str__" in value:
        return str(value["__str__"])
    if "__numpy__" in value:
        dtype = np.dtype(value["dtype"])
        item = value["__numpy__"]
        return np.array(complex(*item) if dtype.kind == "c" else item, dtype=dtype)[()]
    if "__ndarray__" in value:
        dtype, shape, items = np.dtype(value["dtype"]), value["shape"], value["__ndarray__"]
        if dtype.kind == "c":
            return np.array([complex(*v) for v in items], dtype=dtype).reshape(shape)
        if dtype.kind in "biufMmU":
            return np.array(items, dtype=dtype).reshape(shape)
        out = np.empty(len(items), dtype=dtype)
        for i, item in enumerate(items):
            out[i] = _from_json(item)
        return out.reshape(shape)
    return {k: _from_json(v) for k, v in value.items()}


def _encode_attrs(attrs: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Attrs JSON holds, and what was done to them (see the module docs)."""
    stored: dict[Any, Any] = {}
    tuples: list[Any] = []
    arrays: dict[Any, str] = {}
    texts: list[Any] = []
    for name, value in attrs.items():
        if _native(value):
            stored[name] = value
        elif isinstance(value, tuple) and all(_native(v) for v in value):
            stored[name] = list(value)
            tuples.append(name)
        elif (
            isinstance(value, np.ndarray)
            and value.dtype.kind in "biuf"
            and bool(np.isfinite(value).all())
        ):
            stored[name] = value.tolist()
            arrays[name] = value.dtype.str
        else:
            stored[name] = json.dumps(_to_json(value))
            texts.append(name)
    encoding = {"tuples": tuples, "arrays": arrays, "json": texts}
    return stored, {k: v for k, v in encoding.items() if v}


def _decode_attrs(attrs: Mapping[Any, Any]) -> dict[Any, Any]:
    encoding = attrs.get(_ENCODING)
    encoding = encoding if isinstance(encoding, dict) else {}
    tuples, arrays = set(encoding.get("tuples", ())), encoding.get("arrays", {})
    texts = set(encoding.get("json", ()))
    out: dict[Any, Any] = {}
    for name, value in attrs.items():
        if name == _ENCODING:
            continue
        if name in tuples:
            value = tuple(value)
        elif name in arrays:
            value = np.array(value, dtype=arrays[name])
        elif name in texts:
            value = _from_json(json.loads(value))
        out[name] = value
    return out


def encode_zarr(da: xr.DataArray) -> xr.DataArray:
    """``da`` with attrs and coordinates Zarr can store (see the module docs).

    The pixel values are not touched (nor computed). :func:`decode_zarr`
    undoes it.

    Examples
    --------
    >>> da = database.series(SeriesDescription="T2w")[0].to_xarray()
    >>> encoded = encode_zarr(da)
    >>> encoded.attrs["PixelSpacing"], encoded.attrs["_dbdicom_encoding"]["arrays"]
    ([3.75, 3.75], {'affine': '<f8'})
    >>> str(encoded["ImagePositionPatient"].values[0])
    '[-118.125, -118.125, -12.5]'
    >>> import xarray as xr
    >>> xr.testing.assert_identical(decode_zarr(encoded), da)
    """
    attrs, encoding = _encode_attrs(da.attrs)
    encoding = {"format": "dbdicom-zarr", "version": 1, "name": _to_json(da.name), **encoding}
    out = da.copy(deep=False)
    out.attrs = {**attrs, _ENCODING: encoding}
    coords = {}
    for name, coord in da.coords.items():
        coord_attrs, coord_encoding = _encode_attrs(coord.attrs)
        values = np.asarray(coord.values)
        if values.dtype == object:
            texts = [json.dumps(_to_json(v)) for v in values.ravel().tolist()]
            values = np.array(texts, dtype=str).reshape(values.shape)
            coord_encoding["values"] = "json"
        elif values.dtype.kind in "Mm":
            coord_encoding["dtype"] = values.dtype.str
        if coord_encoding:
            coord_attrs[_ENCODING] = coord_encoding
            coords[name] = (coord.dims, values, coord_attrs)
    return out.assign_coords(coords) if coords else out


def decode_zarr(da: xr.DataArray) -> xr.DataArray:
    """Undo :func:`encode_zarr`; a DataArray without the encoding is returned as it is."""
    encoding = da.attrs.get(_ENCODING)
    if not isinstance(encoding, dict):
        return da
    out = da.copy(deep=False)
    out.attrs = _decode_attrs(da.attrs)
    out.name = _from_json(encoding.get("name", da.name))
    coords = {}
    for name, coord in da.coords.items():
        coord_encoding = coord.attrs.get(_ENCODING)
        if not isinstance(coord_encoding, dict):
            continue
        values = np.asarray(coord.values)
        if coord_encoding.get("values") == "json":
            decoded = np.empty(values.size, dtype=object)
            for i, text in enumerate(values.ravel().tolist()):
                decoded[i] = _from_json(json.loads(text))
            values = decoded.reshape(values.shape)
        if "dtype" in coord_encoding:
            values = values.astype(coord_encoding["dtype"])
        coords[name] = (coord.dims, values, _decode_attrs(coord.attrs))
    return out.assign_coords(coords) if coords else out


def write_zarr(da: xr.DataArray, target: str | os.PathLike[str]) -> Path:
    """Write ``da`` (encoded, see the module docs) as the Zarr store ``target``.

    A dask-backed DataArray is written chunk by chunk (one Zarr chunk per
    dask chunk; chunks made regular first if they are not), never computed
    as a whole. Zarr format 2 with consolidated metadata, which every Zarr
    library reads. An existing store at ``target`` is replaced.
    """
    try:
        import zarr
    except ImportError as exc:
        raise ImportError('Zarr export needs zarr: pip install "dbdicom[zarr]"') from exc
    encoded = encode_zarr(da)
    if encoded.chunks:
        irregular = {
            dim: max(sizes)
            for dim, sizes in zip(encoded.dims, encoded.chunks, strict=True)
            if len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]
        }
        if irregular:
            encoded = encoded.chunk(irregular)
    if hasattr(encoded, "drop_encoding"):
        encoded = encoded.drop_encoding()
    options: dict[str, Any] = {"mode": "w", "consolidated": True}
    if int(zarr.__version__.split(".")[0]) >= 3:
        options["zarr_format"] = 2  # fixed-width strings are not in the Zarr 3 spec yet
    encoded.to_zarr(target, **options)
    return Path(target)


def open_zarr(path: str | os.PathLike[str]) -> xr.DataArray:
    """Open a Zarr store written by :func:`export_zarr` as the DataArray it was.

    The encoding of tuples, arrays and objects (see the module docs) is
    undone: after ``.compute()``, the result is identical to the exported
    DataArray (values, dims, coordinates and attrs). The values stay lazy
    (dask, one chunk per Zarr chunk) until needed.

    Parameters
    ----------
    path : str or path-like
        The ``.zarr`` folder.

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    FileNotFoundError
        If there is no store at ``path``.

    Examples
    --------
    >>> import tempfile, pathlib, xarray as xr
    >>> vfa = database.series(SeriesDescription="VFA")[0]
    >>> out = vfa.export_as_zarr(tempfile.mkdtemp())
    >>> (store,) = pathlib.Path(out).glob("*.zarr")
    >>> store.name
    '3_VFA.zarr'
    >>> da = open_zarr(store)
    >>> da.dims, da.attrs["ImageOrientationPatient"]
    (('SliceLocation', 'FlipAngle', 'row', 'column'), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    >>> xr.testing.assert_identical(da.compute(), vfa.to_xarray().compute())
    """
    store = Path(path)
    if not store.exists():
        raise FileNotFoundError(f"no Zarr store at {str(store)!r}")
    return decode_zarr(xr.open_dataarray(store, engine="zarr", chunks={}))


def _zarr_arrays(
    record: Any, series: Any, rows: np.ndarray, stem: str, chunks: Mapping[str, int] | None
) -> list[tuple[str, xr.DataArray]]:
    """The DataArrays to write for one series, each with its store's name."""
    from ._arrays import build_dataarray
    from ._errors import GeometryError, GridError
    from ._records._levels import _name

    index = record._db.index
    name = _name(series)

    def build(group: tuple[Any, ...] | None) -> xr.DataArray:
        da = build_dataarray(index, rows, None, name=name, token=record.uid, group=group)
        wanted = {d: int(n) for d, n in (chunks or {}).items() if d in da.dims}
        wanted = {d: n for d, n in wanted.items() if d not in ("row", "column", "channel")}
        if not wanted:
            return da
        return build_dataarray(
            index, rows, None, name=name, token=record.uid, group=group, chunks=wanted
        )

    try:
        return [(stem, build(None))]
    except GeometryError:
        ordered = _mixed_groups(
            record,
            series,
            rows,
            lambda n: f"one Zarr store per group ({stem}_1.zarr ... {stem}_{n}.zarr)",
        )
        out = []
        for k, key in enumerate(ordered):
            try:
                out.append((f"{stem}_{k + 1}", build(key)))
            except GridError as exc:
                record.message(f"Series {series.label()!r}, group {k + 1} skipped: {exc}")
        return out
    except GridError as exc:
        record.message(f"Series {series.label()!r} skipped: {exc}")
        return []


def export_zarr(
    record: Any, path: str | os.PathLike[str], chunks: Mapping[str, int] | None = None
) -> Path:
    """One Zarr store per series, ``<series folder>.zarr``, in the layout.

    Each holds the series' DataArray (see :meth:`dbdicom.Series.to_xarray`)
    with its dims, coordinates and attrs, encoded as the module docs say
    and read back by :func:`open_zarr`. Written chunk by chunk from dask:
    ``chunks`` (grid points per chunk along tag dims, as in ``to_xarray``;
    dims a series does not have are ignored) sets the Zarr chunks. A series
    that mixes image sizes or orientations gives one store per group,
    ``<series folder>_1.zarr`` ..., with a message; instances without an
    image are skipped with a message.
    """
    root = target_folder(path)  # zarr is a dependency of dbdicom
    pairs = list(_series_folders(record, root))
    for i, (series, folder) in enumerate(pairs):
        rows = _image_rows(record, series)
        if len(rows):
            for stem, da in _zarr_arrays(record, series, rows, folder.name, chunks):
                folder.parent.mkdir(parents=True, exist_ok=True)
                write_zarr(da, folder.parent / f"{stem}.zarr")
        record.progress(i + 1, len(pairs), "Exporting Zarr")
    return root
