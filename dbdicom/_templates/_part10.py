"""Write a template dataset as a DICOM Part-10 file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

from pydicom import dcmwrite
from pydicom.dataset import Dataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)

from ._common import file_meta

_UNCOMPRESSED = {
    str(ExplicitVRLittleEndian): "Explicit VR Little Endian",
    str(ImplicitVRLittleEndian): "Implicit VR Little Endian",
}


def write_dataset(
    ds: Dataset,
    path: str | Path,
    compression: Literal["rle"] | None = None,
    *,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Path:
    """Write ``ds`` to ``path`` as a Part-10 file with a correct file meta.

    ``ds`` itself is not modified. Parent folders are created as needed.

    Parameters
    ----------
    ds
        A dataset, typically from :func:`mr_image`, :func:`ct_image` or
        :func:`enhanced_mr_image`.
    path
        The file to write (any name; an extension is not needed).
    compression
        ``None`` to write the pixels uncompressed in ``transfer_syntax``, or
        ``"rle"`` for RLE Lossless made by pydicom's own encoder (no extra
        package needed).
    transfer_syntax
        The uncompressed transfer syntax UID: Explicit VR Little Endian
        (default) or Implicit VR Little Endian. Ignored with ``"rle"``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unknown ``compression`` or an unsupported ``transfer_syntax``.

    Examples
    --------
    >>> import tempfile, numpy as np, pydicom
    >>> from dbdicom._templates import mr_image
    >>> pixels = np.arange(16, dtype=np.uint16).reshape(4, 4)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_dataset(mr_image(pixels), f"{folder}/IM_0001", compression="rle")
    ...     back = pydicom.dcmread(path)
    ...     back.file_meta.TransferSyntaxUID.name, bool((back.pixel_array == pixels).all())
    ('RLE Lossless', True)
    """
    if compression not in (None, "rle"):
        raise ValueError(f"compression must be None or 'rle'; got {compression!r}")
    if compression is None and str(transfer_syntax) not in _UNCOMPRESSED:
        raise ValueError(
            f"transfer_syntax must be one of {sorted(_UNCOMPRESSED.values())} "
            f"({', '.join(_UNCOMPRESSED)}); got {transfer_syntax!r}"
        )
    out = copy.deepcopy(ds)
    out.file_meta = file_meta(out, ExplicitVRLittleEndian if compression else transfer_syntax)
    if compression == "rle":
        # lossless: the instance keeps its SOPInstanceUID
        out.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dcmwrite(path, out, enforce_file_format=True)
    return path
