"""The values of one file's header that a sidecar is made from, as plain Python."""

from __future__ import annotations

import struct
from typing import Any

from pydicom.errors import InvalidDicomError

from .._errors import InvalidFileError
from .._files import read_dataset, undecodable_as_bytes

__all__ = ["header_values"]


def _python(value: Any) -> Any:
    """A header value as plain Python: numbers, strings, lists of them; None for bytes."""
    if isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [_python(v) for v in value]
    if isinstance(value, int):  # IS, US, SS... (bool is no VR)
        return int(value)
    if isinstance(value, float):  # DS, FD, FL
        return float(value)
    return None if value is None else str(value)


def _take(dataset: Any, values: dict[str, Any]) -> None:
    for element in dataset:
        if element.VR == "SQ" or not element.keyword or element.keyword in values:
            continue
        value = _python(element.value)
        if value not in (None, "", []):
            values[element.keyword] = value


def header_values(path: str) -> dict[str, Any]:
    """The standard tags of one file's header, by keyword, as plain Python values.

    An enhanced (multi-frame) file also gives the tags of its shared
    functional groups and of its first frame's (as dcm2niix reads them):
    ``EffectiveEchoTime``, ``TransmitterFrequency``, ``SliceThickness``...;
    where a tag is also at the top level, the functional group's value is
    taken (the standard's place for it, and dcm2niix's).
    Private tags are left out (standard tags inside a functional group's
    private sequence are read last: Philips keeps some there); ``_csa`` says whether
    the file has a Siemens CSA header (whose values dcm2niix reads instead
    of some standard tags). A value pydicom cannot decode (an FD of 6
    bytes) is left out: the scan reads it as no value.

    Raises
    ------
    dbdicom.InvalidFileError
        The header cannot be read; the message names the file.
    """
    try:
        ds = read_dataset(path, stop_before_pixels=True, decode=False)
    except (InvalidDicomError, EOFError, ValueError, struct.error) as exc:
        raise InvalidFileError(f"the header of {path} cannot be read: {exc}") from exc
    undecodable_as_bytes(ds)  # an FD of 6 bytes: no value, as the scan reads it
    values: dict[str, Any] = {}
    firsts = [
        items[0]
        for items in (
            ds.get(g)
            for g in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence")
        )
        if items
    ]
    # the standard macros first, then what an item holds outside them, then the
    # top level (where the standard has no place for a macro's tag, but Philips
    # writes some, rounded: PixelBandwidth 992 beside the macro's 992.063, which
    # dcm2niix reads), then the standard tags in a vendor's private sequence
    # (Philips keeps ScanningSequence, SequenceVariant and AcquisitionMatrix there,
    # where dcm2niix reads them)
    for private in (False, True):
        for first in firsts:
            for macro in first:
                if macro.VR == "SQ" and bool(macro.keyword) != private and macro.value:
                    _take(macro.value[0], values)
            if not private:
                _take(first, values)
        if not private:
            _take(ds, values)
    values["_csa"] = any(
        element.tag.is_private_creator and str(element.value).startswith("SIEMENS CSA HEADER")
        for element in ds.group_dataset(0x0029)
    )
    return values
