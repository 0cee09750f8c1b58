"""Make a folder truly read-only for the test process, also when it runs as root."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def read_only(folder: Path, how: str = "immutable") -> Iterator[None]:
    """Within the block, ``folder`` is read-only.

    ``how="mode"`` sets its permission bits to read and execute (which root
    could override: dbdicom must respect them anyway). ``how="immutable"``
    makes it truly unwritable: ``chattr +i`` as root (permission bits do not
    stop root), the mode bits otherwise. For "immutable" the test fails
    (rather than skips) if the folder is still writable.
    """
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    if how == "mode":
        modes = {p: p.stat().st_mode for p in folders}
        for p in folders:
            p.chmod(0o555)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *map(str, folders)], check=True)
        undo = ["chattr", "-i", *map(str, folders)]
    else:
        modes = {p: p.stat().st_mode for p in folders}
        for p in folders:
            p.chmod(0o555)
        undo = []
    probe = folder / ".probe"
    try:
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            raise AssertionError(f"could not make {folder} read-only for this test")
        yield
    finally:
        if undo:
            subprocess.run(undo, check=True)
        else:
            for p, mode in modes.items():
                p.chmod(mode)
