"""Whether a file's description of its pixels can be true of the pixels it holds.

A header says how many frames of what size and type follow; the Pixel Data
element says how many bytes there are. When the two cannot both be right
(Bits Allocated 12 on integer data, a billion frames in a 900-byte file,
twice the bytes the frames need), reading would give an error at best and
plausible wrong numbers at worst: the image is refused, with the reason, and
no memory is spent on what the header claims. A disagreement that leaves
the values certain (one frame's worth of padding less, Bits Stored above
Bits Allocated) is a note: the image is read, and the note listed.

Everything here works on the values the index already holds, so the check
costs nothing at read time and needs no file access.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydicom.datadict import dictionary_description, dictionary_keyword

from ._pixels import FORMAT_TAGS, NUMBER_OF_FRAMES, PixelFormat

__all__ = [
    "PHOTOMETRIC_SAMPLES",
    "format_problem",
    "groups_problem",
    "image_problem",
    "repeat_problem",
]

#: the Photometric Interpretations dbdicom reads, with their Samples per Pixel
PHOTOMETRIC_SAMPLES: dict[str, int] = {
    "MONOCHROME1": 1,
    "MONOCHROME2": 1,
    "PALETTE COLOR": 1,
    "RGB": 3,
    "YBR_FULL": 3,
    "YBR_FULL_422": 3,
    "YBR_PARTIAL_422": 3,
    "YBR_PARTIAL_420": 3,
    "YBR_ICT": 3,
    "YBR_RCT": 3,
}
_INTEGER_BITS = (1, 8, 16, 32)
# each frame of encapsulated data is at least one item: a tag and a length
_ITEM_HEADER = 8
# colour stored with half the chroma samples when uncompressed
_SUBSAMPLED = frozenset({"YBR_FULL_422", "YBR_PARTIAL_422"})

BITS_ALLOCATED = "(0028,0100) 'Bits Allocated'"
SAMPLES = "(0028,0002) 'Samples per Pixel'"
PHOTOMETRIC = "(0028,0004) 'Photometric Interpretation'"
PLANAR = "(0028,0006) 'Planar Configuration'"
FRAMES = "(0028,0008) 'Number of Frames'"
PIXEL_DATA = "(7FE0,0010) 'Pixel Data'"


#: the tags whose values say how the pixel data are laid out: with High Bit, Number of Frames
_DESCRIPTION = frozenset([*FORMAT_TAGS, 0x00280102, NUMBER_OF_FRAMES])


def repeat_problem(repeated: Sequence[int]) -> str:
    """Why an image cannot be read when the tags ``repeated`` hold two values ("" if it can).

    A tag of the pixel description found twice with other values (Pixel
    Representation 1, then 0) describes the pixels two ways: reading by
    either (pydicom keeps the last) is a guess, and a wrong guess of Pixel
    Representation or Rows gives plausible wrong numbers. A tag repeated
    with its value, or out of order, has one value: it is read.

    Examples
    --------
    >>> print(repeat_problem([0x00100010, 0x00280103]))  # doctest: +NORMALIZE_WHITESPACE
    (0028,0103) 'Pixel Representation' is in the file twice, with other values: which
    describes the pixels is a guess. Set the right value (instance.PixelRepresentation = ...),
    which writes it once, or remove the file from the series (instance.remove())
    >>> repeat_problem([0x00100010])
    ''
    """
    for tag in repeated:
        if tag in _DESCRIPTION:
            return (
                f"({tag >> 16:04X},{tag & 0xFFFF:04X}) '{dictionary_description(tag)}' is in "
                "the file twice, with other values: which describes the pixels is a guess. "
                f"Set the right value (instance.{dictionary_keyword(tag)} = ...), which writes "
                "it once, or remove the file from the series (instance.remove())"
            )
    return ""


def groups_problem(items: int, frames: Any) -> tuple[str, str]:
    """Whether the per-frame groups of a file can be given to its frames: ``(refusal, note)``.

    ``items``: how many the (5200,9230) Per-frame Functional Groups Sequence
    holds; ``frames``: the file's Number of Frames (None, or not a positive
    number: 1). The standard has one item per frame, the n-th item the n-th
    frame's. With fewer, some frames have no position, orientation or
    rescale of their own: the image is refused. With more, the frames take
    the first items, as pydicom and dcm2niix give them (a file cut to its
    first frames keeps all its items): a note. A sequence of no items gives
    no frame anything.

    Examples
    --------
    >>> print(groups_problem(3, 4)[0])  # doctest: +NORMALIZE_WHITESPACE
    (5200,9230) 'Per-frame Functional Groups Sequence' holds 3 items, but (0028,0008) 'Number
    of Frames' is 4, one item per frame: 1 frame has none, so its position and values are
    unknown. Remove the file from the series (instance.remove()) to read the others
    >>> print(groups_problem(3, None)[1])  # doctest: +NORMALIZE_WHITESPACE
    (5200,9230) 'Per-frame Functional Groups Sequence' holds 3 items, but (0028,0008) 'Number
    of Frames' is 1, one item per frame: the frame has the first item
    >>> groups_problem(4, 4), groups_problem(0, 4)
    (('', ''), ('', ''))
    """
    count = frames if isinstance(frames, int) and frames > 0 else 1
    if not items or items == count:
        return "", ""
    said = (
        f"(5200,9230) 'Per-frame Functional Groups Sequence' holds {items} items, but "
        f"{FRAMES} is {count}, one item per frame: "
    )
    if items > count:
        first = (
            "the frame has the first item" if count == 1 else f"the frames have the first {count}"
        )
        return "", said + first
    short = count - items
    return (
        said + f"{short} frame{'s' if short > 1 else ''} ha{'ve' if short > 1 else 's'} none, so "
        f"{'their' if short > 1 else 'its'} position and values are unknown. Remove the file "
        "from the series (instance.remove()) to read the others"
    ), ""


def format_problem(fmt: PixelFormat) -> str:
    """Why frames stored as ``fmt`` cannot be read, or ``""`` when they can.

    Examples
    --------
    >>> format_problem(PixelFormat(4, 4, bits_allocated=12))
    "(0028,0100) 'Bits Allocated' is 12: integer pixel data have 1, 8, 16 or 32 bits"
    >>> format_problem(PixelFormat(4, 4, samples=3, photometric="MONOCHROME2"))[:50]
    "(0028,0002) 'Samples per Pixel' is 3, but (0028,00"
    >>> format_problem(PixelFormat(4, 4))
    ''
    """
    if fmt.rows <= 0 or fmt.columns <= 0:
        return f"the image has {fmt.rows} rows and {fmt.columns} columns"
    if fmt.float_bits:
        if fmt.bits_allocated != fmt.float_bits:
            return (
                f"{BITS_ALLOCATED} is {fmt.bits_allocated}, but the pixel data are "
                f"{fmt.float_bits}-bit floats"
            )
    elif fmt.bits_allocated not in _INTEGER_BITS:
        return (
            f"{BITS_ALLOCATED} is {fmt.bits_allocated}: integer pixel data have 1, 8, 16 or 32 bits"
        )
    if fmt.pixel_representation not in (0, 1):
        return (
            f"(0028,0103) 'Pixel Representation' is {fmt.pixel_representation}: "
            "0 (unsigned) or 1 (signed)"
        )
    photometric = fmt.photometric.upper()
    expected = PHOTOMETRIC_SAMPLES.get(photometric)
    if expected is None:
        known = ", ".join(PHOTOMETRIC_SAMPLES)
        return f"{PHOTOMETRIC} {fmt.photometric!r} is not one dbdicom reads ({known})"
    if fmt.samples != expected:
        return f"{SAMPLES} is {fmt.samples}, but {PHOTOMETRIC} {fmt.photometric} has {expected}"
    if fmt.bits_allocated == 1 and fmt.samples != 1:
        return f"{BITS_ALLOCATED} is 1 on colour data ({SAMPLES} {fmt.samples})"
    if fmt.samples > 1 and fmt.planar_configuration not in (0, 1):
        return (
            f"{PLANAR} is {fmt.planar_configuration}: 0 (colour by pixel) or 1 (by plane), "
            "and a guess could give other colours (pydicom refuses such files too)"
        )
    return ""


def _given(values: Mapping[str, Any], key: str) -> Any:
    value = values.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


#: what the verdict of :func:`image_problem` depends on
_KEYS = (
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "NumberOfFrames",
    "TransferSyntaxUID",
    "_nbytes",
    "_encapsulated",
    "_float_bits",
)
# verdicts by description: the files of a folder share a few (a scan asks per file)
_VERDICTS: dict[tuple[Any, ...], tuple[str, str]] = {}


_RLE = "1.2.840.10008.1.2.5"
#: RLE Lossless decodes at most 128 bytes from 2 (a run repeated)
_RLE_RATIO = 64


def image_problem(values: Mapping[str, Any]) -> tuple[str, str]:
    """Whether the image an index row describes can be read: ``(refusal, note)``.

    Parameters
    ----------
    values : mapping
        An index row: ``Rows``, ``Columns``, ``SamplesPerPixel``,
        ``BitsAllocated``, ``BitsStored``, ``PixelRepresentation``,
        ``PhotometricInterpretation``, ``NumberOfFrames``,
        ``TransferSyntaxUID``, and dbdicom's ``_nbytes`` (length of native
        pixel data, -1 unknown), ``_encapsulated``, ``_float_bits`` and
        ``_size`` (of the file).

    Returns
    -------
    tuple of str
        ``refusal``: why the image cannot be read as described (``""`` when
        it can, or when the row describes no image). ``note``: a
        disagreement that does not change the values read (``""`` none).

    Examples
    --------
    >>> import textwrap
    >>> row = {"Rows": 32, "Columns": 32, "BitsAllocated": 16, "NumberOfFrames": 10**9,
    ...        "PixelRepresentation": 0, "_nbytes": 2048, "_size": 2900}
    >>> print(textwrap.fill(image_problem(row)[0], 79))
    (0028,0008) 'Number of Frames' 1000000000 of 32 x 32 x 16 bits need
    2048000000000 bytes, but (7FE0,0010) 'Pixel Data' holds 2048
    >>> row = {"Rows": 32, "Columns": 32, "BitsAllocated": 1, "_nbytes": 2048, "_size": 2900}
    >>> print(textwrap.fill(image_problem(row)[0], 79))
    (7FE0,0010) 'Pixel Data' holds 2048 bytes, 16 times the 128 that 1 frame of 32
    x 32 x 1 bits need: the description does not fit the data
    >>> image_problem({"Rows": 32, "Columns": 32, "PixelRepresentation": 0, "BitsStored": 16,
    ...                "PhotometricInterpretation": "MONOCHROME2", "_nbytes": 2048,
    ...                "_size": 2900})
    ('', '')
    """
    get = values.get
    key = tuple(get(k) for k in _KEYS) + ((get("_size"),) if get("_encapsulated") else ())
    try:
        return _VERDICTS[key]
    except KeyError:
        pass
    except TypeError:  # a value that cannot be a key (a list): judged, not kept
        return _judge(values)
    if len(_VERDICTS) > 4096:
        _VERDICTS.clear()
    found = _VERDICTS[key] = _judge(values)
    return found


def _judge(values: Mapping[str, Any]) -> tuple[str, str]:
    """:func:`image_problem`, every time."""
    nbytes = int(_given(values, "_nbytes") if _given(values, "_nbytes") is not None else -1)
    encapsulated = bool(_given(values, "_encapsulated"))
    float_bits = int(_given(values, "_float_bits") or 0)
    if nbytes < 0 and not encapsulated and not float_bits:
        return "", ""  # no pixel data: not an image (raw data, a report...)
    for key, tag in (("Rows", "(0028,0010)"), ("Columns", "(0028,0011)")):
        if not _given(values, key):
            held = f"{nbytes} bytes of pixel data" if nbytes >= 0 else "its pixel data"
            value = _given(values, key)
            said = "missing" if value is None else f"{value!r}"
            return f"{tag} '{key}' is {said}: {held} have no shape", ""
    bits = _given(values, "BitsAllocated")
    samples = _given(values, "SamplesPerPixel")
    if _given(values, "PhotometricInterpretation") is None and samples not in (None, 1):
        return (
            "(0028,0004) 'Photometric Interpretation' is missing: its colour values could "
            "be RGB or YCbCr, and a guess could give other colours (pydicom refuses such "
            "files too). If you know which, set it "
            "(instance.PhotometricInterpretation = 'RGB')"
        ), ""
    if _given(values, "PixelRepresentation") is None and not float_bits and bits != 1:
        return (
            "(0028,0103) 'Pixel Representation' is missing: its values could be signed or "
            "unsigned, and a guess could give every negative value as a large positive one "
            "(pydicom refuses such files too). If you know which, set it "
            "(instance.PixelRepresentation = 0 for unsigned, 1 for signed)"
        ), ""
    try:
        fmt = PixelFormat.from_keywords(values)
    except (TypeError, ValueError, OverflowError) as exc:
        return f"the pixel description cannot be read: {exc}", ""
    fmt = dataclasses.replace(fmt, float_bits=float_bits)
    refusal = format_problem(fmt)
    if refusal:
        return refusal, ""
    if _given(values, "PlanarConfiguration") is None and fmt.samples > 1 and not encapsulated:
        return (
            f"{PLANAR} is missing: its colour values could be stored by pixel or by plane, "
            "and a guess could give other colours (pydicom refuses such files too). If "
            "you know which, set it (instance.PlanarConfiguration = 0 for by pixel, 1 by plane)"
        ), ""
    frames, note = _notes(fmt, values)
    size = int(_given(values, "_size") or 0)
    if encapsulated:
        if size and frames * _ITEM_HEADER > size:
            return (
                f"{FRAMES} is {frames}, but the {size}-byte file cannot hold "
                f"that many compressed frames ({_ITEM_HEADER} bytes each at least)"
            ), note
        need = frames * fmt.frame_bytes
        if size and fmt.transfer_syntax == _RLE and need > _RLE_RATIO * size:
            return (
                f"{frames} frame(s) of {fmt.rows} x {fmt.columns} x {fmt.samples} x "
                f"{fmt.bits_allocated} bits need {need} bytes, but the RLE data of the "
                f"{size}-byte file decode to {_RLE_RATIO * size} at most: the description "
                "does not fit the data"
            ), note
        return "", note
    return _length_problem(fmt, frames, nbytes, note)


def _notes(fmt: PixelFormat, values: Mapping[str, Any]) -> tuple[int, str]:
    """The number of frames to read, and what in the description is read by a rule."""
    notes = []
    if fmt.bits_stored > fmt.bits_allocated:
        notes.append(
            f"(0028,0101) 'Bits Stored' {fmt.bits_stored} is more than {BITS_ALLOCATED} "
            f"{fmt.bits_allocated}: read as {fmt.bits_allocated} bits"
        )
    elif _given(values, "BitsStored") == 0:
        notes.append(f"(0028,0101) 'Bits Stored' is 0: read as {fmt.bits_allocated} bits")
    elif _given(values, "BitsStored") is None and not fmt.float_bits:
        notes.append(f"(0028,0101) 'Bits Stored' is missing: read as {fmt.bits_allocated} bits")
    elif _high_bit_apart(fmt, _given(values, "HighBit")):
        stored, high = fmt.bits_stored, int(_given(values, "HighBit"))
        notes.append(
            f"(0028,0102) 'High Bit' is {high}, not Bits Stored - 1 ({stored - 1}) as the "
            f"standard has it: read as bits 0 to {stored - 1} (as pydicom, GDCM and "
            f"SimpleITK read it; dcmtk reads bits {high - stored + 1} to {high}), so the "
            "values may not be the ones meant"
        )
    if _given(values, "PhotometricInterpretation") is None and fmt.samples == 1:
        notes.append("(0028,0004) 'Photometric Interpretation' is missing: read as MONOCHROME2")
    given = _given(values, "NumberOfFrames")
    try:
        frames = int(given) if given is not None else 1
    except (TypeError, ValueError):
        frames = 1
    if frames < 1:
        notes.append(f"{FRAMES} is {frames}: read as 1")
        frames = 1
    return frames, "; ".join(notes)


def _high_bit_apart(fmt: PixelFormat, high: Any) -> bool:
    """Whether a given High Bit is not Bits Stored - 1 (the toolkits then read different values)."""
    if high is None or fmt.float_bits or fmt.bits_allocated == 1 or not fmt.bits_stored:
        return False
    try:
        return int(high) != fmt.bits_stored - 1
    except (TypeError, ValueError):
        return False


def _length_problem(fmt: PixelFormat, frames: int, nbytes: int, note: str) -> tuple[str, str]:
    """:func:`image_problem` of native pixel data of ``nbytes`` bytes."""
    if nbytes < 0:
        return "", note
    shape = f"{fmt.rows} x {fmt.columns}"
    if fmt.samples != 1:
        shape += f" x {fmt.samples} samples"
    shape += f" x {fmt.bits_allocated} bits"
    bits = fmt.rows * fmt.columns * fmt.samples * fmt.bits_allocated
    if fmt.photometric.upper() in _SUBSAMPLED:  # two chroma values per two pixels
        bits = bits * 2 // 3
        shape += " (4:2:2)"
    need = (bits * frames + 7) // 8
    frame_bytes = (bits + 7) // 8
    if nbytes < need:
        if frames == 1:
            return f"1 frame of {shape} needs {need} bytes, but {PIXEL_DATA} holds {nbytes}", note
        return (
            f"{FRAMES} {frames} of {shape} need {need} bytes, but {PIXEL_DATA} holds {nbytes}"
        ), note
    excess = nbytes - need
    if excess <= 1:  # the pad byte that makes a value's length even
        return "", note
    if excess < frame_bytes:
        padding = (
            f"{PIXEL_DATA} holds {excess} bytes more than {frames} frame(s) of {shape} "
            "need: read without them"
        )
        return "", f"{note}; {padding}" if note else padding
    plural = "frame" if frames == 1 else "frames"
    times = nbytes / need
    ratio = f"{times:.0f} times" if times == int(times) else f"{times:.2f} times"
    return (
        f"{PIXEL_DATA} holds {nbytes} bytes, {ratio} the {need} that {frames} {plural} "
        f"of {shape} need: the description does not fit the data"
    ), note
