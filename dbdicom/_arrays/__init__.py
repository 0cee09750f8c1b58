"""The arrays layer: series as lazy, labelled xarray DataArrays, and numpy arrays."""

from .._errors import GeometryError, GridError
from ._frames import geometry_groups
from ._grid import Grid, make_grid
from ._numpy import array_and_header, export_npy, safe_name
from ._xarray import AUTO_DIMS, build_dataarray, stack

__all__ = [
    "AUTO_DIMS",
    "GeometryError",
    "Grid",
    "GridError",
    "array_and_header",
    "build_dataarray",
    "export_npy",
    "geometry_groups",
    "make_grid",
    "safe_name",
    "stack",
]
