"""A DICOMweb server: its URL without credentials, the credentials apart, and its errors.

A :class:`Server` holds only plain, picklable values (the base URL, a
``requests`` auth object, extra headers), so that dask tasks carry it to
other processes and machines; each process makes its own ``requests``
session from it once. The URL never holds credentials: those given in it
(``http://user:password@host/...``) are moved into ``auth`` when it is
parsed, and every message names :attr:`Server.url` only.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import pickle
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .._errors import ServerAccessError, ServerError, install_hint
from .._files import split_userinfo

if TYPE_CHECKING:
    import requests

__all__ = [
    "COUNT",
    "SCHEME",
    "Server",
    "collector_paused",
    "instance_count",
    "is_dicomweb",
    "server_error",
]

#: the prefix that makes a URL a DICOMweb database: ``dicomweb+http://host/dicom-web``
SCHEME = "dicomweb+"
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()
#: connections kept open to one server: frames are fetched by this many threads
POOL = 16
#: answers of a server too busy to answer now: asked again, RETRIES times
BUSY = (429, 502, 503, 504)
RETRIES = 3
#: Number of Series Related Instances, asked for in QIDO-RS listings of series
COUNT = "00201209"


_PAUSED = {"count": 0, "resume": False}
_PAUSE_LOCK = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off for the ``with`` block (threads: till the last).

    Parsing a series' WADO-RS metadata (~1 MB of JSON for 200 instances)
    makes ~10^5 dicts and lists; each 700 of them start a collection, and
    the occasional full one walks every object of a process that has
    imported pandas and dask: measured here, ``json.loads`` of that answer
    took 8-10 ms, or 62 ms when a full collection fell inside it. Nothing
    it makes is garbage of a cycle, so nothing is lost by waiting: the
    collector runs as usual after the block. Left off where it was off.

    Examples
    --------
    >>> import gc
    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    with _PAUSE_LOCK:
        if _PAUSED["count"] == 0:
            _PAUSED["resume"] = gc.isenabled()
            gc.disable()
        _PAUSED["count"] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSED["count"] -= 1
            if _PAUSED["count"] == 0 and _PAUSED["resume"]:
                gc.enable()


def instance_count(item: dict[str, Any]) -> int:
    """The Number of Series Related Instances of a QIDO-RS answer's series; -1 if not said.

    -1 too for a value that is no whole number (null, text): the series' headers
    are then fetched, as for a server that does not say.

    Examples
    --------
    >>> instance_count({"00201209": {"vr": "IS", "Value": [200]}})
    200
    >>> instance_count({"00201209": {"vr": "IS", "Value": [None]}}), instance_count({})
    (-1, -1)
    """
    values = item.get(COUNT, {}).get("Value") or [-1]
    try:
        return int(values[0])
    except (TypeError, ValueError):
        return -1


def is_dicomweb(path: Any) -> bool:
    """Whether ``path`` names a DICOMweb archive (``dicomweb+http(s)://...``).

    Examples
    --------
    >>> is_dicomweb("dicomweb+http://localhost:8042/dicom-web"), is_dicomweb("/data")
    (True, False)
    """
    return isinstance(path, str) and path.lower().startswith(SCHEME)


@dataclass(frozen=True)
class Server:
    """A DICOMweb service: ``url`` (no credentials), ``auth`` and ``headers`` apart.

    Examples
    --------
    >>> s = Server.parse("dicomweb+http://alice:s3cret@localhost:8042/dicom-web/")
    >>> s.url, s.auth.username
    ('http://localhost:8042/dicom-web', 'alice')
    >>> "s3cret" in repr(s)
    False
    """

    url: str
    auth: Any = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: keep the instances of a series read whole in the cache folder, and read them there
    #: next time (``db.dicomweb(..., keep_pixels=True)``, see ``_frames``)
    keep_pixels: bool = False

    @classmethod
    def parse(cls, url: str, session: requests.Session | None = None) -> Server:
        """The server of ``url`` (``dicomweb+`` optional); credentials in it go to ``auth``.

        A ``session`` given brings its ``auth`` and its headers (e.g. a bearer
        token's ``Authorization``), which the server's own sessions, in this
        process and in dask workers, are made with.
        """
        import requests  # with dicomweb-client, the extra dbdicom[dicomweb]
        from requests.auth import HTTPBasicAuth

        text = url[len(SCHEME) :] if is_dicomweb(url) else url
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(
                f"{_clean(parts)!r} is not a DICOMweb URL: give "
                "'dicomweb+http://host:port/dicom-web' (or https), the root of the "
                "server's QIDO-RS, WADO-RS and STOW-RS services."
            )
        auth = session.auth if session is not None else None
        _, user, password = split_userinfo(text)
        if user is not None:
            auth = HTTPBasicAuth(user, password)
        headers: tuple[tuple[str, str], ...] = ()
        if session is not None:
            defaults = requests.Session().headers
            headers = tuple(
                (str(k), str(v)) for k, v in session.headers.items() if defaults.get(k) != v
            )
        return cls(_clean(parts).rstrip("/"), auth, headers)

    def session(self) -> requests.Session:
        """The session of this process for the server (made once, shared by threads)."""
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        key = hashlib.sha1(pickle.dumps((self.url, self.auth, self.headers))).hexdigest()
        with _LOCK:
            found = _SESSIONS.get(key)
            if found is None:
                found = requests.Session()
                found.auth = self.auth
                found.headers.update(dict(self.headers))
                # a busy server's answers (BUSY) are asked again, RETRIES times over
                # ~3 s; a refused connection or another error is said at once
                retry = Retry(
                    total=RETRIES,
                    connect=0,
                    read=0,
                    other=0,
                    status=RETRIES,
                    backoff_factor=0.5,
                    status_forcelist=BUSY,
                    allowed_methods=None,
                    raise_on_status=False,
                    respect_retry_after_header=False,
                )
                adapter = HTTPAdapter(pool_connections=POOL, pool_maxsize=POOL, max_retries=retry)
                found.mount("http://", adapter)
                found.mount("https://", adapter)
                _SESSIONS[key] = found
        return found

    def client(self) -> Any:
        """A ``dicomweb_client.DICOMwebClient`` on this process's session."""
        try:
            from dicomweb_client.api import DICOMwebClient
        except ImportError as exc:  # the optional extra
            raise ImportError(
                f"DICOMweb archives need dicomweb-client: {install_hint('dicomweb')}"
            ) from exc
        client = DICOMwebClient(self.url, session=self.session())
        # its own retries (5 attempts over 30 s, on any error: a wrong port took 30 s
        # to be said) left to the session's (see BUSY)
        client.set_http_retry_params(retry=False)
        return client

    def metadata(self, url: str, timeout: float = 300) -> Any:
        """The WADO-RS metadata at ``url`` (a series' or an instance's), parsed JSON.

        Raises what ``requests`` raises (an ``HTTPError`` for a status that
        is not 2xx), and ``ValueError`` for an answer that is not JSON. The
        parse alone is done with the collector held off (~10^5 objects for
        a series of 200: see :func:`collector_paused`), not the request: with
        16 series fetched at a time it would be off for a whole sync.
        """
        response = self.session().get(
            url, headers={"Accept": "application/dicom+json"}, timeout=timeout
        )
        response.raise_for_status()
        if not response.content:  # (204 No Content: none)
            return []
        with collector_paused():
            return json.loads(response.content)

    def series_size(self, series_url: str) -> int:
        """How many instances the server has in the series at ``series_url`` (-1: not said).

        One QIDO-RS request at the series level (~2 ms on Orthanc, where the
        listing of its instances takes ~125 ms for 200); -1 too when the
        request fails (the requests that follow say why).
        """
        import requests

        study, series = series_url.split("/studies/")[-1].split("/series/")
        try:
            listed = self.client().search_for_series(
                study, search_filters={"SeriesInstanceUID": series}, fields=[COUNT]
            )
        except requests.RequestException:
            return -1
        counts = {
            instance_count(item)
            for item in listed
            if (item.get("0020000E", {}).get("Value") or [""])[0] == series
        }
        return counts.pop() if len(counts) == 1 else -1


def _clean(parts: Any) -> str:
    """A split URL put together again without user name and password."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def server_error(exc: Exception, server: Server, what: str) -> ServerError:
    """The :class:`~dbdicom.ServerError` that says why ``what`` failed on ``server``.

    ``exc`` is what ``requests`` raised; its text is left out when it could
    hold a URL with credentials (it never does here: URLs are clean).

    Examples
    --------
    >>> import requests
    >>> e = server_error(requests.ConnectionError("refused"), Server("http://h/dw"), "listing")
    >>> isinstance(e, ConnectionError), str(e).startswith("listing http://h/dw failed")
    (True, True)
    """
    import requests

    url = server.url
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        why = "no or wrong credentials" if status == 401 else "the user may not do this"
        given = "" if server.auth is None else " The credentials given were refused."
        return ServerAccessError(
            f"{what} {url} failed: the server answered {status} ({why}).{given} Pass "
            "credentials as user:password@ in the URL (dicomweb+http://user:password@host/"
            "...), or with db.dicomweb(url, session=session) and session.auth = (user, "
            "password) (or a token in session.headers), or ask the archive's administrator "
            "for access."
        )
    if status is not None:
        text = str(getattr(response, "reason", "") or "")
        return ServerError(
            f"{what} {url} failed: the server answered {status} {text}. Check that "
            f"{url} is the root of the archive's DICOMweb services and that it supports "
            "this request (its logs say why it refused)."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return ServerError(
            f"{what} {url} failed: the TLS (https) handshake failed. If the server speaks "
            "plain HTTP there, give an http:// URL (dicomweb+http://...); if its certificate "
            "is not trusted here, give db.dicomweb(url, session=session) a session whose "
            "session.verify is the path of its CA bundle."
        )
    if isinstance(exc, requests.Timeout):
        cause = "the server did not answer in time"
    elif isinstance(exc, requests.ConnectionError):
        cause = "no server answers there"
    else:
        cause = f"{type(exc).__name__}"
    return ServerError(
        f"{what} {url} failed: {cause}. Check that the server is running and that the "
        "host, port and path of the URL are right (e.g. curl it)."
    )
