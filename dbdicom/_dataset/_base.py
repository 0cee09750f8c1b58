"""The header a frame of a write starts from: a source's, or the template's.

A source's header is read as bytes (its top-level elements, copied as
they are) where it is plain Explicit VR Little Endian, else through
pydicom; a frame without sources starts from the template of the write's
Modality and frame size (see :func:`~dbdicom._templates.modality_image`).
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR
from pydicom.datadict import tag_for_keyword as keyword_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import MRImageStorage
from pydicom.valuerep import DSfloat

from .._checks import to_dicom
from .._files import (
    Layouts,
    NeedsPydicom,
    dataset_bytes,
    elements,
    frame_values_of,
    header_of,
    read_dataset,
)
from .._index import GEOMETRY_KEYWORDS
from .._templates import modality_image, slice_location
from ._elements import CHARSET, charset_of, image_type_rest
from ._enhanced import classic_conditions, classic_frame
from ._source import Source

__all__ = [
    "Base",
    "Template",
    "base_of",
    "centre",
    "differing",
    "read_source",
    "template_modality",
]

_IMAGE_TYPE = 0x00080008
_PHOTOMETRIC = 0x00280004


def template_modality(target: Mapping[str, Any], attrs: Mapping[str, Any]) -> str | None:
    """The Modality a frame made from the template has: the target series', else the attrs'.

    (The target's layer wins over the attrs'.) None: neither gives one.

    Examples
    --------
    >>> template_modality({"Modality": "CT"}, {"Modality": "PT"})
    'CT'
    >>> template_modality({}, {"Modality": "PT"})
    'PT'
    >>> template_modality({"Modality": None}, {}) is None
    True
    """
    for values in (target, attrs):
        value = values.get("Modality")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class Template:
    """The template of a write's Modality, frame size and samples per pixel.

    It is made when first needed (a series derived from sources copies their
    headers instead). Its SOP class follows ``modality`` and ``samples``
    (see :func:`~dbdicom._templates.modality_image`: CT Image for CT, MR
    Image for MR or none, else, and for colour (3 samples), Secondary
    Capture, which has no MR or CT acquisition attributes).

    Examples
    --------
    >>> t = Template(4, 6)
    >>> int(t.dataset.Rows), "PixelData" in t.dataset, 0x00280010 in t.elements
    (4, False, True)
    >>> Template(4, 6, "CT").sop_class == "1.2.840.10008.5.1.4.1.1.2"
    True
    >>> Template(4, 6, samples=3).sop_class == "1.2.840.10008.5.1.4.1.1.7"
    True
    """

    def __init__(
        self, rows: int, columns: int, modality: str | None = None, samples: int = 1
    ) -> None:
        self.shape = (rows, columns)
        self.modality = modality
        self.samples = samples
        # the places stack has given (a write asks twice a frame: for its slice
        # grid, then for its header)
        self._stacked: dict[tuple[Any, ...], dict[str, Any]] = {}

    @functools.cached_property
    def dataset(self) -> Dataset:
        if self.samples == 1:
            ds = modality_image(self.modality, np.zeros(self.shape, np.uint16))
        else:
            ds = modality_image(self.modality, np.zeros((*self.shape, 3), np.uint8))
        del ds.PixelData
        return ds

    @property
    def sop_class(self) -> str:
        """The SOP Class UID of the template."""
        return str(self.dataset.SOPClassUID)

    @functools.cached_property
    def elements(self) -> dict[int, bytes]:
        return elements(dataset_bytes(self.dataset))

    def stack(self, k: int, values: dict[str, Any]) -> dict[str, Any]:
        """The place of frame ``k`` made from the template without geometry.

        The frames make a stack of slices along the slice normal (LPS) of the
        frame's orientation (else the template's), at their ``SliceLocation``
        if given, else frame ``k`` at ``k`` SliceThickness from the
        template's position. Each place is worked out once (the same
        frame asked again is given the same place).

        Examples
        --------
        >>> Template(4, 4).stack(2, {"SliceLocation": 7.5})["ImagePositionPatient"][2]
        7.5
        """
        location = values.get("SliceLocation")
        orientation = values.get("ImageOrientationPatient")
        key = (
            k if location is None else None,
            location,
            None if orientation is None else tuple(orientation),
        )
        found = self._stacked.get(key)
        if found is None:
            found = self._stacked[key] = self._stack(k, values)
        return dict(found)

    def _stack(self, k: int, values: dict[str, Any]) -> dict[str, Any]:
        """The place of frame ``k``, worked out (see :meth:`stack`)."""
        template = self.dataset
        orientation = values.get("ImageOrientationPatient", template.ImageOrientationPatient)
        cosines, normal, origin = self._axis(tuple(orientation))
        base = np.asarray(template.ImagePositionPatient, dtype=float)
        location = values.get("SliceLocation")
        if location is None:
            position = base + k * float(template.get("SliceThickness") or 1.0) * normal
        else:
            position = base + (float(location) - origin) * normal
        out: dict[str, Any] = {
            "ImagePositionPatient": [float(to_dicom("SliceLocation", float(x))) for x in position]
        }
        if location is None:
            out["SliceLocation"] = float(
                to_dicom("SliceLocation", slice_location(position, cosines))
            )
        return out

    @functools.lru_cache(maxsize=8)  # noqa: B019 (a template lives for one write)
    def _axis(self, orientation: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, float]:
        """The cosines, the normal and the template's SliceLocation along ``orientation``."""
        cosines = np.asarray(orientation, dtype=float)
        normal = np.cross(cosines[:3], cosines[3:])
        base = np.asarray(self.dataset.ImagePositionPatient, dtype=float)
        return cosines, normal, slice_location(base, cosines)


class Base:
    """The header a frame starts from.

    A source's elements (read as bytes), or a pydicom dataset (a source that
    is not plain Explicit VR Little Endian, an enhanced source, or a write
    through pydicom asked for), or the template (``source`` None).

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> base = example_plan().base
    >>> base.source is None, base.has(0x00080060), base.charset(), base.image_type_rest()
    (True, True, 'ISO_IR 100', ['OTHER'])
    >>> base.inverted()  # MONOCHROME2
    False
    >>> int(base.load().Rows)  # the template's dataset, a copy
    4
    """

    __slots__ = ("source", "elements", "dataset", "sop_class", "template", "left_out")

    def __init__(
        self,
        source: Source | None,
        elements: dict[int, bytes] | None,
        dataset: Dataset | None,
        sop_class: str,
        template: Template,
        left_out: frozenset[int] = frozenset(),
    ) -> None:
        self.source, self.elements, self.dataset = source, elements, dataset
        self.sop_class, self.template = sop_class, template
        #: tags the frame leaves out unless its own values give them (the
        #: attrs of an enhanced source that its frames' header cannot hold)
        self.left_out = left_out

    def has(self, tag: int) -> bool:
        if self.elements is not None:
            return tag in self.elements
        assert self.dataset is not None
        return tag in self.dataset

    def vr(self, tag: int) -> bytes:
        """The VR code of its element ``tag`` (which it has), as in an explicit VR file.

        Implicit VR elements read through pydicom take their VR from the
        dictionary; an element the dictionary does not know is ``UN``.
        """
        if self.elements is not None:
            return bytes(self.elements[tag][4:6])
        assert self.dataset is not None
        return str(self.dataset[tag].VR).split(" or ")[0].encode("ascii")

    def charset(self) -> str | None:
        """The name of its SpecificCharacterSet (None: none)."""
        if self.elements is not None:
            return charset_of(self.elements.get(CHARSET))
        assert self.dataset is not None
        value = self.dataset.get("SpecificCharacterSet")
        if value is None or isinstance(value, str):
            return value
        return "\\".join(str(v) for v in value)

    def inverted(self) -> bool:
        """Whether its grey values are shown inverted (MONOCHROME1: the lowest white)."""
        if self.elements is not None:
            raw = self.elements.get(_PHOTOMETRIC)
            return raw is not None and raw[8:].strip(b" \0") == b"MONOCHROME1"
        assert self.dataset is not None
        return str(self.dataset.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"

    def image_type_rest(self) -> list[str]:
        """Values 3 on of its ImageType."""
        if self.elements is not None:
            return image_type_rest(self.elements.get(_IMAGE_TYPE))
        assert self.dataset is not None
        value = self.dataset.get("ImageType") or []
        return [str(v).strip() for v in ([value] if isinstance(value, str) else value)][2:]

    def load(self) -> Dataset:
        """A pydicom dataset of the base, the caller's to change."""
        if self.dataset is not None:
            return self.dataset
        if self.source is None:
            return copy.deepcopy(self.template.dataset)
        return read_source(self.source)


#: what an enhanced source's functional groups say of its frame that a classic
#: header holds: where it is, and how it was acquired
FRAME_KEYWORDS = (
    *GEOMETRY_KEYWORDS,
    "EchoTime",
    "RepetitionTime",
    "FlipAngle",
    "EchoTrainLength",
    "TriggerTime",
)


@functools.lru_cache(maxsize=8)
def _frames_in(path: str, size: int, mtime: int) -> list[dict[str, Any]]:
    """The per-frame values of an enhanced file (by its size and time: read once per version)."""
    return frame_values_of(read_dataset(path, stop_before_pixels=True))


def _frame_found(source: Source, ds: Dataset) -> dict[str, Any]:
    """The functional-group values of ``source``'s frame of the enhanced header ``ds``.

    A source that names no frame (the whole object: a mean over its
    slices) has the values all its frames share, and None for those that
    differ, such as the position.
    """
    if source.dataset is None:
        st = os.stat(source.path)
        frames = _frames_in(source.path, st.st_size, st.st_mtime_ns)
    else:
        frames = frame_values_of(ds)
    if source.frame is None and len(frames) > 1:  # the whole object: what all frames share
        found: dict[str, Any] = {}
        for k in {k for f in frames for k in f}:
            values = {repr(f.get(k)) for f in frames}
            if len(values) > 1:
                found[k] = None  # where the frames differ: left empty
            elif frames[0].get(k) is not None:
                found[k] = frames[0][k]
        return found
    if 0 <= (source.frame or 1) - 1 < len(frames):
        return frames[(source.frame or 1) - 1]
    return {}


def _frame_of(found: dict[str, Any]) -> dict[str, Any]:
    """The :data:`FRAME_KEYWORDS` values of a frame's functional-group values ``found``.

    As classic values (DS as text a DS holds); None (an empty element)
    for those its frames differ in.
    """
    out: dict[str, Any] = {}
    for keyword in FRAME_KEYWORDS:
        value = found.get(keyword)
        if value is None:
            if keyword in found:
                out[keyword] = None  # differs between the frames: not the template's
            continue
        if dictionary_VR(keyword) == "DS":
            numbers = value if isinstance(value, tuple | list) else (value,)
            text = [str(DSfloat(float(v), auto_format=True)) for v in numbers]
            value = text if isinstance(value, tuple | list) else text[0]
        out[keyword] = value
    return out


def read_source(source: Source) -> Dataset:
    """The header of ``source`` as a new pydicom dataset (no pixels).

    Examples
    --------
    >>> from dbdicom._dataset._source import dataset_source
    >>> ds = Dataset(); ds.PatientName = "A^B"
    >>> copied = read_source(dataset_source(ds))
    >>> copied.PatientName, copied is ds
    ('A^B', False)
    """
    if source.dataset is not None:
        return copy.deepcopy(source.dataset)
    return read_dataset(source.path, stop_before_pixels=True)


def base_of(
    group: Sequence[Source],
    template: Template,
    levels: Sequence[str],
    layouts: Layouts,
    pydicom_only: bool = False,
) -> Base:
    """The header a frame with sources ``group`` starts from.

    Its first source's, as bytes where the byte walker takes it (``layouts``:
    the layouts of the headers split so far), else through pydicom (an
    enhanced source gives its frame's classic header, its values on the
    template of the single-frame class that holds the frame, as its own
    header describes the whole object: see
    :func:`~dbdicom._dataset._enhanced.classic_frame`); without sources,
    the template. ``pydicom_only``: every base through pydicom.

    Examples
    --------
    >>> template = Template(4, 4)
    >>> base_of([], template, (), Layouts()).elements is template.elements
    True
    >>> base_of([], template, (), Layouts(), pydicom_only=True).elements is None
    True
    """
    if not group:
        if pydicom_only:
            ds = copy.deepcopy(template.dataset)
            return Base(None, None, ds, template.sop_class, template)
        return Base(None, template.elements, None, template.sop_class, template)
    source = group[0]
    if source.raw_offset and not pydicom_only:
        try:
            own, _ = header_of(source.path, source.raw_offset, layouts)
        except NeedsPydicom:  # outside what the byte walker takes: pydicom reads it
            pass
        else:
            return Base(source, own, None, source.sop_class, template)
    ds = read_source(source)
    left_out: frozenset[int] = frozenset()
    if "PerFrameFunctionalGroupsSequence" in ds:  # enhanced: its header does not fit a frame
        found = _frame_found(source, ds)
        base = classic_frame(ds, found, levels, template.shape)
        # the frame's own geometry and timing, from the functional groups
        for keyword, value in _frame_of(found).items():
            setattr(base, keyword, value)
        left_out = classic_conditions(ds, base)
        ds = base
    sop_class = str(ds.get("SOPClassUID", MRImageStorage))
    return Base(source, None, ds, sop_class, template, left_out)


def _own_elements(source: Source, layouts: Layouts) -> dict[int, bytes] | None:
    """The top-level elements of ``source`` as bytes (None: the byte walker does not take it)."""
    if not source.raw_offset or source.dataset is not None:
        return None
    try:
        return header_of(source.path, source.raw_offset, layouts)[0]
    except NeedsPydicom:
        return None


def differing(
    group: Sequence[Source], layouts: Layouts, first: dict[int, bytes] | None = None
) -> frozenset[int]:
    """The tags whose values differ between the sources ``group`` (absent in some: differs).

    They are compared as bytes where the byte walker reads every source,
    else through pydicom: the same sources give the same answer whichever
    serialiser writes the frame (``first``: the first source's elements,
    already read). The SpecificCharacterSet, which says how the base's own
    text reads, is never among them. One source: none.

    Examples
    --------
    >>> from dbdicom._dataset._source import dataset_source
    >>> a, b = Dataset(), Dataset()
    >>> a.FlipAngle, b.FlipAngle, a.EchoTime, b.EchoTime = 2, 20, 3, 3
    >>> [hex(t) for t in differing([dataset_source(a), dataset_source(b)], Layouts())]
    ['0x181314']
    """
    if len(group) < 2:
        return frozenset()
    headers = [first if first is not None else _own_elements(group[0], layouts)]
    headers += [_own_elements(source, layouts) for source in group[1:]]
    out: set[int] = set()
    if all(h is not None for h in headers):
        first = headers[0]
        assert first is not None
        for other in headers[1:]:
            assert other is not None
            if other is first or other == first:
                continue
            out.update(
                tag for tag in first.keys() | other.keys() if first.get(tag) != other.get(tag)
            )
    else:
        sets = [read_source(source) for source in group]
        first_ds = sets[0]
        for ds in sets[1:]:
            for tag in set(first_ds.keys()) | set(ds.keys()):
                if tag not in first_ds or tag not in ds or first_ds[tag].value != ds[tag].value:
                    out.add(int(tag))
        if "PerFrameFunctionalGroupsSequence" in first_ds:  # frames of enhanced files
            frames = [
                _frame_of(_frame_found(source, ds)) for source, ds in zip(group, sets, strict=True)
            ]
            for keyword in FRAME_KEYWORDS:
                if len({repr(f.get(keyword)) for f in frames}) > 1:
                    out.add(int(keyword_tag(keyword) or 0))
    out.discard(CHARSET)
    return frozenset(tag for tag in out if tag >> 16 != 0x0002 and tag != 0x7FE00010)


def centre(
    group: Sequence[Source], layouts: Layouts, tags: Sequence[int]
) -> dict[int, list[float]]:
    """Per tag of ``tags``, the mean of its numbers (DS) in the sources ``group``.

    Where a frame reduced over sources at several places lies: the centre
    of the slab they make (a mean or a maximum over slices), as scanners
    place a thick slab. Each source is read once; a tag one of them lacks
    (or holds other than numbers, or as many) is left out.

    Examples
    --------
    >>> from dbdicom._dataset._source import dataset_source
    >>> a, b = Dataset(), Dataset()
    >>> a.ImagePositionPatient, b.ImagePositionPatient = [0, 0, 0], [0, 0, 5]
    >>> centre([dataset_source(a), dataset_source(b)], Layouts(), [0x00200032, 0x00201041])
    {2097202: [0.0, 0.0, 2.5]}
    """
    found: dict[int, list[list[float]]] = {tag: [] for tag in tags}
    for source in group:
        own = _own_elements(source, layouts)
        ds = read_source(source) if own is None else None
        for tag in list(found):
            if own is not None:
                raw = own.get(tag)  # explicit VR: 8 header bytes, then the value
                text = raw[8:].decode("ascii", "replace") if raw and raw[4:6] == b"DS" else ""
            else:
                value = ds.get(tag) if ds is not None else None
                text = "" if value is None else "\\".join(str(v) for v in _listed(value.value))
            try:
                numbers = [float(v) for v in text.strip(" \0").split("\\")] if text else []
            except ValueError:  # not numbers
                numbers = []
            if not numbers or (found[tag] and len(numbers) != len(found[tag][0])):
                del found[tag]
            else:
                found[tag].append(numbers)
    return {tag: np.mean(np.asarray(rows), axis=0).tolist() for tag, rows in found.items()}


def _listed(value: Any) -> list[Any]:
    """The values of an element's ``value``: one, or several."""
    return list(value) if isinstance(value, MultiValue | list | tuple) else [value]
