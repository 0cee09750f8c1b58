"""DICOM export: the files of a record, copied byte for byte into the layout."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._each import ExportedPath, each_series
from ._layout import label, progress, target_folder, written


def _copy_file(instance: Any, target: Path) -> None:
    index = instance._db.index  # a remote store's objects are downloaded
    index.copy_out(str(index.array("_path", instance._rows())[0]), target, True)


def export_dicom(
    record: Any, path: str | os.PathLike[str], copy: Callable[[Any, Path], None] = _copy_file
) -> ExportedPath:
    """Copy the files of ``record`` (unchanged, byte for byte) into the layout.

    ``copy(instance, target)`` writes one instance's file: by default a copy
    of its file; for a DICOMweb archive, the instance retrieved from it.
    """
    record._db._editor.check_files(record._db._editor.rels(record._rows()))  # none half done
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
            with written(target) as temporary:
                copy(instance, temporary)
            report(i + 1, total)

    return each_series(record, root, write, "DICOM", progress=False)
