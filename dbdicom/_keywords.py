"""DICOM keywords and tag numbers, repeating groups included.

pydicom's :func:`~pydicom.datadict.keyword_for_tag` names every group of a
repeating group by one keyword ((6000,0010) and (6002,0010) are both
``OverlayRows``), while :func:`~pydicom.datadict.tag_for_keyword` knows no
repeating-group keyword at all. dbdicom needs one name per tag and back:
a repeating-group keyword is the tag of its first group ((6000,0010) for
``OverlayRows``, (5000,0005) for ``CurveDimensions``, as pydicom's
``overlay_array(0x6000)`` counts), and the other groups are named by their
number, ``"(6002,0010)"``.
"""

from __future__ import annotations

import functools

from pydicom._dicom_dict import RepeatersDictionary
from pydicom.datadict import keyword_dict
from pydicom.datadict import keyword_for_tag as _pydicom_keyword
from pydicom.datadict import tag_for_keyword as _pydicom_tag

__all__ = ["KEYWORDS", "keyword_for_tag", "tag_for_keyword"]

#: each repeating-group keyword and the tag of its first group (its mask's x as 0)
_REPEATERS: dict[str, int] = {
    entry[4]: int(mask.replace("x", "0"), 16)
    for mask, entry in RepeatersDictionary.items()
    if entry[4]
}
#: every keyword dbdicom reads and writes (for suggestions)
KEYWORDS: tuple[str, ...] = (*keyword_dict, *_REPEATERS)


def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a DICOM keyword (the first group of a repeating one), or None.

    Examples
    --------
    >>> hex(tag_for_keyword("Rows")), hex(tag_for_keyword("OverlayRows"))
    ('0x280010', '0x60000010')
    >>> tag_for_keyword("Rowz") is None
    True
    """
    tag = _pydicom_tag(keyword)
    return tag if tag is not None else _REPEATERS.get(keyword)


@functools.lru_cache(maxsize=4096)
def keyword_for_tag(tag: int) -> str:
    """The keyword of a tag; '' for private, unknown and later groups of repeating tags.

    Examples
    --------
    >>> keyword_for_tag(0x00280010), keyword_for_tag(0x60000010), keyword_for_tag(0x60020010)
    ('Rows', 'OverlayRows', '')
    """
    keyword = str(_pydicom_keyword(tag))
    if keyword in _REPEATERS and _REPEATERS[keyword] != tag:
        return ""  # named by number: one name, one tag
    return keyword
