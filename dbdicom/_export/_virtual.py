"""Virtual Zarr: the frames read where they are, through a set of references.

:func:`virtual_references` describes the series of a record as a Zarr
(format 2) store whose chunks are byte ranges of the DICOM files, in the
kerchunk reference format (version 1): a JSON object ``{"version": 1,
"refs": {key: reference}}`` whose keys are those of the store and whose
references are the text of a metadata document (``.zgroup``, ``.zarray``,
``.zattrs``), inline bytes (``"base64:..."``, the coordinates), or
``[path, offset, length]`` (a chunk: one frame)::

    "VFA/.zarray": '{"shape": [6, 4, 64, 64], "chunks": [1, 1, 64, 64], ...}'
    "VFA/0.0.0.0": ["/data/demo/MR000001.dcm", 1512, 8192]
    "SliceLocation/0": "base64:AAAAAAAAJMAAAAAAAAAQwA..."

fsspec's ``reference`` file system turns it into a Zarr store that plain
xarray, Zarr and fsspec open, without dbdicom; VirtualiZarr and kerchunk
read it too. Each frame is one chunk, ``(1, ..., 1, rows, columns[,
samples])``: native frames are read as they are stored, compressed ones
decoded by a numcodecs codec of ``imagecodecs`` (see
:mod:`dbdicom._export._chunks` for which transfer syntaxes, and which
frames are refused and why).

Values
    RescaleSlope and RescaleIntercept become the CF attributes
    ``scale_factor`` and ``add_offset``, which xarray applies when it
    decodes: the values equal ``to_xarray()``'s, as float64 (dbdicom keeps
    integers when the rescale is whole, and computes fractional ones in
    float32). A series whose frames have different rescales is refused.
Coordinates and attrs
    Those of ``to_xarray()``, encoded as :func:`~dbdicom._export._zarr_encoding.encode_zarr`
    does and written by xarray itself (inline in the references, base64):
    numeric and date coordinates read back as they are; tuples and other
    objects as JSON text, which :func:`~dbdicom._export._zarr_encoding.decode_zarr`
    turns back.
Where the files are
    Absolute paths, as the index has them now. The root group's attr
    ``dicom_files`` maps each file to ``[size, mtime_ns]`` when indexed;
    a file changed before the references are written is refused
    (:class:`dbdicom.StaleFileError`), but a file changed after is read as
    it is now: nothing in Zarr checks, so a reader compares ``os.stat``
    with ``dicom_files`` (``docs/virtual-zarr.md`` shows how).
Layout
    A series (or an instance) is the root group; a study, patient or
    database holds one group per series, ``patient/study/series`` as
    the folders of the other exports are named. A series that mixes image
    sizes, orientations or pixel spacings gives one group per geometry, ``_1``, ``_2``...
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import _arrays, _files
from .._errors import GeometryError, StaleFileError, VirtualZarrError
from ._chunks import WAY_OUT, check_high_bits, chunk_encoding
from ._each import ExportedPath, each_series
from ._layout import frame_rows, mixed_groups, safe_name, series_name, written
from ._zarr_encoding import encode_zarr

__all__ = ["SOURCES_ATTR", "export_virtual", "series_references", "virtual_references"]

#: the root group's attr mapping each file to its ``[size, mtime_ns]`` when indexed
SOURCES_ATTR = "dicom_files"
_META = (".zgroup", ".zattrs", ".zarray")
_REFRESH = "reopen the folder (or call database.refresh()) and write the references again"


def _key(group: str, name: str) -> str:
    return f"{group}/{name}" if group else name


def _variable_name(da: xr.DataArray) -> str:
    """The image's name in the store: the DataArray's, made safe (``image`` if none or taken)."""
    if da.name is None:
        return "image"
    name = safe_name(str(da.name), default="image")
    return "image" if name in {str(n) for n in (*da.dims, *da.coords)} else name


def _fresh(paths: Sequence[str], sizes: Sequence[Any], mtimes: Sequence[Any]) -> None:
    """Refuse files whose size or modification time differ from the index's."""
    for path, size, mtime in zip(paths, sizes, mtimes, strict=True):
        if size is None or mtime is None:
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            raise StaleFileError(f"{path} cannot be read now ({exc}): {_REFRESH}.") from exc
        if st.st_size != size or st.st_mtime_ns != mtime:
            raise StaleFileError(
                f"{path} changed since it was indexed (size {st.st_size}, was {size}; "
                f"modification time {st.st_mtime_ns} ns, was {mtime}): the byte offsets "
                f"of its frames may have moved; {_REFRESH}."
            )


def _rescale(slopes: np.ndarray, intercepts: np.ndarray) -> dict[str, float]:
    """The CF ``scale_factor`` and ``add_offset`` of all frames (none when 1 and 0)."""
    pairs = {(float(s), float(i)) for s, i in zip(slopes, intercepts, strict=True)}
    if len(pairs) > 1:
        shown = ", ".join(f"{s:g} / {i:g}" for s, i in sorted(pairs)[:4])
        raise VirtualZarrError(
            f"the frames have {len(pairs)} different (0028,1053) 'Rescale Slope' / "
            f"(0028,1052) 'Rescale Intercept' pairs ({shown}...), and a Zarr array has "
            f"one scale_factor and add_offset; {WAY_OUT}."
        )
    ((slope, intercept),) = pairs
    if slope == 1 and intercept == 0:
        return {}
    return {"scale_factor": slope, "add_offset": intercept}


def _coordinate_refs(encoded: xr.DataArray, group: str) -> tuple[dict[str, Any], list[str]]:
    """References of the coordinates (inline, written by xarray), and the non-dim ones."""
    coords = xr.Dataset(coords={name: encoded.coords[name].variable for name in encoded.coords})
    store: dict[str, Any] = {}
    coords.to_zarr(
        store,  # zarr takes a dict as an in-memory store
        zarr_format=2,
        consolidated=False,
        mode="w",
        encoding={name: {"compressors": None} for name in coords.variables},
    )
    refs: dict[str, Any] = {}
    for key, value in store.items():
        if key in _META:
            continue  # the group's own: written by the caller
        data = value.to_bytes()
        if key.rsplit("/", 1)[-1] in _META:
            refs[_key(group, key)] = json.dumps(json.loads(data))
        else:
            refs[_key(group, key)] = "base64:" + base64.b64encode(data).decode("ascii")
    others = [str(n) for n in encoded.coords if n not in encoded.dims]
    return refs, others


def _frame_refs(
    frames: _arrays.FramesBackendArray, name: str, group: str
) -> tuple[dict[str, Any], tuple[str, dict[str, Any] | None], dict[str, list[int]]]:
    """The chunk references of the frames, their encoding and their files' size and time."""
    grid, source = frames.grid, frames.source
    flat = grid.ravel()
    by_file: dict[str, list[int]] = {}
    for cell, k in enumerate(flat.tolist()):
        by_file.setdefault(str(source.paths[k]), []).append(cell)
    first = [flat[cells[0]] for cells in by_file.values()]
    sizes = [None] * len(first) if source.sizes is None else source.sizes[first].tolist()
    mtimes = [None] * len(first) if source.mtimes is None else source.mtimes[first].tolist()
    _fresh(list(by_file), sizes, mtimes)
    lead = grid.ndim
    tail = ".0" * len(source.frame_shape)
    refs: dict[str, Any] = {}
    encodings: dict[str, str] = {}
    for path, cells in by_file.items():
        ks = flat[cells]
        fmt = source.fmts[int(ks[0])]
        encoding = chunk_encoding(fmt, path)
        encodings.setdefault(json.dumps(encoding), path)
        numbers = source.frames[ks].tolist()
        offset, nbytes = int(source.offsets[ks[0]]), int(source.nbytes[ks[0]])
        places = _files.frame_places(path, fmt, numbers, offset, nbytes)
        check_high_bits(path, fmt, numbers, places, encoding[0])
        for cell, (at, length) in zip(cells, places, strict=True):
            index = np.unravel_index(cell, grid.shape) if lead else ()
            key = ".".join(str(int(i)) for i in index) + tail if lead else tail[1:]
            refs[_key(group, f"{name}/{key}")] = [path, int(at), int(length)]
    if len(encodings) > 1:
        listed = "; ".join(f"{json.loads(e)} in {p}" for e, p in encodings.items())
        raise VirtualZarrError(
            f"the frames are stored in {len(encodings)} different ways ({listed}), and a "
            f"Zarr array has one data type and codec; {WAY_OUT}."
        )
    files = {
        path: [size, mtime]
        for path, size, mtime in zip(by_file, sizes, mtimes, strict=True)
        if size is not None and mtime is not None
    }
    dtype, compressor = json.loads(next(iter(encodings)))
    return refs, (dtype, compressor), files


def series_references(
    da: xr.DataArray, group: str = ""
) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The references of one DataArray built by dbdicom, under ``group`` (root: ``""``).

    Parameters
    ----------
    da : xarray.DataArray
        As ``to_xarray()`` gives it (dask, not selected from).
    group : str
        The group's path in the store.

    Returns
    -------
    tuple
        ``(refs, files)``: the kerchunk references (the group, its image
        array and chunks, its coordinates), and each file's
        ``[size, mtime_ns]`` when indexed.

    Raises
    ------
    dbdicom.VirtualZarrError
        Frames that cannot be chunks (see :func:`~dbdicom._export._chunks.chunk_encoding`),
        grid points without a frame, frames stored or rescaled differently.
    dbdicom.StaleFileError
        A file changed since it was indexed.

    Examples
    --------
    >>> ct = database.series(Modality="CT")[0]
    >>> refs, files = series_references(ct.to_xarray())
    >>> json.loads(refs["CT_phantom/.zattrs"])["_ARRAY_DIMENSIONS"]
    ['SliceLocation', 'row', 'column']
    >>> path, offset, length = refs["CT_phantom/0.0.0"]  # slice 0: a byte range of a file
    >>> length, len(files)
    (8192, 10)
    """
    frames = _arrays.frames_behind(da.data)
    if frames is None:
        raise TypeError("series_references takes a DataArray as to_xarray() gives it (dask)")
    if (frames.grid < 0).any():
        raise VirtualZarrError(
            f"{int((frames.grid < 0).sum())} grid point(s) have no frame (built with "
            "fill=True): Zarr would give 0 there, dbdicom NaN; choose dims that put every "
            "frame on a full grid"
        )
    name = _variable_name(da)
    used = frames.grid.ravel()
    attrs = _rescale(frames.source.slopes[used], frames.source.intercepts[used])
    refs, (dtype, compressor), files = _frame_refs(frames, name, group)
    encoded = encode_zarr(da)
    coordinate_refs, others = _coordinate_refs(encoded, group)
    shape = [int(n) for n in da.shape]
    zarray = {
        "shape": shape,
        "chunks": [1] * frames.grid.ndim + shape[frames.grid.ndim :],
        "dtype": dtype,
        "fill_value": None,
        "order": "C",
        "filters": None,
        "dimension_separator": ".",
        "compressor": compressor,
        "zarr_format": 2,
    }
    zattrs = {**encoded.attrs, **attrs, "_ARRAY_DIMENSIONS": [str(d) for d in da.dims]}
    if others:
        zattrs["coordinates"] = " ".join(others)
    head = {
        _key(group, ".zgroup"): json.dumps({"zarr_format": 2}),
        _key(group, f"{name}/.zarray"): json.dumps(zarray),
        _key(group, f"{name}/.zattrs"): json.dumps(zattrs),
    }
    return {**head, **coordinate_refs, **refs}, files


def _series_arrays(
    record: Any, series: Any, rows: np.ndarray, dims: str | Sequence[str] | None
) -> list[tuple[str, xr.DataArray]]:
    """The DataArrays of one series, each with its group's suffix (``""``, ``_1``...)."""
    index = record._db.index
    name = series_name(series)

    def build(group: tuple[Any, ...] | None) -> xr.DataArray:
        return _arrays.build_dataarray(index, rows, dims, name=name, token=record.uid, group=group)

    try:
        return [("", build(None))]
    except GeometryError:
        ordered = mixed_groups(
            record, series, rows, lambda n: f"one group per geometry (_1 ... _{n})"
        )
        return [(f"_{k + 1}", build(key)) for k, key in enumerate(ordered)]


def virtual_references(
    record: Any, dims: str | Sequence[str] | None = None
) -> tuple[dict[str, Any], ExportedPath]:
    """The kerchunk references of every series of ``record`` (see the module docs).

    Returns the reference set (``{"version": 1, "refs": {...}}``) and what
    :func:`~dbdicom._export._each.each_series` says of the series: above
    the series level a series that cannot be referenced is skipped with a
    message; a series or an instance raises the error.
    """
    if record._db.index.remote:
        raise VirtualZarrError(
            f"{record._db.path} is a database in a remote store, and a virtual Zarr store "
            "of dbdicom points into local files: download the database first "
            "(local = database.save(folder)), or export a copy with export_as_zarr(path)."
        )
    refs: dict[str, Any] = {".zgroup": json.dumps({"zarr_format": 2})}
    files: dict[str, list[int]] = {}
    root = Path("/")
    top = record.level in ("series", "instance")

    def add(series: Any, folder: Path) -> None:
        rows = frame_rows(record if record.level == "instance" else series)
        arrays = _series_arrays(record, series, rows, dims)
        place = "" if top else folder.relative_to(root).as_posix()
        found: dict[str, Any] = {}
        for suffix, da in arrays:
            group = (place + suffix).lstrip("_") if top else place + suffix
            group_refs, group_files = series_references(da, group)
            found.update(group_refs)
            files.update(group_files)
        parts = place.split("/") if place else []
        for depth in range(1, len(parts)):
            found.setdefault(_key("/".join(parts[:depth]), ".zgroup"), refs[".zgroup"])
        refs.update(found)

    done = each_series(record, root, add, "virtual Zarr")
    refs[".zattrs"] = json.dumps({SOURCES_ATTR: files})
    metadata = {
        key: json.loads(value)
        for key, value in refs.items()
        if key.rsplit("/", 1)[-1] in _META and isinstance(value, str)
    }
    refs[".zmetadata"] = json.dumps({"metadata": metadata, "zarr_consolidated_format": 1})
    return {"version": 1, "refs": refs}, done


def export_virtual(
    record: Any, path: str | os.PathLike[str], dims: str | Sequence[str] | None = None
) -> ExportedPath:
    """Write the references of :func:`virtual_references` as one JSON file, ``path``.

    The file is written whole or not at all (a temporary name, then
    renamed); its folder is made if needed. A ``path`` that is a folder
    raises ``IsADirectoryError`` before anything is read: the other exports
    take a folder, this one the file.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(
            f"{target} is a folder: to_virtual_zarr writes one JSON file of references; "
            f"give its name, such as {target / 'refs.json'}."
        )
    found, done = virtual_references(record, dims)
    target.parent.mkdir(parents=True, exist_ok=True)
    with written(target) as temporary:
        temporary.write_text(json.dumps(found, separators=(",", ":")), encoding="utf-8")
    return ExportedPath(target, exported=done.exported, skipped=done.skipped)
