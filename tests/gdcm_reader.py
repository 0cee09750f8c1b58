"""Read one DICOM file with GDCM and print what it found: ``python gdcm_reader.py FILE``.

Run by :func:`validators.gdcm_read` in a process of its own, because GDCM
aborts the process it runs in on some files (pydicom's ``rtdose_1frame.dcm``
ends in ``terminate called after throwing an instance of 'gdcm::Exception'``):
such a file then fails one test instead of ending the test session.

Prints one line of JSON, then the pixel bytes GDCM decoded, if any::

    {"parsed": true, "elements": {"ImageType": "DERIVED\\\\PRIMARY", ...},
     "pixels": {"scalar": "UINT16", "size": [columns, rows, frames],
                "samples": 1, "planar": 0, "length": 8192} or null,
     "why": "" or why GDCM decoded no pixels}

``elements`` holds the top-level elements, keyword (or tag, when GDCM's
dictionary has no keyword) to value as text, multiple values joined by
``\\``, trailing padding removed; binary and sequence values are ``""``.
Imports nothing but GDCM and the standard library, to start fast.
"""

from __future__ import annotations

import json
import sys

import gdcm

#: value representations whose value is not text
BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "SQ"}


def elements(file: gdcm.File) -> dict[str, str]:
    """The top-level elements of ``file``: keyword (or tag) -> value as text."""
    dicts = gdcm.Global.GetInstance().GetDicts()
    text = gdcm.StringFilter()
    text.SetFile(file)
    found = {}
    des = file.GetDataSet().GetDES()
    at = des.begin()
    while not at.equal(des.end()):
        element = at.next()
        tag = element.GetTag()
        entry = dicts.GetDictEntry(tag)
        vr = str(element.GetVR())
        if vr == "??":  # implicit VR: the dictionary's, "??" again if it has none
            vr = str(entry.GetVR())
        name = entry.GetKeyword() or str(tag)
        binary = vr == "??" or any(code in BINARY for code in vr.split(" or "))
        found[name] = "" if binary else text.ToString(tag).rstrip(" \0")
    return found


def pixels(path: str) -> tuple[dict[str, object] | None, bytes, str]:
    """GDCM's decoded image of ``path``: its layout, its bytes, and why not, if not."""
    reader = gdcm.ImageReader()
    reader.SetFileName(path)
    if not reader.Read():
        return None, b"", "GDCM's ImageReader cannot read it as an image"
    image = reader.GetImage()
    buffer = image.GetBuffer()
    if buffer is None:
        return None, b"", "GDCM's ImageReader read it but cannot decode its pixels"
    data = buffer.encode("utf-8", "surrogateescape") if isinstance(buffer, str) else buffer
    form = image.GetPixelFormat()
    layout = {
        "scalar": form.GetScalarTypeAsString(),
        "size": [image.GetDimension(i) for i in range(image.GetNumberOfDimensions())],
        "samples": form.GetSamplesPerPixel(),
        "planar": image.GetPlanarConfiguration(),
        "length": len(data),
    }
    return layout, data, ""


def main(path: str) -> None:
    """Print GDCM's reading of ``path`` (see the module's docstring)."""
    reader = gdcm.Reader()
    reader.SetFileName(path)
    parsed = bool(reader.Read())
    found = elements(reader.GetFile()) if parsed else {}
    layout, data, why = pixels(path) if parsed else (None, b"", "GDCM cannot parse it")
    head = {"parsed": parsed, "elements": found, "pixels": layout, "why": why}
    sys.stdout.buffer.write(json.dumps(head).encode() + b"\n" + data)


if __name__ == "__main__":
    main(sys.argv[1])
