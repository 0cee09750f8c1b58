"""The version of dbdicom (one home: the package's ``__version__`` and what its files say).

A file dbdicom makes without a source names it and this version as the
software that made it (SoftwareVersions).

>>> VERSION.count(".") >= 1
True
"""

__all__ = ["VERSION"]

VERSION = "0.1.0"
