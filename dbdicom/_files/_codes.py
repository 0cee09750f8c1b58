"""What a store's error means, read from its code and HTTP status (never from its text).

botocore's ``ClientError`` carries the S3 error code and the HTTP status in
``response``; s3fs raises it as a built-in error whose ``__cause__`` it is
(``PermissionError``, ``FileExistsError``, ``OSError``). The chain is walked
to find it: a message that merely holds "412" or "403" (a UID in an
object's key, a port) means nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["denied", "error_code", "refused", "wrong_credentials"]

#: botocore's errors of a request it could not sign (no credentials, or half of them)
_NO_CREDENTIALS = frozenset({"NoCredentialsError", "PartialCredentialsError"})
#: the codes of a request signed with a key the store does not know, or the wrong secret
_WRONG = frozenset(
    {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId", "AuthFailure"}
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_code(exc: BaseException) -> tuple[str, int]:
    """The store's error code and HTTP status behind ``exc`` (``("", 0)`` when none).

    Examples
    --------
    >>> class ClientError(Exception):
    ...     response = {"Error": {"Code": "PreconditionFailed"},
    ...                 "ResponseMetadata": {"HTTPStatusCode": 412}}
    >>> error_code(ClientError("x")), error_code(OSError("port 41234 refused"))
    (('PreconditionFailed', 412), ('', 0))
    """
    for each in _chain(exc):
        response: Any = getattr(each, "response", None)
        if isinstance(response, dict):
            code = str((response.get("Error") or {}).get("Code") or "")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
            status = status or getattr(each, "status", 0) or 0
            return code, int(status)
        status = getattr(each, "status", None)  # aiohttp's ClientResponseError (gcsfs, adlfs)
        if isinstance(status, int) and not isinstance(status, bool):
            return "", status
    return "", 0


def refused(exc: BaseException) -> bool:
    """Whether the store refused a conditional write (412 / PreconditionFailed)."""
    code, status = error_code(exc)
    return code in ("PreconditionFailed", "ConditionNotMet") or status == 412


def denied(exc: BaseException) -> bool:
    """Whether the store refused access (401/403, AccessDenied, no credentials, PermissionError)."""
    if any(isinstance(each, PermissionError) for each in _chain(exc)):
        return True
    if any(type(each).__name__ in _NO_CREDENTIALS for each in _chain(exc)):
        return True  # botocore found no credentials to sign with
    code, status = error_code(exc)
    return code in ("AccessDenied", "Forbidden", "AllAccessDisabled") or status in (401, 403)


def wrong_credentials(exc: BaseException) -> bool:
    """Whether the store refused the credentials themselves (an unknown key, a wrong secret).

    Examples
    --------
    >>> class ClientError(Exception):
    ...     response = {"Error": {"Code": "SignatureDoesNotMatch"},
    ...                 "ResponseMetadata": {"HTTPStatusCode": 403}}
    >>> wrong_credentials(ClientError("x")), wrong_credentials(PermissionError("Access Denied"))
    (True, False)
    """
    return error_code(exc)[0] in _WRONG
