"""Packages whose public names load their module on first use (PEP 562).

The arrays and export layers are built on xarray and dask, which take about
a second to import. Their packages list each public name with the module
that defines it; a name's module is imported when the name is first asked
for (``_arrays.build_dataarray``), so ``import dbdicom`` and the layers
above stay light while every import between dbdicom's modules is still a
plain, top-level ``import`` that tools (import-linter) see.

>>> get = lazy_names("json", {"dumps": "json"})
>>> get("dumps")([1])
'[1]'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[name]`` (relative to ``package``).

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping
        Public name -> the (relative) module that defines it.

    Returns
    -------
    callable
        To be assigned to the package's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
