"""A dask array written on a cluster whose workers do not see the database's folder.

A new-user trial lost a derived series without a word: the workers wrote
its files into a folder of that name on their own disk (here: a worker in a
mount namespace of its own, with an empty file system mounted over the
folder), and the database found none of them. Each block's task now looks
for a file the writer made just before, writes nothing where it is not, and
its block is computed and written where the database is. Reading such a
folder on those workers says why it cannot, as the error it is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import dbdicom as db

distributed = pytest.importorskip("distributed")
dsa = pytest.importorskip("dask.array")


def _unshare_works() -> str:
    """Why a worker cannot have a file system of its own here ("" if it can)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "no unshare command (util-linux)"
    done = subprocess.run(
        [unshare, "-m", "sh", "-c", "mount -t tmpfs none /mnt && umount /mnt"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if done.returncode == 0 else f"unshare -m with mount refused: {done.stderr.strip()}"


@pytest.fixture
def cluster_elsewhere(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """A client, and a folder its one worker sees empty (a tmpfs over it)."""
    why = _unshare_works()
    if why:
        pytest.skip(f"a worker with a file system of its own needs root's unshare -m: {why}")
    folder = tmp_path / "here"
    folder.mkdir()
    cluster = distributed.LocalCluster(
        n_workers=0, processes=True, dashboard_address=None, scheduler_port=0
    )
    script = (
        f"mount -t tmpfs none {folder} && exec {sys.executable} -m distributed.cli.dask_worker "
        f"{cluster.scheduler_address} --nworkers 1 --nthreads 1 --no-dashboard"
    )
    worker = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(1, timeout=60)
        yield client, folder
    finally:
        client.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        cluster.close()
        time.sleep(0.1)


def test_blocks_of_workers_that_do_not_see_the_folder_are_written_here(
    cluster_elsewhere: tuple[Any, Path],
) -> None:
    client, folder = cluster_elsewhere
    assert client.run(lambda: len(list(Path(folder).iterdir()))) != {}  # the worker runs
    (folder / "db").mkdir()
    database = db.database(folder / "db")
    series = database.new_patient().new_study().new_series(SeriesDescription="from the cluster")
    values = np.arange(4 * 8 * 8, dtype=np.float64).reshape(4, 8, 8) / 3
    da = xr.DataArray(
        dsa.from_array(values, chunks=(1, 8, 8)),
        dims=("SliceLocation", "row", "column"),
        coords={"SliceLocation": [0.0, 5.0, 10.0, 15.0]},
        attrs={"SeriesInstanceUID": "1.2.3"},
    )
    series.set_xarray(da)
    assert len(series.instances()) == 4
    back = series.to_xarray().compute(scheduler="threads").values
    assert float(np.abs(back - values).max()) <= (values.max() - values.min()) / 65535
    assert not [e for e in database.changes() if "removed" in str(e)]
    # and nothing was written on the worker's side
    seen = client.run(lambda: sorted(str(p) for p in Path(folder).rglob("*.dcm")))
    assert list(seen.values()) == [[]]


def test_a_folder_the_workers_do_not_see_is_said_so_when_read(
    cluster_elsewhere: tuple[Any, Path],
) -> None:
    client, folder = cluster_elsewhere
    (folder / "db").mkdir()
    database = db.database(folder / "db")
    series = database.new_patient().new_study().new_series(SeriesDescription="here")
    series.set_array(np.ones((2, 4, 4), np.uint16))
    # the worker's error reaches the user as itself (it was a plain Exception: tblib
    # could not rebuild an error that is also an OSError), and says what happened
    with pytest.raises(db.FileGoneError, match="does not share the database's disk.*threads"):
        series.to_xarray().compute()
    assert series.to_xarray().compute(scheduler="threads").values.sum() == 32
