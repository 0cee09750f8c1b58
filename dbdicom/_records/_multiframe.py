"""Writing a DataArray as one multi-frame object: a Parametric Map or a Segmentation.

:meth:`Series.set_xarray` writes each frame as an image by default (16-bit
stored values with a rescale). Asked for another ``kind``, it writes one
file holding every frame:

* ``"parametric map"``: Parametric Map Storage, the values as 32-bit floats
  (``FloatPixelData``) exactly as given; NaN and infinities are kept (e.g.
  voxels where a fit failed). A ``units`` attr (``"ms"``) is its measurement
  units, as a UCUM code, in the Real World Value Mapping.
* ``"segmentation"``: Segmentation Storage, one BINARY segment of 1 bit per
  pixel; the data must be booleans (or integers 0 and 1).

Both are one 3-D volume: every frame has its own position, from the
``affine``, the ``ImagePositionPatient`` coordinate or the source frames (a
stack along the slice normal when there is none), so the frames must lie
at distinct positions. Patient, study and series attributes come from the
target series; the source frames (found as for images) are referenced, in
the series' study. Other coordinates have no place in these objects: a
message names those not kept.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from typing import Any

import numpy as np

from .._arrays import (
    NOT_TAG_COORDS,
    PIXEL_COORDS,
    WRITER_TAGS,
    FrameTags,
    base_keyword,
    check_names,
    frames_of,
)
from .._dataset import TYPE2_PARENTS, Template
from .._errors import DicomError, InvalidValueError
from .._index import scan_one
from .._keywords import tag_for_keyword
from .._templates import (
    REFUSED_MULTIFRAME,
    REFUSED_SEGMENTATION,
    VOI,
    parametric_map,
    segmentation,
    ucum_units,
)
from ._edit import DELETE
from ._inherit import inherited, source_told
from ._new_files import index_written, remove_previous, store_file
from ._record import Record
from ._sources import check_fits, find_sources
from ._structure import is_empty

__all__ = ["KINDS", "write_multiframe"]

#: what :meth:`Series.set_xarray` can write (``kind=``)
KINDS = ("image", "parametric map", "segmentation")
# coordinates these objects hold (as geometry or identity), not reported as lost
_KEPT = frozenset(
    {"SliceLocation", "ImagePositionPatient", "SOPInstanceUID", "InstanceNumber"}
    | NOT_TAG_COORDS
    | WRITER_TAGS
)
_GEOMETRY = ("PixelSpacing", "ImageOrientationPatient", "SliceThickness")
#: the templates' values of the source's study and acquisition: the parents'
#: or the first source's, else left out
_FROM_SOURCE = ("StudyDescription", "InstitutionName", "StationName", "PatientPosition")


def check_kind(kind: str) -> None:
    """Refuse an unknown ``kind`` with the list of those known.

    Examples
    --------
    >>> check_kind("segmentation")
    >>> check_kind("volume")
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: kind='volume' is not a kind of object dbdicom writes: ...
    """
    if kind not in KINDS:
        raise InvalidValueError(
            f"kind={kind!r} is not a kind of object dbdicom writes: use one of "
            f"{', '.join(repr(k) for k in KINDS)}."
        )


def write_multiframe(
    series: Record, da: Any, kind: str, header: Any = None, description: str | None = None
) -> Record:
    """Write ``da`` into ``series`` as one object of ``kind`` (see the module notes)."""
    with series._db._editor.changing():  # undone whole if the disk fills up
        return _write_multiframe(series, da, kind, header, description)


def _write_multiframe(
    series: Record, da: Any, kind: str, header: Any, description: str | None
) -> Record:
    check_kind(kind)
    if series.level != "series":
        raise DicomError(f"arrays are written into a series, not a {series.level}.")
    check_names(da)
    values = np.asarray(da.values)  # one file: the whole volume is in memory anyway
    frames = values.reshape(-1, *values.shape[-2:])
    if frames.size == 0:
        raise InvalidValueError("the array is empty: there is nothing to write.")
    pixels = _pixels(kind, frames)
    editor = series._db._editor
    journal = editor.begin()
    groups = find_sources(series, da, header)
    check_fits(series, da, groups)
    sources = [s for group in groups for s in group]
    told = source_told(series, inherited(series), sources[0] if sources else None)
    target = {k: v for k, v in told.items() if not _deleted(v)}
    positions, geometry = _positions(series, da, groups)
    if positions is None and sources:  # the template's stack would be made-up geometry
        raise InvalidValueError(
            f"a {kind} places its frames in the patient, but neither the array (an affine, "
            "an ImagePositionPatient coordinate) nor its source images (projection images "
            "such as X-ray, ultrasound or secondary captures) give a position for each "
            "frame: write it as images (kind='image'), which keep their sources' geometry."
        )
    attributes = _attributes(kind, target, da, sources, series)
    attributes.update(geometry)
    if description:
        attributes["ContentDescription"] = str(description)[:64]
    referenced: dict[str, list[tuple[str, str]]] = {}
    for s in (s for s in sources if s.series_uid):  # a UID, never the text "None"
        pairs = referenced.setdefault(s.series_uid, [])
        if (s.sop_class, s.sop_uid) not in pairs:
            pairs.append((s.sop_class, s.sop_uid))
    units = _units(da, series) if kind == "parametric map" else None
    built = (kind, pixels, positions, attributes, referenced or None, description, units)
    ds = _build(*built, dims=tuple(str(d) for d in da.dims[:-2]))
    for keyword in _FROM_SOURCE:
        if keyword not in attributes:
            ds.pop(keyword, None)
    lost = sorted(  # scalar coordinates (dates shared by all frames) are as attrs
        str(c)
        for c in da.coords
        if base_keyword(str(c)) not in _KEPT
        and c not in ("row", "column", *PIXEL_COORDS)
        and da[c].ndim
    )
    if lost:  # said once the object is made: not before a refusal
        series._warn(
            f"A {kind} keeps the pixels and their positions; the coordinates "
            f"{', '.join(lost)} are not stored in it (write kind='image' to keep them)."
        )
    old = [] if is_empty(series) else editor.rels(series._rows())
    uid = str(ds.SOPInstanceUID)
    rel = f"dbdicom/{ds.SeriesInstanceUID}/{uid}.dcm"
    patient, study, series_uid = (
        str(ds.get(k, "")) for k in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID")
    )
    journal.created([(rel, (patient, study, series_uid, uid))])
    journal.tmp.mkdir(parents=True, exist_ok=True)
    root = str(editor.root)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    scanned = {}
    try:
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        store_file(root, str(journal.tmp), rel, data, None)
        journal.wrote([rel])  # what a restore may delete (see Entry)
        scanned[rel] = scan_one(root, rel, len(data), 0, data)
    finally:
        index_written(series, [rel], scanned)
    remove_previous(series, old)
    return series


def _deleted(value: Any) -> bool:
    return value is DELETE


def _pixels(kind: str, frames: np.ndarray) -> np.ndarray:
    """The pixel values to store, checked for ``kind``."""
    if frames.dtype.kind == "c":
        raise InvalidValueError(
            "complex data cannot be stored in DICOM images: write the magnitude and the "
            "phase as two series (np.abs(da), np.angle(da))."
        )
    if frames.dtype.kind not in "biuf":
        raise InvalidValueError(
            f"the array has dtype {frames.dtype}: only numbers and booleans can be written; "
            "convert it first, e.g. da.astype('float32')."
        )
    if kind == "parametric map":
        return frames.astype(np.float32)
    if frames.dtype.kind != "b":
        values = np.unique(frames)
        if not set(values.tolist()) <= {0, 1}:
            shown = ", ".join(str(v) for v in values[:5])
            raise InvalidValueError(
                f"a segmentation holds 0 and 1 (booleans); the array holds {shown}"
                f"{'...' if len(values) > 5 else ''}: threshold it first (da > 0.5), or "
                "write one segmentation per label (da == label)."
            )
    return frames.astype(bool)


def _attributes(
    kind: str, target: dict[str, Any], da: Any, sources: list[Any], series: Record
) -> dict[str, Any]:
    """Patient, study and series attributes for the template of ``kind``."""
    if kind == "segmentation":
        refused: set[str] = set(REFUSED_SEGMENTATION)
    else:
        refused = set(REFUSED_MULTIFRAME) - {"Modality"}
    out = {k: v for k, v in target.items() if k not in refused and not k.islower()}
    out = {k: v for k, v in out.items() if k not in VOI and k not in _GEOMETRY}
    out["SeriesInstanceUID"] = str(target.get("SeriesInstanceUID") or series.uid)
    frame_of_reference = da.attrs.get("FrameOfReferenceUID") or target.get("FrameOfReferenceUID")
    if not frame_of_reference and sources:
        frame_of_reference = _source_value(series, sources[0], "FrameOfReferenceUID")
    if frame_of_reference:
        out["FrameOfReferenceUID"] = str(frame_of_reference)
    for keyword in sorted(TYPE2_PARENTS):  # (empty where the parents have none)
        out.setdefault(keyword, "")
    for keyword in _FROM_SOURCE:
        value = out.get(keyword) or (
            _source_value(series, sources[0], keyword) if sources else None
        )
        if value:
            out[keyword] = value
        else:
            out.pop(keyword, None)
    if not out.get("ContentDate") or not out.get("ContentTime"):  # Type 1: when written
        now = dt.datetime.now()
        out["ContentDate"], out["ContentTime"] = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    if kind == "parametric map":
        modality = da.attrs.get("Modality") or target.get("Modality")
        if not modality and sources:
            modality = _source_value(series, sources[0], "Modality")
        out["Modality"] = str(modality or "MR")
        out["ImageType"] = ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    return out


def _source_value(series: Record, source: Any, keyword: str) -> Any:
    """``keyword`` of a source frame (from the index, or its dataset)."""
    if source.dataset is not None:
        return source.dataset.get(keyword)
    cls = series._db._class_of("instance")
    try:
        return cls(series._db, source.sop_uid)[keyword]
    except DicomError:
        return None


def _positions(
    series: Record, da: Any, groups: list[list[Any]]
) -> tuple[list[list[float]] | None, dict[str, Any]]:
    """The position of every frame, and the shared geometry.

    The shared geometry is the orientation, pixel spacing and slice
    thickness. Both come from the affine and the coordinates, else the source
    frames; without either, the stack an image write makes (see :func:`_stacked`).
    """
    tags = FrameTags(da)
    positions: list[list[float]] = []
    shared: dict[str, Any] = {}
    sources = [s for group in groups for s in group]
    for index, group in zip(frames_of(da), groups, strict=True):
        values = tags.values(index)
        geometry = {**tags.geometry(index, {}), **values}
        position = geometry.get("ImagePositionPatient")
        if position is None and group:
            position = _source_value(series, group[0], "ImagePositionPatient")
        if position is None:
            break
        positions.append([float(x) for x in position])
        # the affine's slice spacing: the SliceThickness where none is given
        for keyword in ("PixelSpacing", "ImageOrientationPatient", "SpacingBetweenSlices"):
            if keyword in geometry and keyword not in shared:
                shared[keyword] = _numbers(geometry[keyword])
    complete = len(positions) == int(np.prod(da.shape[:-2], dtype=np.int64))
    _complete_shared(series, da, sources, shared)
    if not complete and not sources:
        return _stacked(da, tags, shared), shared
    if not complete:
        return None, {k: v for k, v in shared.items() if k != "ImageOrientationPatient"}
    return positions, shared


def _complete_shared(series: Record, da: Any, sources: list[Any], shared: dict[str, Any]) -> None:
    """Add to ``shared`` the geometry the attrs, else the first source, give."""
    for keyword in (*_GEOMETRY, "SpacingBetweenSlices"):
        if keyword not in shared and keyword in da.attrs:
            shared[keyword] = _numbers(da.attrs[keyword])
        if keyword not in shared and sources:
            value = _source_value(series, sources[0], keyword)
            if value is not None:
                shared[keyword] = _numbers(value)
    if "SliceThickness" not in shared and "SpacingBetweenSlices" in shared:
        shared["SliceThickness"] = shared["SpacingBetweenSlices"]
    shared.pop("SpacingBetweenSlices", None)


def _stacked(da: Any, tags: FrameTags, shared: dict[str, Any]) -> list[list[float]]:
    """The positions of frames that neither the array nor sources place: as images'.

    The stack an image write makes without geometry (see
    :meth:`Template.stack`): the slice of each frame is its index along the
    first dim without coordinates, at its ``SliceLocation`` if given. Frames
    of the other dims (a ``FlipAngle`` with coordinates) share their slice's
    position, so an array of more than one volume is refused as with an
    affine, never stacked into made-up slices.
    """
    template = Template(int(da.shape[-2]), int(da.shape[-1]))
    orientation = shared.get("ImageOrientationPatient")
    out = []
    for index in frames_of(da):
        values = tags.values(index)
        if orientation is not None:
            values.setdefault("ImageOrientationPatient", orientation)
        place = template.stack(tags.stack_index(index), values)
        out.append([float(x) for x in place["ImagePositionPatient"]])
    return out


def _numbers(value: Any) -> float | list[float]:
    """A number, or several (a list, tuple, array or pydicom MultiValue), as floats."""
    if isinstance(value, str | bytes) or np.ndim(value) == 0:
        return float(value)
    return [float(x) for x in value]


def _units(da: Any, series: Record) -> tuple[str, str, str] | None:
    """The measurement units of a parametric map, from the ``units`` attr: a UCUM code.

    Units whose UCUM code dbdicom does not know (``"a.u."``) are not written
    as if they were one: the map says ``"1"`` (no units, the template's),
    and a warning says so. No ``units`` attr: None, the template's too.

    Examples
    --------
    >>> import xarray as xr
    >>> _units(xr.DataArray(0.0, attrs={"units": "ms"}), database)
    ('ms', 'UCUM', 'millisecond')
    >>> _units(xr.DataArray(0.0), database) is None
    True
    """
    units = da.attrs.get("units")
    if units is None:
        return None
    found = ucum_units(units)
    if found is None:
        series._warn(
            f"the units {units!r} have no UCUM code dbdicom knows: the parametric map says "
            "'1' (no units). Give a UCUM code as attrs['units'] (ms, s, /s, mm2/s, %, "
            "deg, ...) to have them written."
        )
    return found


def _build(
    kind: str,
    pixels: np.ndarray,
    positions: list[list[float]] | None,
    attributes: dict[str, Any],
    referenced: dict[str, list[tuple[str, str]]] | None,
    description: str | None,
    units: tuple[str, str, str] | None = None,
    dims: tuple[str, ...] = (),
) -> Any:
    """The object of ``kind``; ``dims``: the array's frame dims, for the way out of a refusal."""
    try:
        if kind == "parametric map":
            if units is not None:
                attributes = {**attributes, "units": units}
            return parametric_map(pixels, positions, referenced_series=referenced, **attributes)
        return segmentation(
            pixels,
            positions,
            label=str(description or attributes.get("SeriesDescription") or "Segment 1")[:64],
            algorithm="dbdicom",
            referenced_series=referenced,
            **attributes,
        )
    except ValueError as exc:
        if "distinct" in str(exc):
            raise InvalidValueError(
                f"a {kind} holds one 3-D volume, but frames of this array (dims "
                f"{dims}) lie at the same position: select or reduce the dims other than "
                f"the slices first ({_one_volume(dims)}), or write kind='image'."
            ) from None
        raise InvalidValueError(f"the {kind} cannot be made: {exc}") from None


def _one_volume(dims: tuple[str, ...]) -> str:
    """How to make one volume of an array of frame ``dims``: select or reduce the others.

    The others are those named by a DICOM keyword but SliceLocation (``z``,
    ``slice`` may hold the slices), else all.

    Examples
    --------
    >>> _one_volume(("SliceLocation", "EchoTime", "InversionTime"))
    "e.g. da.isel(EchoTime=0) or da.mean('EchoTime'); the same for 'InversionTime'"
    >>> _one_volume(("my dim",))
    "e.g. da.isel({'my dim': 0}) or da.mean('my dim')"
    """
    others = [d for d in dims if d != "SliceLocation" and tag_for_keyword(d) is not None]
    others = others or [d for d in dims if d != "SliceLocation"] or list(dims)
    if not others:
        return "e.g. da.isel(...)"
    first = others[0]
    select = f"da.isel({first}=0)" if first.isidentifier() else f"da.isel({{{first!r}: 0}})"
    rest = ", ".join(repr(d) for d in others[1:])
    return f"e.g. {select} or da.mean({first!r})" + (f"; the same for {rest}" if rest else "")
