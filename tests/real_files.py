"""What dbdicom does with each file of pydicom's and pydicom-data's test folders that it
does not read: the table of ``docs/real-files.md``, made from the files themselves.

Run ``python tests/real_files.py > docs/real-files.md`` to write the page again
(``tests/test_real_files.py`` checks that it is up to date).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from pathlib import Path

import pydicom
import pydicom.data

import dbdicom as db

#: the folders, by the name the page gives them
FOLDERS = {
    "pydicom": Path(pydicom.__file__).parent / "data" / "test_files",
}
try:  # pydicom-data: installed with the test extra
    import data_store

    FOLDERS["pydicom-data"] = Path(data_store.__file__).parent / "data"
except ImportError:  # pragma: no cover - the test extra brings it
    pass

HEAD = """# What happens to the files dbdicom does not read

pydicom's `test_files` folder and pydicom-data's folder hold the files those
projects test their reader with: many of them broken on purpose. Both open
whole as databases (`db.database(folder)`); the files below are the ones whose
image does not come out of `series.to_xarray()`, and why. Every other file is
read. The DICOMDIRs of `dicomdirtests` are the directories of their
[media](media.md), checked against the files: they agree, so none is listed.
The table is made from the files by `tests/real_files.py`, and a test
checks that it is up to date (pydicom {pydicom}).

In a folder of your own, the same answers come from the database:

```python
problems = database.problems()  # one row per file left out, refused, or read with a note
for series in database.series():
    try:
        series.to_xarray()
    except db.DicomError as error:  # a GridError or GeometryError says how to read it
        print(series.label(), type(error).__name__)
```

| folder | file | what happens | why |
|---|---|---|---|
"""


def _short(text: str, root: Path) -> str:
    """One line of a reason: the folder's path out, no table separators, at most ~220 chars."""
    text = text.replace(str(root) + "/", "").replace("|", "/").replace("\n", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 220 else text[:217].rstrip() + "..."


def rows(label: str, source: Path) -> list[tuple[str, str, str, str]]:
    """``(folder, file, what happens, why)`` for each file of ``source`` that is not read."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = Path(tmp) / label
        shutil.copytree(source, root)
        quiet = db.Status()
        quiet.mute()
        database = db.database(root, status=quiet)
        found: dict[str, tuple[str, str]] = {}
        problems = database.problems()
        in_tree = {Path(f).relative_to(root).as_posix() for f in database.files()}
        for path, problem in zip(problems["path"], problems["problem"], strict=True):
            if path not in in_tree and path not in found:
                found[path] = ("left out of the tree", _short(problem, root))
            elif problem.endswith("its image is not read"):
                found[path] = ("in the tree, image refused", _short(problem, root))
        for series in database.series():
            try:
                series.to_xarray()
                continue
            except db.DicomError as error:
                why = f"{type(error).__name__}: {_short(str(error), root)}"
            for file in series.files():
                rel = Path(file).relative_to(root).as_posix()
                if rel not in found:
                    found[rel] = ("its series does not stack", why)
        return _grouped(label, found)


def _grouped(label: str, found: dict[str, tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """One row per file, but one for the files of a folder that share what happens and why."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for rel in sorted(found):
        folder = rel.rpartition("/")[0]
        groups.setdefault((folder, *found[rel]), []).append(rel)
    out = []
    for (folder, what, why), files in groups.items():
        if len(files) > 8:  # a File-set's images: the folder and the first and last name
            names = f"{folder}/ ({len(files)} files, {files[0].rpartition('/')[2]} to "
            names += f"{files[-1].rpartition('/')[2]})"
        else:
            names = ", ".join(files)
        out.append((label, names, what, why))
    return sorted(out)


def page() -> str:
    """The whole of ``docs/real-files.md``."""
    lines = [HEAD.format(pydicom=pydicom.__version__)]
    for label, source in FOLDERS.items():
        for row in rows(label, source):
            lines.append("| " + " | ".join(row) + " |\n")
    return "".join(lines)


if __name__ == "__main__":
    print(page(), end="")
