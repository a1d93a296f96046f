"""Small immutable cache entries (distribution metadata) in one SQLite file.

A cold solve learns the metadata of one or two hundred distributions, a few KB each.
Written one file per entry, that was as many file creations, and creating a file costs
0.4-0.9 ms of system time on some file systems (measured on the benchmark machine's
``/tmp``; 0.01 ms elsewhere), more than all the rest of writing the entry.  Here a solve
writes them in one transaction at its end.

Entries keep the cache's own format (their checksum line first; :class:`Cache` checks
it), so a damaged row reads as a miss like a damaged file.  A database SQLite cannot read
(a torn or foreign file) is deleted and started afresh; one it cannot open or write (no
permission, locked past the timeout) only costs refetching.  Concurrent processes take
SQLite's locks; ``synchronous=OFF`` because losing the last writes in a power cut only
costs refetching them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("ftlock.cache")

#: seconds to wait for another process's write transaction
LOCK_TIMEOUT = 30.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries ("
    "kind TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, key)"
    ") WITHOUT ROWID"
)


class EntryDB:
    """``get``/``put_many``/``delete`` of ``(kind, key) -> bytes``; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._unusable = False
        self._absent = False  # no database when this process first looked

    def get(self, kind: str, key: str) -> bytes | None:
        with self._lock:
            conn = self._connection(create=False)
            if conn is None:
                return None
            try:
                row = conn.execute("SELECT body FROM entries WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            except sqlite3.Error as exc:
                self._failed(exc)
                return None
        return bytes(row[0]) if row is not None else None

    def put_many(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            conn = self._connection(create=True)
            if conn is None:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._failed(exc)

    def delete(self, kind: str, key: str) -> None:
        with self._lock:
            conn = self._connection(create=False)
            if conn is None:
                return
            try:
                conn.execute("DELETE FROM entries WHERE kind = ? AND key = ?", (kind, key))
            except sqlite3.Error as exc:
                self._failed(exc)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- under self._lock --------------------------------------------------------------
    def _connection(self, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None or self._unusable:
            return self._conn
        if not create:
            if self._absent:
                return None
            if not self.path.exists():  # a cold cache: no file made to say so, and no
                self._absent = True  # stat per lookup (one made meanwhile waits a run)
                return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=LOCK_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return None
        self._conn = conn
        self._absent = False  # made now, if it was missing: later reads look in it
        return conn

    def _failed(self, exc: Exception) -> None:
        """A database that is not one is deleted (the next use starts afresh); anything
        else leaves the cache without these entries for this process."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            log.debug("cache: %s is damaged (%s); starting it afresh", self.path, exc)
            for leftover in (self.path, self.path.with_name(self.path.name + "-journal")):
                try:
                    leftover.unlink()
                except OSError:
                    pass
            return
        log.debug("cache: %s unusable (%s)", self.path, exc)
        self._unusable = True
