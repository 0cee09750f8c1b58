"""The arrays layer: series as lazy, labelled xarray DataArrays, and numpy arrays.

Each public name is imported from its module when first used (see
:mod:`dbdicom._facade`): the modules that need xarray and dask load only
when an array is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._facade import lazy_names

if TYPE_CHECKING:
    from ._affine import (
        GEOMETRY_TAGS,
        PIXEL_COORDS,
        affine_of,
        in_plane_applied,
        pixel_coords,
        tag_vectors,
        why_no_affine,
    )
    from ._chunks import Chunks, check_chunk_size
    from ._day_times import dated_times
    from ._diffusion import DIFFUSION, find_diffusion
    from ._frame_tags import (
        NOT_TAG_COORDS,
        WRITER_TAGS,
        FrameTags,
        check_names,
        colour_samples,
        frames_of,
        shared_values,
    )
    from ._frames import Frames, geometry_groups, group_text
    from ._grid import Grid, make_grid
    from ._instances import source_rows
    from ._kept_layout import kept_layout
    from ._layout import AUTO_DIMS, Layout, layout
    from ._lazy import FramesBackendArray, frames_behind, preferred_chunks
    from ._numpy import array_and_header, read_array
    from ._plain import SEPARATOR, base_keyword, component, split_component
    from ._table import frame_values, has_image, to_coordinate, why_no_image
    from ._xarray import build_dataarray, stack

_MODULES = {
    "Chunks": "._chunks",
    "check_chunk_size": "._chunks",
    "DIFFUSION": "._diffusion",
    "find_diffusion": "._diffusion",
    "GEOMETRY_TAGS": "._affine",
    "PIXEL_COORDS": "._affine",
    "in_plane_applied": "._affine",
    "pixel_coords": "._affine",
    "SEPARATOR": "._plain",
    "affine_of": "._affine",
    "base_keyword": "._plain",
    "component": "._plain",
    "source_rows": "._instances",
    "split_component": "._plain",
    "tag_vectors": "._affine",
    "why_no_affine": "._affine",
    "NOT_TAG_COORDS": "._frame_tags",
    "WRITER_TAGS": "._frame_tags",
    "FrameTags": "._frame_tags",
    "check_names": "._frame_tags",
    "colour_samples": "._frame_tags",
    "frames_of": "._frame_tags",
    "shared_values": "._frame_tags",
    "kept_layout": "._kept_layout",
    "dated_times": "._day_times",
    "AUTO_DIMS": "._layout",
    "Layout": "._layout",
    "layout": "._layout",
    "Frames": "._frames",
    "frame_values": "._table",
    "FramesBackendArray": "._lazy",
    "frames_behind": "._lazy",
    "Grid": "._grid",
    "array_and_header": "._numpy",
    "read_array": "._numpy",
    "build_dataarray": "._xarray",
    "geometry_groups": "._frames",
    "group_text": "._frames",
    "has_image": "._table",
    "make_grid": "._grid",
    "preferred_chunks": "._lazy",
    "stack": "._xarray",
    "to_coordinate": "._table",
    "why_no_image": "._table",
}
__getattr__ = lazy_names(__name__, _MODULES)

__all__ = [
    "AUTO_DIMS",
    "Chunks",
    "DIFFUSION",
    "find_diffusion",
    "GEOMETRY_TAGS",
    "PIXEL_COORDS",
    "in_plane_applied",
    "pixel_coords",
    "SEPARATOR",
    "affine_of",
    "base_keyword",
    "component",
    "source_rows",
    "kept_layout",
    "split_component",
    "tag_vectors",
    "why_no_affine",
    "FrameTags",
    "Frames",
    "FramesBackendArray",
    "Grid",
    "NOT_TAG_COORDS",
    "WRITER_TAGS",
    "Layout",
    "array_and_header",
    "layout",
    "build_dataarray",
    "check_chunk_size",
    "check_names",
    "colour_samples",
    "dated_times",
    "frame_values",
    "frames_behind",
    "frames_of",
    "geometry_groups",
    "group_text",
    "has_image",
    "make_grid",
    "preferred_chunks",
    "read_array",
    "shared_values",
    "stack",
    "to_coordinate",
    "why_no_image",
]
