"""docs/real-files.md tells the truth about pydicom's and pydicom-data's folders."""

from __future__ import annotations

from pathlib import Path

from real_files import FOLDERS, page

PAGE = Path(__file__).resolve().parents[1] / "docs" / "real-files.md"


def test_both_folders_are_there() -> None:
    assert set(FOLDERS) == {"pydicom", "pydicom-data"}, "install the test extra (pydicom-data)"


def test_the_page_is_what_the_files_do() -> None:
    """Made again from the files, the page is the same: no row is out of date."""
    assert PAGE.read_text() == page(), (
        "docs/real-files.md is out of date: python tests/real_files.py > docs/real-files.md"
    )
