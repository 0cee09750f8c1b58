"""Where each frame of a series goes, and how it is read: shared by the xarray and numpy faces.

:func:`layout` is the one home of the rules that turn index rows into a
grid of frames: which frames there are (:class:`~._frames.Frames`), their
geometry groups, the dims (given, or chosen: :func:`~._dims.choose_dims`), the
grid (:func:`~._grid.make_grid`: collisions, holes, the ``n`` axis of the
numpy API), the pixel formats and the output dtype (rescale applied).
:func:`~._xarray.build_dataarray` makes a lazy DataArray of a
:class:`Layout`; :func:`~._numpy.read_array` reads its frames straight into
a numpy array. Neither xarray, dask nor pandas is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _files, _web
from .._errors import GeometryError, GridError, InvalidFileError
from .._index import Index, factorize
from ._dims import AUTO_DIMS, INSTANCE_TAGS, choose_dims, dim_values, distinguish
from ._frames import Frames, geometry_groups, group_text, row_codes
from ._grid import Grid, make_grid
from ._read import FrameRef, frame_refs, output_dtype
from ._table import why_no_image

__all__ = ["AUTO_DIMS", "INSTANCE_TAGS", "Layout", "layout"]


def _table_bits(frames: Frames, has: np.ndarray, palette: bool, bits_of: Any) -> np.ndarray:
    """Per frame, the bits of the values a table in its file's header gives (0: none).

    ``has`` says which frames' files have the table (a ``palette``, else a
    Modality LUT), ``bits_of`` reads its bits from a local file (one header
    read per file). The tables of an instance on a DICOMweb archive are
    bulk data, fetched from the server (:func:`dbdicom._web.table_bits`).
    """
    out = np.zeros(len(has), np.int64)
    if not has.any():
        return out
    paths = np.asarray(frames.column("_path"), dtype=object)
    rows = np.flatnonzero(has).tolist()
    wanted = list(dict.fromkeys(str(paths[k]) for k in rows))  # one a file, in order
    places = dict(zip(wanted, frames.index.locations(wanted), strict=True))
    web = [path for path in wanted if isinstance(places[path], _web.WebPath)]
    # an archive's: fetched many at a time (~4 requests an instance, see _web.tables_bits)
    bits = dict(zip(web, _web.tables_bits([places[p] for p in web], palette), strict=True))
    for path in wanted:
        if path not in bits:  # a remote store's object is read from a local copy
            with _files.local_copy(places[path]) as local:
                bits[path] = bits_of(local)
    for k in rows:
        out[k] = bits[str(paths[k])]
    return out


def _pixel_formats(frames: Frames) -> tuple[list[Any], np.ndarray]:
    """The distinct pixel formats of the frames, and which one each frame has."""
    defaults = (
        ("Rows", 0),
        ("Columns", 0),
        ("SamplesPerPixel", 1),
        ("BitsAllocated", 16),
        ("PixelRepresentation", 0),
        ("BitsStored", 0),
        ("PlanarConfiguration", 0),
    )
    numbers = np.column_stack([np.nan_to_num(frames.column(c), nan=d) for c, d in defaults]).astype(
        np.int64
    )
    floats = np.nan_to_num(frames.column("_float_bits"), nan=0).astype(np.int64)
    photo = frames.column("PhotometricInterpretation")
    is_palette = np.array([str(p).strip() == _files.PALETTE for p in photo], dtype=bool)
    palettes = _table_bits(frames, is_palette, True, _files.palette_bits)
    tables = _table_bits(
        frames,
        frames.column("_modality_lut") == True,  # noqa: E712 (None where not indexed)
        False,
        _files.modality_lut_bits,
    )
    numbers = np.column_stack([numbers, np.maximum(floats, 0), palettes, tables])
    syntax = frames.column("TransferSyntaxUID")
    table = np.column_stack([numbers, factorize(photo)[0], factorize(syntax)[0]])
    codes, first = row_codes(table)
    formats = [
        _files.PixelFormat(
            rows=int(numbers[i, 0]),
            columns=int(numbers[i, 1]),
            samples=int(numbers[i, 2]),
            bits_allocated=int(numbers[i, 3]),
            pixel_representation=int(numbers[i, 4]),
            bits_stored=int(numbers[i, 5]),
            planar_configuration=int(numbers[i, 6]),
            photometric=photo[i] if isinstance(photo[i], str) else "MONOCHROME2",
            transfer_syntax=str(syntax[i]),
            float_bits=int(numbers[i, 7]),
            palette_bits=int(numbers[i, 8]),
            modality_lut_bits=int(numbers[i, 9]),
        )
        for i in first
    ]
    return formats, codes


def _instance_uids(frames: Frames) -> np.ndarray:
    """The SOP Instance UID of each frame's file, as an object array of ``str``.

    A file without one has the UID the tree places it under (derived from its
    path, as ``problems()`` says), never the text ``"None"``: the coordinate
    names the instance that ``array()`` and ``set_xarray()`` look up.
    """
    uids = frames.column("SOPInstanceUID")
    missing = np.array([not (isinstance(u, str) and u) for u in uids.tolist()], dtype=bool)
    if not missing.any():
        return uids
    uids = uids.copy()
    uids[missing] = frames.column("_instance")[missing]
    return uids


@dataclass
class Layout:
    """The frames of a series placed on a grid, and what reading them needs.

    Attributes
    ----------
    frames : Frames
        The frames (of one geometry group).
    grid : Grid
        Where each goes.
    formats : list of PixelFormat
        The distinct pixel formats; ``which`` gives each frame's.
    slopes, intercepts : numpy.ndarray
        Per frame, the rescale to physical units.
    dtype : numpy.dtype
        Of the values (see :func:`~._read.output_dtype`; a float type when
        the grid has holes).
    derived : dict
        Per-frame coordinates found other than in the tag of their name
        (a diffusion series' b-values and directions, see
        :mod:`._diffusion`), by keyword: they replace that tag's values.
    """

    frames: Frames
    grid: Grid
    formats: list[_files.PixelFormat]
    which: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    dtype: np.dtype
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def frame_at(self) -> np.ndarray:
        """Per flat grid point, its frame (-1 for a hole)."""
        return self.grid.frame_at()

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.formats[0].frame_shape

    def paths(self) -> np.ndarray:
        """Per frame, the absolute path of its file (a RemoteFile for a remote store's object)."""
        return self.frames.index.locations(self.frames.column("_path").tolist())

    def refs(self) -> list[FrameRef]:
        """Per frame, where it is read from (see :data:`~._read.FrameRef`)."""
        table = self.frames.table
        return frame_refs(
            self.paths(),
            table["_frame"],
            table["_offset"],
            table["_nbytes"],
            [self.formats[w] for w in self.which],
            self.slopes,
            self.intercepts,
            table["_size"],
            table["_mtime"],
            self.frames.column("SOPInstanceUID"),
        )

    def instance_keys(self) -> np.ndarray:
        """The index key of the instance at each grid point (``""`` at holes), grid-shaped.

        The file each frame is read from, even where files share a
        SOPInstanceUID (their keys differ: see :mod:`dbdicom._index._keys`).
        """
        frame_at = self.frame_at
        present = frame_at >= 0
        keys = np.full(self.grid.size, "", dtype=object)
        keys[present] = self.frames.column("_instance")[frame_at[present]]
        return keys.astype(str).reshape(self.grid.shape)

    def instance_uids(self) -> np.ndarray:
        """The SOPInstanceUID of the frame at each grid point (``""`` at holes), grid-shaped."""
        frame_at = self.frame_at
        present = frame_at >= 0
        uids = np.full(self.grid.size, "", dtype=object)
        uids[present] = _instance_uids(self.frames)[frame_at[present]]
        return uids.astype(str).reshape(self.grid.shape)


def layout(
    index: Index,
    rows: np.ndarray,
    dims: str | Sequence[str] | None,
    *,
    fill: bool = False,
    repeats: bool = False,
    group: tuple[Any, ...] | None = None,
) -> Layout:
    """The frames of the instances at ``rows``, placed on the grid of ``dims``.

    ``dims=None`` chooses them (:func:`~._dims.choose_dims`; none with ``repeats``);
    ``repeats=True`` enumerates frames sharing a grid point along a last dim
    ``n`` (by InstanceNumber, then frame number: the numpy API); ``group``
    selects one key of :func:`~._frames.geometry_groups`, which must
    otherwise be one. See :meth:`dbdicom.Series.to_xarray` for the errors.
    """
    frames = Frames(index, rows)
    if not len(frames) and len(frames.left_out):
        raise GridError(f"it holds no image: {why_no_image(index, frames.left_out)}")
    if not len(frames):
        raise GridError(
            "the series has no instances, so no frames to stack: write them first "
            "(series.set_array(array) or series.set_xarray(da))"
        )
    groups = geometry_groups(frames)
    if group is not None:
        frames = frames.subset(groups[group])
    elif len({key[:3] for key in groups}) > 1:  # (spacings alone stack: with no affine)
        listed = "; ".join(group_text(k, len(v)) for k, v in groups.items())
        raise GeometryError(
            f"the frames have {len(groups)} different sizes or orientations, which cannot "
            f"be stacked: {listed}. Use series.to_xarrays(dims) for one DataArray per group."
        )
    dims, given, found = choose_dims(frames, dims, repeats)
    order = None
    if repeats:
        order = frames.number("InstanceNumber", 0) * 1e6 + frames.table["_frame"]
    grid = make_grid(
        dim_values(frames, dims, given),
        len(frames),
        repeats=order,
        fill=fill,
        describe=frames.describe,
        suggest=lambda at: distinguish(frames, at),
    )
    formats, which = _pixel_formats(frames)
    tables = np.array([f.modality_lut_bits > 0 for f in formats], dtype=bool)[which]
    _refuse_unreadable_scales(frames, tables)
    # an RT Dose's values are its stored values times its DoseGridScaling (it has no rescale)
    slopes = frames.number("RescaleSlope", 1.0) * frames.number("DoseGridScaling", 1.0)
    intercepts = frames.number("RescaleIntercept", 0.0)
    if tables.any():  # the table makes the values physical, not a rescale (as pydicom)
        slopes, intercepts = np.where(tables, 1.0, slopes), np.where(tables, 0.0, intercepts)
    dtype = np.result_type(
        *[
            output_dtype(f, slopes[which == i], intercepts[which == i])
            for i, f in enumerate(formats)
        ]
    )
    if (grid.frame_at() < 0).any() and dtype.kind != "f":
        dtype = np.result_type(dtype, np.float32)
    derived = found.coordinates() if found is not None else {}
    return Layout(frames, grid, formats, which, slopes, intercepts, np.dtype(dtype), derived)


#: the tags that make stored values physical ones, as the index's problems name them
_SCALES = tuple(_files.SCALES.values())


def _refuse_unreadable_scales(frames: Frames, tables: np.ndarray) -> None:
    """A :class:`~dbdicom.InvalidFileError` where a frame's rescale or dose scaling cannot be read.

    Read as no value, it would be taken as 1 (or 0), and the stored values
    given as physical ones: a wrong number, worse than an error. Frames a
    Modality LUT Sequence makes physical do not use them.
    """
    warnings = frames.column("_warning")
    for k, text in enumerate(warnings):
        if text and not tables[k]:
            found = [line for line in str(text).splitlines() if line.startswith(_SCALES)]
            if found:
                raise InvalidFileError(
                    f"{frames.describe(np.array([k]))}: {found[0]}, so its stored values "
                    "cannot be made physical ones (rescale, dose scaling). Set the right "
                    "value (instance.RescaleSlope = ..., or DoseGridScaling), or remove the "
                    "file from the series (instance.remove())."
                )
