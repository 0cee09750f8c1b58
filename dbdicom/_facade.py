"""Names and modules that load on first use, so that ``import dbdicom`` stays light.

Two kinds:

* :func:`lazy_names` makes a package's ``__getattr__`` (PEP 562): the
  arrays and export layers are built on xarray and dask, which take about
  half a second to import; their packages list each public name with the
  module that defines it, and a name's module is imported when the name is
  first asked for (``_arrays.build_dataarray``). Every import between
  dbdicom's modules is still a plain, top-level ``import`` that tools
  (import-linter) see.
* :func:`local_scheduler` chooses dask's local scheduler for a compute
  without importing ``distributed`` (about 0.3 s), which dask's own lookup
  does, when installed, to find a ``Client``.
* :class:`LazyModule` stands for a third-party module that is imported when
  one of its attributes is first read: pandas and pyarrow (about 0.2 s
  together), which the index needs from the first open on, not at
  ``import dbdicom``. Modules take them from here
  (``from .._facade import pandas as pd``) and use ``pd.DataFrame`` as
  usual; nothing is put in ``sys.modules`` until the real import.

>>> get = lazy_names("json", {"dumps": "json"})
>>> get("dumps")([1])
'[1]'
>>> LazyModule("json").dumps([2])
'[2]'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = [
    "LazyModule",
    "after_lazy_import",
    "is_na",
    "lazy_names",
    "local_scheduler",
    "pandas",
    "pyarrow",
    "pyarrow_compute",
    "pyarrow_dataset",
    "pyarrow_feather",
    "pyarrow_parquet",
]

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


def local_scheduler(collection: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` of a compute of ``collection``, with dask's local scheduler if it is the one.

    Dask chooses a scheduler from, in order: the ``scheduler=`` argument, the
    ``scheduler`` of ``dask.config``, a ``distributed.Client`` (to find one it
    imports ``distributed``, ~0.3 s, whenever it is installed), and the
    collection's default (threads for an array). A Client cannot exist
    before ``distributed`` is imported, so until then the collection's
    default is dask's choice, named here so that dask does not look for a
    Client; in every other case ``kwargs`` are returned as they are and
    dask chooses.

    Parameters
    ----------
    collection : dask collection
        What is computed (its ``__dask_scheduler__`` is the default).
    kwargs : mapping
        The keyword arguments of the compute.

    Returns
    -------
    dict
        ``kwargs``, with ``scheduler`` set where dask would have found it
        only after importing ``distributed``.

    Examples
    --------
    >>> import dask, dask.array as da
    >>> x = da.ones(3)
    >>> with dask.config.set(scheduler="synchronous"):  # the user's choice stands
    ...     local_scheduler(x, {})
    {}
    >>> local_scheduler(x, {"scheduler": "processes"})
    {'scheduler': 'processes'}
    """
    if "scheduler" in kwargs or "get" in kwargs or "distributed" in sys.modules:
        return dict(kwargs)
    import dask  # imported already: ``collection`` is one of its objects

    if dask.config.get("scheduler", None) is not None:
        return dict(kwargs)
    return {**kwargs, "scheduler": collection.__dask_scheduler__}


class LazyModule:
    """A module imported when one of its attributes is first read.

    Parameters
    ----------
    name : str
        The module's absolute name (``"pyarrow.compute"``).

    Notes
    -----
    Unlike :class:`importlib.util.LazyLoader`, it puts nothing in
    ``sys.modules``: ``"pandas" in sys.modules`` stays a true answer to
    "has pandas been imported", which other libraries (and dbdicom's tests)
    rely on. After the import an attribute read costs one extra Python call.

    Examples
    --------
    >>> colorsys = LazyModule("colorsys")
    >>> colorsys
    <LazyModule 'colorsys' (not imported yet)>
    >>> colorsys.rgb_to_hsv(1.0, 0.0, 0.0)
    (0.0, 1.0, 1.0)
    >>> colorsys
    <LazyModule 'colorsys' (imported)>
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        # called only for names not found on the proxy itself: the module's
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<LazyModule {self._name!r} ({state})>"

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self._name))


def is_na(value: Any) -> bool:
    """Whether ``value`` is pandas' ``NA``, without importing pandas (no NA exists before).

    >>> is_na(None), is_na(float("nan"))
    (False, False)
    """
    pandas_module = sys.modules.get("pandas")
    return pandas_module is not None and value is getattr(pandas_module, "NA", None)


#: pandas, imported at the first ``pd.`` (the index of a first open)
pandas: Any = LazyModule("pandas")
#: pyarrow and the modules of it the index store uses
pyarrow: Any = LazyModule("pyarrow")
pyarrow_compute: Any = LazyModule("pyarrow.compute")
pyarrow_dataset: Any = LazyModule("pyarrow.dataset")
pyarrow_feather: Any = LazyModule("pyarrow.feather")
pyarrow_parquet: Any = LazyModule("pyarrow.parquet")
