"""Custom attributes (``dbdicom._custom``): colormap and image_type on real files."""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from validators import dciodvfy_errors

from dbdicom._custom import REGISTRY, CustomAttribute, custom, custom_names, register
from dbdicom._errors import DicomError, InvalidValueError
from dbdicom._templates import ct_image, enhanced_mr_image, mr_image, write_dataset


def registered(name: str) -> CustomAttribute:
    attribute = custom(name)
    assert attribute is not None, name
    return attribute


COLORMAP = registered("colormap")
IMAGE_TYPE = registered("image_type")
LUT_KEYWORDS = [
    f"{color}PaletteColorLookupTable{kind}"
    for color in ("Red", "Green", "Blue")
    for kind in ("Descriptor", "Data")
]
SYNTAXES = pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"]
)


def index_values(paths: Sequence[Path], tags: Sequence[str]) -> dict[str, list[Any]]:
    """Read ``tags`` from files the way the index gives them to a getter."""
    values: dict[str, list[Any]] = {tag: [] for tag in tags}
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for tag in tags:
            key = Tag(int(tag[1:5], 16), int(tag[6:10], 16)) if tag.startswith("(") else tag
            value = ds[key].value if key in ds else None
            if isinstance(value, MultiValue):  # multi-valued text as a tuple of str
                value = tuple(v if isinstance(v, int | float) else str(v) for v in value)
            values[tag].append(None if value in ("", b"") else value)
    return values


def read_back(attribute: CustomAttribute, *paths: Path) -> list[Any]:
    return attribute.get(index_values(paths, attribute.tags))


def mr(**attributes: Any) -> Dataset:
    pixels = np.arange(256, dtype=np.uint16).reshape(16, 16)
    return mr_image(pixels, **attributes)


def ct() -> Dataset:  # signed pixels: the LUT descriptors are SS
    return ct_image(np.full((16, 16), -1000, np.int16))


def enhanced() -> Dataset:
    return enhanced_mr_image(np.zeros((2, 16, 16), np.uint16))


def applied(attribute: CustomAttribute, ds: Dataset, value: Any) -> Dataset:
    ds = copy.deepcopy(ds)
    attribute.apply(ds, attribute.check(value))
    return ds


def private_elements(ds: Dataset) -> list[Any]:
    return [element.tag for element in ds if element.tag.group == 0x0009]


# -- registry -----------------------------------------------------------------------


def test_registry_lookup() -> None:
    assert custom_names() == sorted(REGISTRY) and {"colormap", "image_type"} <= set(REGISTRY)
    assert custom("no_such_thing") is None
    for attribute in REGISTRY.values():
        assert attribute.doc and "\n" not in attribute.doc


def test_register_refuses_bad_definitions() -> None:
    def make(name: str, tags: tuple[str, ...]) -> CustomAttribute:
        return CustomAttribute(name, "doc", tags, list, str, lambda ds, value: None)

    with pytest.raises(ValueError, match="already registered"):
        register(make("colormap", ("Rows",)))
    with pytest.raises(ValueError, match="lower_case"):
        register(make("EchoMs", ("EchoTime",)))
    with pytest.raises(ValueError, match="not a keyword"):
        register(make("bad_tag", ("(0009,10aa)",)))
    assert register(make("rows_twice", ("Rows", "(0019,100C)"))) is REGISTRY.pop("rows_twice")


# -- colormap -----------------------------------------------------------------------


@SYNTAXES
def test_colormap_written_as_supplemental_palette(tmp_path: Path, syntax: str) -> None:
    mpl = pytest.importorskip("matplotlib")
    path = write_dataset(applied(COLORMAP, mr(), "YlGnBu"), tmp_path / "cm", transfer_syntax=syntax)
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.PixelPresentation == "COLOR"
    expected = mpl.colormaps["YlGnBu"]([0.0, 1.0])[:, :3] * 65535
    for i, color in enumerate(("Red", "Green", "Blue")):
        assert list(ds[f"{color}PaletteColorLookupTableDescriptor"].value) == [256, 0, 16]
        data = ds[f"{color}PaletteColorLookupTableData"]
        assert data.VR == "OW" and len(data.value) == 512
        lut = np.frombuffer(data.value, "<u2")
        assert abs(int(lut[0]) - expected[0, i]) <= 1 and abs(int(lut[-1]) - expected[1, i]) <= 1
    assert ds[0x0009, 0x0010].value == "dbdicom"
    assert ds[0x0009, 0x1010].value in ("YlGnBu", b"YlGnBu")
    assert read_back(COLORMAP, path) == ["YlGnBu"]
    assert np.array_equal(ds.pixel_array, mr().pixel_array)


@pytest.mark.parametrize("template", [mr, ct, enhanced], ids=["mr", "ct", "enhanced_mr"])
def test_colormap_adds_no_dciodvfy_error(tmp_path: Path, template: Any) -> None:
    pytest.importorskip("matplotlib")
    plain = write_dataset(template(), tmp_path / "plain")
    colored = applied(COLORMAP, template(), "viridis")
    path = write_dataset(colored, tmp_path / "colored")
    assert set(dciodvfy_errors(path)) <= set(dciodvfy_errors(plain))
    removed = write_dataset(applied(COLORMAP, colored, None), tmp_path / "removed")
    assert set(dciodvfy_errors(removed)) <= set(dciodvfy_errors(plain))


def test_colormap_in_enhanced_frame_types() -> None:
    pytest.importorskip("matplotlib")
    ds = applied(COLORMAP, enhanced(), "gray")
    assert ds.PixelPresentation == "COLOR"
    assert ds.SharedFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0].PixelPresentation == (
        "COLOR"
    )
    ds = applied(COLORMAP, ds, None)
    assert ds.PixelPresentation == "MONOCHROME"
    assert ds.SharedFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0].PixelPresentation == (
        "MONOCHROME"
    )
    assert not any(keyword in ds for keyword in LUT_KEYWORDS)


@SYNTAXES
def test_colormap_none_removes_everything(tmp_path: Path, syntax: str) -> None:
    pytest.importorskip("matplotlib")
    original = mr()
    ds = applied(COLORMAP, applied(COLORMAP, original, "hot"), None)
    path = write_dataset(ds, tmp_path / "removed", transfer_syntax=syntax)
    back = pydicom.dcmread(path)
    assert not any(keyword in back for keyword in [*LUT_KEYWORDS, "PixelPresentation"])
    assert private_elements(back) == []
    assert read_back(COLORMAP, path) == [None]
    assert set(ds.keys()) == set(original.keys())
    applied(COLORMAP, original, None)  # nothing to remove: no error


def test_colormap_none_keeps_other_elements_of_the_block() -> None:
    pytest.importorskip("matplotlib")
    ds = applied(COLORMAP, mr(), "magma")
    ds.add_new((0x0009, 0x1020), "LO", "kept")
    ds = applied(COLORMAP, ds, None)
    assert private_elements(ds) == [(0x0009, 0x0010), (0x0009, 0x1020)]


def test_colormap_replaced_and_found_in_any_slot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    ds = mr()
    ds.private_block(0x0009, "OTHER VENDOR", create=True).add_new(0x10, "LO", "not a colormap")
    ds = applied(COLORMAP, applied(COLORMAP, ds, "viridis"), "plasma")
    assert ds[0x0009, 0x0011].value == "dbdicom" and (0x0009, 0x0012) not in ds
    paths = [write_dataset(ds, tmp_path / "a"), write_dataset(mr(), tmp_path / "b")]
    assert read_back(COLORMAP, *paths) == ["plasma", None]


def test_colormap_getter_on_index_values() -> None:
    values: dict[str, list[Any]] = {tag: [None] * 4 for tag in COLORMAP.tags}
    values["(0009,0010)"] = [b"dbdicom ", "dbdicom", "other", None]
    values["(0009,1010)"] = [b"YlGnBu\x00\x00", "jet", "gray", None]
    values["(0009,0012)"][2] = "dbdicom"
    values["(0009,1210)"][2] = "cividis "
    assert COLORMAP.get(values) == ["YlGnBu", "jet", "cividis", None]
    assert COLORMAP.get({"(0009,0010)": ["dbdicom"]}) == [None]  # missing columns


def test_colormap_check() -> None:
    pytest.importorskip("matplotlib")
    assert COLORMAP.check("viridis") == "viridis" and COLORMAP.check(None) is None
    assert COLORMAP.check("ylgnbu") == "YlGnBu"
    with pytest.raises(InvalidValueError, match="colormap.*'YlGnBux'.*did you mean 'YlGnBu'"):
        COLORMAP.check("YlGnBux")
    with pytest.raises(InvalidValueError) as info:
        COLORMAP.check(3)
    assert isinstance(info.value, ValueError) and isinstance(info.value, DicomError)


def test_colormap_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'matplotlib>="):
        COLORMAP.check("viridis")
    COLORMAP.apply(mr(), None)  # removing needs no matplotlib


def test_colormap_refused_on_colour_images() -> None:
    pytest.importorskip("matplotlib")
    ds = mr()
    ds.PhotometricInterpretation = "RGB"
    with pytest.raises(InvalidValueError, match="grey-scale"):
        COLORMAP.apply(ds, "viridis")


# -- image_type ---------------------------------------------------------------------


def image_type_of(**columns: list[Any]) -> list[Any]:
    names = {"ge": "(0043,102F)", "philips": "(2005,1011)"}
    return IMAGE_TYPE.get({names.get(key, key): value for key, value in columns.items()})


def test_image_type_from_image_type_values() -> None:
    rows = [
        ("ORIGINAL", "PRIMARY", "P", "ND"),  # Siemens
        ("ORIGINAL", "PRIMARY", "M", "ND", "NORM"),
        "ORIGINAL\\PRIMARY\\R\\ND",  # joined as in the file
        ("ORIGINAL", "PRIMARY", "M_FFE", "M", "FFE"),  # Philips
        ("DERIVED", "SECONDARY", "IMAGINARY"),
        ("DERIVED", "PRIMARY", "OTHER", "PHA"),
        ("ORIGINAL", "P"),  # short codes count from the third value on
        ("ORIGINAL", "PRIMARY", "OTHER"),
        None,
    ]
    expected = ["PHASE", "MAGNITUDE", "REAL", "MAGNITUDE", "IMAGINARY", "PHASE", None, None]
    assert image_type_of(ImageType=rows) == [*expected, None]


def test_image_type_from_private_and_enhanced_values() -> None:
    ge = [1, "2", b"\x03\x00", b"0 ", 0.0, 7, None, None, None]
    philips = [None, None, None, None, None, None, "P", b"I ", "X"]
    assert image_type_of(ge=ge, philips=philips) == [
        "PHASE",
        "REAL",
        "IMAGINARY",
        "MAGNITUDE",
        "MAGNITUDE",
        None,
        "PHASE",
        "IMAGINARY",
        None,
    ]
    # priority: ComplexImageComponent, then ImageType, then GE, then Philips
    assert image_type_of(
        ComplexImageComponent=["MIXED", None, None],
        ImageType=[("ORIGINAL", "PRIMARY", "M"), ("ORIGINAL", "PRIMARY", "M"), None],
        ge=[1, 1, 1],
        philips=["R", "R", "R"],
    ) == ["MIXED", "MAGNITUDE", "PHASE"]


@SYNTAXES
def test_image_type_read_from_files(tmp_path: Path, syntax: str) -> None:
    siemens = mr(ImageType=["ORIGINAL", "PRIMARY", "P", "ND"], Manufacturer="SIEMENS")
    ge = mr(Manufacturer="GE MEDICAL SYSTEMS")
    ge.private_block(0x0043, "GEMS_PARM_01", create=True).add_new(0x2F, "SS", 3)
    philips = mr(Manufacturer="Philips")
    philips.private_block(0x2005, "Philips MR Imaging DD 001", create=True).add_new(0x11, "CS", "R")
    paths = [
        write_dataset(ds, tmp_path / name, transfer_syntax=syntax)
        for name, ds in [("s", siemens), ("g", ge), ("p", philips), ("e", enhanced())]
    ]
    assert read_back(IMAGE_TYPE, *paths) == ["PHASE", "IMAGINARY", "REAL", "MAGNITUDE"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (["ORIGINAL", "PRIMARY", "OTHER"], ["ORIGINAL", "PRIMARY", "PHASE"]),
        (["ORIGINAL", "PRIMARY", "M", "ND"], ["ORIGINAL", "PRIMARY", "PHASE", "ND"]),
        (["DERIVED", "PRIMARY"], ["DERIVED", "PRIMARY", "PHASE"]),
        (["ORIGINAL"], ["ORIGINAL", "SECONDARY", "PHASE"]),
        (None, ["DERIVED", "SECONDARY", "PHASE"]),
    ],
)
def test_image_type_apply(tmp_path: Path, before: list[str] | None, after: list[str]) -> None:
    ds = mr()
    if before is None:
        del ds.ImageType
    else:
        ds.ImageType = before
    path = write_dataset(applied(IMAGE_TYPE, ds, "phase"), tmp_path / "it")
    assert list(pydicom.dcmread(path).ImageType) == after
    assert read_back(IMAGE_TYPE, path) == ["PHASE"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (["ORIGINAL", "PRIMARY", "P", "ND"], ["ORIGINAL", "PRIMARY", "OTHER", "ND"]),
        (["DERIVED", "PRIMARY", "PHASE"], ["DERIVED", "PRIMARY"]),
        (["ORIGINAL", "PRIMARY", "AXIAL"], ["ORIGINAL", "PRIMARY", "AXIAL"]),
    ],
)
def test_image_type_apply_none(before: list[str], after: list[str]) -> None:
    ds = applied(IMAGE_TYPE, mr(ImageType=before), None)
    assert list(ds.ImageType) == after
    ds = mr()
    del ds.ImageType
    assert "ImageType" not in applied(IMAGE_TYPE, ds, None)


def test_image_type_on_enhanced_objects(tmp_path: Path) -> None:
    original = enhanced()
    ds = applied(IMAGE_TYPE, original, "Real")
    assert ds.ComplexImageComponent == "REAL" and ds.ImageType == original.ImageType
    frame_type = ds.SharedFunctionalGroupsSequence[0].MRImageFrameTypeSequence[0]
    assert frame_type.ComplexImageComponent == "REAL"
    path = write_dataset(ds, tmp_path / "real")
    assert read_back(IMAGE_TYPE, path) == ["REAL"]
    assert dciodvfy_errors(path) == dciodvfy_errors(write_dataset(original, tmp_path / "plain"))
    assert applied(IMAGE_TYPE, ds, None).ComplexImageComponent == "REAL"  # required: kept


def test_image_type_adds_no_dciodvfy_error(tmp_path: Path) -> None:
    plain = write_dataset(mr(), tmp_path / "plain")
    phase = write_dataset(applied(IMAGE_TYPE, mr(), "PHASE"), tmp_path / "phase")
    assert set(dciodvfy_errors(phase)) <= set(dciodvfy_errors(plain))


def test_image_type_check() -> None:
    assert IMAGE_TYPE.check(" magnitude") == "MAGNITUDE" and IMAGE_TYPE.check(None) is None
    for bad in ("M", "MIXED", "phase map", 1):
        with pytest.raises(InvalidValueError, match="image_type.*'MAGNITUDE'.*'IMAGINARY'"):
            IMAGE_TYPE.check(bad)


def test_colormap_leaves_deep_copied_originals_alone() -> None:
    pytest.importorskip("matplotlib")
    original = mr()
    original.private_block(0x0009, "dbdicom", create=True).add_new(0x10, "LO", "gray")
    copied = copy.deepcopy(original)  # pydicom's cache of private blocks is shared by copies
    COLORMAP.apply(copied, None)
    assert private_elements(copied) == [] and original[0x0009, 0x1010].value == "gray"
