"""Kinds of bad file whose damage is in the header: cuts, lengths and VR codes.

Each function writes one bad file into ``folder`` and returns a
:class:`corpus_base.Built`; its decorator states what the user must see (see
:class:`corpus_base.Expect`). Most start from a valid MR file of the
template (:func:`corpus_base.template`), whose frame is
:data:`corpus_base.PIXELS`.
"""

from __future__ import annotations

from pathlib import Path

from bad_files import (
    write_truncated_header,
    write_truncated_pixels,
)
from corpus_base import (
    INSTANCE_NUMBER,
    ITEM,
    ITEM_END,
    MANUFACTURER,
    PATIENT_NAME,
    PIXEL_DATA,
    PIXEL_SPACING,
    POSITION,
    ROWS,
    SAMPLES,
    SEQ_END,
    SERIES_UID,
    SOFTWARE,
    SOP_UID,
    TRANSFER_SYNTAX,
    UNDEFINED,
    WINDOW_WIDTH,
    Built,
    Registry,
    element,
    elements,
    expected_template,
    explicit,
    from_template,
    implicit,
    inserted,
    meta_element,
    meta_end,
    patched,
    replaced,
    set_length,
    set_value,
    template,
    template_uid,
    text,
    write,
)

kind = Registry()


def _cut(folder: Path, at: int) -> Built:
    return from_template(folder, template(folder)[:at])


# ----------------------------------------------------------------------------- truncation


@kind(reason="", tree="out")
def cut_in_preamble(folder: Path) -> Built:
    """The first 64 bytes of a valid file: inside the 128-byte preamble."""
    return _cut(folder, 64)


@kind(tree="out")
def cut_after_dicm(folder: Path) -> Built:
    """The preamble and the 'DICM' marker, nothing else."""
    return _cut(folder, 132)


@kind(tree="out")
def cut_in_meta_group(folder: Path) -> Built:
    """Cut inside the value of the Transfer Syntax UID of the meta group."""
    data = template(folder)
    return from_template(folder, data[: meta_element(data, TRANSFER_SYNTAX).value + 5])


@kind(tree="out")
def cut_at_meta_end(folder: Path) -> Built:
    """The file meta group, whole, and no data set."""
    data = template(folder)
    return from_template(folder, data[: meta_end(data)])


@kind(reason="truncated")
def cut_at_element_before_sop_uid(folder: Path) -> Built:
    """Cut at the element boundary before (0008,0018) SOP Instance UID: no UID at all."""
    data = template(folder)
    return from_template(folder, data[: element(data, SOP_UID).start])


@kind(reason="truncated")
def cut_at_element_before_series_uid(folder: Path) -> Built:
    """Cut at the element boundary before (0020,000E) Series Instance UID."""
    data = template(folder)
    return from_template(folder, data[: element(data, SERIES_UID).start])


@kind()
def cut_at_element_after_uids(folder: Path) -> Built:
    """Cut at the element boundary before (0028,0002): every UID there, no image."""
    data = template(folder)
    return from_template(folder, data[: element(data, SAMPLES).start])


@kind()
def cut_at_element_before_pixels(folder: Path) -> Built:
    """Cut at the boundary before (7FE0,0010): a whole header that describes an image, no pixels."""
    data = template(folder)
    return from_template(folder, data[: element(data, PIXEL_DATA).start])


@kind(tree="out")
def cut_inside_patient_name(folder: Path) -> Built:
    """Cut inside the value of (0010,0010) Patient's Name, before the UIDs of the study."""
    data = template(folder)
    return from_template(folder, data[: element(data, PATIENT_NAME).value + 3])


@kind(tree="out")
def cut_inside_series_uid(folder: Path) -> Built:
    """Cut inside the value of (0020,000E) Series Instance UID."""
    data = template(folder)
    return from_template(folder, data[: element(data, SERIES_UID).value + 10])


@kind(tree="out")
def cut_inside_pixel_spacing(folder: Path) -> Built:
    """Cut inside the value of (0028,0030) Pixel Spacing, after every UID."""
    data = template(folder)
    return from_template(folder, data[: element(data, PIXEL_SPACING).value + 3])


@kind(tree="out")
def cut_inside_element_header(folder: Path) -> Built:
    """Cut 5 bytes into the header of (0020,0013) Instance Number (in its VR)."""
    data = template(folder)
    return from_template(folder, data[: element(data, INSTANCE_NUMBER).start + 5])


@kind()
def cut_inside_pixel_header(folder: Path) -> Built:
    """Cut 6 bytes into the header of (7FE0,0010) Pixel Data: no length."""
    data = template(folder)
    return from_template(folder, data[: element(data, PIXEL_DATA).start + 6])


@kind(reason="pixel data truncated", read="error")
def cut_at_pixel_value(folder: Path) -> Built:
    """Cut right after the header of (7FE0,0010) Pixel Data: none of its 2048 bytes."""
    data = template(folder)
    return from_template(folder, data[: element(data, PIXEL_DATA).value])


@kind(reason="pixel data truncated", read="error")
def cut_one_byte_short(folder: Path) -> Built:
    """A valid file without its last byte (half a pixel missing)."""
    data = template(folder)
    return from_template(folder, data[:-1])


def _with_sequence(folder: Path) -> bytes:
    """A template file with a Source Image Sequence of two items (undefined lengths)."""
    data = template(folder)
    item = explicit(0x00081150, b"UI", b"1.2.840.10008.5.1.4.1.1.4\x00") + explicit(
        0x00081155, b"UI", b"1.2.3.4.5.6.7.8\x00"
    )
    seq = (
        explicit(0x00082112, b"SQ", b"", UNDEFINED)
        + (implicit(ITEM, b"", UNDEFINED) + item + implicit(ITEM_END, b"")) * 2
        + implicit(SEQ_END, b"")
    )
    return inserted(data, 0x00100010, seq)


@kind()
def cut_in_sequence_item(folder: Path) -> Built:
    """Cut inside the second item of an undefined-length sequence, before the UIDs."""
    data = _with_sequence(folder)
    at = data.find(b"1.2.3.4.5.6.7.8", data.find(b"1.2.3.4.5.6.7.8") + 1)
    return from_template(folder, data[: at + 4])


@kind()
def cut_before_sequence_delimiter(folder: Path) -> Built:
    """Cut right before the (FFFE,E0DD) delimiter of an undefined-length sequence."""
    data = _with_sequence(folder)
    return from_template(folder, data[: data.find(b"\xfe\xff\xdd\xe0")])


def _cuts(folder: Path, where: str) -> Built:
    """A template file cut at each of its top-level elements before the pixels.

    One file each, each from a template of its own (UIDs of its own: cuts of
    one file would be listed as duplicates of each other).
    """
    paths, uids = [], []
    for k in range(len(elements(template(folder)))):
        data = template(folder)  # UIDs of other lengths: the elements of this one
        e = elements(data)[k]
        if e.tag == PIXEL_DATA:
            break
        if where == "inside" and e.length < 2:
            continue
        at = e.start if where == "boundary" else e.value + e.length // 2
        paths.append(write(folder, f"cut_{k:02d}_{at:05d}.dcm", data[:at]))
        uids.append(template_uid())
    return Built(tuple(paths), expected_template(), sop_uid=tuple(uids))


@kind(reason="truncated", tree="out")
def cut_inside_every_element(folder: Path) -> Built:
    """The template cut in the middle of the value of each element before the pixels (67 files)."""
    return _cuts(folder, "inside")


@kind()
def cut_at_every_element_boundary(folder: Path) -> Built:
    """The template cut at the start of each element before the pixels (69 files)."""
    return _cuts(folder, "boundary")


@kind(reason="truncated", tree="out")
def truncated_header(folder: Path) -> Built:
    """A valid file cut halfway to its pixel data (bad_files.write_truncated_header)."""
    return Built((write_truncated_header(folder),), expected_template())


@kind(reason="pixel data truncated", tree="in", read="error")
def truncated_pixels(folder: Path) -> Built:
    """A valid file cut halfway through its pixel data (bad_files.write_truncated_pixels)."""
    return Built((write_truncated_pixels(folder),), expected_template())


# ----------------------------------------------------------------------------- lengths


@kind(listed=None, tree="in", read="values")
def odd_length(folder: Path) -> Built:
    """(0008,0070) Manufacturer of odd length 7 ('dbdicom'): against the rules, but whole."""
    data = template(folder)
    return from_template(folder, set_value(data, MANUFACTURER, b"dbdicom"))


@kind()
def length_one_too_long(folder: Path) -> Built:
    """(0008,0070) Manufacturer says 9 bytes, holds 8: every element after it is shifted."""
    data = template(folder)
    return from_template(folder, set_length(data, MANUFACTURER, 9))


@kind(tree="out")
def short_length_past_end(folder: Path) -> Built:
    """(0028,1051) Window Width, the last element before the pixels, says 65535 bytes."""
    data = template(folder)
    return from_template(folder, set_length(data, WINDOW_WIDTH, 0xFFFF))


@kind(reason="truncated", tree="out")
def long_length_past_end(folder: Path) -> Built:
    """A private OB element of 1 GB in a file of 4 kB (as test_bad_values' huge_length)."""
    data = template(folder)
    huge = explicit(0x7FD10010, b"LO", text("HUGE")) + explicit(
        0x7FD11010, b"OB", b"\x00" * 8, 1 << 30
    )
    return from_template(folder, inserted(data, PIXEL_DATA, huge))


@kind()
def undefined_length_on_text(folder: Path) -> Built:
    """A private UT element of length 0xFFFFFFFF, followed by its text."""
    data = template(folder)
    bad = explicit(0x00290010, b"LO", text("ACME")) + explicit(
        0x00291001, b"UT", text("not a sequence"), UNDEFINED
    )
    return from_template(folder, inserted(data, PIXEL_DATA, bad))


@kind()
def undefined_length_on_private_ob(folder: Path) -> Built:
    """A private OB element of length 0xFFFFFFFF whose value is not items."""
    data = template(folder)
    bad = explicit(0x00290010, b"LO", text("ACME")) + explicit(
        0x00291002, b"OB", b"plain bytes, no items", UNDEFINED
    )
    return from_template(folder, inserted(data, PIXEL_DATA, bad))


@kind(reason="pixel data", read="error")
def undefined_length_native_pixels(folder: Path) -> Built:
    """(7FE0,0010) OW of length 0xFFFFFFFF in Explicit VR Little Endian (not encapsulated)."""
    data = template(folder)
    return from_template(folder, set_length(data, PIXEL_DATA, UNDEFINED))


def _defined_sequence(item_length: int, seq_length: int) -> bytes:
    """A sequence of defined length ``seq_length`` holding one item that says ``item_length``."""
    content = explicit(0x00081155, b"UI", b"1.2.3.4.5.6.7.8\x00")
    item = implicit(ITEM, content, item_length)
    return explicit(0x00082112, b"SQ", item, seq_length)


@kind()
def item_longer_than_sequence(folder: Path) -> Built:
    """A defined-length sequence whose item says it is 100 bytes longer than the sequence."""
    data = template(folder)
    seq = _defined_sequence(24 + 100, 32)
    return from_template(folder, inserted(data, PATIENT_NAME, seq))


@kind(tree="out")
def sequence_length_past_end(folder: Path) -> Built:
    """A defined-length sequence that says 0x7FFFFFF0 bytes, before the UIDs of the study."""
    data = template(folder)
    return from_template(folder, inserted(data, PATIENT_NAME, _defined_sequence(24, 0x7FFFFFF0)))


@kind(read="error")
def pixel_length_zero(folder: Path) -> Built:
    """(7FE0,0010) Pixel Data of length 0 in an image of 32 x 32."""
    data = template(folder)
    return from_template(folder, set_value(data, PIXEL_DATA, b""))


@kind(read="error")
def pixel_length_half(folder: Path) -> Built:
    """(7FE0,0010) says 1024 bytes of the 2048 the image needs; the rest follows as junk."""
    data = template(folder)
    return from_template(folder, set_length(data, PIXEL_DATA, 1024))


@kind()
def item_at_top_level(folder: Path) -> Built:
    """An item tag (FFFE,E000) among the top-level elements, before the UIDs of the study."""
    data = template(folder)
    return from_template(folder, inserted(data, PATIENT_NAME, implicit(ITEM, b"\x00" * 8)))


# ----------------------------------------------------------------------------- VR codes


@kind(reason="(0020,0013)", tree="in", read="values")
def vr_unknown_on_indexed_tag(folder: Path) -> Built:
    """(0020,0013) Instance Number with the VR code 'WS', which does not exist."""
    data = template(folder)
    e = element(data, INSTANCE_NUMBER)
    return from_template(folder, patched(data, e.start + 4, b"WS"))


@kind(listed=None, tree="in", read="values")
def vr_unknown_elsewhere(folder: Path) -> Built:
    """(0018,1020) Software Versions, a tag no one reads, with the VR code 'ZZ'."""
    data = template(folder)
    e = element(data, SOFTWARE)
    return from_template(folder, patched(data, e.start + 4, b"ZZ"))


@kind(reason="(0028,0010)")
def vr_lower_case(folder: Path) -> Built:
    """(0028,0010) Rows with the VR code 'us'."""
    data = template(folder)
    e = element(data, ROWS)
    return from_template(folder, patched(data, e.start + 4, b"us"))


@kind(reason="(0020,0032)", tree="in", read="values")
def vr_ob_on_position(folder: Path) -> Built:
    """(0020,0032) Image Position (Patient) stored as OB: its text as bytes."""
    data = template(folder)
    e = element(data, POSITION)
    value = data[e.value : e.end]
    return from_template(folder, replaced(data, POSITION, explicit(POSITION, b"OB", value)))


@kind(listed=None, tree="in", read="values")
def vr_un_on_rows(folder: Path) -> Built:
    """(0028,0010) Rows stored as UN (explicit VR, 4-byte length): valid, read by the dictionary."""
    data = template(folder)
    e = element(data, ROWS)
    return from_template(folder, replaced(data, ROWS, explicit(ROWS, b"UN", data[e.value : e.end])))


def _un_sequence(content: bytes) -> bytes:
    """A private sequence stored as UN of undefined length, one item holding ``content``."""
    creator = explicit(0x00290010, b"LO", text("ACME"))
    seq = explicit(0x00291010, b"UN", b"", UNDEFINED)
    body = implicit(ITEM, content, UNDEFINED) + implicit(ITEM_END, b"") + implicit(SEQ_END, b"")
    return creator + seq + body


@kind(listed=None, tree="in", read="values")
def un_sequence_implicit(folder: Path) -> Built:
    """A private UN of undefined length holding an implicit VR item, as PS3.5 6.2.2 says."""
    data = template(folder)
    content = implicit(0x00291011, b"abcd")
    return from_template(folder, inserted(data, PIXEL_DATA, _un_sequence(content)))


@kind(listed=None)
def un_sequence_explicit(folder: Path) -> Built:
    """A private UN of undefined length whose item is explicit VR (it must be implicit)."""
    data = template(folder)
    content = explicit(0x00291011, b"LO", b"abcd")
    return from_template(folder, inserted(data, PIXEL_DATA, _un_sequence(content)))
