"""Zarr export: one OME-Zarr image per series, read back identical by :func:`open_zarr`.

The store
---------
:func:`write_zarr` writes a series' DataArray as an OME-Zarr image
(OME-NGFF 0.5, Zarr format 3), which OME-Zarr readers and viewers open
(``ome-zarr``, ``ngff-zarr``, napari, neuroglancer...), and keeps beside it
all that makes it the DataArray again::

    <series>.zarr/      a Zarr group; its attributes:
                        "ome": OME-NGFF 0.5 multiscales (axes with types and
                               units, scale and translation of each level)
                        "dbdicom": which DataArray dims each OME axis holds,
                               the LPS direction of x, y and z, where the rest is
        0/              the pixel values, axes (t, c, z, y, x) as the series has them
        1/, 2/, ...     pyramid levels, with ``levels=``
        dbdicom/        a group written by xarray: the DataArray's coordinates
                        (SliceLocation, SOPInstanceUID...) and its attrs (DICOM
                        header values, the affine), encoded as
                        :mod:`dbdicom._export._zarr_encoding` says

The axes, units and geometry (OME-NGFF 0.5 has no rotation: an oblique
series is described in its own frame) are those of
:mod:`dbdicom._export._ome`. Level 0 is chunked for viewers: one time
point and one channel a chunk, tiles of at most 256 x 256 pixels, slices
added up to 1 MiB; ``chunks=`` (grid points per chunk along tag dims, as
``to_xarray`` takes them) sets the chunks along ``t``, ``z`` and ``c``
instead (a ``c`` that flattens several dims keeps one point a chunk).

``zarr_format=2`` writes the same layout as OME-NGFF 0.4 (Zarr format 2,
``multiscales`` at the top of the group's attributes), for readers that
do not read Zarr 3 yet. Stores of older dbdicom versions (an xarray store
of the DataArray, format 2) still open with :func:`open_zarr`.

Without dbdicom, the image is read by any OME-Zarr reader and the
coordinates by ``xarray.open_dataset(store, group="dbdicom")``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr
import zarr
from zarr.codecs import BloscCodec

from .. import _arrays
from .._errors import (
    DatabaseNotFoundError,
    GeometryError,
    GridError,
    InvalidFileError,
    InvalidValueError,
)
from .._files import Store, has_scheme
from ._each import ExportedPath, each_series
from ._layout import (
    frame_rows,
    mixed_groups,
    series_name,
    target_folder,
    written,
)
from ._ome import OmeLayout, from_ome, ome_layout
from ._zarr_encoding import VERSION, decode_zarr, encode_zarr

#: the group holding the coordinates and attrs, beside the OME image
COORDINATES = "dbdicom"
#: the pixels' compressor in Zarr 3: Blosc LZ4 with byte shuffle, Zarr 2's default (Zarr 3's
#: default, Zstandard, made an export of 1 GiB of MR twice as slow for 5% smaller stores)
BLOSC = {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}
ZARR_FORMATS = (2, 3)


def _block_mean(dtype: np.dtype) -> Any:
    """The mean of blocks, in ``dtype`` (integers rounded to the nearest)."""

    def reduce(block: np.ndarray, axis: Any = None) -> np.ndarray:
        mean = block.mean(axis=axis)
        return np.rint(mean).astype(dtype) if dtype.kind in "iub" else mean.astype(dtype)

    return reduce


def _dask_image(da: xr.DataArray, layout: OmeLayout, chunks: tuple[int, ...]) -> Any:
    """The values of ``da`` as a dask array in its own dims, in chunks that give ``chunks``."""
    wanted = layout.dim_chunks(chunks)
    data = da.data if da.chunks is not None else da.chunk(wanted).data
    return data.rechunk(tuple(wanted[str(d)] for d in da.dims))


def _zarr_chunks(chunks: Any) -> dict[str, int] | None:
    """``chunks=`` of an export checked: grid points per Zarr chunk by dim (-1: the whole dim).

    None for the default; a dim's None is -1, as dask takes it. A size
    that is not a whole number of 1 or more (or -1) is an
    :class:`~dbdicom.InvalidValueError`: the Zarr chunks are written as given.
    """
    if chunks is None:
        return None
    if not isinstance(chunks, Mapping):
        raise InvalidValueError(
            f"chunks={chunks!r}: an export takes a dict of tag dims to grid points a "
            'chunk (-1: the whole dim), e.g. {"SliceLocation": 2, "FlipAngle": -1}.'
        )
    out = {str(d): _arrays.check_chunk_size(str(d), n, words=False) for d, n in chunks.items()}
    return {d: -1 if n is None else int(n) for d, n in out.items()}


def _check_options(levels: Any, zarr_format: Any) -> None:
    if zarr_format not in ZARR_FORMATS:
        raise ValueError(f"zarr_format must be 3 (OME-NGFF 0.5) or 2 (0.4); got {zarr_format!r}")
    if not isinstance(levels, int | np.integer) or isinstance(levels, bool) or levels < 1:
        raise ValueError(
            f"levels must be a whole number of pyramid levels, 1 or more; got {levels!r}"
        )


def write_zarr(
    da: xr.DataArray,
    target: str | os.PathLike[str],
    *,
    chunks: Mapping[str, int] | None = None,
    levels: int = 1,
    zarr_format: int = 3,
) -> Path:
    """Write ``da`` as the OME-Zarr image ``target`` (see the module docs).

    A dask-backed DataArray is written chunk by chunk, never computed as a
    whole; pyramid levels are made from the level written before. An
    existing store at ``target`` is replaced.

    Parameters
    ----------
    da : xarray.DataArray
        A series' DataArray (:meth:`dbdicom.Series.to_xarray`), or any with
        ``row`` and ``column`` dims (else the last two are the image's).
    target : str or path-like
        The ``.zarr`` folder.
    levels : int
        Resolution levels: 1 (the default) writes the pixels only, 2 or more
        adds levels that halve the rows and columns each.
    chunks : mapping of str to int, optional
        Grid points per Zarr chunk along dims of ``da`` (-1 or None: the
        whole dim; other sizes below 1 are an :class:`~dbdicom.InvalidValueError`),
        as ``to_xarray(chunks=...)`` takes them; by default, chunks for
        viewers (see the module docs).
    zarr_format : int
        3 (the default): OME-NGFF 0.5; 2: OME-NGFF 0.4, for older readers.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    ValueError
        For ``levels`` below 1 or beyond a one-pixel image, or a
        ``zarr_format`` other than 2 or 3.
    """
    _check_options(levels, zarr_format)
    chunks = _zarr_chunks(chunks)
    layout = ome_layout(da)
    if levels > layout.max_levels:
        y, x = layout.level_shape(0)[-2:]
        raise ValueError(
            f"levels={levels}: a {y} x {x} image halves to one pixel in "
            f"{layout.max_levels} levels; ask for at most {layout.max_levels}"
        )
    tiles = layout.chunks(da.dtype.itemsize, chunks)
    image = layout.to_ome(_dask_image(da, layout, tiles))
    group = zarr.open_group(target, mode="w", zarr_format=zarr_format)  # type: ignore[arg-type]
    previous = None
    for level in range(levels):
        shape = layout.level_shape(level)
        names = layout.names
        array = group.create_array(
            str(level),
            shape=shape,
            chunks=tuple(min(c, max(n, 1)) for c, n in zip(tiles, shape, strict=True)),
            dtype=image.dtype,
            compressors=BloscCodec(**BLOSC) if zarr_format == 3 else "auto",  # type: ignore[arg-type]
            fill_value=0,
            dimension_names=names if zarr_format == 3 else None,
            attributes={} if zarr_format == 3 else {"_ARRAY_DIMENSIONS": names},
        )
        if previous is not None:
            halve = {names.index("y"): 2, names.index("x"): 2}
            source = dask.array.from_zarr(previous)
            image = dask.array.coarsen(_block_mean(image.dtype), source, halve, trim_excess=True)
        dask.array.store(image.rechunk(array.chunks), array, lock=False)  # type: ignore[arg-type]
        previous = array
    encoded = encode_zarr(da)
    name = None if da.name is None else str(da.name)
    dbdicom = {
        "format": "dbdicom-zarr",
        "version": VERSION,
        "image": "0",
        "coordinates": COORDINATES,
        **layout.metadata(),
    }
    group.attrs.update({**layout.multiscales(name, levels, zarr_format), "dbdicom": dbdicom})
    coordinates = encoded.coords.to_dataset()
    coordinates.attrs = dict(encoded.attrs)
    if hasattr(coordinates, "drop_encoding"):
        coordinates = coordinates.drop_encoding()
    coordinates.to_zarr(
        target, group=COORDINATES, mode="w", zarr_format=zarr_format, consolidated=False
    )
    return Path(target)


# Dates decoded to seconds, or finer where their units need it: the resolution
# to_xarray gives them. xarray's default, nanoseconds, cannot hold a date before
# 1677 (anonymised birth dates such as 1111-11-11) and asks for cftime instead.
_DATES = xr.coders.CFDatetimeCoder(time_unit="s")


def open_zarr(
    path: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> xr.DataArray:
    """Open a Zarr store written by :func:`export_zarr` as the DataArray it was.

    The OME axes are put back into the DataArray's dims and the encoding of
    tuples, arrays and objects (see :mod:`dbdicom._export._zarr_encoding`)
    is undone: after ``.compute()``, the result is identical to the exported
    DataArray (values, dims, coordinates and attrs). The values stay lazy
    (dask, one chunk per Zarr chunk of level 0) until needed. Stores
    written by older dbdicom versions (an xarray store) open too.

    Parameters
    ----------
    path : str or path-like
        The ``.zarr`` folder of a series, or its URL in a store fsspec reads
        (``s3://bucket/exports/7_T1.zarr``, where ``export_as_zarr`` wrote it).
    storage_options : mapping, optional
        fsspec's options of the store of a URL (credentials, endpoint), as
        for ``db.database(url)`` and ``xarray.open_zarr``.

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    dbdicom.DatabaseNotFoundError
        If there is nothing at ``path`` (also a ``FileNotFoundError``).
    dbdicom.InvalidFileError
        If it is not the Zarr store of a series of a dbdicom export (an
        export folder: the message lists the series' stores in it), or an
        OME-Zarr image that dbdicom did not write.
    dbdicom.StorageError
        If the store of a URL cannot be read (as ``db.database(url)`` says).

    Examples
    --------
    >>> import tempfile, pathlib, xarray as xr
    >>> vfa = database.series(SeriesDescription="VFA")[0]
    >>> out = vfa.export_as_zarr(tempfile.mkdtemp())
    >>> (store,) = pathlib.Path(out).glob("*.zarr")
    >>> store.name
    '3_VFA.zarr'
    >>> da = open_zarr(store)
    >>> da.dims, da.attrs["ImageOrientationPatient"].tolist()
    (('SliceLocation', 'FlipAngle', 'row', 'column'), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    >>> xr.testing.assert_identical(da.compute(), vfa.to_xarray().compute())
    """
    store, name, names = _zarr_store(path, storage_options)
    try:
        group = zarr.open_group(store, mode="r")
    except (zarr.errors.GroupNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
        raise _not_a_store(name, names()) from exc
    meta = group.attrs.get("dbdicom")
    if not isinstance(meta, dict):
        if "ome" in group.attrs or "multiscales" in group.attrs:
            raise InvalidFileError(
                f"{name!r} is an OME-Zarr image that dbdicom did not write: it has "
                "no DICOM coordinates to make a DataArray with. Read it with an OME-Zarr "
                "reader (ngff-zarr, ome-zarr)"
            )
        # layout 1 (dbdicom before OME-Zarr): the DataArray as an xarray store
        try:
            old = xr.open_dataarray(store, engine="zarr", chunks={}, decode_times=_DATES)
        except ValueError as exc:  # a Zarr group, not one DataArray's
            raise _not_a_store(name, names()) from exc
        return decode_zarr(old)
    image = group[meta["image"]]
    data = from_ome(dask.array.from_zarr(image), meta)
    coordinates = xr.open_dataset(
        store, group=meta["coordinates"], engine="zarr", consolidated=False, decode_times=_DATES
    )
    da = xr.DataArray(data, dims=meta["dims"], coords=coordinates.coords, attrs=coordinates.attrs)
    return decode_zarr(da)


def _zarr_store(
    path: str | os.PathLike[str], options: Mapping[str, Any] | None
) -> tuple[Any, str, Any]:
    """What zarr opens for ``path``, its name in messages, and a function listing its entries.

    A URL is read through fsspec as ``db.database(url)`` reads it (its
    credentials out of the name); a local path stays a path.
    """
    text = os.fspath(path)
    if not has_scheme(text):
        if options:
            raise InvalidValueError(
                f"storage_options are for URLs, not for the local path {text!r}: leave them out."
            )
        local = Path(text)
        if not local.exists():
            raise DatabaseNotFoundError(f"no Zarr store at {text!r}: it does not exist.")
        return (
            local,
            text,
            lambda: sorted(p.name for p in local.iterdir()) if local.is_dir() else [],
        )
    remote = Store(text, dict(options or {}))
    fs, base = remote.filesystem()
    try:
        if not fs.exists(base):
            raise DatabaseNotFoundError(f"no Zarr store at {remote.name}: it does not exist.")
        store = zarr.storage.FsspecStore.from_mapper(fs.get_mapper(base), read_only=True)
    except DatabaseNotFoundError:
        raise
    except Exception as exc:  # the store's boundary: any client error is the store's
        raise remote.error(exc, "cannot be read") from exc

    def names() -> list[str]:
        try:
            return sorted(str(p).rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(base, detail=False))
        except OSError:
            return []

    return store, remote.name, names


def _not_a_store(name: str, entries: list[str]) -> InvalidFileError:
    """The error of a ``name`` that holds no Zarr store of a series; ``entries``: what it holds."""
    stores = [e for e in entries if e.endswith(".zarr")]
    if stores:
        shown = ", ".join(stores[:10]) + (f" (and {len(stores) - 10} more)" if stores[10:] else "")
        way = f"it is an export folder: give the .zarr store of a series inside it: {shown}"
    else:
        held = ", ".join(entries[:10]) or "nothing"
        way = (
            f"it holds {held}. Give the .zarr store of a series that export_as_zarr wrote "
            "(<export folder>/.../<series>.zarr)"
        )
    return InvalidFileError(
        f"{name!r} is not the Zarr store of a series of a dbdicom export: {way}."
    )


def _zarr_arrays(
    record: Any, series: Any, rows: np.ndarray, stem: str, chunks: Mapping[str, int] | None
) -> list[tuple[str, xr.DataArray]]:
    """The DataArrays to write for one series, each with its store's name."""
    index = record._db.index
    name = series_name(series)

    def build(group: tuple[Any, ...] | None) -> xr.DataArray:
        return _arrays.build_dataarray(
            index,
            rows,
            None,
            name=name,
            token=record.uid,
            group=group,
            chunks=dict(chunks or {}),
            shared_chunks=True,  # each series the dims it has (the tiles: see _layout)
        )

    try:
        return [(stem, build(None))]
    except GeometryError:
        ordered = mixed_groups(
            record,
            series,
            rows,
            lambda n: f"one Zarr store per group ({stem}_1.zarr ... {stem}_{n}.zarr)",
        )
        out, errors = [], []
        for k, key in enumerate(ordered):
            try:
                out.append((f"{stem}_{k + 1}", build(key)))
            except GridError as exc:
                record.message(f"Series {series.label()!r}, group {k + 1} skipped: {exc}")
                errors.append(exc)
        if not out:
            raise GridError(
                f"none of its {len(ordered)} groups fits a grid: {errors[0]}"
            ) from errors[0]
        return out


def export_zarr(
    record: Any,
    path: str | os.PathLike[str],
    chunks: Mapping[str, int] | None = None,
    *,
    levels: int = 1,
    zarr_format: int = 3,
) -> ExportedPath:
    """One OME-Zarr image per series, ``<series folder>.zarr``, in the layout.

    Each holds the series' DataArray (see :meth:`dbdicom.Series.to_xarray`)
    as an OME-Zarr image with its dims, coordinates and attrs beside it, as
    the module docs say, read back by :func:`open_zarr`. Written chunk by
    chunk from dask: ``chunks`` (grid points per chunk along tag dims, as in
    ``to_xarray``; dims a series does not have are ignored) sets the Zarr
    chunks along them (tiles of rows and columns stay those for viewers).
    ``levels`` is the most pyramid levels a store gets: an image that
    halves to one pixel sooner gets fewer. ``zarr_format`` is 3 (OME-NGFF
    0.5) or 2 (OME-NGFF 0.4). A series
    that mixes image sizes, orientations or pixel spacings gives one store per group,
    ``<series folder>_1.zarr`` ..., with a message; instances without an
    image are skipped with a message. A series that cannot be written is
    skipped with a message, or raises when it is the record exported (see
    :func:`each_series`).
    """
    _check_options(levels, zarr_format)
    chunks = _zarr_chunks(chunks)
    root = target_folder(path)  # zarr is a dependency of dbdicom

    def write(series: Any, folder: Path) -> None:
        rows = frame_rows(record if record.level == "instance" else series)
        for stem, da in _zarr_arrays(record, series, rows, folder.name, chunks):
            folder.parent.mkdir(parents=True, exist_ok=True)
            with written(folder.parent / f"{stem}.zarr") as temporary:
                most = ome_layout(da).max_levels  # a small image gets fewer levels
                write_zarr(
                    da,
                    temporary,
                    chunks=chunks,
                    levels=min(levels, most),
                    zarr_format=zarr_format,
                )

    return each_series(record, root, write, "Zarr")
