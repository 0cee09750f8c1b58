r"""Writing a DataArray into a series: what needs the records.

Each frame of the array becomes one instance (a single-frame file). Its
header comes from its source frames (found through the index: see
:mod:`._sources`), else the template of its Modality (the series', else
the attrs': CT Image for CT, MR Image for MR or none, else Secondary
Capture; see :func:`~dbdicom._templates.modality_image`); on top of that go the
attrs, the frame's coordinates, the geometry of the affine, the attributes
of the target series and of its study and patient, and the writer's own:
new SOPInstanceUIDs, pixel encoding, and the provenance (ImageType
DERIVED\SECONDARY, DerivationDescription, SourceImageSequence,
ReferencedSeriesSequence). A tag the source frames of one frame differ
in is not copied from the first of them (the flip angle of a map fitted
over flip angles): only a coordinate or an attr gives it a value. The
SpacingBetweenSlices is that of where the frames written lie, not their
sources' (see :mod:`._slice_grid`). What
each header holds is decided once per frame, by the header plan of
:mod:`dbdicom._dataset`, and serialised as bytes or (the fallback) through
pydicom.

This module keeps what needs records: the sources, the target series'
attributes, the files written through the journal (:mod:`._new_files`), the
index of what was written, and the removal of the series' previous
instances (once the new ones are written). Every file is restorable until
saved.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from .._arrays import (
    FrameTags,
    check_names,
    colour_samples,
    dated_times,
    frames_of,
    in_plane_applied,
    kept_layout,
    shared_values,
    split_component,
)
from .._dataset import (
    NO_INTERCEPT,
    REMOVE,
    Converted,
    FramePlan,
    PlanBuilder,
    RawFrame,
    Source,
    as_bytes,
    as_dataset,
    check_dtype,
    choose_encoding,
    common_step,
    computed_with_range,
    inexact_integers,
    value_range,
)
from .._errors import DicomError, InvalidValueError
from .._index import Row
from .._templates import new_uids
from ._attributes import LEVEL_ATTRIBUTES
from ._edit import DELETE
from ._inherit import held_values, inherited, source_told
from ._multiframe import check_kind, write_multiframe
from ._new_files import Scanned, index_written, remove_previous, write_all
from ._record import Record
from ._slice_grid import temporal_positions, written_slices
from ._sources import check_fits, find_sources, header_array
from ._structure import TEMPLATE_KEEPS, is_empty

__all__ = ["header_array", "set_xarray"]

_NEW_FOLDER = "dbdicom"


def set_xarray(
    series: Record,
    da: Any,
    header: Any = None,
    description: str | None = None,
    kind: str = "image",
    *,
    serialiser: str = "auto",
) -> Record:
    """Write ``da`` into ``series`` (see the module notes); returns the series.

    ``kind``: ``"image"``, else one multi-frame object (see ``_multiframe``);
    ``serialiser``: ``"auto"`` (bytes where the source allows), or
    ``"pydicom"`` (every header through pydicom: for tests and comparisons).
    """
    _check_data_array(da)
    _check_dim_attrs(da)
    check_kind(kind)
    if serialiser not in ("auto", "pydicom"):
        raise InvalidValueError(f"serialiser must be 'auto' or 'pydicom'; got {serialiser!r}.")
    if "row" in getattr(da, "dims", ()) and "column" in da.dims:
        da = in_plane_applied(da)  # a crop, stride or flip: the geometry of its own pixels
    da = dated_times(da)  # times past midnight (as read across midnight), with their dates
    if kind != "image":
        if "channel" in getattr(da, "dims", ()):
            raise InvalidValueError(
                f"colour (RGB) arrays are written as single-frame images (kind='image'), "
                f"not as one {kind!r} object."
            )
        return write_multiframe(series, da, kind, header, description)
    if series.level != "series":
        raise DicomError(f"arrays are written into a series, not a {series.level}.")
    check_names(da)
    da = kept_layout(da)  # the tags that make its dims read back (else refused)
    da = _numbered(da)
    check_dtype(np.dtype(da.dtype), int(da.size))
    samples = colour_samples(da)
    shape = (int(da.sizes["row"]), int(da.sizes["column"]))
    if samples != 1:
        da = _side_by_side(da)
    editor = series._db._editor
    here = _in_memory(da)
    if here:  # whole frames in each block: the blocks written are the blocks computed
        da = da.copy(data=da.data.rechunk({da.ndim - 2: -1, da.ndim - 1: -1}))
    else:
        da = _kept_if_small(da)
    with editor.changing():  # undone whole if the disk fills up
        # found while the sources are found (see _ranging)
        ranged = _ranging(da.data, here, here or _dask_array(da) is None)
        try:
            return _set_xarray(
                series, da, header, description, ranged, editor, serialiser, (shape, samples)
            )
        finally:
            futures.wait([ranged])  # not left running, whatever was raised


#: the tags that number frames (a count, not a measure): xarray averages them as any number
_COUNTERS = ("InstanceNumber", "InStackPositionNumber", "DimensionIndexValues")


def _numbered(da: Any) -> Any:
    """``da`` without the coordinates numbering its frames that are no numbering.

    InstanceNumber numbers the frames, InStackPositionNumber and the
    DimensionIndexValues (``DimensionIndexValues[0]``...) of an enhanced
    source place them in a stack; xarray interpolates or averages them as
    any number (``interp``, ``coarsen(...).mean()``: 1.5). Where some value
    of one is not a whole number, it is dropped: the frames are numbered
    anew, 1, 2, 3... in the array's order (C order of its dims), as an
    array without the coordinate is, and have no stack index. A dim of
    that name keeps its values (refused if they are not whole numbers).

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 2, 2)), dims=("SliceLocation", "row", "column"),
    ...                   coords={"InstanceNumber": ("SliceLocation", [1.5, 3.5])})
    >>> "InstanceNumber" in _numbered(da).coords
    False
    >>> _numbered(da.assign_coords(InstanceNumber=("SliceLocation", [2.0, 4.0]))).InstanceNumber.values
    array([2., 4.])
    """  # noqa: E501
    dropped = []
    for name, coord in da.coords.items():
        if name in da.dims or coord.dtype.kind != "f":
            continue
        parts = split_component(str(name))
        if (parts[0] if parts else str(name)) not in _COUNTERS:
            continue
        values = np.asarray(coord.values, dtype=float)
        values = values[np.isfinite(values)]
        if not np.array_equal(values, np.round(values)):
            dropped.append(name)
    return da.drop_vars(dropped) if dropped else da


def _check_dim_attrs(da: Any) -> None:
    """Refuse an attr that gives one value to a dim of several frames with no coordinate.

    ``xr.concat([a, b], dim="RepetitionTime")`` of two series keeps the attrs
    of the first (xarray's default): its ``RepetitionTime`` attr would be
    written into every frame, the second's too. The dim says the frames
    differ in the tag, the attr that they do not: which is right is not
    known. A dim with a coordinate (whose values each frame gets) or of one
    frame contradicts no attr.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 2, 2)), dims=("EchoTime", "row", "column"),
    ...                   attrs={"EchoTime": 10.0})
    >>> _check_dim_attrs(da)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: the attr 'EchoTime' (10.0) gives one EchoTime to ...
    >>> _check_dim_attrs(da.assign_coords(EchoTime=[10.0, 20.0]))
    """
    for dim in da.dims:
        if dim in da.attrs and dim not in da.coords and da.sizes[dim] > 1:
            raise InvalidValueError(
                f"the attr {dim!r} ({da.attrs[dim]!r}) gives one {dim} to every frame, but "
                f"{dim} is a dim of {da.sizes[dim]} frames, with no coordinate: the frames "
                f"differ in it (xr.concat keeps the attrs of its first array). Give the dim "
                f"its values and drop the attr: da = da.assign_coords({dim}=[...]); "
                f"da.attrs.pop({dim!r}). Or, if the attr is right for every frame, name "
                "the dim after the tag they differ in (da.rename(...))."
            )


def _check_data_array(da: Any) -> None:
    """Refuse anything but an :class:`xarray.DataArray`, with the call that takes it.

    Checked before anything is changed: a numpy or dask array, a list or
    an :class:`xarray.Dataset` given to ``set_xarray`` would otherwise fail
    half way with an ``AttributeError`` of xarray's.

    Examples
    --------
    >>> _check_data_array(np.zeros((2, 4, 4)))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: set_xarray writes an xarray.DataArray, not a numpy ...
    """
    xr = sys.modules.get("xarray")  # imported already if da is a DataArray
    if xr is not None and isinstance(da, xr.DataArray):
        return
    package = type(da).__module__.split(".")[0]
    kind = type(da).__name__ if package == "builtins" else f"{package} {type(da).__name__}"
    kind = f"{'an' if kind[0] in 'aeioux' else 'a'} {kind}"
    if xr is not None and isinstance(da, xr.Dataset):
        names = ", ".join(repr(str(n)) for n in list(da.data_vars)[:3]) or "none"
        way_out = f"write one of its variables (ds['<name>']; it has {names}), one series each."
    else:
        way_out = (
            "to write a numpy array, use series.set_array(array) (its frames: the last two "
            "dims, rows and columns), or wrap it (a dask array stays lazy): "
            "xr.DataArray(array, dims=('SliceLocation', 'row', 'column'))."
        )
    raise InvalidValueError(f"set_xarray writes an xarray.DataArray, not {kind}: {way_out}")


def _side_by_side(da: Any) -> Any:
    """A colour array as its frames are stored: each pixel's red, green and blue side by side.

    The result looks grey-scale to the rest of the writer: its last dim
    ``column`` is 3 times as long, and each frame's bytes are those of an
    RGB image stored colour by pixel (PlanarConfiguration 0). Coordinates
    along ``column`` or ``channel`` are dropped (the writer writes no tag
    for them).
    """
    data = da.data
    if _dask_array(da) is not None:
        data = data.rechunk({da.ndim - 2: -1, da.ndim - 1: -1})
    data = data.reshape(*da.shape[:-2], da.shape[-2] * da.shape[-1])
    coords = {
        name: coord
        for name, coord in da.coords.items()
        if "column" not in coord.dims and "channel" not in coord.dims
    }
    # a DataArray, of the class the user gave (xarray is imported already)
    return type(da)(data, dims=da.dims[:-1], coords=coords, attrs=da.attrs, name=da.name)


def _dask_array(da: Any) -> Any:
    """The dask module's array type if ``da`` holds a dask array, else None."""
    dsa = sys.modules.get("dask.array")  # imported already if the data is a dask array
    return dsa if dsa is not None and isinstance(da.data, dsa.Array) else None


def _small(data: Any) -> bool:
    """Whether the dask array ``data`` fits in one dask chunk (``array.chunk-size``)."""
    import dask
    from dask.utils import parse_bytes

    return bool(data.nbytes <= parse_bytes(dask.config.get("array.chunk-size")))


def _in_memory(da: Any) -> bool:
    """Whether ``da`` is a small dask array to compute here, once, and write from memory.

    Small: no bigger than dask's ``array.chunk-size`` (128 MiB by default).
    Its blocks and their value range are then computed in one pass, on the
    scheduler in use, and written in this thread (see
    :func:`~dbdicom._records._new_files.write_all`). Not where a distributed
    client is the scheduler: its workers compute and write the blocks (see
    :func:`_kept_if_small`). Larger arrays are computed block by block in
    each pass, so that memory stays bounded.
    """
    if _dask_array(da) is None or not _small(da.data):
        return False
    if "distributed" not in sys.modules:  # no Client can exist (and none is looked for)
        return True
    from dask.base import get_scheduler

    scheduler = get_scheduler(collections=[da.data])
    owner = getattr(scheduler, "__self__", None)  # a distributed Client's get
    return owner is None or not type(owner).__module__.startswith("distributed")


def _kept_if_small(da: Any) -> Any:
    """``da``, its dask blocks computed and kept (on a cluster) if the whole fits in a dask chunk.

    A write passes over the values twice (their range decides the encoding,
    then every frame is encoded): an array no bigger than dask's
    ``array.chunk-size`` (128 MiB by default) is computed once, on the
    scheduler in use (``persist``: a distributed client keeps the blocks on
    its workers), instead of reading and computing its sources twice.
    Larger arrays are computed block by block in each pass, so that memory
    stays bounded.
    """
    if _dask_array(da) is None or not _small(da.data):
        return da
    return da.copy(data=da.data.persist())


#: the threads that find value ranges and compute small dask arrays while a write
#: prepares its headers: a few kept, so that dask's threaded scheduler, which keeps
#: a pool of workers per calling thread, reuses its pools instead of making one
#: per write; a forked child makes its own (its parent's threads are not in it)
_HELPER = "dbdicom-range"
_BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix=_HELPER)


def _new_helpers() -> None:
    global _BACKGROUND
    _BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix=_HELPER)


os.register_at_fork(after_in_child=_new_helpers)


def _blocks_and_range(
    data: Any, computed: bool
) -> tuple[list[np.ndarray] | None, tuple[float, float, bool]]:
    """The blocks of ``data`` computed (None: not ``computed``), and its value range."""
    if computed:
        return computed_with_range(data)
    return None, value_range(data)


def _ranging(data: Any, computed: bool, background: bool) -> Future[Any]:
    """The blocks (None: the data as it is) and value range of ``data``, found on a helper thread.

    For numpy data, only the range (the data is written as it is); for a
    small dask array (``computed``), its blocks computed and their range in
    one pass (:func:`~dbdicom._dataset.computed_with_range`). numpy finds
    the lowest and highest value, and reads and decodes the source pixels,
    mostly without the GIL, while the calling thread finds the sources,
    reads the target's attributes and prepares the frames' tag values and
    UIDs (Python, which needs the GIL: a few switches between the two
    threads, not one per system call). Found here, in the calling thread,
    where not ``background`` (a larger dask array, computed block by block)
    or where the caller is a helper thread itself (a dask task that writes).
    """
    if background and not threading.current_thread().name.startswith(_HELPER):
        return _BACKGROUND.submit(_blocks_and_range, data, computed)
    done: Future[Any] = Future()
    try:
        done.set_result(_blocks_and_range(data, computed))
    except BaseException as exc:  # raised by result(), as from a helper thread
        done.set_exception(exc)
    return done


def _set_xarray(
    series: Record,
    da: Any,
    header: Any,
    description: str | None,
    ranged: Future[Any],
    editor: Any,
    serialiser: str,
    pixels: tuple[tuple[int, int], int],
) -> Record:
    """The write of :func:`set_xarray`; ``pixels``: the (rows, columns) and samples of a frame."""
    journal = editor.begin()
    sources = find_sources(series, da, header)
    check_fits(series, da, sources)
    if (
        header is None
        and not any(sources)
        and not da.attrs
        and any(d in da.coords for d in da.dims)
    ):
        # an array with tag dims but no attrs at all: most likely attrs lost on the way
        series._warn(
            "No source frames for this array (no SOPInstanceUID coordinate, and no attrs "
            "naming its SeriesInstanceUID): headers come from a template. Keep the "
            "attrs (xr.set_options(keep_attrs=True)) or pass header= to derive them."
        )
    elif (
        header is None
        and not any(sources)
        and "SeriesInstanceUID" not in da.attrs
        and "SOPClassUID" in da.attrs
    ):
        # attrs read from images (an array made by hand rarely has a SOPClassUID), but no
        # series named: several series stacked, and the SeriesInstanceUID coordinate
        # dropped by a reduction over the dim it varied along. The images it came from
        # are then neither referenced nor copied: only what the attrs hold is written
        series._warn(
            "No source frames for this array: its attrs are of DICOM images but name no "
            "SeriesInstanceUID (several series stacked, their SeriesInstanceUID coordinate "
            "dropped by a reduction?), so the new images reference no source images and "
            "have only the acquisition values the attrs give (the others, FlipAngle, "
            "EchoTime..., are left empty, not copied from the images). Pass header= (the "
            "instances to derive from) to keep them."
        )
    # paths, not rows: row positions change when the new files enter the index
    old = [] if is_empty(series) else editor.rels(series._rows())
    first = next((s for group in sources for s in group), None)
    target = source_told(series, inherited(series), first)
    if is_empty(series):
        # a new series takes its acquisition attributes (Modality, frame of
        # reference, equipment...) from its sources, but not their description,
        # nor those its frames differ in (a series has one of each)
        differ = _differing_series(series, da, sources)
        for keyword in LEVEL_ATTRIBUTES["series"]:
            if target.get(keyword) is not DELETE:
                continue
            if keyword in differ:
                target[keyword] = "" if keyword in _SERIES_TYPE2 else DELETE
            elif keyword != "SeriesDescription":
                del target[keyword]
    series_uid = str(target.get("SeriesInstanceUID") or series.uid)
    tags = _Frames(da)
    uids = new_uids(len(sources))
    frames = [
        (index, group, uid) for index, group, uid in zip(frames_of(da), sources, uids, strict=True)
    ]
    blocks, (low, high, integral) = ranged.result()
    shape, samples = pixels
    # doses, PET values: stored values times a slope, no intercept (see derived_class)
    start = low
    if low >= 0 and any(s.sop_class in NO_INTERCEPT for group in sources for s in group):
        start = 0.0
    step = 1  # whole numbers wider than 16 bits: exact with a slope, if one step fits
    if integral and samples == 1 and da.dtype.kind != "b" and high - start > 65535:
        step = common_step(da.data if blocks is None else blocks, start, high)
    encoding = choose_encoding(da.dtype.kind, start, high, integral, samples, step)
    if integral and not encoding.exact:  # a wrong value said, not given silently
        series._warn(inexact_integers(encoding, start, high))
    tags.planner = PlanBuilder(
        target={k: REMOVE if v is DELETE else v for k, v in target.items()},
        attrs=shared_values(da),
        series_uid=series_uid,
        description=description,
        sources=[s for group in sources for s in group],
        shape=shape,
        encoding=encoding,
        window=(low, high),
        keep_new=TEMPLATE_KEEPS,
        levels=LEVEL_ATTRIBUTES,
        pydicom_only=serialiser == "pydicom",
    )
    tags.planner.slices(*written_slices(series, da, tags.tags, sources, tags.planner))
    tags.planner.counts.temporal(*temporal_positions(series, da, tags.tags, sources))
    items = _Items(tags, frames, series_uid)
    keys = (
        str(target.get("PatientID", "")),
        str(target.get("StudyInstanceUID", "")),
        series_uid,
    )
    mark = journal.mark()
    journal.created([(items.rel(k), (*keys, frame[2])) for k, frame in enumerate(frames)])
    journal.tmp.mkdir(parents=True, exist_ok=True)
    written: list[Scanned] = []
    try:
        written = write_all(str(editor.root), str(journal.tmp), items, da, encoding, series, blocks)
        journal.wrote(rel for rel, _, _ in written)  # what a restore may delete (see Entry)
    except BaseException:
        # refused half way (a coordinate value the VR cannot hold...): the files
        # written go, and so do their lines in the journal, which would otherwise
        # leave the database unsaved with nothing to save
        written = []
        journal.undo(mark)
        raise
    finally:
        read: dict[str, tuple[Row, list[Row]]] = {rel: (row, rows) for rel, row, rows in written}
        index_written(series, [items.rel(k) for k in range(len(frames))], read)
    remove_previous(series, old)
    return series


#: attributes of a series that must be present, and may be empty (Type 2 and 2C)
_SERIES_TYPE2 = frozenset(
    {"SeriesNumber", "Laterality", "PatientPosition", "PositionReferenceIndicator", "Manufacturer"}
)
#: attributes of a series that must have a value (Type 1): each frame keeps its own
_SERIES_TYPE1 = frozenset({"SeriesInstanceUID", "Modality", "FrameOfReferenceUID"})


def _differing_series(series: Record, da: Any, sources: list[list[Source]]) -> frozenset[str]:
    """The attributes of a series the frames of ``da`` differ in: left out of a new series.

    A series has one value of each. An array stacked from several series
    (``db.to_xarray([a, b])``) has those the series differ in as
    coordinates (``SeriesNumber``, ``SeriesDescription``...), and its
    frames' source headers differ in them too (``ProtocolName``...): no
    frame's value is the new series'. An attr of the array gives one value
    for all frames, and is written. Those that must have a value
    (``Modality``, ``FrameOfReferenceUID``) stay each frame's own.
    """
    keywords = [
        k for k in LEVEL_ATTRIBUTES["series"] if k not in _SERIES_TYPE1 and k not in da.attrs
    ]
    out = set()
    for keyword in keywords:
        coord = da.coords.get(keyword)
        if coord is not None and coord.size > 1 and len(set(coord.values.reshape(-1).tolist())) > 1:
            out.add(keyword)
    uids = {s.series_uid for group in sources for s in group if s.rel is not None}
    if len(uids) > 1:  # sources in several series: their headers' values
        cls = series._db._class_of("series")
        held = [held_values(cls(series._db, uid)) for uid in sorted(uids)]
        for keyword in keywords:
            if keyword not in da.coords and len({repr(h.get(keyword)) for h in held}) > 1:
                out.add(keyword)
    return frozenset(out)


class _Frames:
    """The header of each frame: its tag values from the array, its plan, serialised.

    It is serialised as bytes where the plan allows, else through pydicom.
    """

    planner: PlanBuilder  # given once the encoding is known

    def __init__(self, da: Any) -> None:
        self.tags = FrameTags(da)
        self.numbered = "InstanceNumber" in da.coords
        self.converted = Converted()  # the shared layers as pydicom elements, when needed

    def plan(self, k: int, index: tuple[int, ...], group: list[Source], uid: str) -> FramePlan:
        """The plan of frame ``k`` (at ``index``), from its sources ``group``."""
        tags = self.tags
        values = tags.values(index)
        geometry = tags.geometry(index, values)
        number = None if self.numbered else k + 1
        return self.planner.frame(group, uid, values, geometry, number, tags.stack_index(index), k)

    def build(
        self, k: int, index: tuple[int, ...], group: list[Source], uid: str
    ) -> RawFrame | Dataset:
        plan = self.plan(k, index, group, uid)
        return as_bytes(plan) if plan.bytes_ok else as_dataset(plan, self.converted)


class _Items(Sequence[tuple[str, Any]]):
    """The frames to write, as ``(path, header)``.

    Each header is built when it is asked for (writing numpy data, the next
    frame's header is built while the previous frames are encoded and
    written).
    """

    def __init__(
        self,
        frames: _Frames,
        plans: list[tuple[tuple[int, ...], list[Source], str]],
        series_uid: str,
    ) -> None:
        self.frames, self.plans = frames, plans
        self.folder = f"{_NEW_FOLDER}/{series_uid}"

    def rel(self, k: int) -> str:
        return f"{self.folder}/{self.plans[k][2]}.dcm"

    def __len__(self) -> int:
        return len(self.plans)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        index, group, uid = self.plans[k]
        return self.rel(k), self.frames.build(int(k), index, group, uid)
