"""Recorders for tests: a status object that keeps what it is told (what a GUI's status bar
receives), and counters of the frames read from files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dbdicom import _files


class Recorder:
    """Follows :class:`dbdicom.StatusLike`: keeps messages and progress steps."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.steps: list[tuple[int, int, str]] = []

    def message(self, text: str) -> None:
        self.messages.append(text)

    def progress(self, value: int, total: int, text: str = "") -> None:
        self.steps.append((value, total, text))


def count_frame_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The ``(path, frame)`` of every frame read from a file from now on (the reads still happen).

    Frames are read by ``_files.read_frames``, or straight into an array by
    ``_files.read_frames_into`` (counted when it read them: where it returns
    False, ``read_frames`` reads them and counts them).
    """
    seen: list[tuple[str, int]] = []
    original, into = _files.read_frames, _files.read_frames_into

    def counting(path: str, frames: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend((str(path), int(f)) for f in frames)
        return original(path, frames, *args, **kwargs)

    def counting_into(path: str, frames: Any, *args: Any, **kwargs: Any) -> bool:
        done = into(path, frames, *args, **kwargs)
        if done:
            seen.extend((str(path), int(f)) for f in frames)
        return done

    monkeypatch.setattr(_files, "read_frames", counting)
    monkeypatch.setattr(_files, "read_frames_into", counting_into)
    return seen


def replace_frame_reads(monkeypatch: pytest.MonkeyPatch, read: Callable[..., Any]) -> None:
    """Every read of frames from a file calls ``read`` instead (both ways of reading)."""
    monkeypatch.setattr(_files, "read_frames", read)
    monkeypatch.setattr(_files, "read_frames_into", read)
