"""The journal layer: copy-on-write of originals, save/restore, the folder lock.

For a database in an object store: its staged changes saved into the store
(``_push``), with conditional writes (``_objects``) and the store's lock object
(``_store_lock``).
"""

from ._journal import Entry, Journal
from ._lock import FolderLock
from ._push import finish, interrupted, save_into, undo_push
from ._store_lock import StoreLock, probe_writes

__all__ = [
    "Entry",
    "FolderLock",
    "Journal",
    "StoreLock",
    "finish",
    "interrupted",
    "probe_writes",
    "save_into",
    "undo_push",
]
