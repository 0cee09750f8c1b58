"""Reading header values with pydicom.

Two uses: the fallback of the fast reader, and the per-frame values of
enhanced multi-frame objects (functional groups).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .._checks import SCALES, scale_problem
from ._header import Header, NeedsPydicom, NotDicomError, read_header
from ._values import one_value, several_values, to_python
from ._walker import TooDeep, _no_marker

_MARKER_END = 132  # the preamble and 'DICM'

__all__ = [
    "FRAME_ALIASES",
    "frame_values",
    "grid_frame_values",
    "read_any_header",
    "read_dataset",
    "undecodable_as_bytes",
    "read_with_pydicom",
]

# keywords inside functional groups that mean the same as a classic keyword
# coded entries say nothing out of their sequence's context
_SKIP = frozenset(
    {
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "URNCodeValue",
        "ContextIdentifier",
        "MappingResource",
    }
)
_POSITION, _ORIENTATION, _FRAMES = 0x00200032, 0x00200037, 0x00280008
_GRID_OFFSETS = 0x3004000C  # Grid Frame Offset Vector
FRAME_ALIASES = {
    "EffectiveEchoTime": "EchoTime",
    "NominalCardiacTriggerDelayTime": "TriggerTime",
    "InversionTimes": "InversionTime",  # one value: the classic tag (several: kept as they are)
}


def read_dataset(
    path: str | os.PathLike[str] | io.BytesIO,
    stop_before_pixels: bool = False,
    specific_tags: list[int] | None = None,
    decode: bool = True,
    defer_size: int | None = None,
) -> Dataset:
    """The file as a pydicom dataset, as the scan reads files: whatever its start.

    Files without preamble and file meta (old ACR-NEMA style) are read as
    the scan read them (``force=True``); with ``decode``, a file without a
    Transfer Syntax UID is given that of the encoding pydicom found, which
    its decoders need (without: the dataset as in the file, to edit it).
    ``path`` may be the bytes of a file, in a ``BytesIO``. ``defer_size``:
    values longer (the pixel data) are read from the file when first used
    (pydicom's deferred read), while it is still there as it was.

    Raises
    ------
    NotDicomError
        The file is no DICOM at all (text, an image of another format):
        forced, pydicom would read it as a garbage element.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> ds = read_dataset(get_testdata_file("OT-PAL-8-face.dcm"))  # no preamble, no meta
    >>> ds.file_meta.TransferSyntaxUID.name, ds.Rows
    ('Implicit VR Little Endian', 480)
    >>> read_dataset(get_testdata_file("README.txt"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dbdicom._files._walker.NotDicomError: not a DICOM file: no 'DICM' marker at byte 128
    """
    if isinstance(path, io.BytesIO):  # an object of a remote store, fetched whole
        start = path.getvalue()[:_MARKER_END]
    else:
        with open(path, "rb") as f:
            start = f.read(_MARKER_END)
    if start[128:_MARKER_END] != b"DICM" and isinstance(_no_marker(start), NotDicomError):
        raise _no_marker(start)
    ds = pydicom.dcmread(
        path,
        stop_before_pixels=stop_before_pixels,
        specific_tags=specific_tags,
        force=True,
        defer_size=defer_size,
    )
    _as_found(ds)
    if decode and "TransferSyntaxUID" not in ds.file_meta:
        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian
            if implicit
            else ExplicitVRLittleEndian
            if little
            else ExplicitVRBigEndian
        )
    return ds


def _as_found(ds: Dataset) -> None:
    """Give ``ds`` the encoding its elements were read in, where pydicom kept the meta's.

    A data set in Implicit VR under a meta that says Explicit VR (or the other
    way) is read in the encoding found, but pydicom keeps the meta's as its
    ``original_encoding``: written in that, its elements read as Implicit VR
    (no VR) stopped pydicom's writer (``TypeError: encoding without a string
    argument``). Told the encoding they were read in, the writer converts
    them to the one it writes.

    Examples
    --------
    >>> from pydicom.dataelem import RawDataElement
    >>> ds = Dataset()
    >>> ds[0x00100010] = RawDataElement(0x00100010, None, 4, b"Anon", 0, True, True)
    >>> ds.set_original_encoding(False, True, None)  # as the meta says
    >>> _as_found(ds)
    >>> ds.original_encoding
    (True, True)
    """
    first = next((ds.get_item(tag, keep_deferred=True) for tag in ds.keys()), None)
    if not isinstance(first, RawDataElement):
        return
    found = (first.is_implicit_VR, first.is_little_endian)
    if found != ds.original_encoding:
        ds.set_original_encoding(*found, ds.original_character_set)


def undecodable_as_bytes(ds: Dataset) -> list[str]:
    """Each element of ``ds`` pydicom cannot decode made its raw bytes (VR OB); why, by tag.

    pydicom decodes an element when it is first asked for: one with an
    unknown VR code made printing the whole dataset raise. Items of
    sequences are searched too. (Not UN: pydicom decodes an UN value of a
    known tag with the tag's VR, which may fail again.)

    Examples
    --------
    >>> from pydicom.dataelem import RawDataElement
    >>> from pydicom.tag import Tag
    >>> ds = Dataset()
    >>> ds[0x00280030] = RawDataElement(Tag(0x00280030), "XX", 4, b"0.5 ", 0, False, True)
    >>> undecodable_as_bytes(ds)
    ["(0028,0030): Unknown Value Representation 'XX' in tag (0028,0030): shown as bytes"]
    >>> ds[0x00280030].VR, ds[0x00280030].value
    ('OB', b'0.5 ')
    """
    reasons = []
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except (BytesLengthException, NotImplementedError, ValueError, TypeError) as exc:
            raw = ds.get_item(tag)
            value = getattr(raw, "value", b"")
            ds[tag] = DataElement(tag, "OB", value if isinstance(value, bytes) else b"")
            reasons.append(f"({tag.group:04X},{tag.element:04X}): {exc}: shown as bytes")
            continue
        if elem.VR == "SQ":
            for item in elem.value or ():
                reasons.extend(undecodable_as_bytes(item))
    return reasons


class _Capped(io.BufferedReader):
    """A file whose ``read(n)`` asks for no more than the bytes left.

    pydicom reads a value with ``read(length)``, the length taken from the
    file: a damaged one of 2 GB in a 3 kB file made Python allocate 2 GB
    before reading 3 kB (``MemoryError`` at the scan).
    """

    def __init__(self, raw: io.FileIO) -> None:
        super().__init__(raw)
        self._size = os.fstat(raw.fileno()).st_size

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes, as a file reads them, but never more than are left."""
        if size is not None and size > 0:
            size = max(0, min(size, self._size - self.tell()))
            if size == 0:
                return b""
        return super().read(size)


def read_with_pydicom(path: str | BinaryIO, wanted: Iterable[int]) -> Header:
    """Read the ``wanted`` tags with pydicom, for files the fast reader leaves.

    Raises :class:`NotDicomError` when pydicom cannot read the file as DICOM.
    """
    try:
        if isinstance(path, str):
            with open(path, "rb", buffering=0) as raw, _Capped(raw) as f:
                # nothing deferred: pydicom would read it again through a file of its own
                ds = pydicom.dcmread(f, stop_before_pixels=False, force=True)
        else:
            ds = pydicom.dcmread(path, stop_before_pixels=False, defer_size=256, force=True)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise NotDicomError(f"pydicom cannot read it: {exc}") from exc
    except RecursionError as exc:  # pydicom reads nested sequences by recursion
        raise NotDicomError("pydicom cannot read it: sequences nested too deep") from exc
    if len(ds) == 0 and not getattr(ds, "file_meta", None):
        raise NotDicomError("not a DICOM file: no elements found")
    header = Header()
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        header.transfer_syntax = str(meta.get("TransferSyntaxUID", ""))
        media = meta.get("MediaStorageSOPClassUID")
        header.media_sop_class = str(media) if media else None
    for tag in wanted:
        if tag in ds:
            _read_value(ds, tag, header)
        elif tag >> 16 == 0x0002 and meta is not None and tag in meta:  # file meta
            _read_value(meta, tag, header)
    if "PixelData" in ds:
        header.has_pixels = True
        syntax = meta.get("TransferSyntaxUID") if meta is not None else None
        header.encapsulated = bool(syntax.is_compressed) if syntax else False
        if not header.encapsulated:  # native: its length says there are pixels (offset unknown)
            header.pixel_length = _value_length(ds, 0x7FE00010)
    elif "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        header.has_pixels = True
        header.float_bits = 32 if "FloatPixelData" in ds else 64
    header.has_per_frame_groups = "PerFrameFunctionalGroupsSequence" in ds
    header.has_modality_lut = "ModalityLUTSequence" in ds
    return header


def _value_length(ds: Dataset, tag: int) -> int:
    """The length in bytes of the value of ``tag`` (which ``ds`` has), as stored.

    Of a raw (not yet converted) element its recorded length; of a converted
    one the length of its bytes.
    """
    item = ds.get_item(tag)
    length = getattr(item, "length", None)
    if length is None:
        value = ds[tag].value
        length = len(value) if isinstance(value, bytes | bytearray) else 0
    return max(0, int(length))


def _read_value(ds: Dataset, tag: int, header: Header) -> None:
    """Put the value of ``tag`` (which ``ds`` has) into ``header``, or None and the reason why not.

    pydicom converts an element when it is first asked for: an unknown VR
    code raises ``NotImplementedError``, a bad value ``ValueError`` or
    ``TypeError`` (depending on its settings); an IS or DS value that is
    not a number it keeps as the text. None of these is a value.
    """
    try:
        elem = ds[tag]
        vr, value = elem.VR, elem.value
    except (NotImplementedError, ValueError, TypeError, KeyError) as exc:
        header.values[tag] = None
        header.problems[tag] = f"cannot be decoded: {exc}"
        return
    if vr == "SQ":
        return
    value = to_python(value) if value is not None else None
    if vr in ("IS", "DS") and (_has_text(value) or not _finite(value, elem.value)):
        header.values[tag] = None
        header.problems[tag] = f"{vr} value {str(elem.value)!r} is not a number"
        return
    header.values[tag] = value


def _finite(value: Any, given: Any = None) -> bool:
    """Whether a decoded IS or DS ``value`` holds decimal numbers (DS has no NaN, inf, '1_0').

    ``given``: pydicom's value, whose text (``str``) is the file's.
    """
    values = value if isinstance(value, tuple) else (value,)
    if any(isinstance(v, float) and v - v != 0 for v in values):
        return False
    return given is None or "_" not in str(given)


def _has_text(value: Any) -> bool:
    """Whether a decoded IS or DS ``value`` holds text that pydicom could not make a number."""
    if isinstance(value, tuple):
        return any(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _flatten_group(
    item: Dataset, out: dict[str, Any], problems: dict[int, str], notes: dict[int, str]
) -> None:
    """Collect the plain values of one functional-group item (two levels deep).

    Private macros are left out: a vendor's shadow copy of the classic
    header (Philips keeps one per frame) repeats SOPInstanceUID,
    InstanceNumber and positions that are not the frame's. So are
    sequences of several items (the images a frame was derived from,
    ReferencedImageSequence): the first item's values are not the frame's.
    A value that is not a number where one is due is None, the reason put
    in ``problems``; ``notes`` receives what is read otherwise than stored
    (see :func:`_plain`).
    """
    for macro in _elements(item, problems):
        if macro.VR != "SQ" or len(macro.value) != 1 or macro.tag.is_private:
            continue
        for elem in _elements(macro.value[0], problems):
            if elem.VR == "SQ":
                if len(elem.value) == 1:
                    for sub in _elements(elem.value[0], problems):
                        if sub.VR != "SQ" and sub.keyword and sub.keyword not in _SKIP:
                            out[_frame_keyword(sub)] = _plain(sub, problems, notes)
                continue
            if elem.keyword and elem.keyword not in _SKIP:
                out[_frame_keyword(elem)] = _plain(elem, problems, notes)


def _elements(item: Dataset, problems: dict[int, str]) -> Iterator[DataElement]:
    """The elements of ``item``; one pydicom cannot convert (a UL of 2 bytes) left out, said.

    pydicom converts an element when it is first reached: one bad value of
    one frame must not lose the file.
    """
    for tag in list(item.keys()):
        try:
            elem = item[tag]
        except (BytesLengthException, NotImplementedError, ValueError, TypeError) as exc:
            why = f"cannot be decoded in the functional groups: {type(exc).__name__}: {exc}"
            problems.setdefault(int(tag), why)
            continue
        yield elem


def _frame_keyword(elem: DataElement) -> str:
    """The keyword of a functional-group element: its classic one where that holds its value."""
    alias = FRAME_ALIASES.get(elem.keyword)
    return alias if alias is not None and elem.VM <= 1 else elem.keyword


def _plain(elem: DataElement, problems: dict[int, str], notes: dict[int, str]) -> Any:
    r"""The plain value of ``elem``; None, and the reason in ``problems``, for text in IS or DS.

    A tag of one value (VM 1) holding several is None too, and a problem,
    but for text (see :func:`~._values.several_values`): its text as stored
    (``"A\B"``), and a note in ``notes``.
    """
    value = to_python(elem.value)
    if elem.VR in ("IS", "DS") and (_has_text(value) or not _finite(value, elem.value)):
        why = f"{elem.VR} value {str(elem.value)!r} in the functional groups is not a number"
        problems.setdefault(int(elem.tag), why)
        return None
    if int(elem.tag) in SCALES:  # empty, 0, two values: numbers other than meant
        why = scale_problem(int(elem.tag), value)
        if why:
            problems.setdefault(int(elem.tag), f"{why} (in the functional groups)")
            return None
    if isinstance(value, tuple) and one_value(int(elem.tag)):  # "1.0\\2.0": which one?
        text, said = several_values(str(elem.VR), value)
        if text is None:
            problems.setdefault(int(elem.tag), f"{said} (in the functional groups)")
        else:
            why = f"{said} (in the functional groups): read as the text '{text}'"
            notes.setdefault(int(elem.tag), why)
        return text
    return value


def frame_values(
    path: str | BinaryIO,
    problems: dict[int, str] | None = None,
    notes: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    r"""The values of every frame of an enhanced multi-frame file.

    Each frame's dict merges the shared functional groups with its own
    per-frame groups (per-frame wins), keyed by keyword. Functional-group
    keywords with a classic equivalent are renamed (``EffectiveEchoTime`` ->
    ``EchoTime``); ``SliceLocation``, which enhanced objects do not have, is
    computed as the position projected on the slice normal (millimetres,
    LPS), the same quantity single-frame MR files store.

    An IS or DS value that is not a number is None, and so is a value of
    several where the tag has one (VM 1); ``problems``, if given, receives
    the reason by tag (as :attr:`Header.problems`). Text of several values
    where the tag has one is its text as stored (``"A\B"``), said in
    ``notes`` (as :attr:`Header.notes`).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> frames = frame_values(get_testdata_file("eCT_Supplemental.dcm"))
    >>> len(frames), frames[0]["ImagePositionPatient"], frames[0]["InStackPositionNumber"]
    (2, (99.5, -301.5, -159.0), 2)
    """
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    return frame_values_of(ds, problems, notes)


def frame_values_of(
    ds: Dataset, problems: dict[int, str] | None = None, notes: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """:func:`frame_values` of an enhanced multi-frame header read already."""
    bad: dict[int, str] = {} if problems is None else problems
    said: dict[int, str] = {} if notes is None else notes
    shared: dict[str, Any] = {}
    if ds.get("SharedFunctionalGroupsSequence"):
        _flatten_group(ds.SharedFunctionalGroupsSequence[0], shared, bad, said)
    frames = []
    for item in ds.get("PerFrameFunctionalGroupsSequence", []):
        values = dict(shared)
        _flatten_group(item, values, bad, said)
        ipp = values.get("ImagePositionPatient")
        iop = values.get("ImageOrientationPatient")
        if (
            "SliceLocation" not in values
            and isinstance(ipp, tuple)
            and isinstance(iop, tuple)
            and _is_vector(ipp, 3)
            and _is_vector(iop, 6)
        ):
            row, col = iop[:3], iop[3:]
            normal = (
                row[1] * col[2] - row[2] * col[1],
                row[2] * col[0] - row[0] * col[2],
                row[0] * col[1] - row[1] * col[0],
            )
            values["SliceLocation"] = float(sum(p * n for p, n in zip(ipp, normal, strict=True)))
        frames.append(values)
    return frames


def grid_frame_values(
    path: str, values: Mapping[int, Any], problems: dict[int, str], data: bytes | None = None
) -> list[dict[str, Any]]:
    """Per-frame positions of a multi-frame file stacked by Grid Frame Offset Vector (RT Dose).

    Such a file has one (0020,0032) Image Position Patient, of its first
    frame; frame k lies ``offset[k]`` mm from it along the slice normal (row
    cosines x column cosines) when the vector starts at 0, or at z
    ``offset[k]`` when it starts at the first frame's z (axial only). Any
    other vector is a problem, and the frames get no position of their own.
    ``values`` holds the file's position, orientation and number of frames
    by tag number; ``data``, if given, the file's bytes (read instead).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> path = get_testdata_file("rtdose.dcm")
    >>> top = {0x00200032: (0.0, 0.0, -10.0), 0x00200037: (1, 0, 0, 0, 1, 0), 0x00280008: 15}
    >>> frames = grid_frame_values(path, top, {})
    >>> len(frames), frames[2]["ImagePositionPatient"], frames[2]["SliceLocation"]
    (15, (0.0, 0.0, 0.0), 0.0)
    """
    ipp, iop = values.get(_POSITION), values.get(_ORIENTATION)
    frames = values.get(_FRAMES)
    if not isinstance(ipp, tuple) or not isinstance(iop, tuple) or not isinstance(frames, int):
        return []
    if not (_is_vector(ipp, 3) and _is_vector(iop, 6)):
        return []
    offsets = read_any_header(path, {_GRID_OFFSETS: "DS"}, data).values.get(_GRID_OFFSETS)
    if isinstance(offsets, int | float):
        offsets = (offsets,)
    if not isinstance(offsets, tuple) or len(offsets) != frames or not _is_vector(offsets, frames):
        if offsets is not None:
            problems[_GRID_OFFSETS] = (
                f"{len(offsets) if isinstance(offsets, tuple) else 1} offsets for {frames} "
                "frames: the frames have no position of their own"
            )
        return []
    row, col = iop[:3], iop[3:]
    normal = (
        row[1] * col[2] - row[2] * col[1],
        row[2] * col[0] - row[0] * col[2],
        row[0] * col[1] - row[1] * col[0],
    )
    if offsets[0] == 0:
        positions = [
            tuple(float(p + d * n) for p, n in zip(ipp, normal, strict=True)) for d in offsets
        ]
    elif offsets[0] == ipp[2] and tuple(iop) == (1, 0, 0, 0, 1, 0):
        positions = [(float(ipp[0]), float(ipp[1]), float(z)) for z in offsets]
    else:
        problems[_GRID_OFFSETS] = (
            f"starts at {offsets[0]}, neither 0 nor the z of (0020,0032) 'Image Position "
            "(Patient)' of an axial image: the frames have no position of their own"
        )
        return []
    return [
        {
            "ImagePositionPatient": pos,
            "SliceLocation": float(sum(p * n for p, n in zip(pos, normal, strict=True))),
        }
        for pos in positions
    ]


def _is_vector(value: Any, n: int) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == n
        and all(isinstance(v, int | float) for v in value)
    )


def read_any_header(
    path: str, wanted: Mapping[int, str], data: bytes | memoryview | None = None
) -> Header:
    """Read ``wanted`` tags: the fast reader first, pydicom where it must.

    ``data``, if given, is the whole file's bytes (read instead of ``path``).
    Raises :class:`NotDicomError` for files that are not DICOM and
    ``EOFError`` for truncated ones.
    """
    try:
        return read_header(path, wanted, data)
    except TooDeep as exc:  # pydicom reads nesting by recursion: no use trying
        raise NotDicomError(f"sequences nested too deep ({exc})") from exc
    except NeedsPydicom as declined:
        header = read_with_pydicom(path if data is None else io.BytesIO(data), wanted)
        if declined.damage:  # not a layout pydicom is for, but bytes the walker took for damage
            header.notes[declined.damage] = (
                f"{declined}: read by pydicom's tolerant reader, whose values near it may "
                "not be what was meant"
            )
        return header
