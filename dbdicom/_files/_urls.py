"""URLs of stores: their schemes, and credentials kept out of what is shown.

A store's URL may carry credentials (a ``user:password@``, a signed query)
and its storage options hold keys and secrets: :func:`redact` and
:func:`scrub` take them out of every URL and message dbdicom prints,
stores or raises.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .._errors import InvalidValueError

__all__ = [
    "SCHEME",
    "fs_arguments",
    "fs_url",
    "has_scheme",
    "is_url",
    "is_zip_path",
    "local_zip",
    "normal_url",
    "redact",
    "scrub",
    "split_userinfo",
]

SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/@]*@")
#: a ``user:password@`` of a URL quoted in a message (a library's error)
_USERINFO_ANYWHERE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s'\"]*@")
_SECRET_KEYS = re.compile(r"key|secret|token|password|credential|signature|auth", re.I)


def has_scheme(path: Any) -> bool:
    """Whether ``path`` starts as a URL does (``s3://``, ``http://``, ``dicomweb+http://``...).

    Not a local folder, however it is then named (``http:`` would be one).

    Examples
    --------
    >>> has_scheme("s3://bucket/x"), has_scheme("dicomweb+http://h"), has_scheme("/data/s3:")
    (True, True, False)
    """
    return isinstance(path, str | os.PathLike) and bool(SCHEME.match(str(os.fspath(path))))


def is_url(path: Any) -> bool:
    """Whether ``path`` names a store fsspec reads rather than a local folder.

    A URL (``s3://``, ``gs://``, ``https://``, ``zip://...::file.zip``,
    ``file://``) or a path ending in ``.zip``. DICOMweb URLs
    (``dicomweb+http://``) are not fsspec's.

    Examples
    --------
    >>> is_url("s3://bucket/prefix"), is_url("archive.zip"), is_url("/data/mri")
    (True, True, False)
    >>> is_url("dicomweb+http://localhost/dicom-web")
    False
    """
    if not isinstance(path, str | os.PathLike):
        return False
    text = os.fspath(path)
    if not isinstance(text, str):
        return False
    found = SCHEME.match(text)
    if found:
        return not found.group(1).lower().startswith("dicomweb")
    return is_zip_path(text)


def is_zip_path(path: str | os.PathLike[str]) -> bool:
    """Whether the local ``path`` is a zip file's: a name ending in ``.zip``, not a folder.

    An existing folder of that name stays a folder (to open, to export into).

    Examples
    --------
    >>> is_zip_path("out/study.ZIP"), is_zip_path("out/study")
    (True, False)
    """
    text = os.fspath(path)
    return text.lower().endswith(".zip") and not os.path.isdir(text)


def redact(url: str) -> str:
    """``url`` without what may be a credential: a ``user:password@``, a query string.

    Examples
    --------
    >>> redact("https://ann:s3cret@host/data/a.dcm?X-Amz-Signature=ab12")
    'https://***@host/data/a.dcm?***'
    >>> redact("s3://bucket/prefix")
    's3://bucket/prefix'
    >>> redact("zip://::https://ann:s3cret@host/cd.zip?sig=1")  # every part of a chained URL
    'zip://::https://***@host/cd.zip?***'
    """
    parts = []
    for part in url.split("::"):
        part = _USERINFO.sub(r"\1***@", part)
        head, sep, _ = part.partition("?")
        parts.append(f"{head}?***" if sep else head)
    return "::".join(parts)


def _secrets(options: Mapping[str, Any]) -> list[str]:
    """The values of ``options`` that look like credentials (nested dicts too)."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(value, Mapping):
            found += _secrets(value)
        elif isinstance(value, str) and len(value) >= 4 and _SECRET_KEYS.search(str(key)):
            found.append(value)
    return found


def _url_secrets(url: str) -> list[str]:
    """What may be credentials in ``url``: its ``user:password`` (and each), its query.

    Examples
    --------
    >>> _url_secrets("s3://AKIA1234:s3cret!@bucket/x?sig=abcd")
    ['AKIA1234:s3cret!', 'AKIA1234', 's3cret!', 'sig=abcd']
    """
    found: list[str] = []
    userinfo = re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://([^/@]*)@", url)
    if userinfo:
        found.append(userinfo[1])
        found += [part for part in userinfo[1].split(":") if len(part) >= 4]
    query = url.partition("?")[2]
    if query:
        found.append(query)
    return found


def scrub(text: str, options: Mapping[str, Any], url: str = "") -> str:
    """``text`` with every credential of ``options`` (and of ``url``) replaced by ``***``.

    Examples
    --------
    >>> scrub("bad bucket 'AKIA1234:s3cret!@b'", {}, "s3://AKIA1234:s3cret!@b/x")
    "bad bucket '***@b'"
    """
    for secret in sorted(_secrets(options) + _url_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _USERINFO_ANYWHERE.sub(r"\1***@", text)


def fs_url(url: str) -> str:
    """The fsspec URL of a database path: a plain ``.zip`` path becomes a zip URL."""
    if SCHEME.match(url) or "::" in url:
        return url
    return "zip://::" + os.path.abspath(os.path.expanduser(url))


def normal_url(url: str) -> str:
    """``url`` written one way: schemes in lower case; object paths with no ``//``, no ``.``.

    Schemes are case-insensitive (RFC 3986), fsspec's protocols are lower
    case: ``S3://b/ct`` is ``s3://b/ct``.

    An object store lists its objects under one name each: ``s3://b//ct``
    and ``s3://b/./ct`` (typed by mistake) are ``s3://b/ct``, whose objects
    a listing names (a store that takes the prefix as written lists none,
    or refuses it). A trailing ``/`` stays (it is removed where the URL is
    read); ``http(s)://`` URLs are the server's to read and stay as given;
    a ``file://`` path is normalised as a local path (``..`` is its parent).

    Raises
    ------
    dbdicom.InvalidValueError
        A ``..`` segment: object stores have no parent folders.

    Examples
    --------
    >>> normal_url("s3://trial//shared"), normal_url("s3://trial/./shared/")
    ('s3://trial/shared', 's3://trial/shared/')
    >>> normal_url("zip://::s3://b//cd.zip"), normal_url("https://host//a/./b")
    ('zip://::s3://b/cd.zip', 'https://host//a/./b')
    >>> normal_url("file:///data//ct/."), normal_url("ZIP://::S3://b/cd.zip")
    ('file:///data/ct', 'zip://::s3://b/cd.zip')
    >>> normal_url("file:///data/work/../ct/"), normal_url("zip://::file:///a/../cd.zip")
    ('file:///data/ct/', 'zip://::file:///cd.zip')
    """
    parts = url.split("::")
    for k, part in enumerate(parts):
        found = SCHEME.match(part)
        if not found:
            continue
        head, path = part[: found.end()].lower(), part[found.end() :]
        if head in ("http://", "https://"):
            parts[k] = head + path
            continue
        if head == "file://" and path:  # a local path: its '..' names the parent folder
            tail = "/" if path.endswith("/") and path.strip("/") else ""
            parts[k] = head + posixpath.normpath(path).replace("//", "/") + tail
            continue
        segments = path.split("/")
        if ".." in segments:
            raise InvalidValueError(
                f"{redact(url)}: a '..' in the path of a store's URL names no parent folder "
                "(an object store has none): give the path without it."
            )
        kept = [s for s in segments if s not in ("", ".")]
        lead = "/" if path.startswith("/") else ""
        tail = "/" if path.endswith("/") and kept else ""
        parts[k] = head + lead + "/".join(kept) + tail
    return "::".join(parts)


def split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``url`` without its ``user:password@``, and the user (None: none) and password, decoded.

    Examples
    --------
    >>> split_userinfo("https://ann:p%40ss@host:8042/dicom-web")
    ('https://host:8042/dicom-web', 'ann', 'p@ss')
    >>> split_userinfo("https://host/x")
    ('https://host/x', None, '')
    """
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, ""
    clean = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return clean, unquote(parts.username), unquote(parts.password or "")


def fs_arguments(url: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The URL and options that fsspec is given for ``url``: no ``user:password@`` in the URL.

    fsspec's HTTP file system logs every URL it reads (at DEBUG level), so
    the ``user:password@`` of an ``http(s)://`` part becomes the session's
    ``Authorization`` header, the Basic authentication aiohttp would make
    of it (and drops, as it would, on a redirect to another host): the
    same requests, with no credential in the URLs logged, listed and
    quoted. For a chained URL (``zip://::https://...``) that part's
    options are keyed by its protocol, as fsspec takes them.

    Examples
    --------
    >>> url, options = fs_arguments("https://ann:s%40cret@host/ct", {"block_size": 0})
    >>> url, sorted(options), options["client_kwargs"]["headers"]["Authorization"]
    ('https://host/ct', ['block_size', 'client_kwargs'], 'Basic YW5uOnNAY3JldA==')
    >>> url, options = fs_arguments("zip://::https://ann:pw@host/cd.zip", {})
    >>> url, options["https"]["client_kwargs"]["headers"]["Authorization"]
    ('zip://::https://host/cd.zip', 'Basic YW5uOnB3')
    >>> fs_arguments("s3://AKIA1234:s3cret@bucket/x", {})  # not HTTP: as given
    ('s3://AKIA1234:s3cret@bucket/x', {})
    """
    chain = fs_url(url)
    parts = chain.split("::")
    out: dict[str, Any] = dict(options)
    if len(parts) > 1:  # options keyed by protocol: fsspec's keys are lower case
        out = {
            k.lower() if isinstance(k, str) and SCHEME.match(f"{k}://") else k: v
            for k, v in out.items()
        }
    for k, part in enumerate(parts):
        found = SCHEME.match(part)
        protocol = found.group(1).lower() if found else ""
        if protocol not in ("http", "https"):
            continue
        parts[k], user, password = split_userinfo(part)
        if user is None:
            continue
        mine = out if len(parts) == 1 else dict(out.get(protocol) or {})
        session = dict(mine.get("client_kwargs") or {})
        headers = dict(session.get("headers") or {})
        if session.get("auth") is not None or any(
            str(h).lower() == "authorization" for h in headers
        ):
            raise InvalidValueError(
                f"{redact(url)}: credentials are given twice, as the URL's user:password@ "
                "and in storage_options (an auth or an Authorization header): give them "
                "one way."
            )
        session["headers"] = {**headers, "Authorization": _basic(user, password)}
        mine["client_kwargs"] = session
        if len(parts) > 1:
            out[protocol] = mine
    return "::".join(parts), out


def _basic(user: str, password: str) -> str:
    """The ``Authorization`` header of HTTP Basic authentication (RFC 7617).

    Latin-1 where the text allows, as aiohttp encodes a URL's user and
    password, else UTF-8.

    Examples
    --------
    >>> _basic("ann", "pa55word")
    'Basic YW5uOnBhNTV3b3Jk'
    """
    text = f"{user}:{password}"
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = text.encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def local_zip(url: str) -> str | None:
    """The path of the local zip file that ``url`` reads (None: it reads none).

    Examples
    --------
    >>> local_zip("cd.zip").endswith("/cd.zip"), local_zip("zip://::s3://b/cd.zip")
    (True, None)
    """
    chain = fs_url(url)
    target = chain.rpartition("::")[2]
    if not chain.lower().startswith("zip://") or (
        SCHEME.match(target) and not target.lower().startswith("file://")
    ):
        return None
    return target[7:] if target.lower().startswith("file://") else target
