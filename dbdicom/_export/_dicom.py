"""DICOM export: the files of a record, copied byte for byte into the layout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ._layout import (
    label,
    progress,
    series_folders,
    target_folder,
    written,
)


def export_dicom(record: Any, path: str | os.PathLike[str]) -> Path:
    """Copy the files of ``record`` (unchanged, byte for byte) into the layout."""
    root = target_folder(path)
    plan = []
    for series, folder in series_folders(record, root):
        instances = [record] if record.level == "instance" else series.instances()
        for instance in instances:
            plan.append((instance.path, folder / f"{label(instance) or 'instance'}.dcm"))
    seen: set[Path] = set()
    report = progress(record, "Exporting DICOM")
    for i, (source, target) in enumerate(plan):
        if target in seen:
            target = target.with_name(f"{target.stem}_{i}.dcm")
        seen.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with written(target) as temporary:
            shutil.copy2(source, temporary)
        report(i + 1, len(plan))
    return root
