"""PNG export: one picture per frame, windowed as a viewer shows it (``dbdicom[plot]``)."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .. import _arrays
from .._custom import custom
from .._errors import DicomError, GridError, InvalidFileError, install_hint
from ._each import ExportedPath, each_series
from ._layout import (
    frame_rows,
    image_rows,
    progress,
    safe_name,
    series_folders,
    target_folder,
    unique_name,
    written,
)


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
    palette: bool = False  # PALETTE COLOR: RGB values over the palette's full range


def _png_frames(record: Any, frames: Any) -> dict[tuple[str, int], _PngFrame]:
    """The header values of every frame, by (SOPInstanceUID, frame in its file)."""
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
            palette=str(photometric or "").strip() == "PALETTE COLOR",
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
        if frame.palette and values.dtype == np.uint16:  # the palette's colours, to 8 bits
            return np.round(values / 257.0).astype(np.uint8)
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


def export_png(record: Any, path: str | os.PathLike[str]) -> ExportedPath:
    """One PNG image per frame, in the series folders of the layout.

    Grey-scale frames are windowed (see :func:`apply_window`) with the
    WindowCenter and WindowWidth of their header (the first if several;
    the frame's minimum and maximum without them), inverted if
    MONOCHROME1, and written as 8-bit grey PNGs, or as RGB PNGs through the
    matplotlib colormap named by the instance's ``colormap``. Colour images
    are written as they are (PALETTE COLOR images through their palette,
    16-bit palettes scaled to 8 bits). Files are named ``<InstanceNumber>.png``, or
    ``<InstanceNumber>_frame<k>.png`` for the frames of multi-frame files
    (``_2``, ``_3``... appended to a name taken twice); the PNG text holds
    the SOPInstanceUID and frame number. Frames are read chunk by chunk.
    Instances without an image, and frames whose pixel data cannot be
    decoded, are skipped with a message; a series with no frame that can
    be written is skipped with a message, or raises when it is the record
    exported (see :func:`each_series`). Needs
    matplotlib: the ``plot`` extra (its Pillow writes the
    files, as grey or RGB PNGs rather than matplotlib's RGBA).
    """
    try:
        import matplotlib
        from PIL import Image, PngImagePlugin  # Pillow: a dependency of matplotlib
    except ImportError as exc:
        raise ImportError(f"PNG export needs matplotlib: {install_hint('plot')}") from exc

    root = target_folder(path)
    plan = _png_plan(record, root)
    total = sum(len(frames) for *_, frames in plan.values() if frames is not None)
    writer = _PngWriter(record, total, matplotlib, Image, PngImagePlugin)

    def write(series: Any, folder: Path) -> None:
        _, rows, frames = plan[folder]
        if not len(rows):  # no image at all: the series (or instance) says why
            frame_rows(record if record.level == "instance" else series)
        writer.series(series, folder, rows, frames)

    return each_series(record, root, write, "PNG", progress=False)


def _png_plan(record: Any, root: Path) -> dict[Path, tuple[Any, np.ndarray, Any]]:
    """The series to export by folder, with their image rows and frames (None without)."""
    index = record._db.index
    plan = {}
    for series, folder in series_folders(record, root):
        rows = image_rows(record, series)
        plan[folder] = (series, rows, _arrays.Frames(index, rows) if len(rows) else None)
    return plan


class _PngWriter:
    """The PNG writer of one export: the frames done so far, and the colormaps met."""

    def __init__(self, record: Any, total: int, matplotlib: Any, image: Any, png_info: Any) -> None:
        self.record = record
        self.index = record._db.index
        self.matplotlib = matplotlib
        self.image = image  # PIL.Image
        self.png_info = png_info  # PIL.PngImagePlugin
        self.total = total
        self.done = 0  # frames written or skipped
        self.written = 0
        self.report = progress(record, "Exporting PNG")
        self.colormaps: dict[str, Any] = {}

    def colormap(self, name: str | None) -> Any:
        """The matplotlib colormap called ``name`` (None if no name, or unknown: said once)."""
        if name is None:
            return None
        if name not in self.colormaps:
            self.colormaps[name] = self.matplotlib.colormaps.get(name)
            if self.colormaps[name] is None:
                self.record._warn(f"colormap {name!r} is unknown to matplotlib: frames left grey.")
        return self.colormaps[name]

    def series(self, series: Any, folder: Path, rows: np.ndarray, frames: Any) -> None:
        """Write the frames of ``series`` into ``folder``, one geometry group at a time.

        Groups and frames that cannot be written are skipped with a message;
        when none of the series' frames could be, the first error is raised.
        """
        first, last = self.written, self.done + len(frames)
        errors: list[DicomError] = []
        try:
            info = _png_frames(self.record, frames)
            taken: set[str] = set()
            for key, members in _arrays.geometry_groups(frames).items():
                try:
                    da = _arrays.build_dataarray(
                        self.index,
                        rows,
                        [],
                        repeats=True,
                        fill=True,
                        token=self.record.uid,
                        group=key,
                    )
                except (GridError, InvalidFileError) as exc:  # no grid, or a palette unreadable
                    self.record.message(
                        f"Series {series.label()!r}: {len(members)} frames skipped: {exc}"
                    )
                    errors.append(exc)
                    self.done += len(members)
                    continue
                errors += self.group(da, info, folder, taken)
        finally:  # frames skipped count as done
            if self.done != last:
                self.done = last
                self.report(self.done, self.total)
        if self.written == first and errors:
            raise errors[0]

    def group(
        self, da: Any, info: dict[tuple[str, int], _PngFrame], folder: Path, taken: set[str]
    ) -> list[DicomError]:
        """Write the frames of the DataArray ``da``, reading them chunk by chunk.

        Returns the errors of the frames that could not be decoded (skipped).
        """
        errors: list[DicomError] = []
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
                    self.record.message(f"Frame {int(at[k]) + 1} of {uids[k]} skipped: {exc}")
                    errors.append(exc)
                    self.done += 1
                    continue
                self.write(values, frame, uids[k], int(at[k]), folder, taken)
        return errors

    def write(
        self, values: np.ndarray, frame: _PngFrame, uid: str, at: int, folder: Path, taken: set[str]
    ) -> None:
        """Write one frame's PNG into ``folder`` and report the progress."""
        pixels = _png_pixels(values, frame, self.colormap(frame.colormap))
        text = self.png_info.PngInfo()
        text.add_text("Software", "dbdicom")
        text.add_text("SOPInstanceUID", uid)
        text.add_text("Frame", str(at + 1))
        name = unique_name(_png_name(frame, at), taken)
        with written(folder / f"{name}.png") as temporary:
            self.image.fromarray(pixels).save(temporary, format="PNG", pnginfo=text)
        self.done += 1
        self.written += 1
        self.report(self.done, self.total)


# ----------------------------------------------------------------- Zarr
