"""A status object that keeps what it is told (what a GUI's status bar receives)."""

from __future__ import annotations


class Recorder:
    """Follows :class:`dbdicom.StatusLike`: keeps messages and progress steps."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.steps: list[tuple[int, int, str]] = []

    def message(self, text: str) -> None:
        self.messages.append(text)

    def progress(self, value: int, total: int, text: str = "") -> None:
        self.steps.append((value, total, text))
