"""NPY export: a series as the numpy array :meth:`dbdicom.Series.array` gives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import _arrays
from .._errors import GeometryError
from ._each import ExportedPath, each_series
from ._layout import (
    frame_rows,
    local_target,
    mixed_groups,
    safe_name,
    target_folder,
    written,
)


def export_npy_all(record: Any, path: str | os.PathLike[str], sortby: Any = None) -> ExportedPath:
    """One ``.npy`` per series (see :meth:`dbdicom.Series.array`).

    A series that mixes image sizes, orientations or pixel spacings gives one per group
    (``<name>_1.npy``...). A series that cannot be made into an array is
    skipped with a message, or raises when it is the record exported (see
    :func:`each_series`).
    """
    root = target_folder(path)

    def write(series: Any, folder: Path) -> None:
        source = record if record.level == "instance" else series  # an instance: its frames
        arrays = npy_arrays(source, series, sortby)
        folder.parent.mkdir(parents=True, exist_ok=True)
        for k, array in enumerate(arrays):
            name = folder.name if len(arrays) == 1 else f"{folder.name}_{k + 1}"
            with written(folder.with_name(name + ".npy")) as temporary:
                np.save(temporary, array)

    return each_series(record, root, write, "NPY")


def npy_arrays(
    record: Any, series: Any, sortby: Any = None, pixels_first: bool = False
) -> list[np.ndarray]:
    """The arrays of ``record`` (a series, or an instance of ``series``).

    As :meth:`dbdicom.Series.array` gives them: one, or, where its frames mix
    image sizes, orientations or pixel spacings, one per group, largest first (said in a
    message).
    """
    index = record._db.index
    rows = frame_rows(record)
    dims = [sortby] if isinstance(sortby, str) else list(sortby or [])

    def values(group: tuple[Any, ...] | None) -> np.ndarray:
        da = _arrays.build_dataarray(
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
        ordered = mixed_groups(
            record, series, rows, lambda n: f"one .npy file per group (_1.npy ... _{n}.npy)"
        )
        return [values(key) for key in ordered]


def export_npy(array: np.ndarray, path: str | os.PathLike[str], name: str) -> Path:
    """Save ``array`` to ``path`` (a ``.npy`` file, or a folder to put ``name.npy`` in)."""
    target = local_target(path)
    if target.suffix != ".npy":
        if target.exists() and not target.is_dir():
            raise FileExistsError(f"{str(target)!r} is a file: give a folder or a .npy path")
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{safe_name(name)}.npy"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    with written(target) as temporary:
        np.save(temporary, array)
    return target
