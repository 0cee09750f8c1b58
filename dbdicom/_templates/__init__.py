"""Valid DICOM datasets from scratch, one function per SOP class.

Pure pydicom and numpy: nothing here knows about the index or the records.

>>> import numpy as np
>>> from dbdicom._templates import mr_image
>>> mr_image(np.zeros((2, 2), np.uint16)).SOPClassUID.name
'MR Image Storage'
"""

from ._classic import ct_image, modality_image, mr_image
from ._common import file_meta, new_uid, new_uids, slice_location
from ._enhanced_mr import enhanced_mr_image
from ._parametric import VOI, parametric_map, ucum_units
from ._part10 import write_dataset
from ._secondary import secondary_capture
from ._segmentation import REFUSED_MULTIFRAME, REFUSED_SEGMENTATION, segmentation

__all__ = [
    "REFUSED_MULTIFRAME",
    "REFUSED_SEGMENTATION",
    "VOI",
    "ct_image",
    "enhanced_mr_image",
    "file_meta",
    "modality_image",
    "mr_image",
    "new_uid",
    "new_uids",
    "parametric_map",
    "ucum_units",
    "secondary_capture",
    "segmentation",
    "slice_location",
    "write_dataset",
]
