"""Every image of pydicom's and pydicom-data's folders reads as pydicom's physical values.

A wrong number is worse than an error: the value of each frame dbdicom gives
(``xr.open_dataarray(path)``) is compared with what pydicom makes of the
same file -- ``apply_modality_lut`` of ``pixel_array`` (the rescale or the
Modality LUT Sequence; times DoseGridScaling for an RT Dose, which pydicom
leaves to the reader), the palette's RGB for PALETTE COLOR, the
per-frame Pixel Value Transformation of enhanced objects -- frame for
frame, whatever the order dbdicom puts the frames in. Files dbdicom
refuses with a ``DicomError`` (``docs/real-files.md`` says why) and files
pydicom cannot decode are left out; a file read with other values fails.

Slow (~15 s): ``pytest -m slow tests/test_real_values.py``. It found that
a Modality LUT Sequence was not applied (``mlut_18.dcm``); a new-user trial
found RT Dose values a million times too large (DoseGridScaling 1e-6).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom.pixels import apply_color_lut, apply_modality_lut
from real_files import FOLDERS

import dbdicom as db

pytestmark = pytest.mark.slow

FILES = sorted(p for folder in FOLDERS.values() for p in folder.rglob("*") if p.is_file())
#: what became of each file: "compared", "refused", or "not an image pydicom decodes"
OUTCOME: dict[Path, str] = {}


def _per_frame(ds: Any, arr: np.ndarray) -> np.ndarray:
    """The frames of an enhanced object through their own (or the shared) rescale."""
    out = arr.reshape(-1, *arr.shape[-2:]).astype(np.float64)
    shared = ds.get("SharedFunctionalGroupsSequence", [None])[0]
    for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        for group in (item, shared):
            if group is not None and "PixelValueTransformationSequence" in group:
                pvt = group.PixelValueTransformationSequence[0]
                slope = float(pvt.get("RescaleSlope", 1))
                out[i] = out[i] * slope + float(pvt.get("RescaleIntercept", 0))
                break
    return out


def _pydicom_frames(path: Path) -> np.ndarray | None:
    """pydicom's physical values, one frame a row (None: not an image pydicom decodes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            if "PixelData" not in ds or "Rows" not in ds:
                return None
            if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
                return None  # no file meta: read as the scan reads them in test_no_file_meta
            arr = ds.pixel_array
        except Exception:  # noqa: BLE001 - pydicom's decoders raise anything: not compared
            return None
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric == "PALETTE COLOR":
        _little_endian_tables(ds)
        return apply_color_lut(arr, ds)[..., :3].reshape(-1, *arr.shape[-2:], 3)
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        return arr.reshape(-1, *arr.shape[-3:])
    if "PerFrameFunctionalGroupsSequence" in ds:
        return _per_frame(ds, arr)
    values = apply_modality_lut(arr, ds)
    if "DoseGridScaling" in ds:  # RT Dose: doses, which pydicom leaves to the reader
        values = values * float(ds.DoseGridScaling)
    return values.reshape(-1, *values.shape[-2:])


def _little_endian_tables(ds: pydicom.Dataset) -> None:
    """The plain palette tables of a big endian file swapped to little endian, in place.

    pydicom's ``apply_color_lut`` reads a plain table's 16-bit words as little
    endian whatever the file's byte order: OBXXXX1A_expb's colours came
    byte-swapped (37 where its little endian twin OBXXXX1A has 9472).
    """
    if getattr(ds, "original_encoding", (None, None))[1] is not False:
        return
    for colour in ("Red", "Green", "Blue", "Alpha"):
        keyword = f"{colour}PaletteColorLookupTableData"
        if keyword in ds and isinstance(ds[keyword].value, bytes):
            ds[keyword].value = np.frombuffer(ds[keyword].value, ">u2").astype("<u2").tobytes()


def _largest_difference(frame: np.ndarray, other: np.ndarray) -> float:
    return float(np.nanmax(np.abs(frame - other.astype(np.float64)), initial=0.0))


def _matched(got: np.ndarray, expected: np.ndarray) -> list[tuple[int, int]]:
    """Each frame of ``got`` with the frame of ``expected`` it is, whatever their order.

    Frames are paired by their sums; among frames whose sums are within
    float32 rounding of each other (RT Dose slices differ by 1e-6), by the
    smallest largest difference.
    """

    def total(frame: np.ndarray) -> float:
        return float(np.nansum(frame.astype(np.float64)))

    sums = [total(f) for f in expected]
    left = sorted(range(len(expected)), key=sums.__getitem__)
    pairs = []
    for a in sorted(range(len(got)), key=lambda k: total(got[k])):
        near = [b for b in left if abs(sums[b] - total(got[a])) <= 1e-5 * (abs(sums[b]) + 1)]

        frame = got[a].astype(np.float64)
        b = min(near, key=lambda k: _largest_difference(frame, expected[k])) if near else left[0]
        left.remove(b)
        pairs.append((a, b))
    return pairs


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_values_are_pydicoms(path: Path) -> None:
    expected = _pydicom_frames(path)
    OUTCOME[path] = "not an image pydicom decodes"
    if expected is None:
        return
    try:
        got = np.asarray(xr.open_dataarray(path, engine="dbdicom").values)
    except db.DicomError:
        OUTCOME[path] = "refused"  # with the reason (docs/real-files.md); no wrong number
        return
    got = got.reshape(-1, *expected.shape[1:])
    assert got.shape == expected.shape

    for a, b in _matched(got, expected):
        np.testing.assert_allclose(
            got[a].astype(np.float64), expected[b].astype(np.float64), rtol=1e-5, atol=1e-6
        )
    OUTCOME[path] = "compared"


def test_most_images_are_compared() -> None:
    """The comparisons above are not vacuous: run after them, most images were compared."""
    if len(OUTCOME) < len(FILES):
        pytest.skip("run with the comparisons: pytest -m slow tests/test_real_values.py")
    counts = {k: list(OUTCOME.values()).count(k) for k in set(OUTCOME.values())}
    assert counts.get("compared", 0) >= 150, counts
    assert counts.get("refused", 0) <= 15, counts
