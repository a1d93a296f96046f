"""On-disk cache: immutable metadata by file hash, and index pages with a freshness policy.

Metadata of a file never changes once the file's sha256 is known, so it is keyed by that
hash and never refetched.  Index pages do change; the index these tools usually talk to
sends no validators, so revalidation alone would save nothing.  The policy instead:

* a page fetched less than ``page_ttl`` seconds ago is used as is (``--refresh`` bypasses);
* a page fetched *after* the ``--exclude-newer`` date is complete for that solve — nothing
  uploaded later can matter — and is reused at any age;
* otherwise the page is refetched, sending ``If-None-Match``/``If-Modified-Since`` when the
  index gave validators, so a 304 costs one small round trip;
* ``--offline`` uses any cached page regardless of age.

Every entry's first line is the sha256 of the payload that follows, so a reader never
uses a partial or corrupted entry (it is treated as a miss, deleted and refetched).  Pages
and solve entries are files, each written to a temporary file and renamed into place;
metadata entries are rows of one SQLite file (:mod:`ftlock.index.entrydb`), written in one
transaction at the end of a solve.  This is also what makes the cache safe to share:
concurrent ftlock processes each write whole entries (by atomic rename, or in a
transaction), the last one wins and every version is complete and correct (entries are
keyed by content hash, or are a page as the index sent it).  A process killed mid-write
leaves at most a ``.tmp-*`` file, which is never read as an entry and is swept once it is
an hour old.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import queue
import threading
import time
from datetime import datetime
from pathlib import Path

import msgspec

from ftlock._urls import redact
from ftlock.index.entrydb import EntryDB
from ftlock.index.models import Metadata
from ftlock.untrusted import is_sha256

CACHE_VERSION = "v4"  # v4: 16 shard folders per kind instead of 256
_KINDS = frozenset({"metadata", "metadata-url", "pages", "solves"})
#: kinds kept in one SQLite file (ftlock.index.entrydb), not a file each: small, immutable
_DB_KINDS = frozenset({"metadata", "metadata-url"})
TMP_PREFIX = ".tmp-"
STALE_TMP = 3600.0
_WRITER = f"{os.getpid()}-{os.urandom(4).hex()}"
_WRITES = itertools.count()

def _write_behind() -> bool:
    """False when ``FTLOCK_CACHE_HOLD=0``: a solve then writes each cache entry at once, in
    the thread that made it, instead of in the background (see :class:`Cache`)."""
    return os.environ.get("FTLOCK_CACHE_HOLD", "").strip() not in ("0", "0.0")


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ftlock"))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class FetchPolicy(msgspec.Struct, frozen=True):
    """How much to trust the page cache (the rules in this module's docstring)."""

    page_ttl: float = 600.0
    refresh: bool = False
    offline: bool = False
    exclude_newer: datetime | None = None

    def fresh(self, fetched_at: float) -> bool:
        """Whether a page cached at ``fetched_at`` is used without asking the index."""
        if self.offline:
            return True
        if self.refresh:
            return False
        if time.time() - fetched_at < self.page_ttl:
            return True
        cutoff = self.exclude_newer
        return cutoff is not None and fetched_at > cutoff.timestamp()


class CachedPage(msgspec.Struct, frozen=True):
    """A project page as the index sent it; ``body`` None records "not on this index"."""

    body: bytes | None
    url: str
    content_type: str
    fetched_at: float
    etag: str | None
    last_modified: str | None
    identity: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) of the entry read


class Cache:
    """A directory of checksummed JSON entries; ``root=None`` disables caching.

    During a solve, entries are written behind it by one thread (:meth:`hold`), and
    :meth:`flush` waits for the last ones.  Writing them as they arrived made every pool
    thread do file system calls, each of which hands the GIL over to the 15 others (a cold
    solve of unsloth made 45,000 futex calls, against 25,000 without a cache); holding
    them all until the solve ended put the whole write on its critical path instead
    (27 MB for input A: 55-60 ms, 58 MB for D: 180-195 ms, most of it the kernel copying
    the data).  One writer thread does that copying on the other core while the solver
    runs.  Entries not yet written are read from memory like written ones, so nothing is
    fetched twice; a run that is killed loses only the entries still queued.
    """

    def __init__(self, root: Path | None) -> None:
        # absolute: build environments live here, and their interpreter is started from
        # another working directory (a relative --cache-dir made every sdist build fail)
        self.root = root.absolute() / CACHE_VERSION if root is not None else None
        self._swept: set[Path] = set()
        self._held: dict[Path, tuple[bytes, ...]] | None = None
        self._held_lock = threading.Lock()
        self._shards: dict[Path, set[str]] = {}
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._db = EntryDB(self.root / "entries.sqlite") if self.root is not None else None

    def hold(self) -> None:
        """From now on, write entries in one background thread (kept in memory, and read
        from there, until written) until :meth:`flush`; ``FTLOCK_CACHE_HOLD=0``: at once."""
        if self.root is None or not _write_behind():
            return
        with self._held_lock:
            if self._held is None:
                self._held = {}
                self._writer = threading.Thread(target=self._drain, name="ftlock-cache-writer", daemon=True)
                self._writer.start()

    def flush(self) -> None:
        """Wait for the entries written behind, write any left, and write at once from now on."""
        with self._held_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()
        with self._held_lock:
            held, self._held = self._held, None
        rows = [(*_row(path), b"".join(chunks)) for path, chunks in (held or {}).items() if _in_db(path)]
        if self._db is not None:
            self._db.put_many(rows)  # one transaction for the whole solve's metadata
            self._db.close()  # the solve is over; a later read opens it again
        for path, chunks in (held or {}).items():
            if not _in_db(path):
                self._write_now(path, chunks)

    def _drain(self) -> None:
        """The writer: each queued entry, as it is when its turn comes (a newer version of
        an entry replaces the older one in memory; the file ends up with the newest)."""
        while (path := self._queue.get()) is not None:
            if _in_db(path):
                continue  # held until flush: all in one transaction
            with self._held_lock:
                chunks = self._held.get(path) if self._held is not None else None
            if chunks is None:
                continue  # written already, or dropped
            self._write_now(path, chunks)
            with self._held_lock:
                if self._held is not None and self._held.get(path) is chunks:
                    del self._held[path]

    @staticmethod
    def _identity(path: Path) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _held_bytes(self, path: Path) -> tuple[bytes, ...] | None:
        with self._held_lock:
            return None if self._held is None else self._held.get(path)

    def _may_exist(self, path: Path) -> bool:
        """False when the entry's shard folder did not exist when this cache first looked
        (one listing per kind): a cold cache answers its misses without a system call
        each.  Folders this cache made since count as existing; one another process made
        since is missed until the next run, which costs a fetch, never a wrong answer."""
        kind_dir = path.parent.parent
        with self._held_lock:
            shards = self._shards.get(kind_dir)
        if shards is None:
            try:
                shards = {entry.name for entry in os.scandir(kind_dir)}
            except OSError:
                shards = set()
            with self._held_lock:
                shards = self._shards.setdefault(kind_dir, shards)
        return path.parent.name in shards or path.parent in self._swept

    @property
    def enabled(self) -> bool:
        return self.root is not None

    # -- low level -------------------------------------------------------------------------
    def _path(self, kind: str, key: str) -> Path:
        """Entries live at ``kind/a/abcd….json``; ``key`` must be a sha256 hex digest, so
        nothing an index sends can name a path outside the cache.

        16 shard folders, not 256: a cold solve writes a few hundred entries, and with 256
        shards it made a folder for most of them (273 ``mkdir`` for input D), each as
        costly as writing an entry on some file systems."""
        assert self.root is not None
        if not is_sha256(key) or kind not in _KINDS:
            raise ValueError(f"not a cache key: {key[:80]!r}")
        return self.root / kind / key[:1] / f"{key}.json"

    def read_entry(self, kind: str, key: str) -> dict | None:
        """A checksummed JSON entry, or None when missing or damaged (then deleted)."""
        if self.root is None or not is_sha256(key):
            return None
        path = self._path(kind, key)
        try:
            held = self._held_bytes(path)
            if held is not None:
                raw = b"".join(held)
            elif kind in _DB_KINDS:
                found = self._db.get(kind, key) if self._db is not None else None
                if found is None:
                    return None
                raw = found
            elif not self._may_exist(path):
                return None
            else:
                raw = path.read_bytes()
            checksum, _, blob = raw.partition(b"\n")
            if hashlib.sha256(blob).hexdigest().encode() != checksum:
                raise ValueError("checksum mismatch")
            return json.loads(blob)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            # Corrupt or truncated entry: drop it so the caller refetches.
            self._drop(path)
            return None

    def _drop(self, path: Path) -> None:
        with self._held_lock:
            if self._held is not None:
                self._held.pop(path, None)
        if _in_db(path):
            if self._db is not None:
                self._db.delete(*_row(path))
            return
        try:
            path.unlink()
        except OSError:
            pass

    def write_entry(self, kind: str, key: str, payload: dict) -> None:
        """Store a JSON entry atomically, its checksum first."""
        if self.root is None or not is_sha256(key):
            return
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        # first line: sha256 of the rest, so torn or corrupted entries are detected
        self._write_bytes(self._path(kind, key), hashlib.sha256(blob).hexdigest().encode() + b"\n" + blob)

    # -- metadata --------------------------------------------------------------------------
    # Two kinds: "metadata" holds what was read from a file downloaded whole and checked
    # against its sha256 (true for that hash, whichever index offers it); "metadata-url"
    # holds what one URL's PEP 658 file or range reads said, under :meth:`url_key`, so a
    # hostile index claiming a good file's hash cannot answer for another index.
    @staticmethod
    def url_key(url: str, claimed_sha256: str) -> str:
        return _key(f"{redact(url)}\n{claimed_sha256}")

    def get_metadata(self, key: str, verified: bool = True) -> Metadata | None:
        kind = "metadata" if verified else "metadata-url"
        data = self.read_entry(kind, key)
        if data is None:
            return None
        try:
            metadata = Metadata.from_json(data)
            if not isinstance(data, dict) or not metadata.name or not metadata.version:
                raise ValueError("incomplete entry")
            return metadata
        except (KeyError, TypeError, ValueError, AttributeError):
            # intact bytes but not a metadata entry (another layout, a stray file)
            self._drop(self._path(kind, key))
            return None

    def put_metadata(self, key: str, metadata: Metadata, verified: bool = True) -> None:
        self.write_entry("metadata" if verified else "metadata-url", key, metadata.to_json())

    # -- pages -----------------------------------------------------------------------------
    # A page is stored as the index sent it (body bytes plus a small JSON header), not
    # re-serialised: writing costs no CPU, and reading parses exactly like a fresh fetch.
    def _page_path(self, index_url: str, name: str) -> Path:
        return self._path("pages", _key(f"{index_url}\n{name}")).with_suffix(".page")

    def get_page(self, index_url: str, name: str) -> CachedPage | None:
        if self.root is None:
            return None
        path = self._page_path(index_url, name)
        try:
            identity: tuple[int, int, int] | None = None
            held = self._held_bytes(path)
            if held is not None:  # (checksum line, header line, body), as put_page made them
                checksum, header_line, body = held[0].rstrip(b"\n"), held[1], held[2]
            elif not self._may_exist(path):
                return None
            else:
                # line by line, so the body (megabytes for torch) is read once, never copied
                with open(path, "rb") as fh:
                    st = os.fstat(fh.fileno())
                    checksum = fh.readline().rstrip(b"\n")
                    header_line = fh.readline()
                    body = fh.read()
                identity = (st.st_ino, st.st_size, st.st_mtime_ns)
            digest = hashlib.sha256(header_line)
            digest.update(body)
            if digest.hexdigest().encode() != checksum or not header_line.endswith(b"\n"):
                raise ValueError("checksum mismatch")
            header = json.loads(header_line)
            return CachedPage(
                body=body if header["found"] else None,
                url=header["url"],
                content_type=header["content_type"],
                fetched_at=float(header["fetched_at"]),
                etag=header.get("etag"),
                last_modified=header.get("last_modified"),
                identity=identity,
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            self._drop(path)
            return None

    def drop_page(self, index_url: str, name: str) -> None:
        if self.root is not None:
            self._drop(self._page_path(index_url, name))

    def put_page(
        self,
        index_url: str,
        name: str,
        body: bytes | None,
        url: str = "",
        content_type: str = "",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> tuple[float, tuple[int, int, int] | None]:
        """Store a page; returns its ``fetched_at`` (now) and the identity of the entry
        written (None when nothing was written)."""
        fetched_at = time.time()
        if self.root is None:
            return fetched_at, None
        header = {
            "found": body is not None,
            "url": url,
            "content_type": content_type,
            "fetched_at": fetched_at,
            "etag": etag,
            "last_modified": last_modified,
        }
        header_line = json.dumps(header, sort_keys=True).encode() + b"\n"
        digest = hashlib.sha256(header_line)
        digest.update(body or b"")
        # written in pieces: joining them would copy a multi-megabyte body twice
        chunks = (digest.hexdigest().encode() + b"\n", header_line, body or b"")
        return fetched_at, self._write_bytes(self._page_path(index_url, name), *chunks)

    def page_identity(self, index_url: str, name: str) -> tuple[int, int, int] | None:
        """``(inode, size, mtime_ns)`` of a page entry: every rewrite (a refetch, a
        revalidation, another process) renames a new file into place, so an unchanged
        identity means unchanged content, even where mtimes are coarse."""
        if self.root is None:
            return None
        path = self._page_path(index_url, name)
        if self._held_bytes(path) is not None:
            return None  # not written yet
        return self._identity(path)

    def _write_bytes(self, path: Path, *chunks: bytes) -> tuple[int, int, int] | None:
        """Write an entry (``chunks``, in order) atomically, or hold it (:meth:`hold`);
        returns its ``(inode, size, mtime_ns)``, None when held or on failure."""
        with self._held_lock:
            if self._held is not None:
                self._held[path] = chunks
                self._queue.put(path)
                return None
        return self._write_now(path, chunks)

    def _write_now(self, path: Path, chunks: tuple[bytes, ...]) -> tuple[int, int, int] | None:
        if _in_db(path):
            if self._db is not None:
                self._db.put_many([(*_row(path), b"".join(chunks))])
            return None
        tmp = None
        try:
            if path.parent not in self._swept:
                self._swept.add(path.parent)
                path.parent.mkdir(parents=True, exist_ok=True)
                _sweep(path.parent)
            # unique to this process (pid and a random token: containers sharing a cache
            # may reuse pids) and this write; O_EXCL in case it is not
            tmp = str(path.parent / f"{TMP_PREFIX}{_WRITER}-{next(_WRITES)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            try:
                _write_all(fd, chunks)
                st = os.fstat(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)  # a rename keeps size and mtime: the identity holds
            return st.st_ino, st.st_size, st.st_mtime_ns
        except OSError:
            # a cache that cannot be written only costs speed, never correctness
            if tmp is not None:
                self._drop(Path(tmp))
            return None


def _in_db(path: Path) -> bool:
    """Whether the entry at ``path`` (as :meth:`Cache._path` names it) lives in the
    SQLite file rather than at that path."""
    return path.parent.parent.name in _DB_KINDS


def _row(path: Path) -> tuple[str, str]:
    """``(kind, key)`` of the entry :meth:`Cache._path` named ``path``: its database row."""
    return path.parent.parent.name, path.stem


def _write_all(fd: int, chunks: tuple[bytes, ...]) -> None:
    """Write ``chunks`` in as few system calls as the OS allows (one ``writev`` for an
    entry; each system call hands the GIL to the solver and back)."""
    pending = [memoryview(chunk) for chunk in chunks if chunk]
    while pending:
        if hasattr(os, "writev"):
            written = os.writev(fd, pending[:1024])
        else:  # Windows
            written = os.write(fd, pending[0])
        while written and pending:
            head = pending[0]
            if written >= len(head):
                written -= len(head)
                pending.pop(0)
            else:
                pending[0] = head[written:]
                written = 0


def _sweep(directory: Path) -> None:
    """Delete temporary files left by killed writers (older than STALE_TMP seconds: a
    younger one may belong to a process writing right now)."""
    cutoff = time.time() - STALE_TMP
    try:
        for entry in os.scandir(directory):
            if entry.name.startswith(TMP_PREFIX):
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    pass
    except OSError:
        pass
