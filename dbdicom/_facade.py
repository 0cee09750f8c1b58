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

__all__ = ["after_lazy_import", "lazy_names"]

# run after each module a package loads lazily, until each returns True
_HOOKS: list[Callable[[], bool]] = []


def after_lazy_import(hook: Callable[[], bool]) -> None:
    """Call ``hook()`` after each module loaded by :func:`lazy_names`, until it returns True.

    The api layer registers the ``da.dicom`` accessor so, once xarray has
    been imported by the arrays layer (registering it needs xarray, which
    ``import dbdicom`` does not load).
    """
    _HOOKS.append(hook)


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
        found = getattr(importlib.import_module(module, package), name)
        if _HOOKS:
            _HOOKS[:] = [hook for hook in _HOOKS if not hook()]
        return found

    return __getattr__
