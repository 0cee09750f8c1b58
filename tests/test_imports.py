"""What a script pays for before its first array: imports and the first compute.

``import dbdicom`` loads neither pandas nor pyarrow (the index imports them
at the first open), nor xarray, dask or distributed; the first compute of a
series (``.values``) runs on dask's threads without importing
``distributed``, unless the user chose a scheduler (``dask.config``) or a
Client can exist, which dask then finds and uses. After a reopen,
navigation and ``series.array()`` import neither pandas, xarray nor dask.
Each import check runs in a fresh interpreter: the test process has
imported everything already.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
from builders import Manifest

import dbdicom as db

#: what ``import dbdicom`` must not import (each costs 0.05-0.3 s)
DEFERRED = ("pandas", "pyarrow", "xarray", "dask", "distributed", "scipy", "zarr")


def _fresh(code: str, *args: str) -> Any:
    """Run ``code`` in a fresh interpreter, with the dbdicom this test imported;
    what it printed last, as JSON."""
    home = str(Path(db.__file__).parents[1])
    path = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_dbdicom_defers_the_heavy_libraries() -> None:
    code = (
        "import sys, json\n"
        "import dbdicom\n"
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))\n"
    )
    assert _fresh(code) == []


def test_the_check_sees_an_import() -> None:
    """The check above can fail: a module imported is found in ``sys.modules``."""
    code = "import sys, json, colorsys\nprint(json.dumps('colorsys' in sys.modules))\n"
    assert _fresh(code) is True


FIRST_ARRAY = """\
import sys, json
import dbdicom as db
database = db.database(sys.argv[1])
series = database.series(SeriesDescription="VFA")[0]
da = series.to_xarray()
chunked = da.chunks is not None
values = da.values
print(json.dumps({
    "chunked": chunked,
    "shape": list(values.shape),
    "distributed": "distributed" in sys.modules,
    "dask.array": "dask.array" in sys.modules,
}))
"""


def test_first_compute_does_not_import_distributed(
    database_folder: tuple[Path, Manifest],
) -> None:
    pytest.importorskip("distributed")  # installed: dask's own lookup would import it
    root, _ = database_folder
    out = _fresh(FIRST_ARRAY, str(root))
    assert out["chunked"] and out["dask.array"]  # dask-backed, as every series
    assert out["shape"] == [4, 3, 32, 32]
    assert out["distributed"] is False


def test_without_dbdicom_dask_imports_distributed() -> None:
    """What the test above guards against: dask's lookup of a Client imports it."""
    pytest.importorskip("distributed")
    code = (
        "import sys, json, dask.array as da\n"
        "da.ones(3).compute()\n"
        "print(json.dumps('distributed' in sys.modules))\n"
    )
    assert _fresh(code) is True


def test_a_client_runs_the_compute(database_folder: tuple[Path, Manifest]) -> None:
    distributed = pytest.importorskip("distributed")
    root, _ = database_folder
    database = db.database(root)
    da = database.series(SeriesDescription="VFA")[0].to_xarray()
    expected = da.values
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
    ):
        values = database.series(SeriesDescription="VFA")[0].to_xarray().values
    np.testing.assert_array_equal(values, expected)
    keys = [str(t["key"]) for t in tasks.data]
    assert any("dbdicom-" in k for k in keys), keys  # the frames were read by the cluster
    database.close()


def test_a_scheduler_set_in_dask_config_is_used(database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    database = db.database(root)
    da = database.series(SeriesDescription="VFA")[0].to_xarray()
    calls: list[str] = []

    def recording_get(graph: Any, keys: Any, **kwargs: Any) -> Any:
        calls.append("called")
        return dask.get(graph, keys, **kwargs)  # dask's synchronous scheduler

    with dask.config.set(scheduler=recording_get):
        values = da.values
        computed = da.compute().values
    assert len(calls) == 2
    np.testing.assert_array_equal(values, computed)
    assert values.shape == (4, 3, 32, 32)
    # and the argument of a compute wins over the config
    with dask.config.set(scheduler=recording_get):
        da.data.compute(scheduler="synchronous")
    assert len(calls) == 2
    database.close()


#: a reopen, navigation without a query, and the numpy API
ARRAY_AFTER_REOPEN = """\
import sys, json, hashlib
import dbdicom as db
database = db.database(sys.argv[1])
series = [s for s in database.series() if s.SeriesDescription == "VFA"][0]
if sys.argv[2] == "array":
    values, header = series.array(["SliceLocation", "FlipAngle"])
    flips = [h.FlipAngle for h in header[0, :, 0]]
else:
    values, flips = series.to_xarray(dims=["SliceLocation", "FlipAngle"]).values, []
print(json.dumps({
    "imported": [m for m in ("pandas", "xarray", "dask") if m in sys.modules],
    "shape": list(values.shape),
    "dtype": str(values.dtype),
    "sha1": hashlib.sha1(values.tobytes()).hexdigest(),
    "flips": flips,
}))
"""


def test_array_after_a_reopen_imports_no_pandas_xarray_or_dask(
    database_folder: tuple[Path, Manifest],
) -> None:
    """``series.array()`` reads the frames into numpy: no DataArray, no pandas frame.

    The same values, in the same order, as the DataArray of the same dims
    (with the extra ``n`` axis of the numpy API); the DataArray's path, run
    the same way, does import them (so that the check can fail).
    """
    root, _ = database_folder
    database = db.database(root)  # indexed and saved: the opens below are reopens
    da = database.series(SeriesDescription="VFA")[0].to_xarray(dims=["SliceLocation", "FlipAngle"])
    expected = np.ascontiguousarray(da.values[:, :, np.newaxis])
    database.close()
    out = _fresh(ARRAY_AFTER_REOPEN, str(root), "array")
    assert out["imported"] == []
    assert out["shape"] == list(expected.shape) == [4, 3, 1, 32, 32]
    assert out["dtype"] == str(expected.dtype)
    assert out["sha1"] == hashlib.sha1(expected.tobytes()).hexdigest()
    assert out["flips"] == da.FlipAngle.values.tolist()
    lazy = _fresh(ARRAY_AFTER_REOPEN, str(root), "xarray")
    assert lazy["imported"] == ["pandas", "xarray", "dask"]
    assert lazy["shape"] == [4, 3, 32, 32]
