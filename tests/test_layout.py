"""Headers read through a learnt layout (``dbdicom._files._layout``) give what one
walk of the same bytes gives: the same values, the same end, the same elements out
of place, the same errors, whatever the bytes."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dbdicom import _files
from dbdicom._files._layout import _LOCAL, Layout, _Varies
from dbdicom._files._walker import NeedsPydicom, Window, read_meta, walk
from dbdicom._index import WANTED, keyword_of
from dbdicom._templates import mr_image, new_uid, write_dataset

KEEP = WANTED  # what a scan keeps


def _series(folder: Path, n: int, description: str = "VFA") -> list[bytes]:
    """The bytes of ``n`` files of one series, as a scanner writes them: a few values vary."""
    series_uid, study_uid, frame_uid = new_uid(), new_uid(), new_uid()
    files = []
    for k in range(n):
        ds = mr_image(
            np.zeros((4, 4), np.uint16),
            StudyInstanceUID=study_uid,
            FrameOfReferenceUID=frame_uid,
            SeriesInstanceUID=series_uid,
            SeriesDescription=description,
            SOPInstanceUID=new_uid(),
            InstanceNumber=k + 1,
            FlipAngle=(2.0, 15.0)[k % 2],
            ImagePositionPatient=[0.0, 0.0, 2.5 * (k // 3)],
            SliceLocation=2.5 * (k // 3),
        )
        ds.private_block(0x0029, "DBDICOM TEST", create=True).add_new(0x10, "OB", bytes([k] * 6))
        files.append(write_dataset(ds, folder / f"{description}-{k:03d}").read_bytes())
    return files


def _walked(data: bytes, layout: Layout | None, first: int | None = None) -> Any:
    """What a walk of ``data``'s data set gives (through ``layout``, if given): its end and
    the elements kept, or the error's type and message.

    ``first``: the window holds only so many bytes at first (the rest is read as needed).
    """
    win = Window(data) if first is None else _FileWindow(data, first)
    try:
        pos = read_meta(win)[0]
        out: dict[int, Any] = {}
        if layout is None:
            end = walk(win, pos, True, KEEP, out)
        else:
            end = layout.walk(win, pos, KEEP, out)
    except Exception as exc:  # compared, whatever it is
        return type(exc).__name__, str(exc)
    return end, list(out.items())


class _Source:
    """Bytes that are read as a file is (seek and read)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk


def _FileWindow(data: bytes, first: int) -> Window:
    source = _Source(data)
    return Window(source.read(first), source, len(data))


def _learnt(files: list[bytes]) -> Layout:
    """A layout that has read ``files`` (learning as it goes)."""
    layout = Layout()
    for data in files:
        assert _walked(data, layout) == _walked(data, None)
    return layout


def _follows(layout: Layout, data: bytes) -> bool:
    """Whether ``data`` is read through every step of ``layout`` (no walk but the last)."""
    win = Window(data)
    try:
        return layout._follow(data, win, read_meta(win)[0], KEEP, {})[1]
    except (EOFError, ValueError, NeedsPydicom):  # the walk after the steps found the damage
        return False


def test_a_series_is_read_through_its_layout(tmp_path: Path) -> None:
    files = _series(tmp_path, 12)
    layout = _learnt(files[:4])
    assert layout.steps is not None
    varies = {keyword_of(step.tag) for step in layout.steps if isinstance(step, _Varies)}
    # positions vary in threes; "": the private OB element
    assert varies == {"SOPInstanceUID", "InstanceNumber", "FlipAngle", ""}
    for data in files[4:]:
        assert _walked(data, layout) == _walked(data, None)
    varies = {keyword_of(step.tag) for step in layout.steps if isinstance(step, _Varies)}
    assert {"ImagePositionPatient", "SliceLocation"} <= varies  # learnt at the first change
    assert all(_follows(layout, data) for data in files)


def test_another_series_keeps_what_varies(tmp_path: Path) -> None:
    first, other = _series(tmp_path, 8, "VFA"), _series(tmp_path, 8, "DCE")
    layout = _learnt(first)
    assert not _follows(layout, other[0])  # its series values differ
    for data in other:
        assert _walked(data, layout) == _walked(data, None)
    assert _follows(layout, other[-1])
    varies = {keyword_of(step.tag) for step in layout.steps or () if isinstance(step, _Varies)}
    assert "SeriesDescription" not in varies and "SeriesInstanceUID" not in varies


def _elements(data: bytes) -> tuple[int, int, list[bytes]]:
    """Where ``data``'s data set starts and ends (at the pixel data), and its elements."""
    start = read_meta(Window(data))[0]
    end = walk(Window(data), start, True, None, {}).offset - 12  # the pixel data's OW header
    assert data[end : end + 6] == b"\xe0\x7f\x10\x00OW"
    elements: dict[int, Any] = {}
    walk(Window(data[start:end]), 0, True, None, elements, whole=True)
    return start, end, list(elements.values())


def _changes(raw: bytes) -> list[bytes]:
    """Elements like ``raw`` but wrong: other lengths, other VR codes."""
    out = [raw[:4] + vr + raw[6:] for vr in (b"SQ", b"UN", b"OB", b"XX", b"US")]
    if raw[4:6] in (b"OB", b"OW", b"UN", b"UT", b"SQ"):
        out += [raw[:8] + struct.pack("<L", n) + raw[12:] for n in (0, 3, 0xFFFFFFFF)]
    else:
        out += [raw[:6] + struct.pack("<H", n) + raw[8:] for n in (0, 3, 0xFFFF)]
    return out


def test_every_element_out_of_place_or_wrong(tmp_path: Path) -> None:
    """Each element twice, left out, of another length or VR: read as one walk reads it."""
    files = _series(tmp_path, 8)
    start, end, raws = _elements(files[5])
    variants = []
    for i, raw in enumerate(raws):
        variants.append(raws[: i + 1] + raws[i:])  # twice
        variants.append(raws[:i] + raws[i + 1 :])  # left out
        variants += [raws[:i] + [wrong] + raws[i + 1 :] for wrong in _changes(raw)]
    followed = 0
    assert _walked(files[5], None)[0].disorder == ()
    assert _walked(files[5][:start] + b"".join(variants[0]) + files[5][end:], None)[0].disorder
    for elements in variants:
        data = files[5][:start] + b"".join(elements) + files[5][end:]
        layout = _learnt(files[:5])
        assert _walked(data, layout) == _walked(data, None)
        followed += _follows(_learnt(files[:5]), data)
    assert followed < len(variants) // 4  # most leave the layout
    assert _follows(_learnt(files[:5]), files[5])


def _mutated(data: bytes, rng: random.Random) -> bytes:
    """``data`` with its header changed at random: bytes, lengths, elements added or cut."""
    start, end, raws = _elements(data)
    kind = rng.randrange(6)
    at = rng.randrange(start, end)
    if kind == 0:  # random bytes
        n = rng.randrange(1, 5)
        return data[:at] + bytes(rng.randrange(256) for _ in range(n)) + data[at + n :]
    if kind == 1:  # bytes inserted
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9))) + data[at:]
    if kind == 2:  # bytes deleted
        return data[:at] + data[at + rng.randrange(1, 9) :]
    if kind == 3:  # cut short
        return data[:at]
    i = rng.randrange(len(raws) - 1)
    if kind == 4:  # an element twice (out of order), or one left out
        raws.insert(i, raws[i]) if rng.random() < 0.5 else raws.pop(i)
    else:  # an element of another length, or another VR
        raw = raws[i]
        if rng.random() < 0.5:
            raws[i] = raw[:6] + struct.pack("<H", rng.randrange(0, 64)) + raw[8:]
        else:
            raws[i] = raw[:4] + rng.choice([b"SQ", b"UN", b"OB", b"XX", b"US"]) + raw[6:]
    return data[:start] + b"".join(raws) + data[end:]


@pytest.mark.parametrize("seed", range(0, 400, 50), ids=lambda s: f"seeds-{s}")
def test_any_bytes_read_as_one_walk_reads_them(tmp_path: Path, seed: int) -> None:
    files = _series(tmp_path, 8)
    rng = random.Random(seed)
    followed = 0
    for _ in range(50):
        data = _mutated(rng.choice(files[4:]), rng)
        layout = _learnt(files[:4])
        assert layout.steps is not None
        assert _walked(data, layout) == _walked(data, None), data
        followed += _follows(_learnt(files[:4]), data)
        # a window holding only the file's start: the layout gives way to the walk
        first = rng.randrange(132, len(data) + 1)
        assert _walked(data, _learnt(files[:4]), first) == _walked(data, None, first)
    assert followed < 50  # most mutations leave the layout


def test_threads_read_through_layouts_of_their_own(tmp_path: Path) -> None:
    """Threads reading headers at once (dask's, checking files before their pixels) each
    learn their own layout: what each reads is what one walk reads."""
    from concurrent.futures import ThreadPoolExecutor

    from dbdicom._files._header import read_header

    files = _series(tmp_path, 6, "VFA") + _series(tmp_path, 6, "DCE")
    paths = sorted(tmp_path.iterdir())
    expected = {p: read_header(str(p), KEEP).values for p in paths}

    def read_all(k: int) -> list[bool]:
        order = paths[k % 3 :] + paths[: k % 3]  # series met in turns: layouts learnt often
        return [read_header(str(p), KEEP).values == expected[p] for p in order * 20]

    with ThreadPoolExecutor(4) as pool:
        assert all(all(ok) for ok in pool.map(read_all, range(8)))
    assert len(files) == len(paths)


def test_pixel_data_looked_for_in_each_file_go_through_one_layout(tmp_path: Path) -> None:
    """Where the index has no pixel offsets (a virtual Zarr's references, a read without
    them), each file's pixel data are looked for through the layout of the files before
    (one mapping of tags for all: a mapping made for each file made a layout for each)."""
    files = _series(tmp_path, 6)
    paths = sorted(str(p) for p in tmp_path.iterdir())
    fmt = _files.pixel_format(paths[0])[0]
    seen = _one_layout(_files._header.NO_TAGS)
    for path, data in zip(paths, files, strict=True):
        offset = len(data) - 32  # 4 x 4 x 2 bytes of pixel data, at the end
        assert _files.frame_places(path, fmt, [0]) == [(offset, 32)]
        assert _files.read_frames(path, [0], fmt).shape == (1, 4, 4)
    assert _one_layout(_files._header.NO_TAGS) - seen == 2 * len(paths)


def _one_layout(tags: dict[int, str]) -> int:
    """How many headers the layout of this thread for ``tags`` has read (0: none yet)."""
    keep = _files._header._keep(tags)
    found = getattr(_LOCAL, "layouts", {}).get(id(keep))
    return 0 if found is None else found[1].seen
