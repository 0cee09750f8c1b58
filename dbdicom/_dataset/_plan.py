r"""Header plans: what each frame of a derived or new series holds, decided once.

A write makes one :class:`PlanBuilder`; it turns each frame's inputs (its
source frames, the tag values of its coordinates and geometry, its new
UID) into a :class:`FramePlan`: the header the frame starts from (a
source's, or the template's) and the element layers put on top of it,
later layers winning (None: the element is left out):

1. the elements a derived single-frame image must not copy
   (:data:`~dbdicom._dataset._elements.DROP`);
2. the array's attrs;
3. the frame's own: its coordinates and geometry (a stack along the slice
   normal for a new image without positions), SOPInstanceUID,
   InstanceNumber, ImageType (DERIVED\SECONDARY, then the frame's values
   3 on), the SpacingBetweenSlices of where the frames lie (see
   :meth:`PlanBuilder.slices`), the SpecificCharacterSet where the new
   text needs one, the references to its sources (SourceImageSequence,
   ReferencedSeriesSequence) and dbdicom as the equipment that processed
   them (an item appended to the ContributingEquipmentSequence: see
   :mod:`._equipment`), the write's InstanceCreationDate and Time; and
   the tags its sources differ in, left out
   (a map fitted over flip angles has no flip angle) unless the frame's
   values or the attrs give them;
4. the attributes of the target series, its study and patient (a new file
   empties the template's made-up values its parents do not have);
5. the writer's: SeriesInstanceUID, DerivationDescription, pixel format;
6. the window (centre and width of the data's range).

Every rule lives here. Layers 1, 2 and 4-6 are the same objects for every
frame (encoded once per character set); layer 3 is small. The plan is
serialised as bytes (:func:`dbdicom._dataset.as_bytes`: the base's elements
copied as they are) or through pydicom (:func:`dbdicom._dataset.as_dataset`:
the fallback for bases that are not plain Explicit VR Little Endian, and
for text that needs the whole header re-encoded).

Nothing here knows of records, the index or the folder layout.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import numpy as np
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from .._checks import plain_number_text, resolve_tag, to_dicom
from .._custom import CustomAttribute, custom
from .._errors import InvalidValueError
from .._files import Layouts, encode_element
from ._attrs import shared_attrs
from ._base import Base, Template, base_of, centre, differing, template_modality
from ._classes import RT_DOSE, class_drops, class_rules, dose_values, rescaled_class
from ._counts import Counts
from ._elements import (
    CHARSET,
    DROP,
    REMOVE,
    TYPE2_PARENTS,
    UTF8,
    VOI,
    empty_element,
    encode_values,
    encoding_all,
    image_type_rest,
    non_ascii,
    number_element,
    reads_same_in,
    references,
    refused_coordinate,
    ui,
)
from ._encoding import Encoding, pixel_values
from ._equipment import CONTRIBUTING, Contributions
from ._placeholders import study_when, true_placeholders
from ._source import Source

__all__ = ["FramePlan", "PlanBuilder"]

_IMAGE_TYPE, _SOP_CLASS, _SOP_INSTANCE = 0x00080008, 0x00080016, 0x00080018
_INSTANCE_NUMBER, _SPACING, _RESCALE_SLOPE = 0x00200013, 0x00180088, 0x00281053

# the frame's place: where sources at several places put it (see remove_differing)
_POSITION, _ORIENTATION, _LOCATION = 0x00200032, 0x00200037, 0x00201041
# FrameReferenceTime, ActualFrameDuration: of one time frame (a PET image's)
_FRAME_TIME, _DURATION = 0x00541300, 0x00181242


@dataclass(slots=True)
class FramePlan:
    """What one frame's header holds.

    ``base``, then ``layers`` of elements on top (later win; None: left
    out), the text of the layers in ``charset`` (None: ASCII only);
    ``customs``: custom attributes to apply to the dataset (through pydicom
    only); ``bytes_ok``: whether the base's own elements can be copied as
    they are; ``encoding``: how its pixel values are stored (described in
    the layers).

    Examples
    --------
    >>> from dbdicom._dataset import example_plan
    >>> plan = example_plan()
    >>> plan.bytes_ok, plan.charset, plan.customs, plan.sop_class == "1.2.840.10008.5.1.4.1.1.4"
    (True, None, [], True)
    """

    #: the index of the frame's own layer in ``layers`` (the others are shared)
    OWN: ClassVar[int] = 2

    base: Base
    layers: list[dict[int, bytes | None]]
    sop_uid: str
    charset: str | None
    customs: list[tuple[CustomAttribute, Any]]
    bytes_ok: bool
    encoding: Encoding
    #: its SOP Class UID: the base's, unless its class cannot hold the frame
    #: (see :func:`~dbdicom._dataset._classes.derived_class`)
    sop_class: str


def _vr_of(number: int) -> str:
    return str(dictionary_VR(number)).split(" or ")[0]


def _tags(keywords: Sequence[str]) -> dict[int, bytes | None]:
    return {tag: None for tag in (tag_for_keyword(k) for k in keywords) if tag is not None}


class PlanBuilder:
    """Builds the :class:`FramePlan` of every frame of one write.

    Parameters
    ----------
    target : dict
        Keyword -> value of the target series, its study and patient
        (:data:`REMOVE`: the element goes); lower_case names are custom
        attributes.
    attrs : dict
        Keyword -> tag value of the array's attrs (checked here; those of
        the patient and study levels are left to ``target``).
    series_uid : str
        The series' UID.
    description : str or None
        The DerivationDescription (None: one that says where the frames
        come from).
    sources : sequence of Source
        The sources of all frames (what the description counts).
    shape : tuple
        Rows and columns of the frames.
    encoding : Encoding
        The write's pixel encoding.
    window : tuple
        Lowest and highest value of the data.
    keep_new : collection of str
        Template attributes a new file keeps where its parents have none.
    levels : dict
        The attributes of each level (``"patient"``, ``"study"``,
        ``"series"``): an enhanced (multi-frame) source gives a frame those
        (its other attributes describe the whole object), and the array's
        attrs of the patient and study levels give way to ``target``.
    pydicom_only : bool
        Read every source through pydicom (the bytes path not taken).

    Examples
    --------
    >>> builder = PlanBuilder(
    ...     target={"PatientName": "Gérard^Jean", "InstitutionName": REMOVE},
    ...     attrs={"ProtocolName": "T1 map"}, series_uid="1.2.3", description=None,
    ...     sources=[], shape=(4, 4), encoding=Encoding("uint16", 1.0, 0.0, True),
    ...     window=(0.0, 10.0), keep_new=(), levels={})
    >>> plan = builder.frame([], "1.2.3.4", {"FlipAngle": 20}, {}, 1)
    >>> plan.charset, plan.bytes_ok  # the template's Latin-1 encodes the new name
    ('ISO_IR 100', True)
    >>> from dbdicom._dataset import as_dataset
    >>> ds = as_dataset(plan)
    >>> str(ds.PatientName), ds.FlipAngle, ds.InstitutionName, ds.ImageType[:2]
    ('Gérard^Jean', '20', '', ['DERIVED', 'SECONDARY'])
    >>> ds.ProtocolName, ds.DerivationDescription
    ('T1 map', 'made by dbdicom from an array')
    """

    def __init__(
        self,
        *,
        target: dict[str, Any],
        attrs: dict[str, Any],
        series_uid: str,
        description: str | None,
        sources: Sequence[Source],
        shape: tuple[int, ...],
        encoding: Encoding,
        window: tuple[float, float],
        keep_new: Collection[str],
        levels: Mapping[str, Sequence[str]],
        pydicom_only: bool = False,
    ) -> None:
        modality, samples = template_modality(target, attrs), encoding.samples
        self.template = Template(int(shape[0]), int(shape[1]), modality, samples)
        self.keep_new, self.pydicom_only, self.encoding = keep_new, pydicom_only, encoding
        self.levels = [k for level in ("patient", "study", "series") for k in levels.get(level, ())]
        parents = {k for level in ("patient", "study") for k in levels.get(level, ())}
        # the attrs, checked once and set in every frame: the target's attributes
        # (its patient's, study's, own) win over the array's, and what a derived
        # frame drops stays out
        shared = shared_attrs(attrs, parents | set(DROP) | set(target), sources)
        what = description or (
            f"derived by dbdicom from {len({s.series_uid for s in sources})} series"
            if sources
            else "made by dbdicom from an array"
        )
        # custom attributes of the target: applied through pydicom
        self.customs: list[tuple[CustomAttribute, Any]] = []
        for keyword, value in target.items():
            attribute = custom(keyword) if keyword.islower() else None
            if attribute is not None:
                self.customs.append((attribute, value))
        # text beyond ASCII among the new values: encoded in the character set
        # of each frame's source where it can be, else in UTF-8
        texts = [what, *(value for _, _, value in shared), *target.values()]
        self.texts = [value for value in texts if non_ascii(value)]
        # a character set given among the attrs: all new text is in it, where
        # it encodes that text (else the attr is left out, as for no attr)
        given = [value for number, _, value in shared if number == CHARSET]
        self.given: str | None = None
        if given:
            value = given[-1]
            name = value if isinstance(value, str) else "\\".join(map(str, value))
            if not self.texts or encoding_all(name, self.texts) is not None:
                self.given = name
            else:
                shared = [item for item in shared if item[0] != CHARSET]
        self.drops: dict[int, bytes | None] = _tags([*DROP, "NumberOfFrames"])
        self._shared_values = shared
        self._attr_tags = frozenset(number for number, _, _ in shared)
        # an ImageType among the attrs: its values 3 on, where a frame has no coordinate's
        types = [value for number, _, value in shared if number == _IMAGE_TYPE]
        self._attr_image_type = encode_values([(_IMAGE_TYPE, "CS", types[-1])]) if types else {}
        self._parents: list[tuple[int, str, Any]] = []
        self._removed: dict[int, bytes | None] = {}
        for keyword, value in target.items():
            if keyword.islower():
                continue
            number, _, vr = resolve_tag(keyword)
            if value is REMOVE:  # Type 2 (must be present): emptied, not left out
                empty = encode_element(number, vr, "") if keyword in TYPE2_PARENTS else None
                self._removed[number] = empty
            else:
                self._parents.append((number, vr, value))
        self._parent_tags = frozenset(number for number, _, _ in self._parents)
        self._pixels = (series_uid, what, tuple(shape), encoding)
        if encoding.samples == 1:
            center = to_dicom("WindowCenter", (window[0] + window[1]) / 2)
            width = to_dicom("WindowWidth", max(window[1] - window[0], 1.0))
            self.window = encode_values([(0x00281050, "DS", center), (0x00281051, "DS", width)])
        else:  # colour is shown as it is: no window (nor the source's)
            self.window = _tags(VOI)
        # per character set: the shared attrs and the parents' values, the
        # parents' values for a new file, the writer's elements
        self._text: dict[Any, tuple[dict[int, bytes | None], dict[int, bytes | None]]] = {}
        self._new: dict[Any, dict[int, bytes | None]] = {}
        self._writer: dict[tuple[bool, Any, bool, bool], dict[int, bytes | None]] = {}
        self._encodable: dict[str | None, str | None] = {}
        self._checked: dict[tuple[str, Any], dict[int, bytes | None]] = {}
        self._image_types: dict[Any, bytes] = {}  # by ImageType element or values
        self._classes: dict[str, bytes] = {}
        self.layouts = Layouts()  # the source headers of a series share a layout
        # where the frames lie (see slices): no grid known, no SpacingBetweenSlices
        self._spacing: bytes | None = None
        self._one_slice = False  # one slice: no step found, none contradicted
        self._step: float | None = None  # the step of that grid
        self._when = study_when(target)  # placeholder dates: the study's
        self.counts = Counts()  # NumberOfSlices, ImageIndex...: of the frames written
        # dbdicom, as the equipment of this write; the time of the write
        self.contributions = Contributions({number: value for number, _, value in shared})

    def slices(self, spacing: float | None, count: int, numbers: Any = None) -> None:
        """Where the frames of the write lie: ``spacing`` between slices, ``count`` slices.

        ``spacing`` None: they lie on no grid along their normal (uneven
        gaps, not known). The SpacingBetweenSlices of every frame is then
        left out (a source's, an attr's: it would be untrue); otherwise it is
        ``spacing`` where the frame's header has one (its source's, an attr,
        a coordinate, or an ``affine`` for a new frame). One slice (``count``
        1, no step) contradicts no spacing: its source's or attr's stays.
        NumberOfSlices, where a source has it, becomes ``count`` (0: not known,
        the source's stays); ``numbers``: the slice of each frame (1 on, 0:
        not known; None: none known), for the counts that need it (see
        :class:`~dbdicom._dataset._counts.Counts`).

        Examples
        --------
        >>> from dbdicom._dataset import as_dataset
        >>> builder = PlanBuilder(
        ...     target={}, attrs={"SpacingBetweenSlices": 2.5}, series_uid="1.2.3",
        ...     description=None, sources=[], shape=(4, 4),
        ...     encoding=Encoding("uint16", 1.0, 0.0, True), window=(0.0, 10.0),
        ...     keep_new=(), levels={})
        >>> builder.slices(5.0, 3)
        >>> as_dataset(builder.frame([], "1.2.3.4", {}, {}, 1)).SpacingBetweenSlices
        '5.0'
        >>> builder.slices(None, 1)  # one slice: the attr's stays
        >>> as_dataset(builder.frame([], "1.2.3.5", {}, {}, 1)).SpacingBetweenSlices
        '2.5'
        >>> builder.slices(None, 3)  # uneven gaps
        >>> "SpacingBetweenSlices" in as_dataset(builder.frame([], "1.2.3.6", {}, {}, 1))
        False
        """
        self._one_slice = spacing is None and count == 1
        self._step = None if spacing is None else float(spacing)
        if spacing is None:
            self._spacing = None
        else:
            text = plain_number_text(_SPACING, "DS", float(spacing))
            value = text if text is not None else str(to_dicom("SpacingBetweenSlices", spacing))
            self._spacing = number_element(_SPACING, "DS", value)
        known = np.zeros(0, np.int64) if numbers is None else np.asarray(numbers, np.int64)
        self.counts.place(known, count)

    # ------------------------------------------------------------ the base
    def base(self, group: Sequence[Source]) -> Base:
        """The header a frame with sources ``group`` starts from.

        See :func:`~dbdicom._dataset._base.base_of`.
        """
        return base_of(group, self.template, self.levels, self.layouts, self.pydicom_only)

    def remove_differing(
        self, group: Sequence[Source], base: Base, delta: dict[int, bytes | None]
    ) -> None:
        """Empty in ``delta``'s frame the tags its sources ``group`` differ in.

        Such a tag (the flip angle of a map fitted over flip angles) is not
        the frame's: the first source's value is not copied, unless the
        frame's coordinates, the attrs or a later layer give it one. The
        element stays, with no value, where the first source has it: a
        Type 2 attribute (``EchoTime`` of a map fitted over echo times) must
        be present, and may be empty. Sources of several time frames give
        no frame duration: what they share is not the combined frame's.
        """
        if len(group) < 2:
            return
        attrs = self._attr_tags
        first = base.elements if base.source is group[0] else None
        differ = differing(group, self.layouts, first)
        if _FRAME_TIME in differ:
            differ = differ | {_DURATION}
        if _POSITION in differ and _ORIENTATION not in differ and _POSITION not in delta:
            # sources at several places, alike in orientation (a mean or a maximum over
            # slices): the frame lies at their centre, as a thick slab does (the position
            # is Type 1: an empty one made the image invalid)
            wanted = [t for t in (_POSITION, _LOCATION) if t in differ and t not in attrs]
            for tag, middle in centre(group, self.layouts, wanted).items():
                numbers = [float(to_dicom("SliceLocation", v)) for v in middle]
                delta.update(encode_values([(tag, "DS", numbers)]))
        for tag in differ:
            if tag not in delta and tag not in attrs:
                delta[tag] = empty_element(tag, base.vr(tag)) if base.has(tag) else None

    # ------------------------------------------------------ shared layers
    def text(self, charset: Any) -> tuple[dict[int, bytes | None], dict[int, bytes | None]]:
        """The shared attrs and the parents' values, encoded in ``charset``.

        ``charset`` None: plain ASCII.
        """
        found = self._text.get(charset)
        if found is None:
            shared = encode_values(self._shared_values, charset)
            target = {**self._removed, **encode_values(self._parents, charset)}
            found = self._text[charset] = (shared, target)
        return found

    def target_new(self, charset: Any) -> dict[int, bytes | None]:
        """The parents' values for a new file.

        Where its parents lack a value, the template's made-up one is emptied
        (those of ``keep_new`` stay).
        """
        found = self._new.get(charset)
        if found is None:
            found = self._new[charset] = dict(self.text(charset)[1])
            for number in self._removed:
                if (
                    number in self.template.elements
                    and keyword_for_tag(number) not in self.keep_new
                ):
                    found[number] = encode_element(number, _vr_of(number), "")
                elif self._removed[number] is None:  # a Type 2 one stays, empty
                    found.pop(number, None)
        return found

    def writer(
        self, rescaled: bool, charset: Any, dose: bool = False, inverted: bool = False
    ) -> dict[int, bytes | None]:
        """The elements the writer sets: series, derivation, pixel format.

        ``dose``: an RT Dose's, scaled by DoseGridScaling, not a rescale.
        ``inverted``: grey values shown inverted (a MONOCHROME1 source's).
        """
        key = (rescaled, charset, dose, inverted)
        found = self._writer.get(key)
        if found is None:
            series_uid, what, shape, encoding = self._pixels
            if dose:
                pixels = dose_values(shape, encoding)
            else:
                pixels = pixel_values(shape, encoding, rescaled, inverted=inverted)
            values = [(0x0020000E, "UI", series_uid), (0x00082111, "ST", what[:1024]), *pixels]
            found = self._writer[key] = encode_values(values, charset)
        return found

    # --------------------------------------------------------- frame values
    def element(self, keyword: str, value: Any) -> dict[int, bytes | None]:
        """A coordinate value as an element, checked once per distinct value.

        Text beyond ASCII is in UTF-8, with the SpecificCharacterSet saying so.
        """
        kind = type(value)
        if kind is float or kind is int or kind is list:
            number, _, vr = resolve_tag(keyword)
            if vr == "DS" or vr == "IS":  # numbers, most often one per frame: no pydicom
                text = plain_number_text(number, vr, value)
                if text is not None:
                    return {number: number_element(number, vr, text)}
        # checked once per distinct value: text and dates by value (equal ones write
        # alike), others by their repr (1 == 1.0, and aware times equal across zones)
        key = (keyword, value) if kind is str or kind is date else (keyword, repr(value))
        found = self._checked.get(key)
        if found is None:
            number, _, vr = resolve_tag(keyword)
            text = plain_number_text(number, vr, value)
            if text is not None:
                found = self._checked[key] = {number: encode_element(number, vr, text)}
                return found
            checked = to_dicom(number, value, vr)
            if checked is None:
                found = {number: encode_element(number, vr, "")}
            elif non_ascii(checked):
                found = {**encode_values([(number, vr, checked)], "ISO_IR 192"), CHARSET: UTF8}
            else:
                found = encode_values([(number, vr, checked)])
            self._checked[key] = found
        return found

    def coordinates(self, values: dict[str, Any]) -> dict[int, bytes | None]:
        """The elements of a frame's coordinate ``values``; a value its VR cannot hold, refused.

        The refusal names the coordinate, and the way out.
        """
        delta: dict[int, bytes | None] = {}
        try:
            for keyword, value in values.items():
                delta.update(self.element(keyword, value))
        except InvalidValueError as exc:
            raise refused_coordinate(keyword, exc) from None
        return delta

    def _place(
        self, delta: dict[int, bytes | None], base: Base, placed: bool, k: int | None
    ) -> None:
        """Frame ``k``'s SpacingBetweenSlices and counts, as the frames lie (see slices).

        The spacing, where the frame has one (a source without one does not
        get one: round trips stay identical; a new image ``placed`` by an
        affine does); none where the frames lie on no grid; where they are
        one slice, the frame's own (its source's, an attr's, a coordinate's:
        the ``affine`` of one slice gives no spacing).
        """
        if self._spacing is None:
            if not self._one_slice:
                delta[_SPACING] = None
        elif placed or _SPACING in delta or base.has(_SPACING) or _SPACING in self._attr_tags:
            delta[_SPACING] = self._spacing
        attrs = self._attr_tags
        self.counts.frame(k, lambda tag: base.has(tag) or tag in attrs, delta)

    def _charset(self, base: Base, delta: dict[int, bytes | None]) -> tuple[str | None, bool]:
        """The character set of the new text of a frame, and whether the base reads the same in it.

        Where the base does not, pydicom re-encodes the whole header. The
        character set is None where all is ASCII; the given one; the base's
        own where it encodes the new text; else UTF-8 (the frame then says
        so).
        """
        if self.given is not None:
            name = self.given
        elif not self.texts and CHARSET not in delta:
            return None, True
        elif CHARSET not in delta:  # no new values of this frame in UTF-8
            own = base.charset()
            if own not in self._encodable:
                self._encodable[own] = encoding_all(own, self.texts)
            found = self._encodable[own]
            if found is not None:
                return found, True
            name = "ISO_IR 192"
            delta[CHARSET] = UTF8
        else:
            name = "ISO_IR 192"
        return name, base.elements is not None and reads_same_in(base.elements, name)

    def _provenance(
        self,
        group: Sequence[Source],
        base: Base,
        charset: str | None,
        delta: dict[int, bytes | None],
    ) -> None:
        """Where a frame comes from, who made it and when, in its ``delta``.

        The references to its sources ``group``, dbdicom's item in its
        ContributingEquipmentSequence (a frame with sources), and the
        write's InstanceCreationDate and Time (unless the attrs give them).
        """
        if group:
            delta[0x00082112], delta[0x00081115] = references(group, self._classes)
            delta[CONTRIBUTING] = self.contributions.element(base, charset)
        delta.update(self.contributions.created(base))

    def frame(
        self,
        group: Sequence[Source],
        uid: str,
        values: dict[str, Any],
        geometry: dict[str, Any],
        number: int | None,
        stack_index: int = 0,
        k: int | None = None,
    ) -> FramePlan:
        """The plan of one frame.

        Parameters
        ----------
        group : sequence of Source
            Its source frames (the first gives the header); empty: none.
        uid : str
            Its new SOPInstanceUID.
        values, geometry : dict
            Keyword -> value from its coordinates and from the affine.
        number : int or None
            Its InstanceNumber (None: given among ``values``, or none).
        stack_index : int
            Its slice in a stack made from the template (no positions given).
        k : int or None
            Its place among the frames of the write, in C order (None: not
            known, counts by frame left as they are).
        """
        base = self.base(group)
        delta = self.coordinates(values)
        if not group and "ImagePositionPatient" not in values:
            if "ImagePositionPatient" not in geometry:
                geometry = {**geometry, **self.template.stack(stack_index, values)}
        for keyword, value in geometry.items():
            if keyword != "SpacingBetweenSlices":
                delta.update(self.element(keyword, value))
        if not group:  # the template's placeholders, where the write knows better
            given = (self._attr_tags, self._when, geometry, self._step, base.sop_class)
            true_placeholders(delta, *given, self._parent_tags)
        self._place(delta, base, not group and "SpacingBetweenSlices" in geometry, k)
        if base.left_out:
            delta = {**dict.fromkeys(base.left_out), **delta}  # unless the frame gives them
        delta[_SOP_INSTANCE] = ui(_SOP_INSTANCE, uid)
        if not base.has(_SOP_CLASS):
            delta[_SOP_CLASS] = ui(_SOP_CLASS, base.sop_class)
        if number is not None:
            delta[_INSTANCE_NUMBER] = number_element(_INSTANCE_NUMBER, "IS", str(number))
        # DERIVED\SECONDARY, then the frame's own values: its coordinate's, else
        # the attrs', else its header's
        key: Any = delta.get(_IMAGE_TYPE) or self._attr_image_type.get(_IMAGE_TYPE)
        if key is None:
            own = base.elements
            key = own.get(_IMAGE_TYPE) if own is not None else tuple(base.image_type_rest())
        image_type = self._image_types.get(key)
        if image_type is None:
            rest = list(key) if isinstance(key, tuple) else image_type_rest(key)
            image_type = encode_element(_IMAGE_TYPE, "CS", ["DERIVED", "SECONDARY", *rest])
            self._image_types[key] = image_type
        delta[_IMAGE_TYPE] = image_type
        self.remove_differing(group, base, delta)
        charset, same = self._charset(base, delta)
        shared, target = self.text(charset)
        self._provenance(group, base, charset, delta)
        sop_class = class_rules(base, delta, self.encoding)
        rescaled = base.has(_RESCALE_SLOPE) or rescaled_class(sop_class)
        layers = [
            class_drops(self.drops, sop_class),
            shared,
            delta,
            target if group else self.target_new(charset),
            self.writer(rescaled, charset, sop_class == RT_DOSE, base.inverted()),
            self.window,
        ]
        bytes_ok = same and base.elements is not None and not self.customs
        return FramePlan(
            base, layers, uid, charset, self.customs, bytes_ok, self.encoding, sop_class
        )
