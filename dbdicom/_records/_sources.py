"""The source frames of a write, found through the index.

Each frame of a written array gets its header from, in order: the
``header`` argument (instances or pydicom datasets, broadcast over the
frame dims); its ``SOPInstanceUID`` coordinate (its source frame); the
frames of the series its ``SeriesInstanceUID`` coordinate names (an array
stacked from several series: ``db.to_xarray([a, b])``, ``xr.concat``), else
its attrs name, whose values of the array's dims equal the frame's; else
none (the template). A source is described as a
:class:`dbdicom._dataset.Source`: where its header is and how it can be
read, for the header plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

from .. import _arrays
from .._arrays import PIXEL_COORDS, SEPARATOR, frames_of, tag_vectors
from .._dataset import Source, dataset_source
from .._errors import DicomError, GeometryError, InvalidValueError
from .._index import is_among
from ._record import Record

__all__ = ["check_fits", "find_sources", "header_array"]


def _instance_source(instance: Record, frame: int | None = None) -> Source:
    rows = instance._rows()
    return _row_source(instance._db, int(rows[0]), frame)


def _row_source(db: Any, row: int, frame: int | None = None) -> Source:
    """The source at index ``row``; ``frame``: the 0-based frame in its file."""
    return _row_sources(db, [row], [frame])[0]


def _row_sources(db: Any, rows: list[int], frames: list[Any]) -> list[Source]:
    """The sources at index ``rows``.

    ``frames``: the 0-based frame of each in its file (None, or NaN: the
    whole file).
    """
    if not rows:  # no frame's instance is in this database (e.g. an array of another)
        return []
    editor = db._editor
    index = db.index
    columns = [
        index.array(name, rows).tolist()
        for name in (
            "_path",
            "NumberOfFrames",
            "TransferSyntaxUID",
            "_encapsulated",
            "_offset",
            "SOPClassUID",
            "SOPInstanceUID",
            "SeriesInstanceUID",
        )
    ]
    out = []
    for rel, count, syntax, encapsulated, offset, sop_class, uid, series, frame in zip(
        *columns, frames, strict=True
    ):
        rel = str(rel)
        single = count != count or count == 1.0  # NaN: no NumberOfFrames
        raw = (
            single
            and rel not in editor.memory
            and syntax == "1.2.840.10008.1.2.1"
            and not encapsulated
            and offset > 0
        )
        numbered = not single and frame is not None and frame == frame
        dataset = editor.memory.get(rel)
        if dataset is None and index.remote:  # an object of a store: its header, fetched
            dataset, raw = editor.dataset(rel, pixels=False), False
        out.append(
            Source(
                str(db._path),  # a DICOMweb archive's: the headers in its cache
                rel,
                str(sop_class or MRImageStorage),
                str(uid),
                "" if series is None or series != series else str(series),  # none: not "None"
                dataset,
                int(offset) if raw else 0,
                int(frame) + 1 if numbered else None,
            )
        )
    return out


def _per_frame(da: Any, coord: Any) -> np.ndarray:
    """The values of ``coord`` (on frame dims of ``da``) for each frame, in C order."""
    dims = tuple(da.dims[:-2])
    if tuple(coord.dims) == dims:
        return np.asarray(coord.values).reshape(-1)
    plane = da.isel(row=0, column=0, drop=True)
    return np.asarray(coord.broadcast_like(plane).values).reshape(-1)


def header_array(header: Any) -> np.ndarray:
    """``header`` as an object array of that shape.

    ``header`` is one instance or dataset, or nested lists or an array of
    them. ``np.asarray`` cannot be used: pydicom datasets have an
    ``__array__`` that numpy would call.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> header_array([[Dataset(), Dataset()]]).shape, header_array(Dataset()).shape
    ((1, 2), ())
    """
    if isinstance(header, np.ndarray):
        return header.astype(object, copy=False)
    if isinstance(header, list | tuple):
        parts = [header_array(h) for h in header]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise InvalidValueError(
                f"the header lists have different lengths {sorted(shapes)}: give one header "
                "per frame, in the shape of the frame dims."
            )
        out = np.empty((len(parts), *(parts[0].shape if parts else ())), dtype=object)
        for i, part in enumerate(parts):
            out[i, ...] = part
        return out
    out = np.empty((), dtype=object)
    out[()] = header
    return out


def find_sources(series: Record, da: Any, header: Any) -> list[list[Source]]:
    """The source frames of every frame of ``da`` (C order); empty lists: none."""
    db = series._db
    shape = tuple(da.shape[:-2])
    n = int(np.prod(shape)) if shape else 1
    if header is not None:
        return _given_sources(header, shape, n)
    coord = da.coords.get("SOPInstanceUID")
    if coord is not None and set(coord.dims) <= set(da.dims[:-2]):
        return _instance_uid_sources(db, da, coord)
    coord = da.coords.get("SeriesInstanceUID")
    if coord is not None and set(coord.dims) <= set(da.dims[:-2]):
        return _series_sources(db, da, _per_frame(da, coord))
    source = da.attrs.get("SeriesInstanceUID")
    if source:
        return _series_sources(db, da, np.full(n, str(source), dtype=object))
    return [[] for _ in range(n)]


def _series_sources(db: Any, da: Any, series: np.ndarray) -> list[list[Source]]:
    """The source frames of every frame of ``da``, in the series ``series`` names (one a frame).

    Each frame's are those of its series whose values of the array's dims
    equal its own (none: a series not in the database, or empty).
    """
    out: list[list[Source]] = [[] for _ in range(len(series))]
    frames = list(frames_of(da))
    for uid in dict.fromkeys(series.tolist()):
        if not isinstance(uid, str) or not uid or ("series", uid) in db._editor.empty:
            continue
        try:
            rows = db._index_rows("series", uid)
        except DicomError:
            continue
        if not len(rows):
            continue
        ks = [k for k in range(len(series)) if series[k] == uid]
        for k, found in zip(ks, _matched(db, rows, da, [frames[k] for k in ks]), strict=True):
            out[k] = found
    return out


def _given_sources(header: Any, shape: tuple[int, ...], n: int) -> list[list[Source]]:
    """The sources of the ``n`` frames (in ``shape``) from the ``header`` argument, broadcast."""
    given = header_array(header)
    try:
        spread = np.broadcast_to(given, shape)
    except ValueError:
        raise InvalidValueError(
            f"the header array has shape {given.shape} but the data has {n} frame(s) "
            f"in shape {shape}: give one header per frame, or one header for all."
        ) from None
    return [_given_source(item) for item in spread.reshape(-1)]


def _given_source(item: Any) -> list[Source]:
    """The source of one frame from one item of the ``header`` argument (None: no source)."""
    if isinstance(item, Record) and item.level == "instance":
        return [_instance_source(item)]
    if isinstance(item, Dataset):
        return [dataset_source(item)]
    if item is None:
        return []
    raise InvalidValueError(
        f"a header must be an Instance or a pydicom Dataset; got {type(item).__name__}."
    )


def _instance_uid_sources(db: Any, da: Any, coord: Any) -> list[list[Source]]:
    """The source of every frame from its ``SOPInstanceUID`` ``coord`` (and ``frame``, if any).

    A frame whose UID is not in the index has none; one of a UID that
    several files hold, the file its coordinates tell (see
    :func:`~dbdicom._arrays.source_rows`).
    """
    found_rows = coord.copy(data=_arrays.source_rows(db.index, da))
    at = _per_frame(da, found_rows).tolist()
    numbers = da.coords.get("frame")
    if numbers is not None and set(numbers.dims) <= set(da.dims[:-2]):
        frame_numbers = _per_frame(da, numbers)
    else:
        frame_numbers = np.full(len(at), None, dtype=object)
    found = [k for k, row in enumerate(at) if row >= 0]
    out: list[list[Source]] = [[] for _ in at]
    sources = _row_sources(db, [at[k] for k in found], [frame_numbers[k] for k in found])
    for k, source in zip(found, sources, strict=True):
        out[k] = [source]
    return out


def _matched(
    db: Any, rows: np.ndarray, da: Any, frames: list[tuple[int, ...]]
) -> list[list[Source]]:
    """For each of ``frames`` (indices in ``da``), the frames of ``rows`` with the same dim values.

    (The dim ``SeriesInstanceUID`` names the series of ``rows``: not compared.)
    """
    dims = [d for d in da.dims[:-2] if d in da.coords and d != "SeriesInstanceUID"]
    rows = db._in_order(rows)
    values = {d: db.index.values(rows, d) for d in dims}
    cls = db._class_of("instance")
    instances = [cls(db, k) for k in db.index.array("_instance", rows)]
    out = []
    for index in frames:
        keep = np.ones(len(rows), dtype=bool)
        for d in dims:
            wanted = da.coords[d].values[index[da.dims.index(d)]]
            keep &= np.array([_same(v, wanted) for v in values[d]], dtype=bool)
        out.append([_instance_source(instances[i]) for i in np.flatnonzero(keep)])
    return out


def _same(value: Any, wanted: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, tuple) and isinstance(wanted, str):  # a dim of several values
        return SEPARATOR.join(str(v) for v in value) == wanted
    if isinstance(value, int | float) and isinstance(wanted, int | float | np.number):
        return bool(np.isclose(float(value), float(wanted), rtol=0, atol=1e-6))
    return bool(value == wanted)


def check_fits(series: Record, da: Any, groups: list[list[Source]]) -> None:
    """Refuse frames of another size than their sources' that do not say where their pixels are.

    A frame made by resizing its source's pixels (``scipy.ndimage.zoom``,
    ``skimage.transform.resize``) and put in a new DataArray has lost the
    pixel coordinates (:data:`~dbdicom._arrays.PIXEL_COORDS`) that say which
    stored pixels it holds; its source's PixelSpacing (copied from the
    header, or carried in the attrs) would place every pixel but the first
    wrongly. Written only with an ``affine`` attr or a PixelSpacing of its
    own (one that differs from the source's).
    """
    if "affine" in da.attrs or any(name in da.coords for name in PIXEL_COORDS):
        return
    shape = (int(da.sizes["row"]), int(da.sizes["column"]))
    found = _source_sizes(series, [s for group in groups for s in group])
    wrong = [(size, spacing, where) for size, spacing, where in found if size != shape]
    if not wrong:
        return
    own = tag_vectors(da, "PixelSpacing", 2)
    for size, spacing, where in wrong:
        if spacing is None:
            continue  # no spacing to copy: a secondary capture, a photo
        if own is not None and not np.allclose(own, spacing, equal_nan=True):
            continue  # the array's own spacing
        raise GeometryError(
            f"the array's frames are {shape[0]} x {shape[1]} pixels but their source frames "
            f"({where}) are {size[0]} x {size[1]}: the source's PixelSpacing "
            f"{list(spacing)} would be written for pixels of another size, and every "
            "position but the first would be wrong. Resize with the array's pixel "
            "coordinates kept (e.g. da.coarsen(row=2, column=2).mean() on the array "
            "from to_xarray()); or say where the new pixels are, in the attrs of the "
            "DataArray given to set_xarray: 'affine' (4 x 4), or PixelSpacing and "
            "ImagePositionPatient; or write without the source headers (header=None)."
        )


def _source_sizes(
    series: Record, sources: list[Source]
) -> list[tuple[tuple[int, int], tuple[float, float] | None, str]]:
    """(rows, columns), PixelSpacing and file of each distinct size among ``sources``."""
    out: dict[tuple[int, int], tuple[tuple[float, float] | None, str]] = {}
    rels: set[str] = set()  # by file: files that share a SOPInstanceUID can differ in size
    here = str(series._db._path)  # files of this database (another's may have these names)
    for s in sources:
        ds = s.dataset
        if ds is None:
            if s.root == here:
                rels.add(str(s.rel))
        elif "Rows" in ds and "Columns" in ds:
            spacing = ds.get("PixelSpacing")
            size = (int(ds.Rows), int(ds.Columns))
            out.setdefault(size, (_pair(spacing), str(s.path if s.rel else "a given header")))
    if rels:
        index = series._db.index
        ok = index.ok
        rows = ok[is_among(index.array("_path", ok), rels)]
        names = set(index.frame.columns)
        sizes = np.stack([index.array(c, rows) for c in ("Rows", "Columns")], axis=-1)
        has = all(f"PixelSpacing[{i}]" in names for i in (0, 1))
        spacing = (
            np.stack([index.array(f"PixelSpacing[{i}]", rows) for i in (0, 1)], axis=-1)
            if has
            else None
        )
        paths = series._db._where(index.array("_path", rows))
        for k in range(len(rows)):
            if sizes[k][0] != sizes[k][0] or sizes[k][1] != sizes[k][1]:
                continue  # no Rows or Columns in the index: nothing to compare
            size = (int(sizes[k][0]), int(sizes[k][1]))
            if size not in out:
                pair = None if spacing is None else _pair(spacing[k])
                out[size] = (pair, str(paths[k]))
    return [(size, spacing, where) for size, (spacing, where) in out.items()]


def _pair(value: Any) -> tuple[float, float] | None:
    """Two spacings as floats; None for none, NaN or the wrong count."""
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(numbers) != 2 or any(v != v for v in numbers):
        return None
    return numbers[0], numbers[1]
