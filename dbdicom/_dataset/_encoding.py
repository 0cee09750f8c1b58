"""The pixel encoding of a write: how physical values become stored values.

One :class:`Encoding` is chosen per write (:func:`choose_encoding`, from the
data's range), every frame is stored under it (:func:`encode`), and
:func:`pixel_values` gives the elements that describe it in each header.
Grey-scale values are stored in 16 bits (rescaled where they need it);
colour (RGB) values as they are, in 8 or 16 bits.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.valuerep import DSfloat

from .._checks import to_dicom
from .._errors import InvalidValueError
from .._facade import local_scheduler
from ._elements import REMOVE

__all__ = [
    "Encoding",
    "check_dtype",
    "choose_encoding",
    "common_step",
    "computed_with_range",
    "inexact_integers",
    "encode",
    "pixel_values",
    "value_range",
]


@dataclass(frozen=True)
class Encoding:
    """How physical values are stored: ``stored = round((value - intercept) / slope)``.

    Attributes
    ----------
    dtype : str
        ``"uint16"`` or ``"int16"`` (16 bits allocated and stored); colour:
        ``"uint8"`` or ``"uint16"``.
    slope, intercept : float
        RescaleSlope and RescaleIntercept, exactly as written (DS text).
    exact : bool
        Whether every value is stored exactly (integer data in range).
    samples : int
        Values per pixel: 1 (grey-scale), or 3 (RGB, stored colour by pixel).

    Examples
    --------
    >>> Encoding("int16", 1.0, 0.0, True).dtype
    'int16'
    """

    dtype: str
    slope: float
    intercept: float
    exact: bool
    samples: int = 1


def _ds(x: float) -> float:
    """``x`` as it reads back from a DS (16 characters) element: the number of its text.

    (A DSfloat's own float is the number it was made of; its text, which
    is what the file holds, may round it.)

    Examples
    --------
    >>> _ds(100000.0), _ds(2.0**47) == 2.0**47
    (100000.0, False)
    """
    return float(str(DSfloat(x, auto_format=True)))


def choose_encoding(
    kind: str, low: float, high: float, integral: bool, samples: int = 1, step: int = 1
) -> Encoding:
    """The encoding of data of dtype kind ``kind`` within ``[low, high]``.

    * integers (and floats whose values are all integers) that fit in
      ``uint16`` or ``int16`` are stored as they are (slope 1, intercept 0);
      a range of at most 65,535 elsewhere is stored exactly with an intercept,
      and so is a wider range whose values are all ``low`` plus multiples of
      ``step`` (:func:`common_step`) with at most 65,535 steps, with
      ``slope = step`` (labels 0, 10, 20... 200,000);
    * other data is stored as ``uint16`` with ``intercept = low`` and
      ``slope = (high - low) / 65535``: the error of any value is at most
      ``slope / 2`` (plus ~1% of ``slope`` for float32 data, which
      :func:`encode` scales in float32), i.e. below ``(high - low) / 65535``;
    * booleans are stored as 0 and 1 (``uint16``);
    * colour (``samples`` 3) as it is: ``uint8`` where every value is an
      integer of 0 to 255, else ``uint16`` where every value is one of 0 to
      65,535 (a palette of 16-bit entries); other colour data is refused,
      with the way out (DICOM colour images have no rescale).

    Examples
    --------
    >>> choose_encoding("u", 0, 4095, True)
    Encoding(dtype='uint16', slope=1.0, intercept=0.0, exact=True, samples=1)
    >>> choose_encoding("i", 100000, 100010, True).intercept
    100000.0
    >>> choose_encoding("i", 0, 200000, True, step=10)
    Encoding(dtype='uint16', slope=10.0, intercept=0.0, exact=True, samples=1)
    >>> e = choose_encoding("f", 0.0, 1.0, False)
    >>> e.dtype, e.exact, abs(e.slope - 1 / 65535) < 1e-12
    ('uint16', False, True)
    >>> choose_encoding("f", 0.0, 255.0, True, samples=3)
    Encoding(dtype='uint8', slope=1.0, intercept=0.0, exact=True, samples=3)
    """
    if samples != 1:
        return _colour_encoding(kind, low, high, integral, samples)
    if kind == "b":
        return Encoding("uint16", 1.0, 0.0, True)
    if integral:
        if low >= 0 and high <= 65535:
            return Encoding("uint16", 1.0, 0.0, True)
        if low >= -32768 and high <= 32767:
            return Encoding("int16", 1.0, 0.0, True)
        if high - low <= 65535 and _ds(low) == low:
            return Encoding("uint16", 1.0, float(low), True)
        if step > 1 and (high - low) / step <= 65535 and _ds(low) == low and _ds(step) == step:
            return Encoding("uint16", float(step), float(low), True)
    intercept = _ds(low)
    span = max(high - intercept, 0.0)
    slope = _ds(span / 65535) if span > 0 else 1.0
    while span > 0 and (high - intercept) / slope > 65535.49:  # DS rounding made it short
        slope = _ds(slope * (1 + 1e-9) + 1e-15)
    return Encoding("uint16", slope, intercept, False)


def _colour_encoding(kind: str, low: float, high: float, integral: bool, samples: int) -> Encoding:
    """The encoding of colour values: stored as they are, in 8 bits or 16, else refused."""
    if kind == "b" or (integral and low >= 0 and high <= 255):
        return Encoding("uint8", 1.0, 0.0, True, samples)
    if integral and low >= 0 and high <= 65535:
        return Encoding("uint16", 1.0, 0.0, True, samples)
    raise InvalidValueError(
        f"colour (RGB) values must be whole numbers of 0 to 255 (or to 65535) as DICOM stores "
        f"them; this array's run from {low:g} to {high:g}"
        + ("" if integral else ", not all whole")
        + ". Scale them first, e.g. (da * 255).round().clip(0, 255).astype('uint8') "
        "for values of 0 to 1."
    )


def encode(
    values: np.ndarray,
    encoding: Encoding,
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Stored values of a frame (physical ``values``) under ``encoding``.

    Data of at most 32-bit floats are scaled in float32, four times faster
    than in float64: the rounding adds at most ~1% of a step (65,535 steps
    times a few float32 ulps) to the half step of the encoding. Other data,
    and whole numbers stored exactly with a slope, are scaled in float64.

    ``out`` (of ``values``' shape and the encoding's dtype) receives the
    stored values, and ``scratch`` (float32, of ``values``' shape) the
    scaled float32 ones, where given: a write encodes frame after frame
    into the same two buffers, with no new memory to fault in (the same
    values as without them).

    Examples
    --------
    >>> x = np.linspace(-1, 1, 100_001, dtype=np.float32)
    >>> e = choose_encoding("f", -1.0, 1.0, False)
    >>> stored = encode(x, e)
    >>> error = np.abs(stored * e.slope + e.intercept - x).max()
    >>> bool(error <= 0.52 * e.slope), stored.min(), stored.max()
    (True, np.uint16(0), np.uint16(65535))
    >>> out, scratch = np.empty(x.shape, np.uint16), np.empty(x.shape, np.float32)
    >>> encode(x, e, out, scratch) is out, bool((out == stored).all())
    (True, True)
    """
    if encoding.exact and encoding.slope == 1.0:
        stored = values.astype(np.float64) - encoding.intercept if encoding.intercept else values
        if out is None:
            return np.asarray(stored).astype(encoding.dtype)
        np.copyto(out, stored, casting="unsafe")
        return out
    if values.dtype.kind == "f" and values.dtype.itemsize <= 4 and not encoding.exact:
        # (v - intercept) / slope rounded, as v / slope + (0.5 - intercept / slope) cut
        # to a whole number by the cast after the clip (at 0 or more: the floor): three
        # passes over the frames, not four (a separate rint)
        single = np.multiply(
            values, np.float32(1.0 / encoding.slope), dtype=np.float32, out=scratch
        )
        np.add(single, np.float32(0.5 - encoding.intercept / encoding.slope), out=single)
        if out is None:
            np.clip(single, 0, 65535, out=single)
            return np.trunc(single, out=single).astype(encoding.dtype)
        np.clip(single, 0, 65535, out=out, casting="unsafe")
        return out
    scaled = np.subtract(values, encoding.intercept, dtype=np.float64)
    np.divide(scaled, encoding.slope, out=scaled)
    np.rint(scaled, out=scaled)
    return _clipped(scaled, encoding, out)


def _clipped(rounded: np.ndarray, encoding: Encoding, out: np.ndarray | None) -> np.ndarray:
    """The ``rounded`` scaled values within 0-65535, as stored values (into ``out``).

    Into ``out``, they are clipped and cast in one pass: the same values as
    clipping in place and copying.
    """
    if out is None:
        np.clip(rounded, 0, 65535, out=rounded)
        return rounded.astype(encoding.dtype)
    np.clip(rounded, 0, 65535, out=out, casting="unsafe")
    return out


#: values of a block whose greatest common step is found at a time (it is 1 early, mostly)
_STEP_RUN = 1 << 16
#: whole numbers beyond this are not all exact in float64, nor their differences in int64
_WHOLE = 2**53
#: float32 holds every whole number up to this, as a parametric map stores them
_FLOAT32_WHOLE = 2**24


def common_step(data: Any, low: float, high: float) -> int:
    """The largest whole number that every ``value - low`` of ``data`` is a multiple of.

    ``data``: whole numbers (of any dtype) from ``low`` to ``high``, as a
    numpy or dask array or a list of numpy blocks. 1 where there is no
    larger step, and for values beyond 2**53 (whose differences float64
    does not keep). Each block stops at its first run of values whose step
    is 1, which most data (labels, counts) show at once.

    Examples
    --------
    >>> common_step(np.array([0, 10, 200000]), 0.0, 200000.0)
    10
    >>> common_step([np.array([-5.0, 15.0]), np.array([95.0])], -5.0, 95.0)
    20
    >>> common_step(np.array([0, 3, 100001]), 0.0, 100001.0)
    1
    """
    if max(abs(low), abs(high)) >= _WHOLE:
        return 1
    dsa = sys.modules.get("dask.array")  # imported already if data is a dask array
    if dsa is not None and isinstance(data, dsa.Array):
        import dask

        blocks = data.to_delayed().ravel()
        steps = list(dask.compute(*[dask.delayed(_block_step)(b, low) for b in blocks]))
    elif isinstance(data, list):
        steps = [_block_step(b, low) for b in data]
    else:
        steps = [_block_step(np.asarray(data), low)]
    return int(np.gcd.reduce(np.array(steps, dtype=np.int64))) or 1


def _block_step(x: Any, low: float) -> int:
    """:func:`common_step` of one block (0 if it holds only ``low``)."""
    flat = np.asarray(x).reshape(-1)
    step = 0
    for start in range(0, flat.size, _STEP_RUN):
        run = flat[start : start + _STEP_RUN].astype(np.int64) - np.int64(low)
        step = int(np.gcd.reduce(run, initial=step))
        if step == 1:
            break
    return step


def inexact_integers(encoding: Encoding, low: float, high: float) -> str:
    """What a write of whole numbers from ``low`` to ``high`` that ``encoding`` cannot keep says.

    The values read back, the largest error (half a step, and the float32
    rounding of the value read back), and the ways to exact values.

    Examples
    --------
    >>> e = choose_encoding("i", 0, 100000, True)
    >>> print(inexact_integers(e, 0, 100000))  # doctest: +ELLIPSIS
    the array holds whole numbers from 0 to 100000, a range wider than the 65,536 values ...
    """
    # half a step, and the float32 rounding of the value read back
    error = encoding.slope / 2 + float(np.spacing(np.float32(max(abs(low), abs(high)))))
    ways = []
    if max(abs(low), abs(high)) <= _FLOAT32_WHOLE:
        ways.append(
            "kind='parametric map' stores them as 32-bit floats, exact for whole numbers "
            "up to 16,777,216 (2**24)"
        )
    ways.append("kind='segmentation' stores a mask of 0 and 1 (da > 0)")
    ways.append(
        "at most 65,536 distinct values fit, renumbered 0, 1, 2... "
        "(da.copy(data=np.unique(da, return_inverse=True)[1].reshape(da.shape)))"
    )
    return (
        f"the array holds whole numbers from {low:.0f} to {high:.0f}, a range wider than the "
        "65,536 values of 16-bit images (and not spaced by one step that would fit): they are "
        f"stored with RescaleSlope {encoding.slope:g} and RescaleIntercept "
        f"{encoding.intercept:g}, and read back as floats up to {error:.3g} from the values "
        f"written, not as the whole numbers given. For exact values: {'; '.join(ways)}."
    )


def check_dtype(dtype: np.dtype[Any], size: int) -> None:
    """Refuse data that cannot be written, with the way out.

    Examples
    --------
    >>> check_dtype(np.dtype("float32"), 16)
    >>> check_dtype(np.dtype("complex64"), 16)
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: complex data cannot be stored in DICOM images: ...
    """
    if size == 0:
        raise InvalidValueError("the array is empty: there is nothing to write.")
    if dtype.kind == "c":
        raise InvalidValueError(
            "complex data cannot be stored in DICOM images: write the magnitude and the "
            "phase as two series (np.abs(da), np.angle(da)), or the real and imaginary parts."
        )
    if dtype.kind not in "biuf":
        raise InvalidValueError(
            f"the array has dtype {dtype}: only numbers (integer, float) and booleans can be "
            "written as pixels. Convert it first, e.g. da.astype('float32')."
        )


#: PhotometricInterpretation of grey values, by whether they are shown inverted
_GREY = {False: "MONOCHROME2", True: "MONOCHROME1"}


def pixel_values(
    shape: tuple[int, ...],
    encoding: Encoding,
    rescaled: bool,
    rescale: bool = True,
    inverted: bool = False,
) -> list[tuple[int, str, Any]]:
    """The elements that describe the pixels of a frame of ``shape`` stored under ``encoding``.

    They are ``(tag, VR, value)``, the same for every frame of a write
    (:data:`~dbdicom._dataset._elements.REMOVE`: left out). ``rescaled``:
    the header has a rescale already (it is then kept up to date even where
    the encoding needs none). A colour image has no rescale (nor one with
    ``rescale`` False: an RT Dose's slope is its DoseGridScaling), and a
    grey one no PlanarConfiguration (which its source may have had).
    ``inverted``: grey values are shown inverted (MONOCHROME1, as the
    source's were: values derived from them keep their sense, and would
    show as a negative under MONOCHROME2).

    Examples
    --------
    >>> e = Encoding("uint16", 0.5, 10.0, False)
    >>> [(f"{t:08X}", str(v)) for t, _, v in pixel_values((4, 6), e, False)][-2:]
    [('00281053', '0.5'), ('00281052', '10.0')]
    >>> len(pixel_values((4, 6), Encoding("int16", 1.0, 0.0, True), False))
    9
    >>> colour = Encoding("uint8", 1.0, 0.0, True, samples=3)
    >>> rgb = {t: v for t, _, v in pixel_values((4, 6), colour, True)}
    >>> rgb[0x00280004], rgb[0x00280002], rgb[0x00280100], rgb[0x00281053] is REMOVE
    ('RGB', 3, 8, True)
    """
    bits = 8 if encoding.dtype == "uint8" else 16
    colour = encoding.samples != 1
    out: list[tuple[int, str, Any]] = [
        (0x00280010, "US", int(shape[0])),  # Rows
        (0x00280011, "US", int(shape[1])),  # Columns
        (0x00280002, "US", int(encoding.samples)),  # SamplesPerPixel
        (0x00280004, "CS", "RGB" if colour else _GREY[inverted]),  # PhotometricInterpretation
        (0x00280006, "US", 0 if colour else REMOVE),  # PlanarConfiguration: colour by pixel
        (0x00280100, "US", bits),  # BitsAllocated
        (0x00280101, "US", bits),  # BitsStored
        (0x00280102, "US", bits - 1),  # HighBit
    ]
    out.append((0x00280103, "US", 1 if encoding.dtype == "int16" else 0))  # PixelRepresentation
    if colour or not rescale:  # no rescale (of colour values, of doses)
        out.extend((tag, "DS", REMOVE) for tag in (0x00281052, 0x00281053))
        out.append((0x00281054, "LO", REMOVE))  # RescaleType
    elif encoding.slope != 1.0 or encoding.intercept != 0.0 or rescaled:
        out.append((0x00281053, "DS", to_dicom("RescaleSlope", encoding.slope)))
        out.append((0x00281052, "DS", to_dicom("RescaleIntercept", encoding.intercept)))
    return out


def value_range(data: Any) -> tuple[float, float, bool]:
    """Lowest and highest value of ``data`` (numpy or dask) and whether all are integers.

    That is what :func:`choose_encoding` needs. NaN and infinite values,
    which images cannot store, are refused.

    Examples
    --------
    >>> value_range(np.array([[1.0, 2.5], [3.0, -1.0]], np.float32))
    (-1.0, 3.0, False)
    >>> value_range(np.array([True, False]))
    (0.0, 1.0, True)
    >>> value_range(np.array([1.0, np.nan]))
    Traceback (most recent call last):
    ...
    dbdicom._errors.InvalidValueError: the array holds NaN or infinite values, ...
    """
    kind = np.dtype(data.dtype).kind
    if kind == "b":
        return 0.0, 1.0, True
    dsa = sys.modules.get("dask.array")  # imported already if data is a dask array
    if dsa is not None and isinstance(data, dsa.Array):
        import dask

        # one task per block, each one pass or two over its values (the
        # reductions of dask.array made a float64 copy and five passes)
        blocks = data.to_delayed().ravel()
        parts = list(dask.compute(*[dask.delayed(_block_range)(b) for b in blocks]))
    else:
        parts = [_block_range(np.asarray(data))]
    return _combined(parts)


def computed_with_range(data: Any) -> tuple[list[np.ndarray], tuple[float, float, bool]]:
    """The blocks of the dask array ``data`` computed, and :func:`value_range` of them, in one pass.

    The blocks come in the C order of ``data``'s grid of blocks. For arrays
    that fit in memory: their sources are read and computed once, not once
    for the range and once more for the values.

    Examples
    --------
    >>> import dask.array as dsa
    >>> blocks, found = computed_with_range(dsa.arange(6, chunks=4) / 2)
    >>> [b.tolist() for b in blocks], found
    ([[0.0, 0.5, 1.0, 1.5], [2.0, 2.5]], (0.0, 2.5, False))
    """
    import dask

    delayed = data.to_delayed().ravel()
    tasks = [dask.delayed(_block_and_range)(b) for b in delayed]
    done = dask.compute(*tasks, **local_scheduler(data, {}))
    blocks = [np.asarray(block) for block, _ in done]
    if np.dtype(data.dtype).kind == "b":
        return blocks, (0.0, 1.0, True)
    return blocks, _combined([part for _, part in done])


def _block_and_range(x: Any) -> tuple[np.ndarray, tuple[float, float, bool] | None]:
    x = np.asarray(x)
    return x, (None if x.dtype.kind == "b" else _block_range(x))


def _combined(found: list[tuple[float, float, bool] | None]) -> tuple[float, float, bool]:
    """The range of the blocks' ranges ``found`` (None: an empty block); NaN or inf refused."""
    parts = [p for p in found if p]
    if not parts:
        return 0.0, 0.0, True
    # a NaN anywhere gives a NaN low or high in its block
    finite = all(np.isfinite(p[0]) and np.isfinite(p[1]) for p in parts)
    low, high = min(p[0] for p in parts), max(p[1] for p in parts)
    integral = all(p[2] for p in parts)
    if not finite:
        raise InvalidValueError(
            "the array holds NaN or infinite values, which DICOM images of stored integers "
            "cannot store: replace them first, e.g. da.fillna(0) or "
            "da.where(np.isfinite(da), 0); or keep them in one Parametric Map of 32-bit "
            "floats, which stores NaN and infinities as they are: "
            "series.set_xarray(da, kind='parametric map') (or set_array(..., "
            "kind='parametric map')), where the frames lie at distinct positions (one volume)."
        )
    return float(low), float(high), bool(integral)


def _block_range(x: np.ndarray) -> tuple[float, float, bool] | None:
    """Lowest and highest value of ``x`` and whether all are integers (None if empty).

    A NaN in ``x`` gives a NaN bound.
    """
    x = np.asarray(x)
    if x.size == 0:
        return None
    if x.dtype.kind == "f" and x.dtype.itemsize < 4:
        x = x.astype(np.float32)
    low, high = x.min(), x.max()  # NaN if any is; inf if any is
    integral = True
    if x.dtype.kind in "fc" and np.isfinite(low) and np.isfinite(high):
        # most float data shows it is not integral in its first values
        head = x.reshape(-1)[:4096]
        integral = bool((head == np.rint(head)).all()) and bool((x == np.rint(x)).all())
    return float(low), float(high), bool(integral)
