"""Seeded byte-level mutations of real DICOM files (pydicom's and pydicom-data's).

A mutation is made from its seed alone: the seed picks the source file
(round robin over :data:`SOURCES`), the operation and where it strikes, so
``python tests/run_case.py fuzz SEED`` makes the same file again. The
operations: set random bytes, overwrite an element's length with a big or
odd value, insert or delete bytes, duplicate an element, zero a run of
bytes, truncate. Most strike the header (before the pixel data), where a
reader has to make sense of the bytes; some strike anywhere.

A mutated file may be harmless (a changed pixel) or not (a length of 4 GB):
no expectation on whether it is listed or read, only the promises every
file gets (``case_checks``): the folder opens, the file is in the tree or
listed with a reason, every series reads or raises a ``DicomError``, the
valid series reads, no hang, no allocation beyond the limit.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

from case_runner import request
from corpus_base import Built, Expect, shipped_bytes, write

#: the files mutated: every transfer syntax dbdicom reads, single- and multi-frame,
#: grey, colour, palette, segmentation, RT, a file without pixels and one without meta
SOURCES = (
    "MR_small.dcm",
    "CT_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEG-LL.dcm",
    "JPEG2000.dcm",
    "emri_small.dcm",
    "emri_small_RLE.dcm",
    "rtdose.dcm",
    "SC_rgb_rle.dcm",
    "SC_rgb.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "image_dfl.dcm",
    "liver.dcm",
    "ExplVR_BigEnd.dcm",
    "no_meta.dcm",
    "rtplan.dcm",
    "693_J2KR.dcm",
    "explicit_VR-UN.dcm",
)
#: seeds of the default run, and of the slow one (``pytest -m slow``)
DEFAULT_SEEDS = range(0, 256)
SLOW_SEEDS = range(256, 1280)
_BIG = (0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0x10000000, 0xFFFF, 0xFFFE)
_OPERATIONS = ("bytes", "length", "length", "insert", "delete", "duplicate", "zero", "truncate")


@dataclass(frozen=True)
class Mutation:
    """One mutated file: its seed, source, what was done, and its bytes."""

    seed: int
    source: str
    detail: str
    data: bytes

    def describe(self) -> str:
        """The seed, the source and the mutation, to reproduce it."""
        return f"seed {self.seed}: {self.source}, {self.detail}"


def mutation(seed: int) -> Mutation:
    """The mutation of seed ``seed``."""
    rng = random.Random(seed)
    source = SOURCES[seed % len(SOURCES)]
    data = shipped_bytes(source)
    elements = element_headers(data)
    header = _header_end(data)
    op = rng.choice(_OPERATIONS)
    if op == "length" and not elements:
        op = "bytes"

    def where() -> int:  # mostly in the header, sometimes anywhere
        end = header if rng.random() < 0.75 else len(data)
        return rng.randrange(max(1, end))

    if op == "bytes":
        spots = sorted(where() for _ in range(rng.randint(1, 8)))
        new = bytearray(data)
        for at in spots:
            new[at] = rng.randrange(256)
        return Mutation(seed, source, f"bytes at {spots} set at random", bytes(new))
    if op == "length":
        start, at, size, big_endian = rng.choice(elements)
        value = rng.choice(_BIG) if rng.random() < 0.7 else rng.randrange(1, 1 << (8 * size))
        value &= (1 << (8 * size)) - 1
        packed = struct.pack((">" if big_endian else "<") + ("H" if size == 2 else "I"), value)
        detail = (
            f"the length of the element at byte {start} (bytes {at}..{at + size}) set to {value}"
        )
        return Mutation(seed, source, detail, data[:at] + packed + data[at + size :])
    if op == "insert":
        at, n = where(), rng.randint(1, 16)
        extra = bytes(rng.randrange(256) for _ in range(n))
        return Mutation(
            seed, source, f"{n} random bytes inserted at {at}", data[:at] + extra + data[at:]
        )
    if op == "delete":
        at, n = where(), rng.randint(1, 16)
        return Mutation(seed, source, f"bytes {at}..{at + n} deleted", data[:at] + data[at + n :])
    if op == "duplicate" and elements:
        first = rng.randrange(len(elements))
        start = elements[first][0]
        end = elements[first + 1][0] if first + 1 < len(elements) else header
        detail = f"the element at bytes {start}..{end} written twice"
        return Mutation(seed, source, detail, data[:end] + data[start:end] + data[end:])
    if op == "zero":
        at, n = where(), rng.randint(4, 64)
        return Mutation(
            seed, source, f"bytes {at}..{at + n} zeroed", data[:at] + bytes(n) + data[at + n :]
        )
    at = where()
    return Mutation(seed, source, f"truncated at byte {at} of {len(data)}", data[:at])


def _header_end(data: bytes) -> int:
    """Where the pixel data start, as far as a search for its tag tells; else the end."""
    found = [data.rfind(tag) for tag in (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")]
    return max(found) if max(found) > 0 else len(data)


def element_headers(data: bytes) -> list[tuple[int, int, int, bool]]:
    """The top-level elements a length can be struck in: ``(start, length at, size, big endian)``.

    Walks the meta group (Explicit VR Little Endian) and, unless it is
    deflated, the data set in its transfer syntax, up to the first element
    of undefined length or the pixel data.
    """
    out: list[tuple[int, int, int, bool]] = []
    syntax = ""
    pos = 132 if data[128:132] == b"DICM" else 0
    explicit, big = True, False
    if pos:
        pos, syntax = _walk(data, pos, True, False, out, meta=True)
    else:
        explicit = False  # no meta: Implicit VR Little Endian (as pydicom guesses for these)
    if syntax == "1.2.840.10008.1.2.1.99":
        return out
    if syntax:
        explicit = syntax != "1.2.840.10008.1.2"
        big = syntax == "1.2.840.10008.1.2.2"
    _walk(data, pos, explicit, big, out, meta=False)
    return out


def _walk(
    data: bytes,
    pos: int,
    explicit: bool,
    big: bool,
    out: list[tuple[int, int, int, bool]],
    meta: bool,
) -> tuple[int, str]:
    """Walk elements from ``pos``; ``(where the walk stopped, the transfer syntax seen)``."""
    order = ">" if big else "<"
    syntax = ""
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from(order + "HH", data, pos)
        if meta and group != 2:
            break
        vr = data[pos + 4 : pos + 6]
        if explicit and vr in (
            b"OB",
            b"OD",
            b"OF",
            b"OL",
            b"OV",
            b"OW",
            b"SQ",
            b"SV",
            b"UC",
            b"UN",
            b"UR",
            b"UT",
            b"UV",
        ):
            at, size = pos + 8, 4
        elif explicit:
            at, size = pos + 6, 2
        else:
            at, size = pos + 4, 4
        if at + size > len(data):
            break
        (length,) = struct.unpack_from(order + ("H" if size == 2 else "I"), data, at)
        out.append((pos, at, size, big))
        if length == 0xFFFFFFFF or (group, elem) == (0x7FE0, 0x0010):
            break
        if (group, elem) == (0x0002, 0x0010):
            syntax = data[at + size : at + size + length].rstrip(b"\x00 ").decode("latin_1")
        pos = at + size + length
    return pos, syntax


def build_mutation(folder: Path, seed: int) -> tuple[Built, Expect]:
    """Write the mutated file of ``seed`` into ``folder``: the case runner's builder."""
    made = mutation(seed)
    path = write(folder, f"{Path(made.source).stem}_{seed}.dcm", made.data)
    return Built((path,)), Expect(listed=None, tree="any", read="either")


def fuzz_request(seed: int) -> dict:
    """The case runner's request for the mutation of ``seed``."""
    return request(f"fuzz-{seed}", "fuzz:build_mutation", seed=seed)
