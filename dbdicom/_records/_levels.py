"""The four levels of the hierarchy below a database."""

from __future__ import annotations

from typing import Any

from ._record import Record

__all__ = ["Patient", "Study", "Series", "Instance"]


def _first(record: Record, keyword: str) -> Any:
    values = record._db._values(record._rows()[:1], keyword)
    return values[0] if values else None


class Patient(Record):
    """A patient (or volunteer, animal, phantom): keyed by PatientID."""

    __slots__ = ()
    level = "patient"

    def label(self) -> str:
        name = _first(self, "PatientName")
        return str(name) if name else self._key


class Study(Record):
    """A study: one examination of a patient, keyed by StudyInstanceUID."""

    __slots__ = ()
    level = "study"

    def label(self) -> str:
        desc = _first(self, "StudyDescription")
        date = _first(self, "StudyDate")
        text = str(desc) if desc else "(no description)"
        return f"{text} [{date}]" if date else text


class Series(Record):
    """A series: images acquired or derived together, keyed by SeriesInstanceUID."""

    __slots__ = ()
    level = "series"

    def label(self) -> str:
        desc = _first(self, "SeriesDescription")
        number = _first(self, "SeriesNumber")
        text = str(desc) if desc else "(no description)"
        return f"{number}: {text}" if number is not None else text


class Instance(Record):
    """One instance (one file): an image, a multi-frame image or another object."""

    __slots__ = ()
    level = "instance"

    def label(self) -> str:
        number = _first(self, "InstanceNumber")
        return f"instance {number}" if number is not None else self._key

    @property
    def path(self) -> str:
        """The absolute path of the instance's file."""
        return self._db._files(self._rows())[0]
