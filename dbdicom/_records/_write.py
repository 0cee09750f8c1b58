"""Writing a DataArray into a series: headers, provenance, files through the journal.

Each frame of the array becomes one instance (a single-frame file). Its
header comes from, in order:

1. the ``header`` argument: records (instances) or pydicom datasets,
   broadcast over the frame dims;
2. the frame's ``SOPInstanceUID`` coordinate: its source frame;
3. the source frames found by matching coordinates: when the array's attrs
   name a ``SeriesInstanceUID`` of the database (as every array from
   :meth:`Series.to_xarray` does), the frames of that series whose values of
   the array's dims equal the frame's (a T1 map with dim ``SliceLocation``
   made from a series with dims ``SliceLocation`` and ``FlipAngle`` gets,
   for each slice, the headers of that slice's images);
4. the MR Image template.

On top of that header go the attrs, the frame's coordinates, the geometry
of the affine, the attributes of the target series and of its study and
patient, and the writer's own: new SOPInstanceUIDs, pixel encoding, and the
provenance (ImageType DERIVED\\SECONDARY, DerivationDescription,
SourceImageSequence, ReferencedSeriesSequence).

The series' previous instances, if any, are replaced (removed once the new
ones are written). Every file goes through the journal: restorable until
saved.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage

from .._arrays._writer import (
    Encoding,
    FrameTags,
    check_dtype,
    check_names,
    choose_encoding,
    frames_of,
    shared_values,
)
from .._errors import DicomError, InvalidValueError
from .._files import NeedsPydicom, encodings_for
from .._files._raw import (
    Layouts,
    dataset_bytes,
    elements,
    encode_element,
    header_of,
)
from .._index._scan import Row
from .._values import plain_number_text, resolve_tag, to_dicom
from ._attributes import LEVEL_ATTRIBUTES
from ._edit import DELETE, copy_dataset, non_ascii, put
from ._output import RawFrame, Scanned, no_pydicom_validation, pixel_format, write_all

if TYPE_CHECKING:
    from ._record import Record

__all__ = ["header_array", "set_xarray"]

_NEW_FOLDER = "dbdicom"
# of the patient and the study: the target's values win over the array's attrs
_PARENT_TAGS = frozenset(LEVEL_ATTRIBUTES["patient"] + LEVEL_ATTRIBUTES["study"])
# source attributes that would be wrong in a derived single-frame image
_DROP = (
    "PixelData",
    "FloatPixelData",
    "DoubleFloatPixelData",
    "NumberOfFrames",
    "PerFrameFunctionalGroupsSequence",
    "SharedFunctionalGroupsSequence",
    "SmallestImagePixelValue",
    "LargestImagePixelValue",
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "PixelPresentation",
    "SourceImageSequence",
    "ReferencedSeriesSequence",
    "DerivationDescription",
    "DerivationCodeSequence",
)


class _Source:
    """A source frame: where its header is and what it is."""

    __slots__ = (
        "rel",
        "root",
        "sop_class",
        "sop_uid",
        "series_uid",
        "dataset",
        "raw_offset",
        "frame",
    )

    def __init__(
        self,
        root: str,
        rel: str | None,
        sop_class: str,
        sop_uid: str,
        series_uid: str,
        dataset: Dataset | None = None,
        raw_offset: int = 0,
        frame: int | None = None,
    ) -> None:
        self.root, self.rel, self.dataset = root, rel, dataset
        self.sop_class, self.sop_uid, self.series_uid = sop_class, sop_uid, series_uid
        # > 0: an uncompressed Explicit VR Little Endian file whose pixel values
        # start there, which the writer can copy as bytes (see _files._raw)
        self.raw_offset = raw_offset
        # the 1-based number of the frame in a multi-frame source, else None
        self.frame = frame


def _instance_source(instance: Record, frame: int | None = None) -> _Source:
    rows = instance._rows()
    return _row_source(instance._db, int(rows[0]), frame)


def _row_source(db: Any, row: int, frame: int | None = None) -> _Source:
    """The source at index ``row``; ``frame``: the 0-based frame in its file."""
    return _row_sources(db, [row], [frame])[0]


def _row_sources(db: Any, rows: list[int], frames: list[Any]) -> list[_Source]:
    """The sources at index ``rows``; ``frames``: the 0-based frame of each in
    its file (None, or NaN: the whole file)."""
    editor = db._editor
    index = db.index
    columns = [
        index.array(name)[rows].tolist()
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
        out.append(
            _Source(
                db.path,
                rel,
                str(sop_class or MRImageStorage),
                str(uid),
                str(series),
                editor.memory.get(rel),
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


def _dataset_source(ds: Dataset) -> _Source:
    return _Source(
        "",
        None,
        str(ds.get("SOPClassUID", MRImageStorage)),
        str(ds.get("SOPInstanceUID", "")),
        str(ds.get("SeriesInstanceUID", "")),
        ds,
    )


def header_array(header: Any) -> np.ndarray:
    """``header`` (one instance or dataset, or nested lists or an array of them) as
    an object array of that shape. ``np.asarray`` cannot be used: pydicom
    datasets have an ``__array__`` that numpy would call."""
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


def _sources(series: Record, da: Any, header: Any) -> list[list[_Source]]:
    """The source frames of every frame of ``da`` (C order); empty lists: none."""
    db = series._db
    shape = tuple(da.shape[:-2])
    n = int(np.prod(shape)) if shape else 1
    if header is not None:
        from ._record import Record

        given = header_array(header)
        try:
            spread = np.broadcast_to(given, shape)
        except ValueError:
            raise InvalidValueError(
                f"the header array has shape {given.shape} but the data has {n} frame(s) "
                f"in shape {shape}: give one header per frame, or one header for all."
            ) from None
        out = []
        for item in spread.reshape(-1):
            if isinstance(item, Record) and item.level == "instance":
                out.append([_instance_source(item)])
            elif isinstance(item, Dataset):
                out.append([_dataset_source(item)])
            elif item is None:
                out.append([])
            else:
                raise InvalidValueError(
                    f"a header must be an Instance or a pydicom Dataset; got {type(item).__name__}."
                )
        return out
    coord = da.coords.get("SOPInstanceUID")
    if coord is not None and set(coord.dims) <= set(da.dims[:-2]):
        uids = _per_frame(da, coord)
        numbers = da.coords.get("frame")
        if numbers is not None and set(numbers.dims) <= set(da.dims[:-2]):
            frame_numbers = _per_frame(da, numbers)
        else:
            frame_numbers = np.full(len(uids), None, dtype=object)
        index = db.index
        ok = index.ok
        where = dict(zip(index.array("_instance")[ok].tolist(), ok.tolist(), strict=True))
        at = [where.get(uid, -1) if isinstance(uid, str) and uid else -1 for uid in uids.tolist()]
        found = [k for k, row in enumerate(at) if row >= 0]
        out = [[] for _ in at]
        sources = _row_sources(db, [at[k] for k in found], [frame_numbers[k] for k in found])
        for k, source in zip(found, sources, strict=True):
            out[k] = [source]
        return out
    source = da.attrs.get("SeriesInstanceUID")
    if source and (("series", source) not in db._editor.empty):
        try:
            rows = db._index_rows("series", str(source))
        except DicomError:
            rows = np.array([], dtype=np.int64)
        if len(rows):
            return _matched(db, rows, da)
    return [[] for _ in range(n)]


def _matched(db: Any, rows: np.ndarray, da: Any) -> list[list[_Source]]:
    """For each frame, the frames of the source ``rows`` with the same dim values."""
    dims = [d for d in da.dims[:-2] if d in da.coords]
    rows = rows[np.argsort(db._tree_rank()[rows], kind="stable")]
    values = {d: db.index.values(rows, d) for d in dims}
    cls = db._class_of("instance")
    instances = [cls(db, k) for k in db.index.array("_instance")[rows]]
    out = []
    for index in frames_of(da):
        keep = np.ones(len(rows), dtype=bool)
        for d in dims:
            wanted = da.coords[d].values[index[da.dims.index(d)]]
            keep &= np.array([_same(v, wanted) for v in values[d]], dtype=bool)
        out.append([_instance_source(instances[i]) for i in np.flatnonzero(keep)])
    return out


def _same(value: Any, wanted: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, int | float) and isinstance(wanted, int | float | np.number):
        return bool(np.isclose(float(value), float(wanted), rtol=0, atol=1e-6))
    return bool(value == wanted)


def _base(source: _Source | None, template: Dataset) -> Dataset:
    if source is None:
        return copy_dataset(template)
    if source.dataset is not None:
        ds = copy_dataset(source.dataset)
    else:
        assert source.rel is not None
        ds = pydicom.dcmread(os.path.join(source.root, source.rel), stop_before_pixels=True)
    if "PerFrameFunctionalGroupsSequence" in ds:  # enhanced: its header does not fit a frame
        base = copy_dataset(template)
        for level in ("patient", "study", "series"):
            for keyword in LEVEL_ATTRIBUTES[level]:
                if keyword in ds:
                    base[keyword] = ds[keyword]
        return base
    for keyword in _DROP:
        if keyword in ds:
            del ds[keyword]
    return ds


def _delta(ds: Dataset) -> dict[int, bytes]:
    return elements(dataset_bytes(ds)) if len(ds) else {}


def _tags(keywords: Sequence[str]) -> dict[int, bytes | None]:
    return {tag: None for tag in (tag_for_keyword(k) for k in keywords) if tag is not None}


def _image_type_rest(raw: bytes | None) -> list[str]:
    """Values 3 on of an ImageType element given as bytes (explicit VR, CS)."""
    if raw is None:
        return []
    text = raw[8:].decode("ascii", "replace").strip(" \0")
    return [v.strip() for v in text.split("\\")][2:]


def _references(sources: Sequence[_Source], frames: bool = True) -> DicomSequence:
    """Image SOP Instance references; ``frames``: with the frame of a multi-frame
    source (Source Image Sequence), not in a Referenced Instance Sequence."""
    items = []
    for s in sources:
        item = Dataset()
        item.ReferencedSOPClassUID = s.sop_class
        item.ReferencedSOPInstanceUID = s.sop_uid
        if frames and s.frame is not None:
            item.ReferencedFrameNumber = s.frame
        items.append(item)
    return DicomSequence(items)


def _series_references(sources: Sequence[_Source]) -> DicomSequence:
    by_series: dict[str, list[_Source]] = {}
    for s in sources:
        by_series.setdefault(s.series_uid, []).append(s)
    items = []
    for uid, group in by_series.items():
        item = Dataset()
        item.SeriesInstanceUID = uid
        unique = list({s.sop_uid: s for s in group}.values())
        item.ReferencedInstanceSequence = _references(unique, frames=False)
        items.append(item)
    return DicomSequence(items)


def _put_keyword(ds: Dataset, keyword: str, value: Any) -> None:
    if value is DELETE:
        if keyword in ds:
            delattr(ds, keyword)
        return
    number, _, vr = resolve_tag(keyword)
    put(ds, number, vr, to_dicom(number, value, vr))


def _stack_index(da: Any, index: tuple[int, ...]) -> int:
    """The slice of a template frame: its index along the first dim without
    coordinates (``frame`` of :meth:`Series.set_array`), else 0."""
    for dim, i in zip(da.dims[:-2], index, strict=True):
        if dim not in da.coords:
            return int(i)
    return 0


def _stack_values(template: Dataset, k: int, location: float | None) -> dict[str, Any]:
    """:func:`_stack_position` as values (for frames written as bytes)."""
    ds = Dataset()
    ds.ImageOrientationPatient = template.ImageOrientationPatient
    ds.ImagePositionPatient = template.ImagePositionPatient
    ds.SliceThickness = template.get("SliceThickness", 1.0)
    _stack_position(ds, k, location)
    out: dict[str, Any] = {"ImagePositionPatient": [float(x) for x in ds.ImagePositionPatient]}
    if "SliceLocation" in ds:
        out["SliceLocation"] = float(ds.SliceLocation)
    return out


def _vr_of(number: int) -> str:
    return str(dictionary_VR(number)).split(" or ")[0]


def _stack_position(ds: Dataset, k: int, location: float | None) -> None:
    """Frames made from the template without geometry: a stack of slices along
    the slice normal (LPS), at their ``SliceLocation`` if given, else frame
    ``k`` at ``k`` SliceThickness from the template's position."""
    from .._templates import slice_location

    cosines = np.asarray(ds.ImageOrientationPatient, dtype=float)
    normal = np.cross(cosines[:3], cosines[3:])
    base = np.asarray(ds.ImagePositionPatient, dtype=float)
    if location is None:
        position = base + k * float(ds.get("SliceThickness") or 1.0) * normal
    else:
        position = base + (float(location) - slice_location(base, cosines)) * normal
    ds.ImagePositionPatient = [to_dicom("SliceLocation", float(x)) for x in position]
    if location is None:
        ds.SliceLocation = to_dicom("SliceLocation", slice_location(position, cosines))


def _scan(da: Any) -> tuple[float, float, bool, bool]:
    """Lowest, highest value, whether all are integers, whether any is NaN/inf."""
    data = da.data
    try:
        import dask.array as dsa

        lazy = isinstance(data, dsa.Array)
    except ImportError:  # pragma: no cover - dask is a dependency
        lazy = False
    if da.dtype.kind == "b":
        return 0.0, 1.0, True, False
    if lazy:
        import dask

        x = data.astype(np.float64) if da.dtype.kind == "f" else data
        finite = dsa.isfinite(x).all() if da.dtype.kind == "f" else True
        integral = (x == dsa.rint(x)).all() if da.dtype.kind == "f" else True
        low, high, finite, integral = dask.compute(x.min(), x.max(), finite, integral)
    else:
        x = np.asarray(data)
        low, high = x.min(), x.max()  # NaN if any is; inf if any is
        finite = bool(np.isfinite(low) and np.isfinite(high))
        integral = True
        if da.dtype.kind == "f" and finite:
            # most float data shows it is not integral in its first values
            head = x.reshape(-1)[:4096]
            integral = bool((head == np.rint(head)).all()) and bool((x == np.rint(x)).all())
    return float(low), float(high), bool(integral), not bool(finite)


def set_xarray(
    series: Record,
    da: Any,
    header: Any = None,
    description: str | None = None,
    kind: str = "image",
) -> Record:
    """Write ``da`` into ``series`` (see the module notes); returns the series.
    ``kind``: ``"image"``, else one multi-frame object (see ``_multiframe``)."""
    from ._multiframe import check_kind, write_multiframe

    check_kind(kind)
    if kind != "image":
        return write_multiframe(series, da, kind, header, description)
    if series.level != "series":
        raise DicomError(f"arrays are written into a series, not a {series.level}.")
    check_names(da)
    check_dtype(np.dtype(da.dtype), int(da.size))
    editor = series._db._editor
    editor.begin()
    low, high, integral, bad = _scan(da)
    if bad:
        raise InvalidValueError(
            "the array holds NaN or infinite values, which DICOM images cannot store: "
            "replace them first, e.g. da.fillna(0) or da.where(np.isfinite(da), 0)."
        )
    encoding = choose_encoding(da.dtype.kind, low, high, integral)
    with no_pydicom_validation():
        return _set_xarray(series, da, header, description, encoding, editor, (low, high))


def _set_xarray(
    series: Record,
    da: Any,
    header: Any,
    description: str | None,
    encoding: Encoding,
    editor: Any,
    window: tuple[float, float],
) -> Record:
    from .._templates import new_uid
    from ._structure import inherited, is_empty

    journal = editor.begin()
    sources = _sources(series, da, header)
    if (
        header is None
        and not any(sources)
        and not da.attrs
        and any(d in da.coords for d in da.dims)
    ):
        # an array with tag dims but no attrs at all: most likely attrs lost on the way
        series.message(
            "No source frames for this array (no SOPInstanceUID coordinate, and no attrs "
            "naming its SeriesInstanceUID): headers come from the MR template. Keep the "
            "attrs (xr.set_options(keep_attrs=True)) or pass header= to derive them."
        )
    # paths, not rows: row positions change when the new files enter the index
    old = [] if is_empty(series) else editor.rels(series._rows())
    target = inherited(series)
    if is_empty(series):
        # a new series takes its acquisition attributes (Modality, frame of
        # reference, equipment...) from its sources, but not their description
        for keyword in LEVEL_ATTRIBUTES["series"]:
            if target.get(keyword) is DELETE and keyword != "SeriesDescription":
                del target[keyword]
    rows, columns = int(da.shape[-2]), int(da.shape[-1])
    template = _Template(rows, columns)
    shared = {k: v for k, v in shared_values(da).items() if k not in _PARENT_TAGS}
    shared_checked = []  # checked once, set in every frame
    for keyword, value in shared.items():
        number_, _, vr_ = resolve_tag(keyword)
        shared_checked.append((number_, vr_, to_dicom(number_, value, vr_)))
    all_sources = [s for group in sources for s in group]
    what = description or (
        f"derived by dbdicom from {len({s.series_uid for s in all_sources})} series"
        if all_sources
        else "made by dbdicom from an array"
    )
    series_uid = str(target.get("SeriesInstanceUID") or series.uid)
    center = to_dicom("WindowCenter", (window[0] + window[1]) / 2)
    width = to_dicom("WindowWidth", max(window[1] - window[0], 1.0))
    fast = _FastLayers(target, shared_checked, series_uid, what, da.shape[-2:], encoding, template)
    fast.window(center, width)
    builder = _Builder(da, target, template, shared_checked, series_uid, what, (center, width))
    builder.fast = fast
    plans = [(index, group, new_uid()) for index, group in zip(frames_of(da), sources, strict=True)]
    items = _Items(builder, plans)
    keys = (
        str(target.get("PatientID", "")),
        str(target.get("StudyInstanceUID", "")),
        series_uid,
    )
    journal.created([(items.rel(k), (*keys, plan[2])) for k, plan in enumerate(plans)])
    journal.tmp.mkdir(parents=True, exist_ok=True)
    written: list[Scanned] = []
    try:
        written = write_all(str(editor.root), str(journal.tmp), items, da, encoding, series)
    finally:
        read = {rel: (row, frames) for rel, row, frames in written}
        index_written(series, [items.rel(k) for k in range(len(plans))], read)
    remove_previous(series, old)
    return series


def index_written(series: Record, rels: list[str], rows: dict[str, tuple[Row, list[Row]]]) -> None:
    """The files written (``rels``, whether or not all were) enter the index;
    ``rows``: those read from the bytes written (the others are read)."""
    series._db.index.update(rels, rows)
    series._db._changed()
    series._db._editor.prune()


def remove_previous(series: Record, old: list[str]) -> None:
    """Remove the files ``old``: the series' instances before a write replaced them."""
    if old:
        frame = series._db.index.frame
        series._db._editor.remove_rows(np.flatnonzero(frame["_path"].isin(old).to_numpy()))


class _Builder:
    """Builds the header of each frame: as element layers (:class:`RawFrame`)
    where the source is plain bytes, else as a pydicom dataset."""

    def __init__(
        self,
        da: Any,
        target: dict[str, Any],
        template: _Template,
        shared: list[tuple[int, str, Any]],
        series_uid: str,
        what: str,
        window: tuple[Any, Any],
    ) -> None:
        self.da, self.target, self.template, self.shared = da, target, template, shared
        self.series_uid, self.what, self.window = series_uid, what, window
        self.tags = FrameTags(da)
        self.numbered = "InstanceNumber" in da.coords
        self.fast: _FastLayers | None = None

    def build(
        self, k: int, index: tuple[int, ...], group: list[_Source], uid: str
    ) -> RawFrame | Dataset:
        """The header of frame ``k`` (at ``index``), from its sources ``group``."""
        da, tags = self.da, self.tags
        number = k + 1
        fast = self.fast
        if fast is not None and fast.usable and (not group or group[0].raw_offset):
            values = tags.values(index)
            geometry = tags.geometry(index, values)
            if not group and "affine" not in da.attrs and "ImagePositionPatient" not in values:
                geometry.update(
                    _stack_values(
                        self.template.dataset, _stack_index(da, index), values.get("SliceLocation")
                    )
                )
            frame = fast.frame(group, uid, values, geometry, None if self.numbered else number)
            if frame is not None:
                return frame
        from ._structure import apply_values as _apply

        template = self.template.dataset
        ds = _base(group[0] if group else None, template)
        # a source without SpacingBetweenSlices does not get one (round trips stay
        # identical); a new image from the template does
        spacing = not group or "SpacingBetweenSlices" in ds
        for number_, vr_, value_ in self.shared:
            put(ds, number_, vr_, value_)
        values = tags.values(index)
        for keyword, value in values.items():
            _put_keyword(ds, keyword, value)
        for keyword, value in tags.geometry(index, values).items():
            if keyword != "SpacingBetweenSlices" or spacing:
                _put_keyword(ds, keyword, value)
        if not group and "affine" not in da.attrs and "ImagePositionPatient" not in values:
            _stack_position(ds, _stack_index(da, index), values.get("SliceLocation"))
        _apply(ds, self.target, new_file=not group)
        ds.SOPInstanceUID = uid
        ds.SeriesInstanceUID = self.series_uid
        if "SOPClassUID" not in ds:
            ds.SOPClassUID = MRImageStorage
        if not self.numbered:
            ds.InstanceNumber = number
        kept = list(ds.get("ImageType", []))[2:]
        ds.ImageType = ["DERIVED", "SECONDARY", *kept]
        ds.WindowCenter, ds.WindowWidth = self.window
        ds.DerivationDescription = self.what[:1024]
        if group:
            ds.SourceImageSequence = _references(group)
            # the series of this frame's sources (Common Instance Reference)
            ds.ReferencedSeriesSequence = _series_references(group)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = UID(uid)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        if "NumberOfFrames" in ds:
            del ds.NumberOfFrames
        return ds


class _Template:
    """The MR Image template of a write's frame size, made when first needed
    (a series derived from sources copies their headers instead)."""

    def __init__(self, rows: int, columns: int) -> None:
        self.shape = (rows, columns)

    @functools.cached_property
    def dataset(self) -> Dataset:
        from .._templates import mr_image

        ds = mr_image(np.zeros(self.shape, np.uint16))
        del ds.PixelData
        return ds

    @functools.cached_property
    def elements(self) -> dict[int, bytes]:
        return elements(dataset_bytes(self.dataset))


class _Items(Sequence[tuple[str, Any]]):
    """The frames to write, as ``(path, header)``: each header is built when
    it is asked for (writing numpy data, the next frame's header is built
    while the previous frames are encoded and written)."""

    def __init__(
        self, builder: _Builder, plans: list[tuple[tuple[int, ...], list[_Source], str]]
    ) -> None:
        self.builder, self.plans = builder, plans
        self.folder = f"{_NEW_FOLDER}/{builder.series_uid}"

    def rel(self, k: int) -> str:
        return f"{self.folder}/{self.plans[k][2]}.dcm"

    def __len__(self) -> int:
        return len(self.plans)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        index, group, uid = self.plans[k]
        return self.rel(k), self.builder.build(int(k), index, group, uid)


class _FastLayers:
    """The element layers shared by the frames written as bytes (encoded once)."""

    def __init__(
        self,
        target: dict[str, Any],
        shared: list[tuple[int, str, Any]],
        series_uid: str,
        what: str,
        shape: tuple[int, ...],
        encoding: Encoding,
        template: _Template,
    ) -> None:
        # through pydicom: custom attributes, a character set given
        self.usable = not any(k.islower() for k in target) and not any(
            number == _CHARSET for number, _, _ in shared
        )
        # text beyond ASCII among the new values: encoded in the character set
        # of each frame's source where it can be, else in UTF-8
        texts = [what, *(value for _, _, value in shared), *target.values()]
        self.texts = [value for value in texts if non_ascii(value)]
        self.template = template
        self.drops: dict[int, bytes | None] = _tags([*_DROP, "NumberOfFrames"])
        self._shared_values = shared
        self._parents: list[tuple[int, str, Any]] = []
        self._removed: dict[int, bytes | None] = {}
        for keyword, value in target.items():
            if keyword.islower():
                continue
            number, _, vr = resolve_tag(keyword)
            if value is DELETE:
                self._removed[number] = None
            else:
                self._parents.append((number, vr, value))
        self._pixels = (series_uid, what, shape, encoding)
        # per character set (None: ASCII): the shared attrs and the parents' values;
        # the parents' values for a new file; the writer's elements
        self._text: dict[str | None, tuple[dict[int, bytes | None], dict[int, bytes | None]]] = {}
        self._new: dict[str | None, dict[int, bytes | None]] = {}
        self._writer: dict[tuple[bool, str | None], dict[int, bytes | None]] = {}
        self._encodable: dict[bytes | None, str | None] = {}
        self._window: dict[int, bytes | None] = {}
        self._checked: dict[tuple[str, str], dict[int, bytes | None]] = {}
        self._image_types: dict[bytes | None, bytes] = {}
        self._classes: dict[str, bytes] = {}
        self.layouts = Layouts()  # the source headers of a series share a layout

    def text(self, charset: str | None) -> tuple[dict[int, bytes | None], dict[int, bytes | None]]:
        """The shared attrs and the parents' values, encoded in ``charset``
        (None: plain ASCII)."""
        found = self._text.get(charset)
        if found is None:
            attrs, parents = _text_dataset(charset), _text_dataset(charset)
            for number, vr, value in self._shared_values:
                put(attrs, number, vr, value, switch=False)
            for number, vr, value in self._parents:
                put(parents, number, vr, value, switch=False)
            shared: dict[int, bytes | None] = dict(_delta(attrs))
            target: dict[int, bytes | None] = {**self._removed, **_delta(parents)}
            shared.pop(_CHARSET, None)  # set by frame(), where it changes
            target.pop(_CHARSET, None)
            found = self._text[charset] = (shared, target)
        return found

    def target_new(self, charset: str | None) -> dict[int, bytes | None]:
        """The parents' values for a new file: where its parents lack a value,
        the template's made-up one is emptied."""
        found = self._new.get(charset)
        if found is None:
            from ._structure import TEMPLATE_KEEPS as _NEEDED

            found = self._new[charset] = dict(self.text(charset)[1])
            for number in self._removed:
                if number in self.template.elements and keyword_for_tag(number) not in _NEEDED:
                    found[number] = encode_element(number, _vr_of(number), "")
                else:
                    found.pop(number, None)
        return found

    def writer(self, rescaled: bool, charset: str | None) -> dict[int, bytes | None]:
        """The elements the writer sets: series, derivation, pixel format."""
        found = self._writer.get((rescaled, charset))
        if found is None:
            series_uid, what, shape, encoding = self._pixels
            ds = _text_dataset(charset)
            ds.SeriesInstanceUID = series_uid
            ds.DerivationDescription = what[:1024]
            pixel_format(ds, shape, encoding, rescaled)
            found = self._writer[(rescaled, charset)] = dict(_delta(ds))
            found.pop(_CHARSET, None)
        return found

    def charset(self, own: dict[int, bytes], delta: dict[int, bytes | None]) -> str | None | bool:
        """The character set to encode the new text of a frame in: None where
        all is ASCII; the source's own where it encodes the new text, else
        UTF-8 (the frame then says so) where the source reads the same in it;
        False where neither (pydicom then re-encodes the whole header)."""
        if not self.texts and _CHARSET not in delta:
            return None
        raw = own.get(_CHARSET)
        if _CHARSET not in delta:  # new values of this frame in UTF-8: all in UTF-8
            if raw not in self._encodable:
                self._encodable[raw] = _encoding_all(raw, self.texts)
            found = self._encodable[raw]
            if found is not None:
                return found
        if not _utf8_compatible(own):
            return False
        delta[_CHARSET] = _UTF8
        return "ISO_IR 192"

    def _element(self, keyword: str, value: Any) -> dict[int, bytes | None]:
        """A coordinate value as an element, checked once per distinct value."""
        kind = type(value)
        if kind is float or kind is int or kind is list:
            number, _, vr = resolve_tag(keyword)
            if vr == "DS" or vr == "IS":  # numbers, most often one per frame: no pydicom
                text = plain_number_text(number, vr, value)
                if text is not None:
                    return {number: _number_element(number, vr, text)}
        key = (keyword, repr(value))
        found = self._checked.get(key)
        if found is None:
            number, _, vr = resolve_tag(keyword)
            text = plain_number_text(number, vr, value)
            if text is not None:  # numbers, most often one per frame: no pydicom
                found = self._checked[key] = {number: encode_element(number, vr, text)}
                return found
            checked = to_dicom(number, value, vr)
            if checked is None:
                found = {number: encode_element(number, vr, "")}
            elif (
                vr in ("SQ", "OB", "OW", "UN")
                or isinstance(checked, DataElement)
                or not repr(checked).isascii()  # text needing a character set: pydicom
            ):
                ds = Dataset()
                put(ds, number, vr, checked)
                found = dict(_delta(ds))
            else:
                found = {number: encode_element(number, vr, checked)}
            self._checked[key] = found
        return found

    def _references(self, group: Sequence[_Source]) -> tuple[bytes, bytes]:
        """SourceImageSequence (with frame numbers of multi-frame sources) and
        ReferencedSeriesSequence (each instance once) of a frame, encoded."""
        source_items = []
        by_series: dict[str, dict[str, bytes]] = {}
        for s in group:
            instance = self._class_element(s.sop_class) + _ui(0x00081155, s.sop_uid)
            frame = b"" if s.frame is None else encode_element(0x00081160, "IS", s.frame)
            source_items.append(_item(instance + frame))
            by_series.setdefault(s.series_uid, {})[s.sop_uid] = _item(instance)
        series_items = [
            # (0008,114A) ReferencedInstanceSequence comes before (0020,000E)
            _item(_sequence(0x0008114A, list(items.values())) + _ui(0x0020000E, uid))
            for uid, items in by_series.items()
        ]
        return _sequence(0x00082112, source_items), _sequence(0x00081115, series_items)

    def _class_element(self, sop_class: str) -> bytes:
        found = self._classes.get(sop_class)
        if found is None:
            found = self._classes[sop_class] = _ui(0x00081150, sop_class)
        return found

    def window(self, center: Any, width: Any) -> None:
        ds = Dataset()
        ds.WindowCenter, ds.WindowWidth = center, width
        self._window = dict(_delta(ds))

    def frame(
        self,
        group: Sequence[_Source],
        uid: str,
        values: dict[str, Any],
        geometry: dict[str, Any],
        number: int | None,
    ) -> RawFrame | None:
        """A frame from its sources' first header, or (no sources) the template's;
        None where new text needs UTF-8 but the source's own text is in
        another character set (pydicom then re-encodes the whole header)."""
        if group:
            source = group[0]
            path = os.path.join(source.root, str(source.rel))
            try:
                own, _ = header_of(path, source.raw_offset, self.layouts)
            except NeedsPydicom:  # bytes the walker leaves to pydicom: so does the writer
                return None
            sop_class = source.sop_class
        else:
            own, sop_class = self.template.elements, str(MRImageStorage)
        delta: dict[int, bytes | None] = {}
        for keyword, value in values.items():
            delta.update(self._element(keyword, value))
        for keyword, value in geometry.items():
            if keyword != "SpacingBetweenSlices" or 0x00180088 in own or not group:
                delta.update(self._element(keyword, value))
        delta[0x00080018] = encode_element(0x00080018, "UI", uid)
        if number is not None:
            delta[0x00200013] = encode_element(0x00200013, "IS", number)
        # DERIVED\SECONDARY, then the frame's own values: its coordinate's, else its header's
        raw_type = delta.get(0x00080008) or own.get(0x00080008)
        image_type = self._image_types.get(raw_type)
        if image_type is None:
            rest = _image_type_rest(raw_type)
            image_type = encode_element(0x00080008, "CS", ["DERIVED", "SECONDARY", *rest])
            self._image_types[raw_type] = image_type
        delta[0x00080008] = image_type
        charset = self.charset(own, delta)
        if charset is False:
            return None
        assert not isinstance(charset, bool)
        shared, target = self.text(charset)
        if group:
            delta[0x00082112], delta[0x00081115] = self._references(group)
        layers: list[dict[int, bytes | None]] = [
            dict(own),
            self.drops,
            shared,
            delta,
            target if group else self.target_new(charset),
            self.writer(0x00281053 in own, charset),
            self._window,
        ]
        return RawFrame(layers, sop_class, uid)


_CHARSET = 0x00080005
_UTF8 = encode_element(_CHARSET, "CS", "ISO_IR 192")
_TEXT_VRS = frozenset(b"LO LT PN SH ST UC UT SQ".split())
# character sets of one code each, which new text can be written in as is
_SINGLE_CODE = frozenset(
    ["ISO_IR 192", "GB18030", "GBK"]
    + [f"ISO_IR {n}" for n in (100, 101, 109, 110, 144, 127, 126, 138, 148, 203, 166)]
)


def _text_dataset(charset: str | None) -> Dataset:
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    return ds


def _encoding_all(raw: bytes | None, texts: list[Any]) -> str | None:
    """The character set of the element ``raw`` (explicit VR) where it is of
    one code that encodes all ``texts``; else None."""
    if raw is None:
        return None
    name = raw[8:].strip(b" \0").decode("ascii", "replace")
    if name not in _SINGLE_CODE:
        return None
    (codec,) = encodings_for(name)
    flat: list[str] = []
    for value in texts:
        flat.extend(str(v) for v in (value if isinstance(value, list | tuple) else [value]))
    try:
        for text in flat:
            text.encode(codec)
    except UnicodeEncodeError:
        return None
    return name


def _utf8_compatible(own: dict[int, bytes]) -> bool:
    """Whether the header ``own`` (explicit VR elements) reads the same in
    UTF-8: it is in UTF-8 already, or its text (and sequences, which may
    hold text) is plain ASCII."""
    charset = own.get(_CHARSET)
    if charset is not None and charset[8:].strip(b" \0") == b"ISO_IR 192":
        return True
    return all(raw.isascii() for raw in own.values() if raw[4:6] in _TEXT_VRS)


def _number_element(tag: int, vr: str, text: str) -> bytes:
    """A DS or IS element of ``text`` (plain ASCII) in explicit VR little endian."""
    raw = text.encode("ascii")
    if len(raw) % 2:
        raw += b" "
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(raw)) + raw


def _ui(tag: int, value: str) -> bytes:
    """A UI element in explicit VR little endian."""
    raw = value.encode("ascii")
    if len(raw) % 2:
        raw += b"\0"
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, b"UI", len(raw)) + raw


def _item(body: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _sequence(tag: int, items: list[bytes]) -> bytes:
    body = b"".join(items)
    return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, b"SQ", 0, len(body)) + body
