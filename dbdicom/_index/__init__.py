"""The index layer: a folder's files as a table, kept in the folder.

Knows nothing of records or arrays.
"""

from ._cells import tag_number, text_in
from ._columns import (
    GEOMETRY_KEYWORDS,
    INT_VRS,
    JOINED,
    LEVEL_TAGS,
    NUMERIC_VRS,
    TAGS,
    VECTORS,
    cell_value,
    check_tag,
    column_of,
    keyword_of,
    tag_of,
    to_plain,
    vr_of,
)
from ._index import Index, assign_keys, find_problems
from ._keys import copy_mark
from ._order import Lookup, factorize, is_among, sort_rows
from ._perframe import frame_values_by_file
from ._query import Query, match_values, parse_query, select_rows
from ._remote import RemoteIndex
from ._scan import HIDDEN, WANTED, Row, header_row, holds_unread, scan_files, scan_one
from ._secret import user_secret, user_secret_path
from ._single import FileReport, file_report
from ._staged import WORKING_MARK, StagedIndex
from ._store import UNREAD, store_folder
from ._walk import SKIPPED, walk

__all__ = [
    "FileReport",
    "HIDDEN",
    "INT_VRS",
    "frame_values_by_file",
    "Index",
    "JOINED",
    "GEOMETRY_KEYWORDS",
    "LEVEL_TAGS",
    "Lookup",
    "NUMERIC_VRS",
    "RemoteIndex",
    "StagedIndex",
    "WORKING_MARK",
    "Row",
    "SKIPPED",
    "TAGS",
    "UNREAD",
    "VECTORS",
    "WANTED",
    "Query",
    "assign_keys",
    "copy_mark",
    "user_secret",
    "user_secret_path",
    "cell_value",
    "check_tag",
    "column_of",
    "factorize",
    "file_report",
    "text_in",
    "find_problems",
    "header_row",
    "is_among",
    "holds_unread",
    "keyword_of",
    "match_values",
    "parse_query",
    "scan_files",
    "scan_one",
    "select_rows",
    "sort_rows",
    "store_folder",
    "tag_number",
    "tag_of",
    "to_plain",
    "vr_of",
    "walk",
]
