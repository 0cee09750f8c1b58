"""The journal layer: copy-on-write of originals, save/restore, the folder lock."""

from ._journal import Entry, Journal
from ._lock import FolderLock

__all__ = ["Entry", "FolderLock", "Journal"]
