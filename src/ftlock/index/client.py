"""Index client: project pages from the configured indexes, cached and fetched in parallel.

A project comes from the *first* index that has it (see :mod:`ftlock.index.settings`).
Fetches are memoised per project behind futures, so the prefetcher and the solver can ask
for the same page at once and only one request goes out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from packaging.utils import NormalizedName, canonicalize_name

from ftlock.errors import IndexResponseError, OfflineMissing, ProjectNotFound
from ftlock.index.cache import Cache, FetchPolicy
from ftlock.index.http import Http
from ftlock._urls import redact
from ftlock.index.models import ProjectPage
from ftlock.index.pages import ACCEPT, JSON_CONTENT_TYPE, parse_page

#: Media types that mean a PEP 691 JSON page / a PEP 503 HTML page.
_JSON_TYPES = {
    JSON_CONTENT_TYPE,
    "application/vnd.pypi.simple.latest+json",
    "application/json",
}
_HTML_TYPES = {
    "",
    "text/html",
    "application/vnd.pypi.simple.v1+html",
    "application/vnd.pypi.simple.latest+html",
    "application/xhtml+xml",
}


def page_format(content_type: str, body: bytes, url: str) -> str:
    """The content type to parse a page as: PEP 691 JSON or HTML.

    Servers mislabel pages (``application/json``, ``text/plain``, …).  A JSON media type is
    parsed as JSON (a malformed body is an error, never an empty page); otherwise a body
    that is plainly JSON or HTML is parsed as what it is, and anything else is refused.
    """
    media = content_type.split(";")[0].strip().lower()
    if media in _JSON_TYPES:
        return JSON_CONTENT_TYPE
    head = body.lstrip()[:1]
    if head == b"{":
        return JSON_CONTENT_TYPE
    if media in _HTML_TYPES or head == b"<" or not body.strip():
        return "text/html"
    raise IndexResponseError(
        f"{redact(url)}: the index answered with {media!r}, not a PEP 503 or PEP 691 page"
    )


class IndexClient:
    def __init__(
        self,
        urls: tuple[str, ...],
        http: Http,
        cache: Cache,
        policy: FetchPolicy,
        submit: Callable[..., Future] | None = None,
        urls_for: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self.urls = urls
        self.urls_for = urls_for  # per-project routing (IndexSettings.urls_for), if any
        self.http = http
        self.cache = cache
        self.policy = policy
        self._submit = submit
        self._lock = threading.Lock()
        self._pages: dict[NormalizedName, Future[ProjectPage]] = {}
        self._taken: set[NormalizedName] = set()  # pages some thread has started on
        #: every page this client used, ``(index_url, name) -> (fetched_at, entry identity)``:
        #: the solve cache (:mod:`ftlock.resolve.memo`) reuses a solve only while all of
        #: them are the same entries and still fresh
        self.read: dict[tuple[str, str], tuple[float, tuple[int, int, int] | None]] = {}

    # -- public ----------------------------------------------------------------------------
    def pages_read(self) -> dict[tuple[str, str], tuple[float, tuple[int, int, int] | None]]:
        """:attr:`read`, with the identity of entries the cache wrote after the solve (see
        :meth:`Cache.hold`) looked up now; None where a page is not in the cache."""
        return {
            key: (fetched_at, identity if identity is not None else self.cache.page_identity(*key))
            for key, (fetched_at, identity) in list(self.read.items())
        }

    def project(self, name: str) -> ProjectPage:
        """The page of ``name`` from the first index that has it; blocks until fetched.

        A page no pool thread has started on yet is fetched right here: the solver waits
        for it now, and in the pool it would wait its turn behind the walk's guesses (on
        benchmark B the solver waited most of its time for pages queued that way)."""
        key = canonicalize_name(name)
        future, _ = self._future(key)
        self._complete(future, key)
        return future.result()

    def prefetch(self, name: str) -> Future[ProjectPage]:
        key = canonicalize_name(name)
        future, new = self._future(key)
        if not new:
            return future
        # Submitted outside the lock: submitting may start a pool thread, which waits for
        # the GIL, and every other thread asking for any page would wait behind it (the
        # solver's thread spent 0.3 s of an unsloth re-solve there).
        if self._submit is None:
            self._complete(future, key)
            return future
        try:
            work = self._submit(self._complete, future, key)
        except RuntimeError as exc:  # the pool is shut down: the solve is over
            if self._take(key):
                future.set_exception(exc)
            raise
        work.add_done_callback(lambda done: future.cancel() if done.cancelled() else None)
        return future

    # -- internals -------------------------------------------------------------------------
    def _future(self, name: NormalizedName) -> tuple[Future[ProjectPage], bool]:
        with self._lock:
            future = self._pages.get(name)
            if future is not None:
                return future, False
            future = self._pages[name] = Future()
            return future, True

    def _take(self, name: NormalizedName) -> bool:
        """True for the one thread that gets to fetch ``name``'s page."""
        with self._lock:
            if name in self._taken:
                return False
            self._taken.add(name)
            return True

    def _complete(self, future: Future[ProjectPage], name: NormalizedName) -> None:
        if not self._take(name) or not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self._find(name))
        except BaseException as exc:  # noqa: BLE001 - re-raised by .result()
            future.set_exception(exc)

    def _find(self, name: NormalizedName) -> ProjectPage:
        urls = self.urls_for(name) if self.urls_for is not None else self.urls
        for index_url in urls:
            page = self._page(index_url, name)
            if page is not None:
                return page
        shown = ", ".join(redact(u) for u in urls)
        raise ProjectNotFound(f"no project named {name!r} on the configured index(es): {shown}")

    def _page(self, index_url: str, name: NormalizedName) -> ProjectPage | None:
        cached = self.cache.get_page(index_url, name)
        if cached is not None and self.policy.fresh(cached.fetched_at):
            try:
                page = self._parse(cached.body, cached.content_type, cached.url, name, index_url)
                self.read[(index_url, name)] = (cached.fetched_at, cached.identity)
                return page
            except IndexResponseError:
                # stored by an older ftlock that accepted it: drop it and fetch the page
                self.cache.drop_page(index_url, name)
                cached = None
        if self.policy.offline:
            raise OfflineMissing(
                f"--offline: the index page of {name!r} ({redact(index_url)}) is not in the cache"
            )
        url = f"{index_url}/{name}/"
        headers = {"Accept": ACCEPT}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        fetched = self.http.get(url, headers=headers, ok=(200, 304, 404, 410))
        if fetched.status == 304 and cached is not None:
            page = self._parse(cached.body, cached.content_type, cached.url, name, index_url)
            self.read[(index_url, name)] = self.cache.put_page(
                index_url, name, cached.body, cached.url, cached.content_type,
                cached.etag, cached.last_modified,
            )
            return page
        if fetched.status in (404, 410):
            self.read[(index_url, name)] = self.cache.put_page(index_url, name, None, url)
            return None
        if fetched.status != 200:
            raise IndexResponseError(f"{redact(url)}: unexpected HTTP {fetched.status}")
        # Parsed before it is cached: a malformed page is an error and is never stored.
        page = self._parse(fetched.body, fetched.content_type, fetched.url, name, index_url)
        self.read[(index_url, name)] = self.cache.put_page(
            index_url, name, fetched.body, fetched.url, fetched.content_type,
            fetched.headers.get("etag"), fetched.headers.get("last-modified"),
        )
        return page

    @staticmethod
    def _parse(
        body: bytes | None, content_type: str, url: str, name: NormalizedName, index_url: str
    ) -> ProjectPage | None:
        if body is None:
            return None
        return parse_page(body, page_format(content_type, body, url), url, name, index_url)
