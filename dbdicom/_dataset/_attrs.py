"""The attrs of an array to write: checked once, as the values every frame shares.

An attr DICOM cannot hold is most often the source files' own value, kept
by xarray (an 80-character ProtocolName, an ImageType with a '/'): it is
left out with a warning, and the new files keep their source's as it is.
One the user set (it differs from the source's) is an error, as any value.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydicom.multival import MultiValue

from .._checks import resolve_tag, to_dicom
from .._errors import DicomWarning, InvalidValueError
from ._base import read_source
from ._source import Source

__all__ = ["shared_attrs"]


def shared_attrs(
    attrs: Mapping[str, Any], left: Collection[str], sources: Sequence[Source]
) -> list[tuple[int, str, Any]]:
    """``(tag, VR, value)`` of the ``attrs`` but those in ``left``, checked.

    Raises :class:`~dbdicom.InvalidValueError` for a value DICOM cannot
    hold unless it is the first source's own (then left out, with a
    :class:`~dbdicom.DicomWarning`).

    Examples
    --------
    >>> shared_attrs({"ProtocolName": "T1 map", "PatientName": "A^B"}, {"PatientName"}, [])
    [(1577008, 'LO', 'T1 map')]
    """
    shared = []
    for keyword, value in attrs.items():
        if keyword in left:
            continue
        number, _, vr = resolve_tag(keyword)
        try:
            shared.append((number, vr, to_dicom(number, value, vr)))
        except InvalidValueError as exc:
            if not sources or not _same(read_source(sources[0]).get(keyword), value):
                raise
            warnings.warn(
                f"da.attrs[{keyword!r}] is not written: {exc} It is the source files' own "
                "value (kept by xarray in the attrs): the new files keep it as it is. To "
                f"write another, set a valid one (da.attrs[{keyword!r}] = ...).",
                DicomWarning,
                stacklevel=3,
            )
    return shared


def _same(held: Any, value: Any) -> bool:
    """Whether a source's value ``held`` is the attr ``value`` (several values joined)."""
    if held is None:
        return False
    if isinstance(held, MultiValue | list | tuple):
        held = "\\".join(str(v).strip() for v in held)
    if isinstance(value, list | tuple):
        value = "\\".join(str(v).strip() for v in value)
    return str(held).strip() == str(value).strip()
