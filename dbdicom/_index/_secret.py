"""The user's secret, kept in the user data folder.

Exports use it to record which patient a file is without naming the
patient (see ``dbdicom._export._bids_labels``): a keyed hash of a PatientID
can be recomputed by the user who made it, and by nobody who only has the
export (a plain hash of an ID is found again by hashing every possible ID).

It is one per user, not one per database: two copies of a DICOM folder
(a colleague's copy, a download again, a read-only folder whose index is
in the cache) make the same keys, so a patient exported from either is
one subject. It lives in the user *data* folder
(``platformdirs.user_data_dir("dbdicom")/secret``, as the working folders
of writable stores do), not in the cache, which cleaners empty: a new
secret makes other keys, and the patients of earlier exports would no
longer be known. It is made at its first use, 32 random bytes.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import platformdirs

from .._errors import InvalidFileError

__all__ = ["SECRET_BYTES", "secret_in", "user_secret", "user_secret_path"]

#: The size of the secret.
SECRET_BYTES = 32


def user_secret_path() -> Path:
    """Where the user's secret is: ``secret`` in the user data folder of dbdicom.

    Examples
    --------
    >>> user_secret_path().name
    'secret'
    """
    return Path(platformdirs.user_data_dir("dbdicom")) / "secret"


def user_secret() -> bytes:
    """The user's secret (:func:`user_secret_path`), made if there is none.

    Raises
    ------
    dbdicom.InvalidFileError
        The file is there but not of 32 bytes: the message says to delete it.
    """
    return secret_in(user_secret_path().parent)


def secret_in(folder: Path) -> bytes:
    """The secret kept in ``folder/secret``, made if there is none.

    Two processes that make it at once get the same one: it is written
    under a temporary name and linked to ``secret`` only if there is none.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> first = secret_in(folder)
    >>> len(first), secret_in(folder) == first
    (32, True)

    Raises
    ------
    dbdicom.InvalidFileError
        The file is there but not of 32 bytes: the message says to delete it.
    """
    path = folder / "secret"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".secret-{uuid.uuid4().hex[:12]}.tmp"
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
            f"the secret {path} is damaged: it holds {len(data)} bytes, not "
            f"{SECRET_BYTES}. Delete it: a new one is made, and BIDS exports made before then "
            "no longer know their patients (they get new labels in them)."
        )
    return data
