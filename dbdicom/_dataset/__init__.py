"""The dataset layer: what a new or derived instance holds.

A write builds one :class:`FramePlan` per frame (:class:`PlanBuilder`:
every rule of a derived or new header lives there) and serialises it as
bytes (:func:`as_bytes`, the fast path) or through pydicom
(:func:`as_dataset`, the fallback). The pixel encoding of a write
(:class:`Encoding`) is chosen and applied here too.

Knows nothing of records, the index, the journal or the folder layout.

>>> from dbdicom._dataset import as_dataset, example_plan
>>> as_dataset(example_plan()).ImageType[:2]
['DERIVED', 'SECONDARY']
"""

from ._base import Base, Template, read_source
from ._classes import NO_INTERCEPT, RT_DOSE
from ._elements import DROP, REMOVE, TYPE2_PARENTS, holds_text, non_ascii
from ._encoding import (
    Encoding,
    check_dtype,
    choose_encoding,
    common_step,
    computed_with_range,
    encode,
    inexact_integers,
    pixel_values,
    value_range,
)
from ._example import example_plan
from ._placeholders import new_file_placeholders
from ._plan import FramePlan, PlanBuilder
from ._serialise import (
    Converted,
    RawFrame,
    as_bytes,
    as_dataset,
    file_head,
    pixel_format,
    set_elements,
)
from ._source import Source, dataset_source
from ._switch import (
    UTF8_NAME,
    UnkeptBytesError,
    naming,
    switch_charset,
    unknown_vr,
)

__all__ = [
    "DROP",
    "UTF8_NAME",
    "UnkeptBytesError",
    "naming",
    "new_file_placeholders",
    "switch_charset",
    "unknown_vr",
    "REMOVE",
    "NO_INTERCEPT",
    "RT_DOSE",
    "Base",
    "Converted",
    "Encoding",
    "FramePlan",
    "PlanBuilder",
    "RawFrame",
    "Source",
    "Template",
    "as_bytes",
    "as_dataset",
    "check_dtype",
    "choose_encoding",
    "common_step",
    "computed_with_range",
    "dataset_source",
    "encode",
    "inexact_integers",
    "example_plan",
    "file_head",
    "TYPE2_PARENTS",
    "holds_text",
    "non_ascii",
    "pixel_format",
    "pixel_values",
    "read_source",
    "set_elements",
    "value_range",
]
