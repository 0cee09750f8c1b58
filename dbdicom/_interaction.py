"""Talking to the user: messages and progress bars.

The terminal version prints messages to standard output and draws progress
bars on standard error when it is a terminal (nothing otherwise, so logs of
scripts and CI stay clean). A muted status says nothing.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Status"]


class Status:
    """Messages and progress at a terminal.

    Examples
    --------
    >>> s = Status()
    >>> s.message("Starting")
    Starting
    >>> s.mute(); s.message("not shown"); s.unmute()
    """

    def __init__(self) -> None:
        self.muted = False
        self._last = 0.0

    def mute(self) -> None:
        """Say nothing until :meth:`unmute`."""
        self.muted = True

    def unmute(self) -> None:
        """Speak again after :meth:`mute`."""
        self.muted = False

    def message(self, text: str) -> None:
        """Show a line of text."""
        if not self.muted:
            print(text)

    def progress(self, value: int, total: int, text: str = "") -> None:
        """Show how far a long operation is (``value`` of ``total`` done)."""
        if self.muted or not sys.stderr.isatty() or total <= 0:
            return
        now = time.monotonic()
        if value < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        done = int(width * value / total)
        bar = "#" * done + "-" * (width - done)
        end = "\n" if value >= total else ""
        sys.stderr.write(f"\r{text} [{bar}] {value}/{total}{end}")
        sys.stderr.flush()
