"""The DICOMweb layer: an archive's headers as a local folder, its frames read over HTTP.

Below the index (it writes the folder the index reads) and above the files
(it decodes frames as files are decoded). Knows nothing of records or arrays.
"""

from ._cache import (
    cache_folder,
    float_bits_of,
    held_by_one,
    held_in_part,
    hold_only,
    selections_held,
    sync,
)
from ._frames import (
    WebPath,
    kept_places,
    read_series_frames,
    read_web_frames,
    retrieve_instance,
    split_multipart,
)
from ._server import POOL, SCHEME, Server, is_dicomweb, server_error
from ._tables import table_bits, tables_bits

__all__ = [
    "POOL",
    "SCHEME",
    "Server",
    "WebPath",
    "cache_folder",
    "selections_held",
    "float_bits_of",
    "held_by_one",
    "held_in_part",
    "hold_only",
    "is_dicomweb",
    "kept_places",
    "read_series_frames",
    "read_web_frames",
    "retrieve_instance",
    "server_error",
    "split_multipart",
    "sync",
    "table_bits",
    "tables_bits",
]
