"""A database's own secret, kept in its hidden folder beside the index.

Exports use it to record which patient a file is without naming the
patient (see ``dbdicom._export._bids_labels``): a keyed hash of a PatientID
can be recomputed by the database it was made from, and by nobody who only
has the export (a plain hash of an ID is found again by hashing every
possible ID). The secret is made at its first use, 32 random bytes, and
outlives a rebuilt index (``.dbdicom/index`` may be deleted; the secret is
``.dbdicom/secret``).
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from .._errors import InvalidFileError

__all__ = ["SECRET_BYTES", "database_secret"]

#: The size of the secret.
SECRET_BYTES = 32


def database_secret(store: Path) -> bytes:
    """The secret of the database whose hidden folder is ``store``, made if there is none.

    Two processes that make it at once get the same one: it is written
    under a temporary name and linked to ``secret`` only if there is none.

    Examples
    --------
    >>> import tempfile
    >>> store = Path(tempfile.mkdtemp())
    >>> first = database_secret(store)
    >>> len(first), database_secret(store) == first
    (32, True)

    Raises
    ------
    dbdicom.InvalidFileError
        The file is there but not of 32 bytes: the message says to delete it.
    """
    path = store / "secret"
    if not path.exists():
        store.mkdir(parents=True, exist_ok=True)
        temporary = store / f".secret-{uuid.uuid4().hex[:12]}.tmp"
        temporary.write_bytes(secrets.token_bytes(SECRET_BYTES))
        try:
            os.link(temporary, path)  # atomic, and never over another process's secret
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: the rename is atomic too
            if not path.exists():
                os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise InvalidFileError(
            f"the database's secret {path} is damaged: it holds {len(data)} bytes, not "
            f"{SECRET_BYTES}. Delete it: a new one is made, and BIDS exports made before then "
            "no longer know this database's patients (they get new labels in them)."
        )
    return data
