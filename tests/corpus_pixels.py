"""Kinds of bad file whose damage is in the pixels: their description, encoding or stream.

Impossible descriptions and claims larger than the file (on the template MR
file), corrupt RLE, JPEG, JPEG-LS and JPEG 2000 data and broken
encapsulation (on the template written as RLE and on lossless files shipped
with pydicom and pydicom-data), Deflate (valid, corrupt, a bomb) and Big
Endian (valid, and lied about). See ``corpus_header.py`` for the header kinds.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from corpus_base import (
    ITEM,
    PIXEL_DATA,
    PIXELS,
    SEQ_END,
    Built,
    Registry,
    element,
    expected_testdata,
    explicit,
    fragments,
    from_template,
    implicit,
    inserted,
    meta_end,
    patched,
    removed,
    set_syntax,
    set_us,
    set_value,
    shipped_bytes,
    template,
    text,
    uid_of,
    with_fragment,
    write,
)

kind = Registry()

SAMPLES = 0x00280002
PHOTOMETRIC = 0x00280004
NUMBER_OF_FRAMES = 0x00280008
ROWS = 0x00280010
COLUMNS = 0x00280011
BITS_ALLOCATED = 0x00280100
BITS_STORED = 0x00280101
HIGH_BIT = 0x00280102
PIXEL_REPRESENTATION = 0x00280103
EXPLICIT_LE = "1.2.840.10008.1.2.1"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"


def _shipped(
    folder: Path, data: bytes, source: str, truth: str = "", reference: bool = False
) -> Built:
    """The bad file ``data`` made from the shipped file ``source``.

    It must read as the shipped file ``truth`` (``source`` if not given)
    decodes, frames in any order; with ``reference``, as dbdicom reads
    ``source``, frames in order (``source`` and ``truth`` hold the same image).
    """
    expected = expected_testdata(truth or source)
    path = write(folder, "bad.dcm", data)
    return Built((path,), expected, source, reference, uid_of(source))


def _undetectable(folder: Path, data: bytes, source: str) -> Built:
    """Damage no reader can see: any values will do, but not a crash, a hang or a leak."""
    return Built((write(folder, "bad.dcm", data),), None, source, sop_uid=uid_of(source))


def _us(folder: Path, **values: int) -> Built:
    """The template with some US values of group 0028 changed."""
    data = template(folder)
    tags = {"BitsAllocated": BITS_ALLOCATED, "BitsStored": BITS_STORED, "HighBit": HIGH_BIT}
    tags.update({"SamplesPerPixel": SAMPLES, "Rows": ROWS, "Columns": COLUMNS})
    tags["PixelRepresentation"] = PIXEL_REPRESENTATION
    for keyword, number in values.items():
        data = set_us(data, tags[keyword], number)
    return from_template(folder, data)


# ----------------------------------------------------------------------------- descriptions


@kind()
def bits_allocated_0(folder: Path) -> Built:
    """(0028,0100) Bits Allocated 0."""
    return _us(folder, BitsAllocated=0)


@kind()
def bits_allocated_7(folder: Path) -> Built:
    """(0028,0100) Bits Allocated 7 (not a multiple of 8) on 16-bit data."""
    return _us(folder, BitsAllocated=7, BitsStored=7, HighBit=6)


@kind()
def bits_allocated_12(folder: Path) -> Built:
    """(0028,0100) Bits Allocated 12 on 16-bit data (2048 bytes where 1536 are due)."""
    return _us(folder, BitsAllocated=12, BitsStored=12, HighBit=11)


@kind()
def bits_allocated_33(folder: Path) -> Built:
    """(0028,0100) Bits Allocated 33."""
    return _us(folder, BitsAllocated=33)


@kind()
def bits_allocated_64(folder: Path) -> Built:
    """(0028,0100) Bits Allocated 64 on 16-bit data (4 times too little data)."""
    return _us(folder, BitsAllocated=64)


@kind()
def bits_stored_above_allocated(folder: Path) -> Built:
    """(0028,0101) Bits Stored 20 and High Bit 19, with 16 bits allocated."""
    return _us(folder, BitsStored=20, HighBit=19)


@kind()
def bits_stored_0(folder: Path) -> Built:
    """(0028,0101) Bits Stored 0."""
    return _us(folder, BitsStored=0)


@kind()
def one_bit_on_16_bit_data(folder: Path) -> Built:
    """Bits Allocated, Stored 1, High Bit 0 on 16-bit data: 16 times the bits needed."""
    return _us(folder, BitsAllocated=1, BitsStored=1, HighBit=0)


@kind()
def samples_per_pixel_0(folder: Path) -> Built:
    """(0028,0002) Samples per Pixel 0."""
    return _us(folder, SamplesPerPixel=0)


@kind()
def samples_per_pixel_2(folder: Path) -> Built:
    """(0028,0002) Samples per Pixel 2 on MONOCHROME2 data."""
    return _us(folder, SamplesPerPixel=2)


@kind()
def samples_per_pixel_4(folder: Path) -> Built:
    """(0028,0002) Samples per Pixel 4 on MONOCHROME2 data."""
    return _us(folder, SamplesPerPixel=4)


@kind()
def pixel_representation_5(folder: Path) -> Built:
    """(0028,0103) Pixel Representation 5 (0 or 1 are allowed)."""
    return _us(folder, PixelRepresentation=5)


@kind(reason="(0028,0004)")
def photometric_unknown(folder: Path) -> Built:
    """(0028,0004) Photometric Interpretation 'BANANA'."""
    return from_template(folder, set_value(template(folder), PHOTOMETRIC, b"BANANA"))


@kind()
def photometric_rgb_on_grey(folder: Path) -> Built:
    """(0028,0004) 'RGB' with one sample per pixel."""
    return from_template(folder, set_value(template(folder), PHOTOMETRIC, b"RGB "))


@kind()
def rows_0(folder: Path) -> Built:
    """(0028,0010) Rows 0."""
    return _us(folder, Rows=0)


@kind()
def rows_missing(folder: Path) -> Built:
    """No (0028,0010) Rows in an image with 2048 bytes of pixels."""
    return from_template(folder, removed(template(folder), ROWS))


# ----------------------------------------------------------------------------- claims


@kind()
def rows_columns_65535(folder: Path) -> Built:
    """Rows and Columns 65535 (8 GB of pixels claimed) with 2048 bytes of pixel data."""
    return _us(folder, Rows=65535, Columns=65535)


def _frames(folder: Path, value: bytes) -> Built:
    data = template(folder)
    return from_template(folder, inserted(data, ROWS, explicit(NUMBER_OF_FRAMES, b"IS", value)))


@kind()
def frames_1e9(folder: Path) -> Built:
    """(0028,0008) Number of Frames 1,000,000,000 in a file of 4 kB."""
    return _frames(folder, b"1000000000")


@kind()
def frames_2_data_for_1(folder: Path) -> Built:
    """(0028,0008) Number of Frames 2 with the pixels of one frame."""
    return _frames(folder, b"2 ")


@kind()
def frames_0(folder: Path) -> Built:
    """(0028,0008) Number of Frames 0 with the pixels of one frame."""
    return _frames(folder, b"0 ")


@kind(reason="(0028,0008)")
def frames_not_a_number(folder: Path) -> Built:
    """(0028,0008) Number of Frames 'abc'."""
    return _frames(folder, b"abc ")


@kind()
def pixel_data_longer_than_frames(folder: Path) -> Built:
    """(7FE0,0010) holds 4096 bytes (the frame, then other values) for one 32 x 32 frame."""
    extra = (PIXELS[::-1] + 7).astype("<u2").tobytes()
    data = template(folder)
    return from_template(
        folder, set_value(data, PIXEL_DATA, PIXELS.astype("<u2").tobytes() + extra)
    )


@kind(reason="pixel data again", tree="in", read="error")
def pixel_data_twice(folder: Path) -> Built:
    """A second (7FE0,0010) Pixel Data of other values appended after the first."""
    second = explicit(PIXEL_DATA, b"OW", (PIXELS[::-1] + 7).astype("<u2").tobytes())
    return from_template(folder, template(folder) + second)


# ----------------------------------------------------------------------------- RLE


def _rle(folder: Path) -> bytes:
    return template(folder, compression="rle")


def _rle_header(folder: Path, **changes: int) -> Built:
    """The template in RLE with its RLE header changed: ``count`` and ``offset1``."""
    data = _rle(folder)
    _, value, _ = fragments(data).items[1]
    if "count" in changes:
        data = patched(data, value, struct.pack("<I", changes["count"]))
    if "offset1" in changes:
        data = patched(data, value + 8, struct.pack("<I", changes["offset1"]))
    return from_template(folder, data)


@kind(listed=None, tree="in", read="values")
def rle_valid(folder: Path) -> Built:
    """The template in RLE Lossless, intact (the control of the RLE kinds)."""
    return from_template(folder, _rle(folder))


@kind(listed=None)
def rle_segment_count_0(folder: Path) -> Built:
    """An RLE header that says 0 segments."""
    return _rle_header(folder, count=0)


@kind(listed=None)
def rle_segment_count_16(folder: Path) -> Built:
    """An RLE header that says 16 segments (at most 15 fit)."""
    return _rle_header(folder, count=16)


@kind(listed=None)
def rle_segment_count_1(folder: Path) -> Built:
    """An RLE header that says 1 segment where 16-bit data need 2."""
    return _rle_header(folder, count=1)


@kind(listed=None)
def rle_segment_offset_past_fragment(folder: Path) -> Built:
    """The second RLE segment starts at 0x7FFFFFF0, far past its fragment."""
    return _rle_header(folder, offset1=0x7FFFFFF0)


@kind(listed=None)
def rle_segment_offset_inside_header(folder: Path) -> Built:
    """The second RLE segment starts at byte 10, inside the 64-byte RLE header."""
    return _rle_header(folder, offset1=10)


@kind(listed=None)
def rle_fragment_cut(folder: Path) -> Built:
    """The RLE fragment (and its item length) cut to its first half."""
    data = _rle(folder)
    _, value, length = fragments(data).items[1]
    return from_template(folder, with_fragment(data, 1, data[value : value + length // 2]))


def _emri_rle_table(folder: Path, offsets: list[int]) -> Built:
    data = shipped_bytes("emri_small_RLE.dcm")
    start, _, _ = fragments(data).items[0]
    table = implicit(ITEM, struct.pack(f"<{len(offsets)}I", *offsets))
    patched_data = data[:start] + table + data[start + len(table) :]
    return _shipped(folder, patched_data, "emri_small_RLE.dcm", "emri_small.dcm", True)


@kind()
def offset_table_past_end(folder: Path) -> Built:
    """10 RLE frames whose Basic Offset Table points every frame at 0x7FFFFFF0."""
    return _emri_rle_table(folder, [0] + [0x7FFFFFF0] * 9)


@kind()
def offset_table_swapped(folder: Path) -> Built:
    """10 RLE frames whose Basic Offset Table gives frames 0 and 1 each other's offsets."""
    items = fragments(shipped_bytes("emri_small_RLE.dcm")).items
    offsets = [item[0] - items[1][0] for item in items[1:]]
    offsets[0], offsets[1] = offsets[1], offsets[0]
    return _emri_rle_table(folder, offsets)


# ----------------------------------------------------------------------------- encapsulation


def _encapsulated(folder: Path, content: bytes) -> Built:
    """The template in RLE with the items of its pixel data replaced by ``content``."""
    data = _rle(folder)
    frag = fragments(data)
    return from_template(folder, data[: frag.pixel + 12] + content + data[frag.end :])


@kind()
def encapsulated_no_items(folder: Path) -> Built:
    """Encapsulated pixel data with no item at all: the sequence delimiter at once."""
    return _encapsulated(folder, implicit(SEQ_END, b""))


@kind()
def encapsulated_offset_table_only(folder: Path) -> Built:
    """Encapsulated pixel data with an empty offset table and no fragment."""
    return _encapsulated(folder, implicit(ITEM, b"") + implicit(SEQ_END, b""))


@kind()
def encapsulated_no_offset_table(folder: Path) -> Built:
    """Encapsulated pixel data whose first item is the fragment: no offset table."""
    data = _rle(folder)
    start, value, length = fragments(data).items[0]
    return from_template(folder, data[:start] + data[value + length :])


@kind()
def fragment_length_past_end(folder: Path) -> Built:
    """An RLE fragment whose item says 0x7FFFFFF0 bytes."""
    data = _rle(folder)
    start, _, _ = fragments(data).items[1]
    return from_template(folder, patched(data, start + 4, struct.pack("<I", 0x7FFFFFF0)))


@kind()
def fragment_item_tag_wrong(folder: Path) -> Built:
    """An RLE fragment whose item tag reads (0008,0018) instead of (FFFE,E000)."""
    data = _rle(folder)
    start, _, _ = fragments(data).items[1]
    return from_template(folder, patched(data, start, b"\x08\x00\x18\x00"))


@kind()
def cut_in_offset_table(folder: Path) -> Built:
    """10 RLE frames cut inside their 40-byte Basic Offset Table."""
    data = shipped_bytes("emri_small_RLE.dcm")
    _, value, _ = fragments(data).items[0]
    return _shipped(folder, data[: value + 10], "emri_small_RLE.dcm", "emri_small.dcm", True)


@kind()
def cut_in_fragment(folder: Path) -> Built:
    """The template in RLE cut in the middle of its fragment."""
    data = _rle(folder)
    _, value, length = fragments(data).items[1]
    return from_template(folder, data[: value + length // 2])


@kind()
def cut_before_encapsulated_delimiter(folder: Path) -> Built:
    """The template in RLE without the (FFFE,E0DD) delimiter that ends its fragments."""
    data = _rle(folder)
    return from_template(folder, data[: fragments(data).end])


# ----------------------------------------------------------------------------- JPEG family


def _marker(data: bytes, marker: bytes) -> int:
    _, value, length = fragments(data).items[1]
    at = data.find(marker, value, value + length)
    assert at > 0, f"no marker {marker.hex()} in the first fragment"
    return at


def _flip_middle(data: bytes, count: int = 16) -> bytes:
    """``data`` with ``count`` bytes in the middle of its first fragment inverted."""
    _, value, length = fragments(data).items[1]
    at = value + length // 2
    return patched(data, at, bytes(b ^ 0xFF for b in data[at : at + count]))


@kind(listed=None)
def jpeg_frame_header_height(folder: Path) -> Built:
    """JPEG Lossless whose SOF3 frame header says 512 rows where the DICOM header says 1024."""
    data = shipped_bytes("JPEG-LL.dcm")
    at = _marker(data, b"\xff\xc3")
    return _shipped(folder, patched(data, at + 5, struct.pack(">H", 512)), "JPEG-LL.dcm")


@kind(listed=None)
def jpeg_frame_header_destroyed(folder: Path) -> Built:
    """JPEG Lossless whose SOF3 marker is overwritten with zeros."""
    data = shipped_bytes("JPEG-LL.dcm")
    at = _marker(data, b"\xff\xc3")
    return _shipped(folder, patched(data, at, b"\x00\x00"), "JPEG-LL.dcm")


@kind(listed=None)
def jpeg_entropy_data_flipped(folder: Path) -> Built:
    """JPEG Lossless with 16 bytes of its entropy-coded data inverted."""
    return _undetectable(folder, _flip_middle(shipped_bytes("JPEG-LL.dcm")), "JPEG-LL.dcm")


@kind(listed=None)
def jpeg_fragment_cut(folder: Path) -> Built:
    """JPEG Lossless whose last fragment is cut to a quarter (no EOI marker)."""
    data = shipped_bytes("JPEG-LL.dcm")
    _, value, length = fragments(data).items[-1]
    cut = with_fragment(data, len(fragments(data).items) - 1, data[value : value + length // 4])
    return _shipped(folder, cut, "JPEG-LL.dcm")


@kind(listed=None)
def jpeg_fragment_zeros(folder: Path) -> Built:
    """JPEG Lossless whose first fragment is all zeros."""
    data = shipped_bytes("JPEG-LL.dcm")
    _, value, length = fragments(data).items[1]
    return _shipped(folder, patched(data, value, b"\x00" * length), "JPEG-LL.dcm")


@kind(listed=None)
def jpeg_ls_entropy_data_flipped(folder: Path) -> Built:
    """JPEG-LS lossless with 16 bytes of its coded data inverted."""
    data = _flip_middle(shipped_bytes("MR_small_jpeg_ls_lossless.dcm"))
    return _undetectable(folder, data, "MR_small_jpeg_ls_lossless.dcm")


@kind(listed=None)
def j2k_size_wrong(folder: Path) -> Built:
    """JPEG 2000 lossless whose SIZ marker says a width of 32 where the header says 64."""
    data = shipped_bytes("MR_small_jp2klossless.dcm")
    at = _marker(data, b"\xff\x51")
    wrong = patched(data, at + 6, struct.pack(">I", 32))
    return _shipped(folder, wrong, "MR_small_jp2klossless.dcm", "MR_small.dcm")


@kind(listed=None)
def j2k_entropy_data_flipped(folder: Path) -> Built:
    """JPEG 2000 lossless with 16 bytes of its code blocks inverted."""
    data = _flip_middle(shipped_bytes("MR_small_jp2klossless.dcm"))
    return _undetectable(folder, data, "MR_small_jp2klossless.dcm")


@kind(listed=None)
def j2k_codestream_cut(folder: Path) -> Built:
    """JPEG 2000 lossless whose code stream (and its item length) is cut to half."""
    data = shipped_bytes("MR_small_jp2klossless.dcm")
    _, value, length = fragments(data).items[1]
    cut = with_fragment(data, 1, data[value : value + length // 2])
    return _shipped(folder, cut, "MR_small_jp2klossless.dcm", "MR_small.dcm")


@kind()
def syntax_says_native_is_jpeg(folder: Path) -> Built:
    """JPEG Lossless data (encapsulated) in a file whose meta says Explicit VR Little Endian."""
    return _shipped(folder, set_syntax(shipped_bytes("JPEG-LL.dcm"), EXPLICIT_LE), "JPEG-LL.dcm")


@kind(listed=None)
def syntax_says_j2k_is_jpeg(folder: Path) -> Built:
    """JPEG Lossless data in a file whose meta says JPEG 2000 Lossless."""
    data = set_syntax(shipped_bytes("JPEG-LL.dcm"), JPEG_2000_LOSSLESS)
    return _shipped(folder, data, "JPEG-LL.dcm")


# ----------------------------------------------------------------------------- Deflate, Big Endian


def _deflate(body: bytes) -> bytes:
    compress = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compress.compress(body) + compress.flush()


def _deflated(folder: Path) -> tuple[bytes, bytes]:
    """The template's meta group (saying Deflate) and its data set, not yet compressed."""
    data = set_syntax(template(folder), DEFLATED)
    end = meta_end(data)
    return data[:end], data[end:]


@kind(listed=None, tree="in", read="values")
def deflate_valid(folder: Path) -> Built:
    """The template in Deflated Explicit VR Little Endian, intact."""
    meta, body = _deflated(folder)
    return from_template(folder, meta + _deflate(body))


@kind()
def deflate_stream_corrupt(folder: Path) -> Built:
    """Deflated Explicit VR Little Endian whose first block has the reserved block type 3."""
    meta, body = _deflated(folder)
    stream = _deflate(body)
    return from_template(folder, meta + bytes([stream[0] | 0b110]) + stream[1:])


@kind()
def deflate_stream_cut(folder: Path) -> Built:
    """Deflated Explicit VR Little Endian whose stream is cut to half."""
    meta, body = _deflated(folder)
    stream = _deflate(body)
    return from_template(folder, meta + stream[: len(stream) // 2])


BOMB_BYTES = 3 << 30  # inflated size of the bomb's private element: 3 GiB


# zlib inflates 3 GiB of zeros in ~7 s on a slow machine, once to index and once to read
@kind(seconds=180, listed=None, tree="in", read="values")
def deflate_bomb(folder: Path) -> Built:
    """A 3 MB Deflate file whose data set inflates to 3 GiB (a private OB of zeros).

    A valid file: it opens and reads under the worker's 2 GiB cap, because
    the data set is inflated in chunks and only the pixel data are kept.
    """
    meta, body = _deflated(folder)
    pixels = element(body, PIXEL_DATA, 0).start
    bomb = explicit(0x7FD10010, b"LO", text("BOMB")) + explicit(0x7FD11010, b"OB", b"", BOMB_BYTES)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = head.compress(body[:pixels] + bomb) + head.flush(zlib.Z_FULL_FLUSH)
    chunk = 16 << 20
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = zeros.compress(bytes(chunk)) + zeros.flush(zlib.Z_FULL_FLUSH)  # no back-references
    tail = _deflate(body[pixels:])
    return from_template(folder, meta + stream + block * (BOMB_BYTES // chunk) + tail)


@kind(listed=None, tree="in", read="values")
def big_endian_valid(folder: Path) -> Built:
    """pydicom's MR_small_bigendian.dcm: Explicit VR Big Endian, intact."""
    data = shipped_bytes("MR_small_bigendian.dcm")
    return _shipped(folder, data, "MR_small_bigendian.dcm", "MR_small.dcm")


@kind(listed=None, tree="in", read="values")
def big_endian_multiframe(folder: Path) -> Built:
    """pydicom-data's emri_small_big_endian.dcm: 10 frames in Explicit VR Big Endian."""
    data = shipped_bytes("emri_small_big_endian.dcm")
    return _shipped(folder, data, "emri_small_big_endian.dcm", "emri_small.dcm", True)


@kind()
def syntax_says_le_is_be(folder: Path) -> Built:
    """A Big Endian data set whose meta says Explicit VR Little Endian."""
    data = set_syntax(shipped_bytes("MR_small_bigendian.dcm"), EXPLICIT_LE)
    return _shipped(folder, data, "MR_small_bigendian.dcm", "MR_small.dcm")


@kind()
def syntax_says_be_is_le(folder: Path) -> Built:
    """A Little Endian data set whose meta says Explicit VR Big Endian."""
    return _shipped(folder, set_syntax(shipped_bytes("MR_small.dcm"), BIG_ENDIAN), "MR_small.dcm")
