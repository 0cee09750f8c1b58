"""DICOM export: the files of a record, copied byte for byte into the layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._each import ExportedPath, each_series
from ._layout import label, progress, target_folder, written


def export_dicom(record: Any, path: str | os.PathLike[str]) -> ExportedPath:
    """Copy the files of ``record`` (unchanged, byte for byte) into the layout."""
    root = target_folder(path)
    total = len(record._rows())
    seen: set[Path] = set()
    report = progress(record, "Exporting DICOM")

    def write(series: Any, folder: Path) -> None:
        instances = [record] if record.level == "instance" else series.instances()
        for instance in instances:
            i = len(seen)  # the copy's position in the export
            target = folder / f"{label(instance) or 'instance'}.dcm"
            if target in seen:
                target = target.with_name(f"{target.stem}_{i}.dcm")
            seen.add(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            index = instance._db.index  # a remote store's objects are downloaded
            with written(target) as temporary:
                index.copy_out(str(index.array("_path", instance._rows())[0]), temporary, True)
            report(i + 1, total)

    return each_series(record, root, write, "DICOM", progress=False)
