"""The base of every record: a thin handle (a key and its database).

A record holds no dataset and no pixels: every question it answers goes to the
database's index, which reads files only for tags it does not hold yet.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._checks import READ_HINT, TagLike, suggest
from .._custom import custom, custom_names
from .._errors import UnknownAttributeError
from .._interaction import tell, warn
from .._keywords import tag_for_keyword
from ._attributes import ELSEWHERE, LEVELS
from ._copies import save_to
from ._empty import child_level, parent_of
from ._exports import Exports
from ._find import find
from ._html import html_tree
from ._membership import Membership
from ._print import summary, tree
from ._reads import read, unique
from ._set import Deletes, set_values
from ._structure import (
    copy_to,
    move_to,
    new_child,
    new_instance,
    remove,
    set_custom,
)
from ._views import Views

if TYPE_CHECKING:
    from ._database import Database

__all__ = ["Record", "TagLike"]


class Record(Exports, Views, Deletes, Membership):
    """A patient, study, series or instance of a database (or the database).

    Records are light handles: equal when they are of the same level, in the
    same database and have the same key (the UID, or PatientID for
    patients); hashable; cheap to create and to keep in lists.
    """

    __slots__ = ("_db", "_key")
    level: ClassVar[str] = ""

    def __init__(self, db: Database, key: str) -> None:
        self._db = db
        self._key = key

    # ----------------------------------------------------------- identity
    @property
    def uid(self) -> str:
        """The record's key: its UID (PatientID for a patient, path for a database)."""
        return self._key

    @property
    def database(self) -> Database:
        """The database the record belongs to."""
        return self._db

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._db is self._db and other._key == self._key

    def __hash__(self) -> int:
        return hash((self.level, id(self._db), self._key))

    def __repr__(self) -> str:
        return summary(self)

    def _repr_html_(self) -> str:
        """The tree below the record as HTML (what a notebook shows): see :func:`html_tree`."""
        return html_tree(self)

    def label(self) -> str:
        """A short human-readable name of the record."""
        return self._key

    # ----------------------------------------------------------- rows
    def _rows(self) -> np.ndarray:
        """Positions in the index of the instances under this record."""
        return self._db._index_rows(self.level, self._key)

    def _records(self, level: str, rows: np.ndarray) -> list[Any]:
        cls = self._db._class_of(level)
        keys = self._db._ordered_keys(level, rows)
        return [cls(self._db, k) for k in keys]

    def _find(self, level: str, filters: dict[str, Any]) -> Any:
        return find(self, level, filters)

    def patients(self, **filters: Any) -> Any:
        """The patients under this record, optionally only those matching ``filters``.

        Filters are DICOM keywords with what their value must be; an
        instance must match all of them for its patient (study, series) to be
        returned. The same filters work in :meth:`studies`, :meth:`series`,
        :meth:`instances` and :meth:`children`. A filter's value is:

        * a value: equal to it (numbers within 1e-9, text exactly);
        * a **list**: any of its items (``SeriesDescription=["T1", "T2"]``).
          For a tag that holds several values (VM > 1:
          ``ImageOrientationPatient``, ``PixelSpacing``, ``ImageType``) a list
          of plain values, like a tuple, is one value; a list of tuples is any
          of them;
        * a **tuple**: one multi-valued value, e.g.
          ``ImageOrientationPatient=(1, 0, 0, 0, 1, 0)``; an error for a tag
          of one value, except ``(start, end)`` for dates and times;
        * text with DICOM **wildcards** ``*`` (any characters) and ``?`` (one
          character), for text VRs (AE, CS, LO, LT, PN, SH, ST, UC, UT; a
          person name matches on its text ``"Family^Given"``). Case matters;
          UIDs and numbers have no wildcards;
        * a DICOM **range** for dates and times (DA, TM, DT):
          ``"20200101-20201231"``, ``"20200101-"``, ``"-20201231"``, ends
          included; ``datetime.date``/``time``/``datetime`` objects and
          ``(start, end)`` pairs (``None`` for an open end) too. A time or
          date time without its trailing parts is that whole period;
        * ``None``: the files without the tag;
        * a function of the value returning True (called once per file).

        A value of the wrong type for the tag's VR (``Rows="abc"``,
        ``StudyDate=3.5``) raises :class:`dbdicom.InvalidValueError` naming the
        tag and the VR; a name that is not a DICOM keyword raises
        :class:`dbdicom.UnknownTagError` with a suggestion. Called on a study,
        series or instance, ``patients()`` returns the one patient it belongs
        to (no filters).

        Examples
        --------
        >>> [p.PatientName for p in database.patients()]  # own level: one value
        ['Phantom^Alpha', 'Phantom^Beta']
        >>> database.patients(StudyDescription="MR phantom")[0].uid
        'DEMO-002'
        >>> [p.uid for p in database.patients(PatientName="*^Beta")]
        ['DEMO-002']
        >>> database.series(SeriesDescription="VFA")[0].patients().uid
        'DEMO-001'
        """
        return self._find("patient", filters)

    def studies(self, **filters: Any) -> Any:
        """The studies under this record (or, from below, the one above it).

        ``filters`` as in :meth:`patients`: values, lists (any of),
        wildcards, date and time ranges, functions.

        Examples
        --------
        >>> [s.StudyDescription for s in database.studies(Modality="CT")]
        ['CT phantom']
        >>> [s.StudyDate for s in database.studies(StudyDate="20240101-20240131")]
        ['20240115', '20240116']
        """
        return self._find("study", filters)

    def series(self, **filters: Any) -> Any:
        """The series under this record (or, from an instance, its series).

        ``filters`` as in :meth:`patients`.

        Examples
        --------
        >>> study = database.studies(StudyDescription="MR phantom T1 mapping")[0]
        >>> study.SeriesDescription  # a lower level: the sorted distinct values
        ['T2w', 'VFA', 'localiser']
        >>> [s.label() for s in database.series(FlipAngle=lambda a: a is not None and a < 90)]
        ['1: localiser', '3: VFA']
        >>> [s.label() for s in database.series(SeriesDescription=["T2w", "VFA"])]
        ['2: T2w', '3: VFA']
        >>> [s.label() for s in database.series(SeriesDescription="T2w*")]
        ['2: T2w', '1: T2w sag']
        """
        return self._find("series", filters)

    def instances(self, **filters: Any) -> Any:
        """The instances under this record, matching all ``filters`` (see :meth:`patients`).

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> len(vfa.instances()), len(vfa.instances(FlipAngle=10))
        (24, 6)
        """
        return self._find("instance", filters)

    def children(self, **filters: Any) -> list[Any]:
        """The records one level down, matching all ``filters`` (see :meth:`patients`)."""
        i = LEVELS.index(self.level)
        if i == len(LEVELS) - 1:
            return []
        return list(self._find(LEVELS[i + 1], filters))

    @property
    def parent(self) -> Any:
        """The record one level up (the database for a patient)."""
        i = LEVELS.index(self.level)
        if i == 0:
            return None
        if i == 1:
            return self._db
        return self._find(LEVELS[i - 1], {})

    # ----------------------------------------------------------- attributes
    def get(self, tag: TagLike | list[TagLike]) -> Any:
        """The value of a tag, or the list of its values, by the level of the tag.

        An attribute of the record's own level or of a level above it
        (``series.SeriesDescription``, ``series.PatientName``,
        ``study.StudyDate``, any attribute of an instance) is one value,
        ``None`` when no file has it. An attribute of a lower level
        (``study.SeriesDescription``, ``series.Rows``, everything on the
        database) is the sorted list of its distinct values, ``None`` left
        out (in first-seen order where the values do not sort together).
        Files of one record that disagree on a value that should be single
        give the sorted list of their values, and the record is listed by
        ``database.problems()``. Private tags are the instance's. A list of
        tags gives a list with one such result per tag. ``record.Rows``,
        ``record["Rows"]`` and ``record[(0x0028, 0x0010)]`` are the same; for
        the list whatever the level, see :meth:`unique`.

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> vfa.SeriesDescription, vfa.PatientName, vfa.FlipAngle
        ('VFA', 'Phantom^Alpha', [2.0, 5.0, 10.0, 15.0])
        >>> vfa.parent.SeriesDescription  # a study: the series below it
        ['T2w', 'VFA', 'localiser']
        >>> instance = vfa.instances()[0]
        >>> instance.Rows, instance["Columns"], instance[(0x0028, 0x0010)]
        (64, 64, 64)
        >>> vfa[["SeriesNumber", (0x0028, 0x0011)]]
        [3, [64]]
        """
        return read(self, tag)

    def unique(self, tag: TagLike) -> list[Any]:
        """The sorted distinct values of a tag over the record's files, whatever its level.

        ``None`` is left out; values that do not sort together (numbers and
        text) are in first-seen order. This is :meth:`get` without the level
        rule: a list even for one value, as pandas' ``unique()``.

        Examples
        --------
        >>> vfa = database.series(SeriesDescription="VFA")[0]
        >>> vfa.unique("SeriesDescription"), vfa.unique("FlipAngle")
        (['VFA'], [2.0, 5.0, 10.0, 15.0])
        >>> vfa.instances()[0].unique("ImageComments")
        []
        """
        return unique(self, tag)

    def __getitem__(self, tag: TagLike | list[TagLike]) -> Any:
        return self.get(tag)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: methods and properties win
        if name.startswith("_"):
            raise AttributeError(name)
        if tag_for_keyword(name) is not None or custom(name) is not None:
            return self.get(name)
        methods = [m for m in dir(type(self)) if not m.startswith("_")]
        hint = ELSEWHERE.get((self.level, name)) or (
            READ_HINT if name.startswith("get_") else suggest(name, methods + custom_names())
        )
        raise UnknownAttributeError(
            f"{type(self).__name__} has no attribute {name!r}: it is neither a method, a "
            f"DICOM keyword nor a custom attribute.{hint}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif custom(name) is not None:
            set_custom(self, name, value)
        elif tag_for_keyword(name) is not None:
            set_values(self, [(name, value)])
        else:
            methods = [m for m in dir(type(self)) if not m.startswith("_")]
            raise UnknownAttributeError(
                f"cannot set {name!r} on a {type(self).__name__}: it is neither a DICOM "
                f"keyword nor a custom attribute.{suggest(name, custom_names() + methods)}"
            )

    def __setitem__(self, tag: TagLike | list[TagLike], value: Any) -> None:
        """Set a tag (keyword, number, (group, element)), or a list of tags.

        A higher level sets the value in every instance below it; see
        :meth:`set_values` for the rules.
        """
        if isinstance(tag, list):
            values = list(value) if isinstance(value, list | tuple) else None
            if values is None or len(values) != len(tag):
                raise ValueError(
                    f"{len(tag)} tags need a list of {len(tag)} values; got {value!r}."
                )
            items = list(zip(tag, values, strict=True))
        else:
            items = [(tag, value)]
        customs = [(t, v) for t, v in items if isinstance(t, str) and custom(t) is not None]
        for name, v in customs:
            set_custom(self, name, v)
        rest = [(t, v) for t, v in items if not (isinstance(t, str) and custom(t) is not None)]
        if rest:
            set_values(self, rest)

    def set_values(self, values: dict[Any, Any] | None = None, **keywords: Any) -> None:
        """Set several tags at once (one rewrite of each file).

        ``record.set_values({"EchoTime": 23.0}, Rows=128)`` is
        ``record.EchoTime = 23.0; record.Rows = 128`` in one pass.

        The rules:

        * The value is checked against the tag's VR before any file is
          touched; an invalid value raises :class:`dbdicom.InvalidValueError`
          naming the tag, the VR and the value.
        * Values are natural Python values: numbers, strings, lists (several
          values), ``datetime.date``/``time``/``datetime`` for dates and
          times, ``None`` for an empty value.
        * A record above an instance sets the value in every instance below it.
        * An attribute of a higher level (``PatientName`` on a series) is set
          for the whole record of that level (every file of the series'
          patient), so that a patient keeps one name.
        * The keys (``PatientID``, ``StudyInstanceUID``, ``SeriesInstanceUID``,
          ``SOPInstanceUID``) are set only on records of their own level;
          use :meth:`move_to` to change a record's parent.
        * Every change is written to disk at once and can be undone with
          :meth:`restore` until :meth:`save`.

        Examples
        --------
        >>> series = database.series(SeriesDescription="T2w")[0]
        >>> series.set_values(SeriesDescription="T2 weighted", EchoTime=90)
        >>> series.SeriesDescription, series.EchoTime
        ('T2 weighted', [90.0])
        >>> series.restore()  # the 6 files of the series, as they were
        6
        """
        items = list((values or {}).items()) + list(keywords.items())
        self.__setitem__([t for t, _ in items], [v for _, v in items])

    # ----------------------------------------------------------- structure
    def remove(self) -> None:
        """Remove this record and everything below it (undone by :meth:`restore`).

        Examples
        --------
        >>> instance = database.series(SeriesDescription="T2w")[0].instances()[0]
        >>> instance.remove()
        >>> instance.SOPInstanceUID
        Traceback (most recent call last):
        ...
        dbdicom._errors.DicomError: no instance with key ... it was removed, or ...
        """
        remove(self)

    def move_to(self, parent: Record) -> Record:
        """Put this record under ``parent`` (a record one level up); returns it.

        The attributes of the parent's levels are rewritten in every file
        (moving a study to another patient gives its files that patient's
        name, ID, birth date...); attributes the new parent does not have
        are removed. Keys of the record and below do not change. A parent in
        another database: the record is copied there, then removed here.
        """
        return move_to(self, parent)

    def copy(self) -> Record:
        """A copy under the same parent, with new UIDs (and a new PatientID for a patient).

        Series copies get the next SeriesNumber of the study.

        Examples
        --------
        >>> series = database.series(SeriesDescription="T2w")[0]
        >>> copy = series.copy()
        >>> copy.SeriesDescription, copy.uid != series.uid, copy.SeriesNumber
        ('T2w', True, 4)
        >>> database.restore()
        6
        """
        return copy_to(self, self.parent)

    def copy_to(self, parent: Record) -> Record:
        """A copy of this record under ``parent`` (possibly in another database).

        ``record.copy().move_to(parent)`` in one pass.
        """
        return copy_to(self, parent)

    def new_child(self, **attributes: Any) -> Record:
        """A new record one level down, inheriting ``attributes`` and this record's.

        Patients, studies and series without files live in memory until a
        file is written below them (see :meth:`new_instance`).
        """
        return new_child(self, child_level(self.level, "new_child"), attributes)

    def new_sibling(self, **attributes: Any) -> Record:
        """A new record under the same parent."""
        return parent_of(self, "new_sibling").new_child(**attributes)

    def new_pibling(self, **attributes: Any) -> Record:
        """A new sibling of the parent (e.g. a new study for a series).

        Examples
        --------
        >>> series = database.series(SeriesDescription="T2w")[0]
        >>> study = series.new_pibling(StudyDescription="Parametric maps", StudyDate="20221212")
        >>> study.StudyDescription, study.PatientName == series.PatientName
        ('Parametric maps', True)
        """
        return parent_of(parent_of(self, "new_pibling"), "new_pibling").new_child(**attributes)

    def new_patient(self, **attributes: Any) -> Record:
        """A new patient (from the database)."""
        return new_child(self, "patient", attributes)

    def new_study(self, **attributes: Any) -> Record:
        """A new study below this record (a new patient too, from a database)."""
        return new_child(self, "study", attributes)

    def new_series(self, **attributes: Any) -> Record:
        """A new series below this record (with the records between, if needed).

        Examples
        --------
        >>> patient = database.new_patient(PatientName="James Bond")
        >>> study = patient.new_study(StudyDescription="MRI")
        >>> series = study.new_series(SeriesDescription="Localizer")
        >>> series.PatientName, series.StudyDescription, series.SeriesDescription
        ('James Bond', 'MRI', 'Localizer')
        """
        return new_child(self, "series", attributes)

    def new_instance(self, dataset: Any = None, **attributes: Any) -> Record:
        """A new instance (a file) in this series, with ``attributes``.

        A copy of ``dataset`` (a pydicom Dataset; patient, study and series values the records',
        a new series' only those it was given), or a blank image of the series' size from the
        template of its Modality (CT Image for CT, MR Image for MR or none, else Secondary Capture).
        """
        if self.level != "series":
            return new_child(self, "instance", attributes)
        return new_instance(self, dataset, attributes)

    def zeros(self, shape: Any, dtype: str = "mri", **attributes: Any) -> Record:
        """A new series below this record holding zeros of ``shape`` (frames, rows, columns).

        The images are MR images (``dtype="mri"``), with ``attributes``.

        Examples
        --------
        >>> study = database.studies()[0]
        >>> series = study.zeros((4, 32, 32), SeriesDescription="blank")
        >>> series.Rows, len(series.instances())
        ([32], 4)
        >>> database.restore()
        4
        """
        if dtype.lower() not in ("mri", "mr"):
            raise ValueError(f"dtype {dtype!r}: only 'mri' (MR Image) images are made here.")
        series = self if self.level == "series" else self.new_series(**attributes)
        series.set_array(np.zeros(tuple(shape), dtype=np.uint16))
        return series

    # ----------------------------------------------------------- transactions
    def read(self) -> None:
        """Load the datasets of this record into memory.

        Later edits happen there (fast), until :meth:`clear` writes them to disk.
        """
        self._db._editor.read(self._rows())

    def clear(self) -> None:
        """Write the edits made in memory to disk (unsaved, restorable) and free it."""
        editor = self._db._editor
        rels = None if self.level == "database" else editor.rels(self._rows())
        editor.write_pending(rels, forget=True)

    def save(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Make this record's changes permanent (its files only).

        With a ``path`` (a folder that does not exist yet, or is empty), the
        record's files are also written there, as a database folder of their
        own; that database is returned. This is how a database made without
        a folder (``db.database()``) is kept, and how the objects of a
        database in a remote store (a URL) are downloaded into a folder.

        Examples
        --------
        >>> import tempfile, os, dbdicom as db
        >>> series = db.series(np.zeros((3, 16, 16)), SeriesDescription="zeros")
        >>> folder = os.path.join(tempfile.mkdtemp(), "kept")
        >>> kept = series.save(folder)
        >>> [s.SeriesDescription for s in kept.series()]
        ['zeros']
        """
        index = self._db._index
        if path is None or not index.remote or index.writable:  # (a read-only store: none)
            self._db._editor.save(self)
        if path is None:
            return None
        return save_to(self, path)

    def restore(self) -> int:
        """Undo this record's unsaved changes: its files back to the last save, byte for byte.

        Returns the number of files whose changes were undone: put back on
        disk, or (read into memory with :meth:`read`) dropped from memory.
        """
        return self._db._editor.restore(self)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()))

    # ----------------------------------------------------------- the user
    def message(self, text: str) -> None:
        """Send a message: to the logger ``"dbdicom"`` (INFO), and to a GUI's status bar.

        Printed on standard output when logging is not set up (see
        :class:`dbdicom.Status`).

        Examples
        --------
        >>> import logging, sys
        >>> log, shown = logging.getLogger("dbdicom"), logging.StreamHandler(sys.stdout)
        >>> log.addHandler(shown); log.setLevel(logging.INFO)
        >>> database.series()[0].message("Starting calculation...")
        Starting calculation...
        >>> log.removeHandler(shown); log.setLevel(logging.NOTSET)
        """
        if not self._db._muted:
            tell(self._db._status, text)

    def _warn(self, text: str) -> None:
        """Warn once (a :class:`dbdicom.DicomWarning`; a GUI's status shows it too)."""
        if not self._db._muted:
            warn(self._db._status, text)

    def progress(self, value: int, total: int, text: str = "") -> None:
        """Show that ``value`` of ``total`` steps are done: a tqdm bar, or the GUI's."""
        if not self._db._muted:
            self._db._status.progress(value, total, text)

    def mute(self) -> None:
        """Say nothing (no messages, warnings or progress) until :meth:`unmute`.

        Records are views of their database, so this mutes the database and
        every record of it.

        Examples
        --------
        >>> series = database.series()[0]
        >>> series.mute(); series.message("not shown"); series.unmute()
        """
        self._db._muted = True

    def unmute(self) -> None:
        """Speak again after :meth:`mute`."""
        self._db._muted = False

    @property
    def dialog(self) -> Any:
        """The dialogs that ask the user (see :class:`dbdicom.DialogLike`).

        At a terminal they prompt; without one (CI, notebooks, pipes) they
        print the question and return the default at once.

        Examples
        --------
        >>> database.series()[0].dialog.question("Do you wish to proceed?", cancel=True)
        Do you wish to proceed? [y/n/c] -> cancel (no terminal to answer)
        'cancel'
        """
        return self._db._dialog

    @property
    def status(self) -> Any:
        """Where messages and progress go (see :class:`dbdicom.StatusLike`)."""
        return self._db._status

    # ----------------------------------------------------------- summary
    def print(self) -> None:
        """Print the tree below this record, with counts."""
        print(tree(self))

    def files(self) -> list[str]:
        """Absolute paths of the files of the instances under this record (URLs in a store)."""
        return self._db._files(self._rows())
