"""The two serialisers of a :class:`~dbdicom._dataset.FramePlan`.

* :func:`as_bytes`: the base's elements copied as they are and the plan's
  layers on top, joined in tag order (:func:`file_head`) — the fast path;
* :func:`as_dataset`: a pydicom dataset of the base with the plan's layers
  set in it — the fallback for bases the bytes path cannot take
  (compressed, Implicit VR, big endian, enhanced sources; text that needs
  the whole header re-encoded; custom attributes).

Both take the same elements from the plan: neither decides what a header
holds. The pydicom one makes its elements from the plan's bytes (without
pydicom's value checks: the plan's values were checked when it was built)
and changes no pydicom setting.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom import config
from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from .._files import file_header, merge
from ._classes import RT_DOSE, dose_values
from ._elements import REMOVE
from ._encoding import Encoding, pixel_values
from ._plan import FramePlan

__all__ = [
    "Converted",
    "RawFrame",
    "as_bytes",
    "as_dataset",
    "file_head",
    "pixel_format",
    "set_elements",
]


@dataclass
class RawFrame:
    """A frame written as bytes.

    It is element layers (later win; None removes), the first being the base
    header's own elements.

    Examples
    --------
    >>> from dbdicom._files._raw import encode_element
    >>> name = encode_element(0x00100010, "PN", "A^B")
    >>> frame = RawFrame([{0x00100010: name}, {0x00100010: None}], "1.2", "1.2.3")
    >>> file_head(frame, 0)[1]
    {1048592: None}
    """

    layers: list[Mapping[int, bytes | None]]
    sop_class: str
    sop_uid: str


def as_bytes(plan: FramePlan) -> RawFrame:
    """``plan`` as element layers over its base's own elements.

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> raw = as_bytes(example_plan())
    >>> head, merged = file_head(raw, 32)
    >>> head[128:132], merged[0x00080018] == raw.layers[3][0x00080018]
    (b'DICM', True)
    """
    if not plan.bytes_ok or plan.base.elements is None:
        raise ValueError("this plan needs pydicom: its base is not read as bytes")
    return RawFrame([plan.base.elements, *plan.layers], plan.sop_class, plan.sop_uid)


def file_head(frame: RawFrame, nbytes: int) -> tuple[bytes, dict[int, bytes | None]]:
    """The file of ``frame`` up to its pixel values (``nbytes`` of them), and its elements merged.

    The merged elements are what an index row is read from.

    Examples
    --------
    >>> from io import BytesIO
    >>> import pydicom
    >>> from dbdicom._dataset import example_plan
    >>> head, merged = file_head(as_bytes(example_plan()), 32)
    >>> ds = pydicom.dcmread(BytesIO(head + bytes(32)))
    >>> ds.ImageType[:2], len(ds.PixelData), 0x00080018 in merged
    (['DERIVED', 'SECONDARY'], 32, True)
    """
    merged = merge(frame.layers)
    head = file_header(merged, nbytes, frame.sop_class, frame.sop_uid, PYDICOM_IMPLEMENTATION_UID)
    return head, merged


def set_elements(ds: Dataset, layer: Mapping[int, bytes | None], charset: str | None) -> None:
    """Set the elements ``layer`` in ``ds``, their text read in ``charset``.

    ``layer``: Explicit VR Little Endian bytes (None: remove); ``charset``
    None: ASCII.

    Examples
    --------
    >>> from dbdicom._dataset._elements import encode_values
    >>> ds = Dataset(); ds.PatientName = "A"; ds.Rows = 2
    >>> layer = encode_values([(0x00100010, "PN", "Gérard")], "ISO_IR 100")
    >>> set_elements(ds, {**layer, 0x00280010: None}, "ISO_IR 100")
    >>> str(ds.PatientName), "Rows" in ds
    ('Gérard', False)
    """
    for tag, element in _elements_of(layer, charset):
        if element is None:
            ds.pop(tag, None)
        else:
            ds[tag] = element


def _elements_of(
    layer: Mapping[int, bytes | None], charset: str | None
) -> list[tuple[int, DataElement | None]]:
    """The elements of ``layer`` as pydicom elements (None: to remove)."""
    present = sorted((tag, raw) for tag, raw in layer.items() if raw is not None)
    out: list[tuple[int, DataElement | None]] = [
        (tag, None) for tag, raw in layer.items() if raw is None
    ]
    if present:
        part = read_dataset(BytesIO(b"".join(raw for _, raw in present)), False, True)
        encodings = convert_encodings((charset or "ISO_IR 6").split("\\"))
        for tag, _ in present:
            element: Any = part.get_item(tag)
            if isinstance(element, RawDataElement):  # (the character set is read at once)
                element = convert_raw_data_element(element, encoding=encodings)
            out.append((tag, element))
    return out


class Converted:
    """The layers shared by the frames of a write, as pydicom elements.

    They are converted once and copied into each frame's dataset.

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> converted, plan = Converted(), example_plan()
    >>> a, b = as_dataset(plan, converted), as_dataset(plan, converted)
    >>> a.WindowCenter == b.WindowCenter, a["WindowCenter"] is b["WindowCenter"]
    (True, False)
    """

    def __init__(self) -> None:
        # by id of the layer (kept, so that the id is not reused) and character set
        self._found: dict[tuple[int, str | None], tuple[Any, list[Any]]] = {}

    def set(self, ds: Dataset, layer: Mapping[int, bytes | None], charset: str | None) -> None:
        """As :func:`set_elements`, the elements converted once per layer."""
        key = (id(layer), charset)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = (layer, _elements_of(layer, charset))
        for tag, element in found[1]:
            if element is None:
                ds.pop(tag, None)
            elif isinstance(element.value, str | int | float | bytes) or element.value is None:
                ds[tag] = copy.copy(element)
            else:  # several values, or items: the frame's own copy
                ds[tag] = copy.deepcopy(element)


def as_dataset(plan: FramePlan, converted: Converted | None = None) -> Dataset:
    """``plan`` as a pydicom dataset (with its file meta, no pixels).

    ``converted``: the shared layers of the write converted so far (the
    frame's own layer is converted each time).

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> plan = example_plan()
    >>> ds = as_dataset(plan)
    >>> ds.ImageType[:2], ds.SOPInstanceUID == plan.sop_uid
    (['DERIVED', 'SECONDARY'], True)
    """
    ds = plan.base.load()
    for k, layer in enumerate(plan.layers):
        if converted is None or k == FramePlan.OWN:
            set_elements(ds, layer, plan.charset)
        else:
            converted.set(ds, layer, plan.charset)
        if k == 3:  # after the target's own values: its custom attributes
            for attribute, value in plan.customs:
                attribute.apply(ds, value)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(str(ds.get("SOPClassUID", plan.sop_class)))
    meta.MediaStorageSOPInstanceUID = UID(plan.sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def pixel_format(ds: Dataset, shape: tuple[int, ...], encoding: Encoding, rescaled: bool) -> None:
    """Set the pixel description of frames of ``shape`` under ``encoding`` in ``ds``.

    See :func:`~dbdicom._dataset.pixel_values`.

    Examples
    --------
    >>> ds = Dataset()
    >>> pixel_format(ds, (4, 6), Encoding("int16", 1.0, 0.0, True), False)
    >>> int(ds.Columns), int(ds.PixelRepresentation), "RescaleSlope" in ds
    (6, 1, False)
    """
    if str(ds.get("SOPClassUID", "")) == RT_DOSE:  # scaled by DoseGridScaling, no rescale
        values = dose_values(shape, encoding)
    else:
        inverted = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
        values = pixel_values(shape, encoding, rescaled, inverted=inverted)
    for tag, vr, value in values:
        if value is REMOVE:
            ds.pop(tag, None)
        else:
            ds[tag] = DataElement(tag, vr, value, validation_mode=config.IGNORE)
