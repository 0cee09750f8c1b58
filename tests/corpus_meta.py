"""Kinds of bad file whose damage is in the meta group, the transfer syntax or the tags.

No meta group, a wrong group length, a transfer syntax that is missing,
unknown or lies, deep nesting, duplicated and misplaced tags, names in a
character set they are not in, missing UIDs, private creators that clash,
values that are not numbers. See ``corpus_header.py`` for how a kind is
declared; the cuts, lengths and VR codes are there.
"""

from __future__ import annotations

import struct
from pathlib import Path

from bad_files import (
    write_missing_patient_id,
    write_missing_series_uid,
)
from corpus_base import (
    CHARSET,
    COLUMNS,
    INSTANCE_NUMBER,
    PATIENT_NAME,
    PIXEL_DATA,
    ROWS,
    SERIES_UID,
    SOP_UID,
    TRANSFER_SYNTAX,
    Built,
    Registry,
    deep_sequence,
    element,
    expected_template,
    explicit,
    from_template,
    inserted,
    meta_elements,
    meta_end,
    patched,
    removed,
    set_value,
    template,
    text,
    uid,
    with_meta,
    write,
)
from pydicom.uid import ImplicitVRLittleEndian

kind = Registry()


# ----------------------------------------------------------------------------- meta group


def _data_set(folder: Path, syntax: str = ImplicitVRLittleEndian) -> bytes:
    data = template(folder, syntax)
    return data[meta_end(data) :]


@kind(listed=None, tree="in", read="values")
def no_preamble_no_meta(folder: Path) -> Built:
    """An Implicit VR Little Endian data set alone: no preamble, no 'DICM', no meta (ACR-NEMA)."""
    return from_template(folder, _data_set(folder))


@kind(listed=None, tree="in", read="values")
def explicit_no_meta(folder: Path) -> Built:
    """An Explicit VR Little Endian data set alone: no preamble, no 'DICM', no meta."""
    data = template(folder)
    return from_template(folder, data[meta_end(data) :])


@kind()
def no_dicm_marker(folder: Path) -> Built:
    """A valid file whose 'DICM' marker reads 'XXXX'."""
    data = template(folder)
    return from_template(folder, patched(data, 128, b"XXXX"))


@kind(listed=None, tree="in", read="values")
def dicm_without_meta_group(folder: Path) -> Built:
    """Preamble and 'DICM', then at once an Explicit VR data set: no meta group."""
    data = template(folder)
    return from_template(folder, data[:132] + data[meta_end(data) :])


def _meta_length(folder: Path, change: int) -> Built:
    data = template(folder)
    (length,) = struct.unpack_from("<I", data, 140)
    return from_template(folder, patched(data, 140, struct.pack("<I", length + change)))


@kind(listed=None)
def meta_length_short(folder: Path) -> Built:
    """(0002,0000) File Meta Information Group Length 20 bytes short of the group."""
    return _meta_length(folder, -20)


@kind(listed=None)
def meta_length_long(folder: Path) -> Built:
    """(0002,0000) File Meta Information Group Length 40 bytes past the group."""
    return _meta_length(folder, 40)


@kind(listed=None, tree="in", read="values")
def meta_length_missing(folder: Path) -> Built:
    """A meta group without its (0002,0000) group length (pydicom reads such files)."""
    data = template(folder)
    return from_template(
        folder, data[:132] + b"".join(meta_elements(data)) + data[meta_end(data) :]
    )


# ----------------------------------------------------------------------------- transfer syntax


def _syntax(folder: Path, data: bytes, syntax: str | None) -> Built:
    meta = [m for m in meta_elements(data) if m[:4] != b"\x02\x00\x10\x00"]
    if syntax is not None:
        meta.insert(2, explicit(TRANSFER_SYNTAX, b"UI", uid(syntax)))
    return from_template(folder, with_meta(data, meta))


@kind(listed=None, tree="in", read="values")
def syntax_missing(folder: Path) -> Built:
    """A meta group without (0002,0010) Transfer Syntax UID (the data: Explicit VR LE)."""
    return _syntax(folder, template(folder), None)


@kind()
def syntax_unknown(folder: Path) -> Built:
    """(0002,0010) Transfer Syntax UID '1.2.3.4.5', which names nothing."""
    return _syntax(folder, template(folder), "1.2.3.4.5")


@kind()
def syntax_says_explicit_is_implicit(folder: Path) -> Built:
    """The meta says Explicit VR Little Endian; the data set is Implicit VR."""
    return _syntax(folder, template(folder, ImplicitVRLittleEndian), "1.2.840.10008.1.2.1")


@kind()
def syntax_says_implicit_is_explicit(folder: Path) -> Built:
    """The meta says Implicit VR Little Endian; the data set is Explicit VR."""
    return _syntax(folder, template(folder), "1.2.840.10008.1.2")


@kind()
def syntax_says_rle_is_native(folder: Path) -> Built:
    """The meta says RLE Lossless; the pixel data are native (a defined length)."""
    return _syntax(folder, template(folder), "1.2.840.10008.1.2.5")


# ----------------------------------------------------------------------------- nesting, tags


@kind(reason="nested too deep")
def nested_2000_deep(folder: Path) -> Built:
    """A private sequence nested 2,000 deep before the pixels (as test_bad_values' deep.dcm)."""
    data = template(folder)
    return from_template(folder, inserted(data, PIXEL_DATA, deep_sequence(2000)))


@kind(reason="nested too deep")
def nested_100000_deep(folder: Path) -> Built:
    """A private sequence nested 100,000 deep (2.4 MB of openings) before the pixels."""
    data = template(folder)
    return from_template(folder, inserted(data, PIXEL_DATA, deep_sequence(100_000)))


@kind(listed=None, tree="in", read="values")
def nested_500_deep(folder: Path) -> Built:
    """A private sequence nested 500 deep: deep, but within what a reader must handle."""
    data = template(folder)
    return from_template(folder, inserted(data, PIXEL_DATA, deep_sequence(500)))


@kind(reason="(0020,000E)")
def duplicated_series_uid(folder: Path) -> Built:
    """(0020,000E) Series Instance UID twice, with two different values."""
    data = template(folder)
    e = element(data, SERIES_UID)
    other = explicit(SERIES_UID, b"UI", b"1.2.826.0.1.3680043.8.498.1\x00")
    return from_template(folder, data[: e.end] + other + data[e.end :])


@kind(listed=None, read="values")
def duplicated_rows_same_value(folder: Path) -> Built:
    """(0028,0010) Rows twice, both 32."""
    data = template(folder)
    e = element(data, ROWS)
    return from_template(folder, data[: e.end] + data[e.start : e.end] + data[e.end :])


@kind()
def duplicated_rows_other_value(folder: Path) -> Built:
    """(0028,0010) Rows twice: 32, then 16."""
    data = template(folder)
    e = element(data, ROWS)
    return from_template(folder, data[: e.end] + explicit(ROWS, b"US", b"\x10\x00") + data[e.end :])


@kind(listed=None, tree="in", read="values")
def tags_out_of_order(folder: Path) -> Built:
    """(0028,0011) Columns before (0028,0010) Rows, and Patient ID before Patient's Name."""
    data = template(folder)
    for first, second in ((ROWS, COLUMNS), (PATIENT_NAME, 0x00100020)):
        a, b = element(data, first), element(data, second)
        data = data[: a.start] + data[b.start : b.end] + data[a.start : a.end] + data[b.end :]
    return from_template(folder, data)


@kind(reason="(0020,000E)", tree="in", read="values")
def series_uid_after_pixels(folder: Path) -> Built:
    """(0020,000E) Series Instance UID moved after the Pixel Data."""
    data = template(folder)
    e = element(data, SERIES_UID)
    moved = data[e.start : e.end]
    return from_template(folder, removed(data, SERIES_UID) + moved)


# ----------------------------------------------------------------------------- names, UIDs


def _name(folder: Path, charset: bytes | None, name: bytes) -> Built:
    data = template(folder)
    if charset is None:
        data = removed(data, CHARSET)
    else:
        data = set_value(data, CHARSET, charset)
    value = name + b" " * (len(name) % 2)
    return from_template(folder, set_value(data, PATIENT_NAME, value))


@kind(reason="(0010,0010)", tree="in", read="values")
def non_ascii_name_without_charset(folder: Path) -> Built:
    """'Müller^Jürgen' as UTF-8 bytes, and no (0008,0005) Specific Character Set."""
    return _name(folder, None, "Müller^Jürgen".encode())


@kind(reason="(0010,0010)", tree="in", read="values")
def invalid_utf8_name(folder: Path) -> Built:
    """Specific Character Set 'ISO_IR 192' (UTF-8), Patient's Name bytes ff fe that are not."""
    return _name(folder, b"ISO_IR 192", b"\xff\xfeBob")


@kind(reason="(0008,0005)", tree="in", read="values")
def unknown_charset(folder: Path) -> Built:
    """(0008,0005) Specific Character Set 'ISO_IR 999', which names nothing."""
    return _name(folder, b"ISO_IR 999", "Müller".encode("latin_1"))


@kind(reason="placed under 'anonymous-", tree="in", read="values")
def missing_patient_id(folder: Path) -> Built:
    """No (0010,0020) Patient ID (bad_files.write_missing_patient_id)."""
    return Built(tuple(write_missing_patient_id(folder)), expected_template())


@kind(reason="(0020,000E) 'Series Instance UID'", tree="in", read="values")
def missing_series_uid(folder: Path) -> Built:
    """No (0020,000E) Series Instance UID (bad_files.write_missing_series_uid)."""
    return Built(tuple(write_missing_series_uid(folder)), expected_template())


@kind(reason="(0008,0018) 'SOP Instance UID'", tree="in", read="values")
def missing_sop_uid(folder: Path) -> Built:
    """No (0008,0018) SOP Instance UID in the data set (the meta group still has one)."""
    data = removed(template(folder), SOP_UID)
    return Built((write(folder, "bad.dcm", data),), expected_template())


@kind(listed=None, tree="in", read="values")
def private_creator_clash(folder: Path) -> Built:
    """Two blocks of group 0029 reserved by the same creator, their elements of other VRs."""
    data = template(folder)
    private = (
        explicit(0x00290010, b"LO", text("ACME 1"))
        + explicit(0x00290011, b"LO", text("ACME 1"))
        + explicit(0x00291001, b"LO", text("first"))
        + explicit(0x00291101, b"US", b"\x07\x00")
    )
    return from_template(folder, inserted(data, PIXEL_DATA, private))


@kind(listed=None, tree="in", read="values")
def private_without_creator(folder: Path) -> Built:
    """A private element (0029,1001) whose block has no creator (0029,0010)."""
    data = template(folder)
    return from_template(
        folder, inserted(data, PIXEL_DATA, explicit(0x00291001, b"LO", text("orphan")))
    )


@kind(reason="is not a number", tree="in", read="values")
def instance_number_not_a_number(folder: Path) -> Built:
    """(0020,0013) Instance Number '1A' (as test_bad_values' is_1A.dcm)."""
    data = template(folder)
    return from_template(folder, set_value(data, INSTANCE_NUMBER, b"1A"))


@kind(reason="is not a number", tree="in", read="values")
def slice_thickness_not_a_number(folder: Path) -> Built:
    """(0018,0050) Slice Thickness '5A  ' (as test_bad_values' ds_5A.dcm)."""
    data = template(folder)
    return from_template(folder, set_value(data, 0x00180050, b"5A  "))
