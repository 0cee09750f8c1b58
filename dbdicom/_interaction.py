"""Talking to the user: messages, warnings, progress and dialogs.

dbdicom speaks through the channels of the Python ecosystem:

* messages go to :mod:`logging`, to the logger ``"dbdicom"`` at level INFO.
  When logging is not set up at all (no handler anywhere, as in a plain
  script or a notebook), they are printed on standard output instead, so
  that they are seen; once the program sets up logging, they are its to
  show, filter or keep, and nothing is printed;
* what the user should see once goes through :mod:`warnings` as a
  :class:`~dbdicom.DicomWarning`;
* progress bars are :mod:`tqdm`'s (``tqdm.auto``): a widget in a notebook,
  a bar on standard error at a terminal, nothing when standard error is a
  pipe or a file.

Two small protocols, :class:`StatusLike` and :class:`DialogLike`, are all a
GUI has to implement to receive everything dbdicom says (pass them to
:func:`dbdicom.database`): its status object then shows the messages, the
warnings and the progress instead of the terminal (messages still reach
logging, warnings still go through :mod:`warnings`). Dialogs prompt on
standard input at a terminal; without one (scripts run by other programs,
CI, notebooks) nothing ever waits for an answer: a dialog prints its
question and returns its documented default. A muted database says nothing
at all.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import IO, Any, Protocol, runtime_checkable

from ._errors import DicomWarning

__all__ = [
    "DialogLike",
    "Status",
    "StatusLike",
    "TerminalDialog",
    "check_protocol",
    "logger",
    "tell",
    "warn",
]

#: the logger of every message dbdicom sends (``logging.getLogger("dbdicom")``)
logger = logging.getLogger("dbdicom")
logger.addHandler(logging.NullHandler())  # a library's manners: the program decides

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


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


def logging_is_set_up(log: logging.Logger = logger) -> bool:
    """Whether a record of ``log`` reaches a handler that shows it somewhere.

    Handlers that drop everything (:class:`logging.NullHandler`) do not
    count: a program that set up nothing has only those.

    Examples
    --------
    >>> quiet = logging.getLogger("dbdicom.example")
    >>> quiet.propagate = False
    >>> logging_is_set_up(quiet)
    False
    >>> quiet.addHandler(logging.StreamHandler()); logging_is_set_up(quiet)
    True
    """
    current: logging.Logger | None = log
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        current = current.parent if current.propagate else None
    return False


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first line outside dbdicom.

    Counted from the function that calls :func:`warnings.warn` (level 1).
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level if frame is not None else max(level - 1, 1)


def tell(status: StatusLike, text: str) -> None:
    """Send a message: to logging, and to ``status`` to show it.

    The default :class:`Status` logs it itself (and prints it when logging is
    not set up); a GUI's status object shows it, and it is logged here.
    """
    if not isinstance(status, Status):
        logger.info(text)
    status.message(text)


def warn(status: StatusLike, text: str) -> None:
    """Warn the user once (a :class:`~dbdicom.DicomWarning`); a GUI's status shows it too.

    The warning points at the user's line that led to it, not at dbdicom's.
    """
    warnings.warn(text, DicomWarning, stacklevel=user_stacklevel())
    if not isinstance(status, Status):
        status.message(text)


def _in_a_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (where tqdm draws a widget)."""
    return "ipykernel" in sys.modules


class Status:
    """Messages to logging and progress bars from tqdm: dbdicom's default status.

    A message goes to the logger ``"dbdicom"`` (level INFO); when logging is
    not set up, it is printed on standard output. Progress is drawn by
    ``tqdm.auto``: a widget in a Jupyter notebook, a bar on standard error
    at a terminal, nothing when standard error is not a terminal (a pipe,
    a log file, CI). A bar starts when an operation's ``text`` or ``total``
    changes or its ``value`` goes back, and closes when ``value`` reaches
    ``total``.

    Examples
    --------
    >>> import logging, sys
    >>> handler = logging.StreamHandler(sys.stdout)
    >>> logging.getLogger("dbdicom").addHandler(handler)
    >>> logging.getLogger("dbdicom").setLevel(logging.INFO)
    >>> s = Status()
    >>> s.message("Starting")
    Starting
    >>> s.mute(); s.message("not shown"); s.unmute()
    >>> logging.getLogger("dbdicom").removeHandler(handler)
    >>> logging.getLogger("dbdicom").setLevel(logging.NOTSET)
    """

    def __init__(self) -> None:
        self.muted = False
        self._bar: Any = None
        self._text: str | None = None
        self._lock = threading.Lock()

    def mute(self) -> None:
        """Say nothing until :meth:`unmute`."""
        self.muted = True

    def unmute(self) -> None:
        """Speak again after :meth:`mute`."""
        self.muted = False

    def message(self, text: str) -> None:
        """Log a line of text (printed on standard output when logging is not set up)."""
        if self.muted:
            return
        logger.info(text)
        if not logging_is_set_up():
            bar = self._bar
            if bar is not None:
                bar.clear()  # a bar on the terminal's last line: the text goes above it
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            if bar is not None:
                bar.refresh()

    def progress(self, value: int, total: int, text: str = "") -> None:
        """Show how far a long operation is (``value`` of ``total`` done)."""
        if self.muted or total <= 0:
            return
        with self._lock:  # dask tasks may report at once
            bar = self._bar
            if bar is None or text != self._text or total != bar.total or value < bar.n:
                self._close()
                bar = self._open(total, text)
                if bar is None:
                    return
            bar.update(min(value, total) - bar.n)
            if value >= total:
                self._close()

    def _open(self, total: int, text: str) -> Any:
        """A new tqdm bar, or None where nobody would see it."""
        kernel = _in_a_kernel()
        try:
            terminal = sys.stderr.isatty()
        except (AttributeError, ValueError):  # replaced by an object without, or closed
            terminal = False
        if not (kernel or terminal):
            return None
        from tqdm.auto import tqdm  # 60 ms: only when a bar is drawn

        self._bar = tqdm(total=total, desc=text or None, leave=True, dynamic_ncols=True)
        self._text = text
        return self._bar

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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
