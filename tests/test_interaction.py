"""Talking to the user: messages, progress, muting and dialogs, at a terminal or a GUI."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from builders import Manifest
from recorders import Recorder

import dbdicom as db


class GuiStatus(Recorder):
    """What a GUI's status bar would receive."""


class GuiDialog:
    """A GUI's pop-ups, answering as a user clicking would."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def question(self, message: str, title: str = "", cancel: bool = False) -> str:
        self.asked.append(message)
        return "yes"

    def information(self, message: str, title: str = "") -> None:
        self.asked.append(message)

    def warning(self, message: str, title: str = "") -> None:
        self.asked.append(message)

    def error(self, message: str, title: str = "") -> None:
        self.asked.append(message)

    def choose(self, items: Any, message: str = "", title: str = "", default: Any = None) -> Any:
        return items[-1]

    def text(self, message: str, title: str = "", default: Any = None) -> Any:
        return "typed"

    def number(
        self,
        message: str,
        title: str = "",
        default: Any = None,
        minimum: Any = None,
        maximum: Any = None,
    ) -> Any:
        return 7.0

    def file(self, message: str, title: str = "", folder: bool = False, default: Any = None) -> Any:
        return "/some/file"


def test_a_gui_receives_everything(database_folder: tuple[Path, Manifest]) -> None:
    root, manifest = database_folder
    status, dialog = GuiStatus(), GuiDialog()
    database = db.database(root, status=status, dialog=dialog)
    assert status.steps[-1][:2] == (manifest.n_instances, manifest.n_instances)  # the scan
    series = database.series()[0]
    series.message("Starting calculation...")
    for i in range(3):
        series.progress(i, 3, "Calculating..")
    assert status.messages == ["Starting calculation..."]
    assert [s[0] for s in status.steps[-3:]] == [0, 1, 2]
    assert series.dialog.question("Do you wish to proceed?", cancel=True) == "yes"
    assert dialog.asked == ["Do you wish to proceed?"]
    assert series.dialog.number("Threshold?") == 7.0
    assert isinstance(dialog, db.DialogLike) and isinstance(status, db.StatusLike)


def test_muted_records_say_nothing(database_folder: tuple[Path, Manifest]) -> None:
    root, _ = database_folder
    status = GuiStatus()
    database = db.database(root, status=status)
    series = database.series()[0]
    series.mute()
    series.message("hidden")
    series.progress(1, 2)
    database.patients()[0].message("hidden too")  # records are views of one database
    assert status.messages == []
    series.unmute()
    series.message("back")
    assert status.messages == ["back"]


def test_gui_object_missing_a_method(database_folder: tuple[Path, Manifest]) -> None:
    class Half:
        def message(self, text: str) -> None:
            pass

    with pytest.raises(TypeError, match=r"lacks progress\(\)"):
        db.database(database_folder[0], status=Half())
    with pytest.raises(TypeError, match=r"lacks question\(\), information\(\)"):
        db.database(database_folder[0], dialog=Half())


def test_terminal_dialogs_with_typed_answers() -> None:
    out = io.StringIO()
    answers = io.StringIO("maybe\nc\n9\n2\nabc\n500\n42\n\n")
    dialog = db.TerminalDialog(stdin=answers, stdout=out, interactive=True)
    assert dialog.question("Proceed?", cancel=True) == "cancel"
    assert "Please answer y/n/c" in out.getvalue()
    assert dialog.choose(["T1", "T2", "PD"], "Which map?") == "T2"
    assert "Please enter a number from 1 to 3" in out.getvalue()
    assert dialog.number("Threshold?", minimum=0, maximum=100) == 42.0
    assert dialog.text("Name?", default="unnamed") == "unnamed"
    assert dialog.file("Where?") is None  # end of input: the default
    assert dialog.question("Again?") == "no"  # end of input


def test_non_interactive_dialogs_return_defaults_at_once() -> None:
    """Without a terminal (here: stdin from /dev/null), dialogs never wait."""
    code = (
        "import dbdicom as db\n"
        "d = db.TerminalDialog()\n"
        "print(d.interactive, d.question('Proceed?', cancel=True), d.question('Sure?'),\n"
        "      d.choose(['a', 'b'], default='a'), d.number('n', default=3.0), d.text('t'))\n"
    )
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False cancel no a 3.0 None"
    assert time.monotonic() - start < 30


def test_question_at_a_real_terminal() -> None:
    """In a pseudo-terminal the question prompts and reads the answer typed."""
    code = (
        "import dbdicom as db\n"
        "answer = db.TerminalDialog().question('Do you wish to proceed?', cancel=True)\n"
        "print('ANSWER', answer)\n"
    )
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"[y/n/c]" not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 1024)
        assert b"Do you wish to proceed? [y/n/c]" in seen
        os.write(leader, b"n\n")
        while b"\n" not in seen.partition(b"ANSWER")[2] and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                try:
                    seen += os.read(leader, 1024)
                except OSError:
                    break
        assert b"ANSWER no" in seen
    finally:
        proc.wait(timeout=30)
        os.close(leader)
