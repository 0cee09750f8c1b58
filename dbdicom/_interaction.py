"""Talking to the user: messages, progress and dialogs.

Two small protocols, :class:`StatusLike` and :class:`DialogLike`, are all a
GUI has to implement to receive everything dbdicom says (pass them to
:func:`dbdicom.database`). The defaults work at a terminal: messages print to
standard output, progress bars draw on standard error when it is a terminal,
and dialogs prompt on standard input. Without a terminal (scripts run by
other programs, CI, notebooks) nothing ever waits for an answer: a dialog
prints its question and returns its documented default.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol, runtime_checkable

__all__ = ["DialogLike", "Status", "StatusLike", "TerminalDialog", "check_protocol"]


@runtime_checkable
class StatusLike(Protocol):
    """What dbdicom needs of a status bar."""

    def message(self, text: str) -> None:
        """Show a line of text."""

    def progress(self, value: int, total: int, text: str = "") -> None:
        """Show that ``value`` of ``total`` steps of an operation are done."""


@runtime_checkable
class DialogLike(Protocol):
    """What dbdicom needs of a dialog provider (a GUI's pop-ups, or the terminal).

    Answers: ``question`` gives ``"yes"``, ``"no"`` or ``"cancel"``; the
    others give the value entered, or None when the user cancels.
    """

    def question(self, message: str, title: str = "", cancel: bool = False) -> str:
        """Ask a yes/no (/cancel) question."""

    def information(self, message: str, title: str = "") -> None:
        """Tell the user something."""

    def warning(self, message: str, title: str = "") -> None:
        """Warn the user."""

    def error(self, message: str, title: str = "") -> None:
        """Report an error to the user."""

    def choose(
        self, items: Sequence[str], message: str = "", title: str = "", default: str | None = None
    ) -> str | None:
        """Pick one of ``items``."""

    def text(self, message: str, title: str = "", default: str | None = None) -> str | None:
        """Enter a line of text."""

    def number(
        self,
        message: str,
        title: str = "",
        default: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float | None:
        """Enter a number."""

    def file(
        self, message: str, title: str = "", folder: bool = False, default: str | None = None
    ) -> str | None:
        """Choose a file (or a folder)."""


def check_protocol(obj: Any, protocol: type, role: str) -> Any:
    """Return ``obj`` if it has every method of ``protocol``; else say which are missing.

    Examples
    --------
    >>> class HalfStatus:
    ...     def message(self, text): pass
    >>> check_protocol(HalfStatus(), StatusLike, "status")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: the status object HalfStatus lacks progress(): it must have ...
    """
    wanted = [n for n in vars(protocol) if not n.startswith("_") and callable(vars(protocol)[n])]
    missing = [n for n in wanted if not callable(getattr(obj, n, None))]
    if missing:
        raise TypeError(
            f"the {role} object {type(obj).__name__} lacks "
            f"{', '.join(m + '()' for m in missing)}: it must have "
            f"{', '.join(w + '()' for w in wanted)} (see dbdicom.{protocol.__name__})"
        )
    return obj


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


class TerminalDialog:
    r"""Dialogs at a terminal: y / n / c questions, numbered choices, typed values.

    Parameters
    ----------
    stdin, stdout : file-like, optional
        Where answers are read and prompts written (the process's own by
        default).
    interactive : bool, optional
        Whether to prompt at all. By default: when ``stdin`` is a terminal.
        When not interactive, every dialog prints its message and returns
        its default without waiting: ``question`` gives ``"cancel"`` when it
        offers cancel and ``"no"`` otherwise; the others give ``default``
        (None if not given).

    Examples
    --------
    >>> import io
    >>> d = TerminalDialog(stdin=io.StringIO("y\n"), stdout=io.StringIO(), interactive=True)
    >>> d.question("Do you wish to proceed?", cancel=True)
    'yes'
    >>> TerminalDialog(stdout=io.StringIO(), interactive=False).question("Proceed?")
    'no'
    """

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self._in = stdin
        self._out = stdout
        self._interactive = interactive

    @property
    def interactive(self) -> bool:
        """Whether dialogs prompt (stdin is a terminal, unless set otherwise)."""
        if self._interactive is not None:
            return self._interactive
        stream = self._in if self._in is not None else sys.stdin
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):
            return False

    def _write(self, text: str) -> None:
        out = self._out if self._out is not None else sys.stdout
        out.write(text)
        out.flush()

    def _ask(self, prompt: str) -> str | None:
        """One line typed by the user; None at end of input."""
        self._write(prompt)
        stream = self._in if self._in is not None else sys.stdin
        line = stream.readline()
        return None if line == "" else line.strip()

    def _say(self, kind: str, message: str, title: str) -> None:
        head = f"{title}: " if title else ""
        self._write(f"{kind}{head}{message}\n")

    def question(self, message: str, title: str = "", cancel: bool = False) -> str:
        """Ask a question; ``"yes"``, ``"no"`` or (with ``cancel``) ``"cancel"``."""
        default = "cancel" if cancel else "no"
        choices = "y/n/c" if cancel else "y/n"
        if not self.interactive:
            self._say("", f"{message} [{choices}] -> {default} (no terminal to answer)", title)
            return default
        answers = {"y": "yes", "yes": "yes", "n": "no", "no": "no"}
        if cancel:
            answers.update({"c": "cancel", "cancel": "cancel"})
        while True:
            reply = self._ask(f"{title + ': ' if title else ''}{message} [{choices}] ")
            if reply is None:
                return default
            if reply.lower() in answers:
                return answers[reply.lower()]
            self._write(f"Please answer {choices}.\n")

    def information(self, message: str, title: str = "") -> None:
        """Print information."""
        self._say("", message, title)

    def warning(self, message: str, title: str = "") -> None:
        """Print a warning."""
        self._say("Warning: ", message, title)

    def error(self, message: str, title: str = "") -> None:
        """Print an error."""
        self._say("Error: ", message, title)

    def choose(
        self, items: Sequence[str], message: str = "", title: str = "", default: str | None = None
    ) -> str | None:
        """Pick one of ``items`` by its number; empty input or end of input: ``default``."""
        listing = "\n".join(f"  {i + 1}. {item}" for i, item in enumerate(items))
        self._say("", f"{message}\n{listing}" if message else listing, title)
        if not self.interactive:
            return default
        while True:
            reply = self._ask("Number: ")
            if not reply:
                return default
            if reply.isdigit() and 1 <= int(reply) <= len(items):
                return items[int(reply) - 1]
            self._write(f"Please enter a number from 1 to {len(items)}.\n")

    def text(self, message: str, title: str = "", default: str | None = None) -> str | None:
        """A line of text; empty input or end of input: ``default``."""
        if not self.interactive:
            self._say("", f"{message} -> {default!r} (no terminal to answer)", title)
            return default
        reply = self._ask(f"{title + ': ' if title else ''}{message} ")
        return reply if reply else default

    def number(
        self,
        message: str,
        title: str = "",
        default: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float | None:
        """A number within the bounds; empty input or end of input: ``default``."""
        if not self.interactive:
            self._say("", f"{message} -> {default!r} (no terminal to answer)", title)
            return default
        while True:
            reply = self._ask(f"{title + ': ' if title else ''}{message} ")
            if not reply:
                return default
            try:
                value = float(reply)
            except ValueError:
                self._write("Please enter a number.\n")
                continue
            if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
                return value
            self._write(f"Please enter a number from {minimum} to {maximum}.\n")

    def file(
        self, message: str, title: str = "", folder: bool = False, default: str | None = None
    ) -> str | None:
        """A path typed by the user; empty input or end of input: ``default``."""
        return self.text(message + (" (folder)" if folder else " (file)"), title, default)
