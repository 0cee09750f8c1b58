"""The files layer: one file's header values and (later) one frame's pixels.

Knows nothing of the index or the records above it.
"""

from __future__ import annotations

from .._checks import SCALES, scale_problem
from ._claims import format_problem, groups_problem, image_problem, repeat_problem
from ._codecs import decode_stream_pydicom_cannot
from ._codes import denied, error_code, refused, wrong_credentials
from ._colour import PALETTE, palette_bits, palette_rgb
from ._decode import undecodable_hint
from ._fragments import pad_last_fragment
from ._header import Header, NeedsPydicom, NotDicomError, read_header, values_of_elements
from ._modality import look_up, modality_lut_bits, modality_table
from ._objects import fetch_object, heads_in_batches, object_headers
from ._pixels import (
    FORMAT_KEYWORDS,
    FORMAT_TAGS,
    PixelFormat,
    native_frames,
    pixel_format,
    read_frames,
    read_frames_into,
)
from ._places import NATIVE, frame_places
from ._private import creators_of, private_entry
from ._pydicom import (
    FRAME_ALIASES,
    frame_values,
    frame_values_of,
    grid_frame_values,
    read_any_header,
    read_dataset,
    read_with_pydicom,
    undecodable_as_bytes,
)
from ._raw import (
    Layouts,
    dataset_bytes,
    elements,
    encode_element,
    file_header,
    file_meta_bytes,
    header_of,
    merge,
)
from ._remote import (
    BACKENDS,
    HEAD,
    RemoteFile,
    Store,
    local_copy,
    remote_header,
)
from ._remote_frames import read_remote_frames
from ._sniff import starts_like_dicom
from ._upload import WRITABLE, listed_keys, upload_folder, writable_store
from ._urls import has_scheme, is_url, is_zip_path, redact, split_userinfo
from ._values import (
    WHOLE_TEXT_VRS,
    decode_value,
    encodings_for,
    one_value,
    several_values,
    to_python,
)
from ._versions import path_version, version
from ._walker import MARKER_END, MODALITY_LUT, NO_MARKER

__all__ = [
    "decode_stream_pydicom_cannot",
    "undecodable_hint",
    "BACKENDS",
    "denied",
    "error_code",
    "refused",
    "wrong_credentials",
    "WRITABLE",
    "SCALES",
    "scale_problem",
    "several_values",
    "WHOLE_TEXT_VRS",
    "creators_of",
    "private_entry",
    "one_value",
    "MARKER_END",
    "MODALITY_LUT",
    "FORMAT_KEYWORDS",
    "FORMAT_TAGS",
    "FRAME_ALIASES",
    "HEAD",
    "Header",
    "Layouts",
    "NATIVE",
    "NO_MARKER",
    "NeedsPydicom",
    "NotDicomError",
    "PALETTE",
    "PixelFormat",
    "RemoteFile",
    "Store",
    "dataset_bytes",
    "decode_value",
    "elements",
    "encode_element",
    "encodings_for",
    "file_header",
    "file_meta_bytes",
    "format_problem",
    "groups_problem",
    "frame_places",
    "frame_values",
    "frame_values_of",
    "grid_frame_values",
    "header_of",
    "image_problem",
    "has_scheme",
    "is_url",
    "is_zip_path",
    "local_copy",
    "fetch_object",
    "heads_in_batches",
    "object_headers",
    "merge",
    "native_frames",
    "palette_bits",
    "palette_rgb",
    "look_up",
    "modality_table",
    "modality_lut_bits",
    "pad_last_fragment",
    "pixel_format",
    "read_any_header",
    "repeat_problem",
    "read_dataset",
    "undecodable_as_bytes",
    "read_frames",
    "read_frames_into",
    "read_header",
    "read_remote_frames",
    "read_with_pydicom",
    "redact",
    "split_userinfo",
    "listed_keys",
    "upload_folder",
    "writable_store",
    "remote_header",
    "starts_like_dicom",
    "to_python",
    "values_of_elements",
    "path_version",
    "version",
]
