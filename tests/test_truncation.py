"""Files cut between two elements: they read as complete data sets of fewer elements.

A cut inside an element is found by the walker (the file ends inside it). A
cut exactly between two elements is not: what is left is a valid, shorter
data set. Such an image object must not be placed in the tree under a
series made up for it, nor pass silently as an instance without pixels.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

import dbdicom as db
from dbdicom._files._walker import Window, read_meta
from dbdicom._templates import mr_image, write_dataset

PIXELS = np.arange(16, dtype=np.uint16).reshape(4, 4)
_LONG = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UN", b"UT", b"UC", b"UR", b"SV", b"UV"}


def _boundaries(data: bytes) -> list[tuple[int, int]]:
    """(byte offset, tag) of every top-level element of an explicit VR LE file."""
    pos = read_meta(Window(data))[0]
    found = []
    while pos < len(data):
        group, element = struct.unpack("<HH", data[pos : pos + 4])
        found.append((pos, group << 16 | element))
        if data[pos + 4 : pos + 6] in _LONG:
            length, head = struct.unpack("<I", data[pos + 8 : pos + 12])[0], 12
        else:
            length, head = struct.unpack("<H", data[pos + 6 : pos + 8])[0], 8
        pos += head + length
    return found


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("source")
    path = write_dataset(mr_image(PIXELS, PatientID="P", SeriesDescription="cut"), folder / "a")
    return path.read_bytes()


def test_every_cut_between_elements_is_a_problem(tmp_path: Path, source: bytes) -> None:
    """One folder per cut: the file is listed, never in a made-up series, never read."""
    cuts = _boundaries(source)
    assert len(cuts) > 40 and cuts[-1][1] == 0x7FE00010
    for pos, tag in cuts:
        folder = tmp_path / f"{tag:08X}"
        folder.mkdir()
        (folder / "cut.dcm").write_bytes(source[:pos])
        write_dataset(mr_image(PIXELS, PatientID="P", SeriesDescription="whole"), folder / "w")
        database = db.database(folder)
        table = database.problems()
        reasons = list(table.loc[table["path"] == "cut.dcm", "problem"])
        assert reasons, f"cut before ({tag >> 16:04X},{tag & 0xFFFF:04X}) is not listed"
        descriptions = [s.SeriesDescription for s in database.series()]
        if tag <= 0x0020000E:  # before its Series Instance UID: not in the tree
            assert any(r.startswith("truncated") for r in reasons), reasons
            assert descriptions == ["whole"], descriptions
            assert not any("placed under" in r for r in reasons), reasons
        else:  # its series is known: in the tree, said to hold no image
            assert any("'Pixel Data' is missing" in r for r in reasons), reasons
            with pytest.raises(db.GridError, match="holds no image"):
                database.series(SeriesDescription="cut")[0].to_xarray()
        whole = database.series(SeriesDescription="whole")[0].to_xarray().values
        assert np.array_equal(whole.reshape(4, 4), PIXELS)
        shutil.rmtree(folder)


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("UN_sequence.dcm", True),  # meta: CT Image Storage; data set: one private element
        ("no_meta_group_length.dcm", True),  # meta: RT Image; data set: 3 elements of group 8
        ("priv_SQ.dcm", True),  # meta: MR Image Storage; data set: a private sequence
        ("empty_charset_LEI.dcm", False),  # no file meta, no SOP class: nothing to miss
    ],
)
def test_fragments_of_image_objects_are_incomplete(
    tmp_path: Path, name: str, fragment: bool
) -> None:
    """pydicom's test files that hold a few elements of an object and no UIDs."""
    shutil.copy(get_testdata_file(name), tmp_path / name)
    database = db.database(tmp_path)
    called = [p for p in database.problems()["problem"] if p.startswith("truncated or incomplete")]
    assert bool(called) == fragment
    assert len(database.instances()) == (0 if fragment else 1)


def test_image_objects_stripped_of_pixels_stay_with_a_note(tmp_path: Path) -> None:
    """pydicom's DICOMDIR test images are CT objects without pixel data: kept, and said so."""
    for path in Path(get_testdata_file("DICOMDIR")).parent.rglob("IM00000[0-3]"):
        shutil.copy(path, tmp_path / path.name)
    database = db.database(tmp_path)
    assert len(database.instances()) == 4
    problems = list(database.problems()["problem"])
    assert len(problems) == 4
    assert all("'Pixel Data' is missing, which every CT Image Storage" in p for p in problems)


def test_a_file_pydicom_reads_empty_is_not_rewritten(tmp_path: Path) -> None:
    """Encapsulated pixel data without their delimiter: pydicom 3 reads no element at all.

    The file is in the tree (its header is whole; its image is refused), but
    pydicom's reader, meeting the end of the file inside the pixel data,
    returns an empty data set: an edit, a copy or a move written from it was
    the file meta and the new values alone (40 kB of pydicom-data's
    ``emri_small_jpeg_2k_lossless_too_short.dcm`` became 396 bytes).
    """
    data = Path(get_testdata_file("JPEG2000.dcm")).read_bytes()
    assert data[-8:] == b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"  # the sequence delimiter
    (tmp_path / "cut.dcm").write_bytes(data[:-8])
    database = db.database(tmp_path)
    (instance,) = database.instances()
    series = instance.parent
    other = database.new_patient(PatientName="Other").new_study()
    for change in (
        lambda: setattr(instance, "ImageComments", "x"),
        lambda: setattr(series, "PatientName", "Renamed"),
        series.copy,
        lambda: series.move_to(other),
        instance.read,
    ):
        with pytest.raises(db.InvalidFileError, match=r"cut\.dcm.*no element"):
            change()
        assert (tmp_path / "cut.dcm").read_bytes() == data[:-8]
    assert not database.unsaved
    assert [Path(f).name for f in database.files()] == ["cut.dcm"]
