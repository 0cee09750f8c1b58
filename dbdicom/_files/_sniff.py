"""What the first bytes of a DICOM file look like: :func:`starts_like_dicom`.

One rule for the index (a file without ``DICM`` that starts so is read by
pydicom, as an old ACR-NEMA data set) and for xarray's guess of an engine.
"""

from __future__ import annotations

import struct

__all__ = ["starts_like_dicom"]

# explicit VRs, and those whose length takes 4 bytes after 2 reserved ones
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC "
    b"UI UL UN UR US UT UV".split()
)
_LONG = frozenset(b"OB OD OF OL OV OW SQ UC UN UR UT SV UV".split())
_GROUPS = (0x0002, 0x0008)


def starts_like_dicom(head: bytes) -> bool:
    r"""Whether a file's first bytes (132, or all) are DICOM's, as dbdicom reads them.

    ``DICM`` at byte 128 (a Part-10 file); or a data set without preamble
    and file meta (old ACR-NEMA style), in either byte order: a first
    element of group 0002 or 0008 whose header holds (an explicit VR and
    its length, or an implicit length below 64 KiB), followed, where the
    bytes reach, by an element of a later tag. Raw arrays whose first value
    is 2 or 8 (a label image, an uncompressed Zarr chunk) are not claimed.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> with open(get_testdata_file("OT-PAL-8-face.dcm"), "rb") as f:  # no preamble
    ...     starts_like_dicom(f.read(132))
    True
    >>> starts_like_dicom(bytes(128) + b"DICM"), starts_like_dicom(b"CDF\x01" + bytes(128))
    (True, False)
    >>> starts_like_dicom(bytes([8, 0, 0, 0]) * 33)  # int32 eights
    False
    """
    if head[128:132] == b"DICM":
        return True
    for order in "<>":
        if len(head) >= 8 and struct.unpack_from(order + "H", head)[0] in _GROUPS:
            return _elements_follow(head, order)
    return False


def _elements_follow(head: bytes, order: str) -> bool:
    """Whether ``head`` starts with a sound element header, then (where seen) a later tag.

    Explicit VR and implicit VR are both tried.
    """
    group, element = struct.unpack_from(order + "HH", head)
    ends = []  # where the next element starts, in explicit VR and in implicit VR
    vr = head[4:6]
    if vr in _VRS and vr in _LONG:
        if len(head) >= 12 and head[6:8] == b"\0\0":
            ends.append(12 + struct.unpack_from(order + "L", head, 8)[0])
    elif vr in _VRS:
        ends.append(8 + struct.unpack_from(order + "H", head, 6)[0])
    length = struct.unpack_from(order + "L", head, 4)[0]
    if length <= 0xFFFF:
        ends.append(8 + length)
    for after in ends:
        if after + 4 > len(head):  # the next element lies beyond the bytes read
            if after <= 0xFFFF + 12:
                return True
        elif struct.unpack_from(order + "HH", head, after) > (group, element):
            return True
    return False
