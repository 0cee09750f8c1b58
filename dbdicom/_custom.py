"""Custom attributes: lower_case names read and set like DICOM keywords.

A custom attribute maps one name onto one or several DICOM elements: its
getter works on index columns (so reading never opens a file), ``check``
validates a user's value before any file is touched and ``apply`` writes it
into one dataset. Adding one is a single :func:`register` call.

>>> custom("image_type").get({"ImageType": [("ORIGINAL", "PRIMARY", "P", "ND"), None]})
['PHASE', None]
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from ._errors import InvalidValueError, install_hint
from ._keywords import tag_for_keyword

__all__ = ["CustomAttribute", "REGISTRY", "custom", "custom_names", "register"]

_PRIVATE_LABEL = re.compile(r"\([0-9A-F]{4},[0-9A-F]{4}\)")


@dataclass(frozen=True)
class CustomAttribute:
    """A lower_case attribute of records that maps onto DICOM elements.

    Attributes
    ----------
    name : str
        A lower_case Python identifier.
    doc : str
        One line shown in help.
    tags : tuple of str
        The index columns ``get`` needs: DICOM keywords, or ``"(gggg,eeee)"``
        labels (uppercase hex) for private elements.
    get : callable
        ``{tag: N values (None where absent)} -> N attribute values``.
    check : callable
        Validate and normalise a user's value before any file is touched;
        raises :class:`~dbdicom._errors.InvalidValueError`.
    apply : callable
        ``(dataset, checked value) -> None``: write the value in place.
    """

    name: str
    doc: str
    tags: tuple[str, ...]
    get: Callable[[Mapping[str, Sequence[Any]]], list[Any]]
    check: Callable[[Any], Any]
    apply: Callable[[Dataset, Any], None]


REGISTRY: dict[str, CustomAttribute] = {}


def register(attribute: CustomAttribute) -> CustomAttribute:
    """Add ``attribute`` to :data:`REGISTRY` and return it.

    Raises
    ------
    ValueError
        If the name is not a lower_case identifier or is taken, or a tag is
        neither a DICOM keyword nor a ``"(gggg,eeee)"`` label.

    Examples
    --------
    >>> def echo_times(values): return list(values["EchoTime"])
    >>> te = CustomAttribute("te", "Echo time (ms).", ("EchoTime",), echo_times, float, setattr)
    >>> register(te) is custom("te"), REGISTRY.pop("te") is te
    (True, True)
    """
    name = attribute.name
    if not (name.isidentifier() and name == name.lower()):
        raise ValueError(f"a custom attribute name must be a lower_case identifier; got {name!r}")
    if name in REGISTRY:
        raise ValueError(f"custom attribute {name!r} is already registered")
    for tag in attribute.tags:
        if tag_for_keyword(tag) is None and not _PRIVATE_LABEL.fullmatch(tag):
            raise ValueError(f"{name}: {tag!r} is not a keyword nor an uppercase '(gggg,eeee)'")
    REGISTRY[name] = attribute
    return attribute


def custom(name: str) -> CustomAttribute | None:
    """The custom attribute called ``name``, or None.

    Examples
    --------
    >>> custom("colormap").name
    'colormap'
    """
    return REGISTRY.get(name)


def custom_names() -> list[str]:
    """The names of all custom attributes, sorted (for "did you mean" hints).

    Examples
    --------
    >>> custom_names()
    ['colormap', 'image_type']
    """
    return sorted(REGISTRY)


# -- values as the index gives them -------------------------------------------------


def _texts(value: Any) -> list[str]:
    """All values of an element as stripped strings (bytes read as UN included)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", errors="replace")
    if isinstance(value, str):
        return [part.strip(" \x00") for part in value.split("\\")]
    if isinstance(value, Sequence):
        return [text for item in value for text in _texts(item)]
    return [str(value)]


def _text(value: Any) -> str | None:
    """The first value as a stripped string, None if absent or empty."""
    texts = _texts(value)
    return texts[0] if texts and texts[0] else None


def _columns(values: Mapping[str, Sequence[Any]], tags: Sequence[str]) -> list[list[Any]]:
    """The columns of ``tags`` (all None where the mapping lacks one)."""
    n = max((len(column) for column in values.values()), default=0)
    columns = [values.get(tag) for tag in tags]
    return [[None] * n if column is None else list(column) for column in columns]


def _set_in_frame_types(ds: Dataset, keyword: str, value: str) -> int:
    """Set ``keyword`` where the functional groups of an enhanced object hold it.

    Those are items such as MR/CT Image Frame Type...; returns in how many items.
    """
    shared, per_frame = (
        ds.get(f"{k}FunctionalGroupsSequence") or [] for k in ("Shared", "PerFrame")
    )
    sequences = (e for group in [*shared, *per_frame] for e in group if e.VR == "SQ")
    items = [i for e in sequences if e.keyword.endswith("FrameTypeSequence") for i in e.value]
    for item in (items := [i for i in items if keyword in i]):
        item[keyword].value = value
    return len(items)


# -- colormap -----------------------------------------------------------------------

_CREATOR, _GROUP, _OFFSET = "dbdicom", 0x0009, 0x10  # creator (0009,00xx), name (0009,xx10)
_COLORMAP_TAGS = tuple(f"(0009,001{s})" for s in "012") + tuple(f"(0009,1{s}10)" for s in "012")
_COLORS = ("Red", "Green", "Blue")


def _colormap_get(values: Mapping[str, Sequence[Any]]) -> list[Any]:
    creators = _columns(values, _COLORMAP_TAGS[:3])
    names = _columns(values, _COLORMAP_TAGS[3:])
    result: list[Any] = []
    for i in range(len(creators[0])):
        slot = next((s for s in range(3) if _text(creators[s][i]) == _CREATOR), None)
        result.append(None if slot is None else _text(names[slot][i]))
    return result


def _colormaps() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(f"colormap needs matplotlib: {install_hint('plot')}") from exc
    return matplotlib.colormaps


def _colormap_check(value: Any) -> str | None:
    if value is None:
        return None
    names = list(_colormaps())
    folded = {name.lower(): name for name in names}
    if isinstance(value, str) and (value in names or value.lower() in folded):
        return value if value in names else folded[value.lower()]
    close = difflib.get_close_matches(str(value), names, n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise InvalidValueError(
        f"colormap must be a matplotlib colormap name (see matplotlib.colormaps) "
        f"or None; got {value!r}{hint}"
    )


def _dbdicom_slot(ds: Dataset, create: bool) -> int | None:
    """The slot xx of the (0009,00xx) "dbdicom" creator; a free one is taken if ``create``.

    Not ``Dataset.private_block``: a deep copy of a dataset shares its cache of blocks.
    """
    free = [s for s in range(0x10, 0x100) if Tag(_GROUP, s) not in ds]
    used = (s for s in range(0x10, 0x100) if s not in free)
    slot = next((s for s in used if _text(ds[_GROUP, s].value) == _CREATOR), None)
    if slot is None and create and free:
        slot = free[0]
        ds.add_new(Tag(_GROUP, slot), "LO", _CREATOR)
    return slot


def _colormap_apply(ds: Dataset, value: str | None) -> None:
    """Write the colormap as a Supplemental Palette Color LUT plus its name.

    The grey-scale image stays valid (MONOCHROME2 unchanged). The LUT (256
    16-bit entries from stored value 0, OW) is only allowed with Pixel
    Presentation COLOR (PS3.3 C.7.6.3 and C.8.16.2.1.1), set at the top level
    and in the frame type items of enhanced objects. The name goes in private
    block "dbdicom" of group 0009, element 10 (LO). None removes all of these
    (Pixel Presentation, required in enhanced objects, becomes MONOCHROME).
    """
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    grey = photometric in ("MONOCHROME1", "MONOCHROME2")
    if value is not None and not grey:
        raise InvalidValueError(
            f"colormap applies to grey-scale images (MONOCHROME1/2) only; "
            f"this one is {photometric}: cannot set colormap={value!r}"
        )
    slot = _dbdicom_slot(ds, create=value is not None)
    if value is None:
        if slot is not None:
            ds.pop(Tag(_GROUP, slot << 8 | _OFFSET), None)
            if not any(Tag(_GROUP, slot << 8 | e) in ds for e in range(0x100)):
                del ds[_GROUP, slot]
        if grey:  # a palette of a PALETTE COLOR image is its colour: kept
            for color in _COLORS:
                for kind in ("Descriptor", "Data"):
                    ds.pop(f"{color}PaletteColorLookupTable{kind}", None)
            enhanced = _set_in_frame_types(ds, "PixelPresentation", "MONOCHROME")
            if enhanced:
                ds.PixelPresentation = "MONOCHROME"
            else:
                ds.pop("PixelPresentation", None)
        return
    assert slot is not None
    rgb = _colormaps()[value](np.linspace(0.0, 1.0, 256))[:, :3]
    lut = np.round(np.asarray(rgb) * 65535).astype("<u2")
    vr = "SS" if ds.get("PixelRepresentation", 0) == 1 else "US"
    for i, color in enumerate(_COLORS):
        ds.add_new(f"{color}PaletteColorLookupTableDescriptor", vr, [256, 0, 16])
        ds.add_new(f"{color}PaletteColorLookupTableData", "OW", lut[:, i].tobytes())
    # the LUT is only allowed with Pixel Presentation COLOR (or MIXED)
    ds.PixelPresentation = "COLOR"
    _set_in_frame_types(ds, "PixelPresentation", "COLOR")
    ds.add_new(Tag(_GROUP, slot << 8 | _OFFSET), "LO", value)


_COLORMAP_DOC = "Name of the matplotlib colormap to display the image with (None: grey)."
register(
    CustomAttribute(
        "colormap", _COLORMAP_DOC, _COLORMAP_TAGS, _colormap_get, _colormap_check, _colormap_apply
    )
)


# -- image_type ---------------------------------------------------------------------

_COMPONENTS = ("MAGNITUDE", "PHASE", "REAL", "IMAGINARY")
_WORDS = {"MAG": "MAGNITUDE", "PHA": "PHASE", "IMAG": "IMAGINARY"} | {c: c for c in _COMPONENTS}
_CODES = {c[0]: c for c in _COMPONENTS}  # M, P, R, I (Siemens, Philips)
_GE_CODES = dict(enumerate(_COMPONENTS))  # GE (0043,102F)
_IMAGE_TYPE_TAGS = ("ComplexImageComponent", "ImageType", "(0043,102F)", "(2005,1011)")


def _from_enhanced(value: Any) -> str | None:
    text = (_text(value) or "").upper()
    return text if text in (*_COMPONENTS, "MIXED") else None


def _component(token: str, position: int) -> str | None:
    """The component named by value ``position`` (0-based) of ImageType, or None."""
    token = token.upper()
    code = token.split("_")[0]  # "P" (Siemens), "M_FFE" (Philips)
    return _WORDS.get(token) or (_CODES.get(code) if position >= 2 else None)


def _from_image_type(value: Any) -> str | None:
    found = (_component(token, i) for i, token in enumerate(_texts(value)))
    return next((name for name in found if name is not None), None)


def _from_ge(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray) and len(value) == 2:
        code = int.from_bytes(value, "little", signed=True)
        if code in _GE_CODES:
            return _GE_CODES[code]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _GE_CODES.get(int(value)) if float(value).is_integer() else None
    text = _text(value)
    return _GE_CODES.get(int(text)) if text and text.lstrip("+-").isdigit() else None


def _from_philips(value: Any) -> str | None:
    return _component(_text(value) or "", 2)  # M, P, R, I


def _image_type_get(values: Mapping[str, Sequence[Any]]) -> list[Any]:
    readers = (_from_enhanced, _from_image_type, _from_ge, _from_philips)
    columns = _columns(values, _IMAGE_TYPE_TAGS)
    result: list[Any] = []
    for row in zip(*columns, strict=True):
        found = (read(value) for read, value in zip(readers, row, strict=True))
        result.append(next((name for name in found if name is not None), None))
    return result


def _image_type_check(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().upper() in _COMPONENTS:
        return value.strip().upper()
    raise InvalidValueError(
        f"image_type must be one of {', '.join(map(repr, _COMPONENTS))} "
        f"(any case) or None; got {value!r}"
    )


def _image_type_apply(ds: Dataset, value: str | None) -> None:
    """Write the component as value 3 of ImageType, or in ComplexImageComponent.

    Enhanced objects (which have ComplexImageComponent, top level and frame
    types) keep ImageType, whose value 3 is their Image Flavor there. None
    drops a component from value 3 of ImageType ("OTHER" if values follow).
    """
    if "ComplexImageComponent" in ds:
        if value is not None:  # ComplexImageComponent is required (type 1): kept for None
            ds.ComplexImageComponent = value
            _set_in_frame_types(ds, "ComplexImageComponent", value)
        return
    if value is None and "ImageType" not in ds:
        return
    old = _texts(ds.get("ImageType"))
    new = old[:2] + ["DERIVED", "SECONDARY"][len(old[:2]) :] + old[2:]
    if value is not None:
        new[2:3] = [value]
    elif len(new) > 2 and _component(new[2], 2) is not None:
        new[2:3] = ["OTHER"] if len(new) > 3 else []
    ds.ImageType = new


_IMAGE_TYPE_DOC = "Complex component of the image: MAGNITUDE, PHASE, REAL or IMAGINARY."
register(
    CustomAttribute(
        "image_type",
        _IMAGE_TYPE_DOC,
        _IMAGE_TYPE_TAGS,
        _image_type_get,
        _image_type_check,
        _image_type_apply,
    )
)
