"""The objects of a store read as the files of a folder are: their headers, then their bytes.

What copying objects out of a store needs (``database.import_dicom("s3://bucket/study")``,
``database.save(folder)`` of a database in a store): the objects below a
URL listed (:meth:`~dbdicom._files.Store.listing`), the first bytes of many
fetched at once (:meth:`~dbdicom._files.Store.heads`) and each header read
by the walker that reads local files (:func:`~dbdicom._files.remote_header`,
reading on by range where a header is longer), then each object streamed
into a local file (:func:`fetch_object`), never held whole in memory.

Errors are those of a database in a store (:meth:`~dbdicom._files.Store.error`),
their credentials removed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence

from .._errors import DatabaseNotFoundError
from ._header import Header, NotDicomError
from ._pydicom import read_any_header
from ._remote import HEAD, RemoteFile, Store, remote_header

__all__ = ["BATCH", "fetch_object", "heads_in_batches", "object_headers", "objects_below"]

#: objects whose first bytes are fetched together (one ``cat_ranges``)
BATCH = 128


def object_headers(
    store: Store,
    wanted: Mapping[int, str],
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[RemoteFile, Header | Exception]]:
    """Each object below ``store``'s URL, in path order, with its header (or why it has none).

    Names starting with ``.`` are left out, as in folders; a URL of one
    object gives that object (:func:`objects_below`). ``progress(done,
    total)`` is called after each batch.

    Yields
    ------
    (RemoteFile, Header or Exception)
        The object, and its ``wanted`` tags, or the error of reading them:
        :class:`NotDicomError` (not DICOM), ``EOFError`` (truncated), a
        :class:`~dbdicom.StorageError` (that object could not be read).

    Raises
    ------
    dbdicom.DatabaseNotFoundError
        No such bucket or prefix.
    dbdicom.StorageAccessError
        Access refused, or no credentials.
    dbdicom.StorageBackendError
        No installed package reads the URL's protocol.
    dbdicom.StorageError
        The store cannot be reached.

    Examples
    --------
    >>> archive = zip_of({"ct/IM-1": "CT_small.dcm", "README.txt": b"not DICOM"})
    >>> for obj, header in object_headers(Store(archive), {0x00080060: "CS"}):
    ...     print(obj.rel, header.values if isinstance(header, Header) else "refused")
    README.txt refused
    ct/IM-1 {524384: 'CT'}
    """
    store, listed = objects_below(store)
    for batch, heads in heads_in_batches(store, sorted(listed.items()), progress):
        for (rel, (size, _)), head in zip(batch, heads, strict=True):
            yield store.object(rel), _header(store, rel, size, head, wanted)


Listed = tuple[str, tuple[int, int]]  # an object's path, and its (size, stamp)


def heads_in_batches(
    store: Store,
    items: Sequence[Listed],
    progress: Callable[[int, int], None] | None = None,
    first: Callable[[], int] = lambda: HEAD,
) -> Iterator[tuple[Sequence[Listed], list[bytes | Exception]]]:
    """The objects ``items`` a batch at a time, with the first ``first()`` bytes of each.

    :data:`BATCH` objects' bytes are fetched together (one
    :meth:`~dbdicom._files.Store.heads`); ``first`` is asked before each
    batch (a scan fetches as much as the last batch's headers took);
    ``progress(done, total)`` is called once a batch has been used.
    """
    total = len(items)
    for start in range(0, total, BATCH):
        batch = items[start : start + BATCH]
        yield batch, store.heads([rel for rel, _ in batch], [s for _, (s, _) in batch], first())
        if progress:
            progress(min(start + BATCH, total), total)


def objects_below(store: Store) -> tuple[Store, dict[str, tuple[int, int]]]:
    """The objects below ``store``'s URL (see :meth:`Store.listing`), and the store they are of.

    A URL that names one object (``s3://bucket/study/IM-1.dcm``) gives that
    object, of the store of its folder (a file given to a folder import is
    imported too). Raises as :meth:`Store.listing` does.
    """
    try:
        return store, store.listing()
    except DatabaseNotFoundError as exc:
        if not isinstance(exc.__cause__, NotADirectoryError) or "::" in store.url:
            raise
        head, _, name = store.url.rstrip("/").rpartition("/")
        if not name or head.endswith(":/"):  # (a bucket is never one object)
            raise
        folder = Store(head, store.options)
        found = folder.stat([name])
        if name not in found:
            raise
        return folder, {name: found[name]}


def _header(
    store: Store, rel: str, size: int, head: bytes | Exception, wanted: Mapping[int, str]
) -> Header | Exception:
    """The header of the object ``rel`` from its first bytes ``head``, or why it has none."""
    obj = store.object(rel)
    if isinstance(head, Exception):
        return store.error(head, "cannot be read", obj.name)
    try:
        header = remote_header(obj, head, size, wanted)
        if header is None:  # the fast reader declined (Big Endian...): pydicom reads it whole
            header = read_any_header(obj.name, wanted, store.whole(rel))
    except (NotDicomError, EOFError, OSError) as exc:  # a StorageError is an OSError
        return exc
    return header


def fetch_object(obj: RemoteFile, target: str | os.PathLike[str]) -> None:
    """Write the bytes of ``obj`` into the local file ``target``, streamed, never whole in memory.

    Raises
    ------
    dbdicom.StorageError
        The object cannot be read (:class:`~dbdicom.StorageObjectNotFoundError`
        when it is gone, :class:`~dbdicom.StorageAccessError` when refused).

    Examples
    --------
    >>> archive = zip_of({"ct/IM-1": "CT_small.dcm"})
    >>> fetch_object(RemoteFile(archive, "ct/IM-1"), archive + ".IM-1.dcm")
    >>> os.path.getsize(archive + ".IM-1.dcm")
    39206
    """
    store = obj.store
    fs = store.filesystem()[0]
    try:
        fs.get_file(store.path_of(obj.rel), os.fspath(target))
    except Exception as exc:  # the store's boundary: any client error is the store's
        raise store.error(exc, "cannot be read", obj.name) from exc
