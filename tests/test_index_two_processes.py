"""A reader that saves its index after the writer did never makes a reopen see stale values.

Two processes open one folder; one changes it (and saves its index), the
other only reads. The reader's index, saved when it closes, is older than
the writer's and replaces it (the last index saved wins whole: see
``dbdicom._index._parts``). That costs the next reopen a listing of the
folders the writer changed, never a wrong value: each of the writer's
changes renamed a file in its folder, whose time the reader's index holds
from before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dbdicom as db

WRITER = textwrap.dedent(
    """
    import sys
    import dbdicom as db

    database = db.database(sys.argv[1])
    t2 = database.series(SeriesDescription="T2w")[0]
    t2.SeriesDescription = "T2 edited"
    t2.ImageComments = "the writer's"
    database.save()
    database.close()
    """
)


def test_a_readers_older_index_saved_last_gives_the_writers_values(demo_folder: Path) -> None:
    db.database(demo_folder).close()  # an index on disk
    reader = db.database(demo_folder)
    (t2,) = reader.series(SeriesDescription="T2w")
    assert t2.ImageComments == []  # read on demand: the reader's index changed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", WRITER, str(demo_folder)], env=env, check=True)
    manifest = demo_folder / ".dbdicom" / "index" / "_manifest.json"
    writers = manifest.read_bytes()
    reader.close()  # saves its index, from before the writer's change, over the writer's
    assert manifest.read_bytes() != writers  # (the case here: if not, this test tests nothing)

    again = db.database(demo_folder)  # as the writer's next session
    assert not again.series(SeriesDescription="T2w")
    (edited,) = again.series(SeriesDescription="T2 edited")
    assert edited.ImageComments == ["the writer's"]
    assert len(edited.instances()) == 6
    again.close()
