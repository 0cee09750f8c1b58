"""The values of a sidecar that change from volume to volume, as lists, and back.

Values that change along the fourth axis of a NIfTI file (one per volume:
the flip angles of a VFA series, the echo times of a multi-echo one) are
lists under their key in the sidecar, in the units of
:mod:`._sidecar` (seconds for times); :func:`dicom_lists` turns them
back into DICOM values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._sidecar import _tidy, day_seconds, iso_time

__all__ = ["VOLUME_KEYS", "dicom_lists", "volume_lists"]


def _seconds(value: Any) -> Any:
    return _tidy(float(value) * 1e-3)


def _milliseconds(value: Any) -> Any:
    return _tidy(float(value) * 1e3)


def _as_is(value: Any) -> Any:
    return value


def _plain(value: Any) -> Any:
    return _tidy(value) if isinstance(value, float) else value


#: Dims whose values per volume go into the sidecar under a BIDS key of another
#: unit or form: dim -> (key, to the sidecar, back to DICOM).
VOLUME_KEYS: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = {
    "EchoTime": ("EchoTime", _seconds, _milliseconds),
    "RepetitionTime": ("RepetitionTime", _seconds, _milliseconds),
    "InversionTime": ("InversionTime", _seconds, _milliseconds),
    "FlipAngle": ("FlipAngle", _tidy, _as_is),
    "AcquisitionTime": ("AcquisitionTime", lambda v: iso_time(v) or v, day_seconds),
}


def volume_lists(dims: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """The sidecar lists of the values of tag dims, one per volume.

    A dim of :data:`VOLUME_KEYS` goes under its BIDS key in BIDS units;
    the others under their DICOM keyword, as they are.

    >>> volume_lists({"EchoTime": [5.0, 15.0], "FlipAngle": [2.0, 2.0]})
    {'EchoTime': [0.005, 0.015], 'FlipAngle': [2, 2]}
    """
    out: dict[str, list[Any]] = {}
    for dim, values in dims.items():
        key, convert, _ = VOLUME_KEYS.get(dim, (dim, _plain, _as_is))
        out[key] = [None if v is None else convert(v) for v in values]
    return out


def dicom_lists(sidecar: Mapping[str, Any]) -> dict[str, Any]:
    """``sidecar`` with the lists of :func:`volume_lists` back in DICOM units.

    The list of EchoNumber (the echoes' ranks) is left out: the echo
    times say it.

    >>> dicom_lists({"EchoTime": [0.005, 0.015], "EchoNumber": [1, 2], "FlipAngle": 15})
    {'EchoTime': [5, 15], 'FlipAngle': 15}
    """
    back = {key: (dim, to_dicom) for dim, (key, _, to_dicom) in VOLUME_KEYS.items()}
    out: dict[str, Any] = {}
    for key, value in sidecar.items():
        if key == "EchoNumber" and isinstance(value, list):
            continue
        if isinstance(value, list) and key in back:
            dim, convert = back[key]
            out[dim] = [v if v is None else convert(v) for v in value]
        else:
            out[key] = value
    return out
