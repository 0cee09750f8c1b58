"""Objects in a store that fsspec reads (S3, GCS, HTTP, zip files): where the bytes are.

A database may be a prefix of an object store instead of a local folder.
Two small objects say where its bytes are, and carry everything a reader
needs, so that they pickle to a dask worker on another machine (no shared
disk, no open handle):

- :class:`Store`: the database, its URL and fsspec storage options;
- :class:`RemoteFile`: one object of it (the store's URL, a relative path
  and the options).

What is read, and how:

- a scan fetches the first :data:`HEAD` bytes (more when the headers
  before were longer) of many objects at once
  (:func:`~dbdicom._files._ranges.cat_ranges`: fsspec's ``cat_ranges``,
  concurrent on asynchronous file systems; on S3, presigned GETs over one
  aiohttp session, a third of s3fs's CPU a request), and reads a longer
  header through the same walker as local files, fetching the rest by
  range; pydicom gets the whole object only where the fast reader declines
  (Big Endian, sequences nested too deep);
- frames of uncompressed Little Endian data are fetched by range at the
  offsets the index recorded, the frames of many objects in one
  :func:`~dbdicom._files._ranges.cat_ranges`, then read by the same code
  as local files; the range starts at the pixel data element's tag, whose
  tag and length are checked, so that an object replaced by one whose
  pixels moved is an error, not shifted pixels (a store has no cheap
  ``stat``: a check per read would be one more request per object); other
  transfer syntaxes (compressed, Deflate, palettes) are fetched whole into
  a temporary file that the local readers decode.

Credentials (storage options, a ``user:password@`` in the URL, a signed
query) never appear in what is printed, stored or raised: :func:`redact`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .._errors import (
    DatabaseNotFoundError,
    StorageAccessError,
    StorageBackendError,
    StorageError,
    StorageObjectNotFoundError,
    install_hint,
)
from ._codes import denied
from ._header import Header, NeedsPydicom, NotDicomError, read_header_at
from ._listing import fast_find
from ._ranges import ObjectChanged, cat_ranges, cat_whole
from ._urls import SCHEME, fs_arguments, fs_url, local_zip, normal_url, redact, scrub
from ._walker import TooDeep
from ._window import Window

__all__ = [
    "HEAD",
    "RemoteFile",
    "Store",
    "local_copy",
    "remote_header",
]

#: bytes of each object fetched first at a scan (most headers are shorter;
#: a longer one is read on by range)
HEAD = 8192
#: bytes fetched at least when a header reads on past them
READ_AHEAD = 1 << 17
#: the package that gives fsspec each protocol
BACKENDS = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "http": "aiohttp",
    "https": "aiohttp",
    "az": "adlfs",
    "abfs": "adlfs",
}
_FILESYSTEMS: dict[tuple[str, str], tuple[Any, str]] = {}


@dataclass(frozen=True)
class Store:
    """A database in a store fsspec reads: its URL and storage options.

    Parameters
    ----------
    url : str
        ``s3://bucket/prefix``, ``zip://::archive.zip``, a path ending in
        ``.zip``; kept as :func:`~dbdicom._files._urls.normal_url` writes it
        (``s3://b//ct`` is ``s3://b/ct``), never printed as it is (see
        :attr:`name`).
    options : mapping
        fsspec storage options (credentials, ``endpoint_url``...): kept out
        of ``repr``, of comparisons and of every message.

    Examples
    --------
    >>> store = Store("s3://bucket/ct", {"key": "AKIA1234", "secret": "xyz!9"})
    >>> store.name, "AKIA" in repr(store)
    ('s3://bucket/ct', False)
    >>> Store("s3://bucket//ct").name
    's3://bucket/ct'
    """

    url: str
    options: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normal_url(self.url))

    def __repr__(self) -> str:  # (a dask graph's repr shows it: no credential)
        return f"Store({self.name!r})"

    @property
    def name(self) -> str:
        """The URL without credentials: what messages, the index and the cache key show."""
        return redact(self.url)

    @property
    def protocol(self) -> str:
        """The first protocol of the URL (``s3``, ``zip``...)."""
        found = SCHEME.match(fs_url(self.url))
        return found.group(1).lower() if found else "file"

    def cache_key(self) -> str:
        """A name for the index of this store in the user cache: the URL and endpoint, no secret."""
        endpoint = self.options.get("endpoint_url") or dict(
            self.options.get("client_kwargs") or {}
        ).get("endpoint_url")
        text = f"{self.name}\0{endpoint or ''}"
        return "remote-" + hashlib.sha1(text.encode()).hexdigest()[:16]

    def filesystem(self) -> tuple[Any, str]:
        """``(fsspec file system, path of the database in it)``, made once per process.

        Raises
        ------
        dbdicom.StorageBackendError
            fsspec, or the package of the URL's protocol, is not installed.
        """
        key = (self.url, repr(sorted(self.options.items())))
        found = _FILESYSTEMS.get(key)
        if found is not None:
            return found
        try:
            import fsspec.core
        except ImportError as exc:
            raise self._backend_error("fsspec", exc) from exc
        url, options = fs_arguments(self.url, self.options)
        try:
            fs, path = fsspec.core.url_to_fs(url, **options)
        except ImportError as exc:
            raise self._backend_error(BACKENDS.get(self.protocol, ""), exc) from exc
        except ValueError as exc:
            if "Protocol not known" in str(exc):
                raise self._backend_error("", exc) from exc
            raise self.error(exc, "cannot be opened") from exc
        except Exception as exc:  # the store's boundary: a bad zip file, a client's error
            raise self.error(exc, "cannot be opened") from exc
        found = _FILESYSTEMS[key] = (fs, str(path).rstrip("/"))
        return found

    def _backend_error(self, package: str, exc: Exception) -> StorageBackendError:
        what = f"pip install {package}" if package else "install the fsspec package for it"
        if self.protocol in ("s3", "s3a", "http", "https"):  # what dbdicom[remote] brings
            what += f", or all the remote extra brings: {install_hint('remote')}"
        return StorageBackendError(
            f"{self.name}: no installed package reads {self.protocol}:// URLs "
            f"({type(exc).__name__}: {self.scrub(str(exc))}). Install it "
            f"({what}), then open the database (or export) again."
        )

    def scrub(self, text: str) -> str:
        """``text`` with every credential of the storage options replaced by ``***``."""
        return scrub(text, self.options, self.url)

    def error(self, exc: BaseException, what: str, url: str = "") -> Exception:
        """The DicomError for ``exc`` raised while ``url`` (default: the store) ``what``."""
        where = url or self.name
        cause = self.scrub(f"{type(exc).__name__}: {exc}")
        inner = fs_url(self.url).rpartition("::")[2]
        if denied(exc):
            give = "storage_options={...}"
            found = SCHEME.match(inner)
            if "::" in fs_url(self.url) and found:  # a chained URL: options by protocol
                give = f"storage_options={{'{found.group(1).lower()}': {{...}}}}"
            return StorageAccessError(
                f"{where} {what}: access was refused ({cause}). Give credentials that may "
                f"read it: {give} (of db.database(url), import_dicom(url)...)."
            )
        if isinstance(exc, FileNotFoundError):
            if url:
                return StorageObjectNotFoundError(
                    f"{where} {what}: it is gone from the store ({cause}) since it was "
                    "listed: another program removed it. database.refresh() takes the change "
                    "in (then build the array again); an import: restore(), then import again."
                )
            return DatabaseNotFoundError(
                f"{where} {what}: it does not exist ({cause}). Give the URL of a bucket "
                "and prefix (or archive) that holds DICOM files."
            )
        if _no_ranges(exc):
            zipped = redact(inner)
            return StorageError(
                f"{where} {what}: the web server does not serve parts of files (byte "
                f"ranges), which reading a zip file in place needs ({cause}). Download the "
                f"zip file (curl -O {zipped}, or fsspec.filesystem('http').get({zipped!r}, "
                "'local.zip')) and open or import the local copy, or serve it with a server "
                "that serves byte ranges (nginx, Apache; python -m http.server does not)."
            )
        if local_zip(self.url) is not None:  # a zip file on this machine: no server
            return StorageError(
                f"{where} {what} ({cause}): it is not a zip file that can be read "
                f"(python -m zipfile -t {local_zip(self.url)} tests one)."
            )
        return StorageError(
            f"{where} {what} ({cause}): check that the server is reachable and the URL "
            "right, then try again."
        )

    def path_of(self, rel: str) -> str:
        """The file system's path of the object ``rel``."""
        base = self.filesystem()[1]
        return f"{base}/{rel}" if base else rel

    def listing(self) -> dict[str, tuple[int, int]]:
        """Every object below the URL: ``{relative path: (size, stamp)}``.

        The stamp stands for a file's modification time: the object's
        modification time in ns where the store gives one, else a number
        made from its ETag; a change of either means the object changed.
        Names starting with ``.`` (at any level) are left out, as in folders.
        An S3 prefix is listed by presigned GETs where its byte ranges are
        read so (:func:`~dbdicom._files._listing.fast_find`), else by
        ``fs.find``.
        """
        fs, base = self.filesystem()
        try:
            fs.invalidate_cache()  # a listing kept by the file system would hide changes
            found = fast_find(fs, base) or fs.find(base, detail=True, withdirs=False)
            one = not found or list(found) == [base]
            if one and base and fs.isfile(base):
                raise NotADirectoryError(base)
            if not found:  # find hides why (no such prefix, no server): ls raises it
                fs.ls(base, detail=False)
        except NotADirectoryError as exc:
            way = "give the prefix that holds it"
            if base.lower().endswith(".zip"):
                way = (
                    f"for the files in the zip file, give 'zip://::{self.name}' (and the "
                    f"options as storage_options={{'{self.protocol}': {{...}}}})"
                )
            raise DatabaseNotFoundError(
                f"{self.name} is one object, not a prefix or archive of objects: {way}."
            ) from exc
        except Exception as exc:  # the store's boundary: any client error is the store's
            raise self.error(exc, "cannot be listed") from exc
        out: dict[str, tuple[int, int]] = {}
        for name, info in found.items():
            rel = self._relative(str(name), base)
            if not rel or any(part.startswith(".") for part in rel.split("/")):
                continue
            if info.get("type", "file") != "file":
                continue
            if info.get("size") is None:  # a web server's listing has no sizes: one HEAD each
                try:
                    info = fs.info(name)
                except Exception as exc:  # the store's boundary: see above
                    raise self.error(exc, "cannot be listed", redact(str(name))) from exc
            out[rel] = (int(info.get("size") or 0), _stamp(info))
        return out

    def _relative(self, name: str, base: str) -> str:
        """The path of the listed ``name`` below ``base`` ("" for ``base`` itself).

        Raises
        ------
        dbdicom.StorageError
            The store listed a name that is not below ``base`` as asked for:
            a relative path cut from it would name another object.

        Examples
        --------
        >>> store = Store("s3://b/ct")
        >>> store._relative("b/ct/a/IM-1", "b/ct"), store._relative("b/ct", "b/ct")
        ('a/IM-1', '')
        >>> store._relative("b/mr/IM-1", "b/ct")
        Traceback (most recent call last):
        dbdicom._errors.StorageError: s3://b/ct cannot be listed: the store names an object ...
        """
        if not base:
            return name.lstrip("/")
        if name == base:
            return ""
        if name.startswith(base + "/"):
            return name[len(base) + 1 :].lstrip("/")
        # a web server may link http <-> https (fsspec follows those links)
        plain = [re.sub(r"^https?://", "", text) for text in (name, base)]
        if plain[0].startswith(plain[1] + "/"):
            return plain[0][len(plain[1]) + 1 :].lstrip("/")
        raise StorageError(
            f"{self.name} cannot be listed: the store names an object "
            f"{self.scrub(redact(name))!r} that is not below {self.scrub(redact(base))!r}, "
            "the path it was asked for, so its place in the database is unknown. Give "
            "the URL as the store names its objects."
        )

    def stat(self, rels: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Size and stamp (see :meth:`listing`) of those objects of ``rels`` that exist.

        One request per object: for a few objects; :meth:`listing` for many.
        """
        fs = self.filesystem()[0]
        out: dict[str, tuple[int, int]] = {}
        fs.invalidate_cache()
        for rel in rels:
            try:
                info = fs.info(self.path_of(rel))
            except FileNotFoundError:
                continue
            except Exception as exc:  # the store's boundary: see listing
                raise self.error(exc, "cannot be listed", self.object(rel).name) from exc
            if info.get("type", "file") == "file":
                out[rel] = (int(info.get("size") or 0), _stamp(info))
        return out

    def heads(
        self, rels: Sequence[str], sizes: Sequence[int], n: int = HEAD
    ) -> list[bytes | Exception]:
        """The first ``n`` bytes of each object, fetched together; errors in place.

        Examples
        --------
        >>> store = Store(zip_of({"a/IM-1": "CT_small.dcm"}))
        >>> listed = store.listing()
        >>> list(listed), listed["a/IM-1"][0]
        (['a/IM-1'], 39206)
        >>> [head[128:132] for head in store.heads(["a/IM-1"], [39206], 256)]
        [b'DICM']
        """
        if not rels:
            return []
        fs = self.filesystem()[0]
        asked = [i for i, size in enumerate(sizes) if size > 0]  # an empty one has no range
        out: list[bytes | Exception] = [b""] * len(rels)
        if not asked:
            return out
        paths = [self.path_of(rels[i]) for i in asked]
        ends = [min(n, int(sizes[i])) for i in asked]
        try:
            got = cat_ranges(fs, paths, [0] * len(paths), ends)
        except Exception as exc:  # the store's boundary: see listing
            raise self.error(exc, "cannot be read") from exc
        for i, end, g in zip(asked, ends, got, strict=True):
            out[i] = _ranged(g, 0, end) if isinstance(g, bytes) else _as_exception(g)
        return out

    def whole(self, rel: str, since: int | None = None) -> bytes:
        """The whole object ``rel``; with ``since`` (its stamp as listed), unchanged since.

        Raises
        ------
        dbdicom._files._ranges.ObjectChanged
            On S3, where ranges are read by presigned GETs: the object was
            modified since ``since`` (see :func:`~._ranges.cat_whole`).
        """
        fs = self.filesystem()[0]
        try:
            return cat_whole(fs, self.path_of(rel), since)
        except ObjectChanged:
            raise
        except Exception as exc:  # the store's boundary: see listing
            raise self.error(exc, "cannot be read", self.object(rel).name) from exc

    def object(self, rel: str) -> RemoteFile:
        """The object ``rel`` of this store."""
        return RemoteFile(self.url, rel, self.options)


def _no_ranges(exc: BaseException) -> bool:
    """Whether ``exc`` is fsspec's refusal to seek in a web server's file sent whole only.

    (A server that ignores ``Range``, such as ``python -m http.server``: a zip
    file's directory, at its end, cannot be read without the rest.)
    """
    text = str(exc)
    return isinstance(exc, ValueError) and (
        "support range requests" in text or "Cannot seek streaming HTTP file" in text
    )


def _ranged(data: bytes, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of what a server sent for them: all of it, if it ignored the range.

    (A server that does not do ranges, Python's ``http.server`` among them,
    answers a ranged GET with the whole object.)
    """
    if len(data) > end - start:
        return data[start:end]
    return data


def _as_exception(value: Any) -> Exception:
    return value if isinstance(value, Exception) else OSError(repr(value))


def _stamp(info: Mapping[str, Any]) -> int:
    """A number that changes when the object does (see :meth:`Store.listing`).

    The modification time in ns; where the store gives an ETag too, its
    hash stands for the part below the second (S3's LastModified has whole
    seconds: two writes of one size in one second differ by their ETag only).
    """
    tag = str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "")
    hashed = int(hashlib.sha1(tag.encode()).hexdigest()[:15], 16) if tag else 0
    when = _when(info)
    if when is None:
        return hashed
    return when // 10**9 * 10**9 + hashed % 10**9 if tag else when


def _when(info: Mapping[str, Any]) -> int | None:
    """The modification time of the object ``info`` in ns (None when it gives none)."""
    keys = ("LastModified", "mtime", "updated", "last_modified", "Last-Modified", "date_time")
    for key in (*keys, "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return int(value.timestamp() * 1e9)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value * 1e9) if value < 1e12 else int(value)
        if isinstance(value, tuple) and len(value) == 6:  # a zip member's date_time
            return int(datetime(*value).timestamp() * 1e9)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
            with contextlib.suppress(TypeError, ValueError):  # an HTTP date
                return int(parsedate_to_datetime(value).timestamp() * 1e9)
    return None


@dataclass(frozen=True)
class RemoteFile:
    """One object of a :class:`Store`: all a reader on any machine needs, no credential shown.

    Examples
    --------
    >>> obj = RemoteFile("s3://bucket/ct", "IM-1.dcm", {"secret": "xyz!9"})
    >>> str(obj), "xyz" in repr(obj)
    ('s3://bucket/ct/IM-1.dcm', False)
    >>> str(RemoteFile("zip://::/data/cd.zip", "a/IM-1"))
    'zip://a/IM-1::/data/cd.zip'
    """

    root: str
    rel: str
    options: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:  # (a dask task's repr shows it: no credential)
        return f"RemoteFile({redact(self.root)!r}, {self.rel!r})"

    @property
    def store(self) -> Store:
        return Store(self.root, self.options)

    @property
    def name(self) -> str:
        """The object's URL, without credentials."""
        url = fs_url(self.root)
        head, sep, tail = url.partition("::")
        if sep:
            head = head if head.endswith("://") else head.rstrip("/") + "/"
            return redact(f"{head}{self.rel}::{tail}")
        return redact(f"{url.rstrip('/')}/{self.rel}")

    def __str__(self) -> str:
        return self.name


class _Ranged(io.RawIOBase):
    """An object read by range from its position: what a :class:`Window` reads on with.

    Each request fetches at least :data:`READ_AHEAD` bytes, kept for the next
    reads: a walk over the items of encapsulated pixel data (which checks
    that each frame is there) makes one request for many item headers.
    """

    def __init__(self, obj: RemoteFile, size: int) -> None:
        self.obj, self.size, self.pos = obj, size, 0
        self.buffer, self.base = b"", 0

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        self.pos = pos if whence == os.SEEK_SET else self.size + pos
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        if not (self.base <= self.pos and end <= self.base + len(self.buffer)):
            self.base = self.pos
            self.buffer = self._fetch(self.pos, min(self.size, max(end, self.pos + READ_AHEAD)))
        data = self.buffer[self.pos - self.base : end - self.base]
        self.pos += len(data)
        return data

    def _fetch(self, start: int, end: int) -> bytes:
        store = self.obj.store
        fs = store.filesystem()[0]
        try:
            data = bytes(fs.cat_file(store.path_of(self.obj.rel), start=start, end=end))
        except Exception as exc:  # the store's boundary: see Store.listing
            raise store.error(exc, "cannot be read", self.obj.name) from exc
        return _ranged(data, start, end)


def remote_header(
    obj: RemoteFile, head: bytes, size: int, wanted: Mapping[int, str]
) -> Header | None:
    """The header of ``obj`` from its first bytes ``head``, read on by range where longer.

    None where the fast reader declines (pydicom then needs the whole
    object). Raises :class:`NotDicomError` and ``EOFError`` as
    :func:`~dbdicom._files.read_header` does.
    """
    win = Window(head, _Ranged(obj, size), size)
    try:
        return read_header_at(win, wanted)
    except TooDeep as exc:
        raise NotDicomError(f"sequences nested too deep ({exc})") from exc
    except NeedsPydicom:
        return None


@contextlib.contextmanager
def local_copy(where: str | RemoteFile, since: int | None = None) -> Iterator[str]:
    """A local path holding the bytes of ``where``: itself for a file, a temporary copy else.

    For the readers that need a whole file (pydicom's decoders, palettes);
    the copy is deleted on leaving. ``since``: see :meth:`Store.whole`.

    Examples
    --------
    >>> with local_copy("/data/IM-1.dcm") as path:
    ...     path
    '/data/IM-1.dcm'
    """
    if not isinstance(where, RemoteFile):
        yield where
        return
    data = where.store.whole(where.rel, since)
    with tempfile.TemporaryDirectory(prefix="dbdicom-object-") as folder:
        path = os.path.join(folder, os.path.basename(where.rel) or "object")
        with open(path, "wb") as f:
            f.write(data)
        yield path
