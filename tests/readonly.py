"""Make a folder truly read-only for the test process, also when it runs as root."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Within the block, nothing can be created or changed in ``folder``.

    As root, permission bits do not stop writes, so the folder is made
    immutable (``chattr +i``); otherwise its mode is set to read and execute.
    The test fails (rather than skips) if the folder is still writable.
    """
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
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
