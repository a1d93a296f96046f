"""Reach into a cache's SQLite file of metadata entries (``ftlock.index.entrydb``), as
tests reach into its entry files: to read, damage or replace what a solve stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def db_file(cache_root: Path) -> Path:
    """The cache's entry database (``<cache>/v4/entries.sqlite``), wherever it was made."""
    found = sorted(cache_root.rglob("entries.sqlite"))
    assert len(found) == 1, found
    return found[0]


def rows(cache_root: Path, kind: str | None = None) -> dict[tuple[str, str], bytes]:
    """``{(kind, key): stored bytes}``, of one kind or all."""
    with sqlite3.connect(db_file(cache_root)) as conn:
        found = conn.execute("SELECT kind, key, body FROM entries").fetchall()
    return {(k, key): bytes(body) for k, key, body in found if kind in (None, k)}


def replace(cache_root: Path, kind: str, key: str, stored: bytes) -> None:
    """Overwrite one entry's stored bytes (its checksum line included)."""
    conn = sqlite3.connect(db_file(cache_root))
    try:
        with conn:
            changed = conn.execute(
                "UPDATE entries SET body = ? WHERE kind = ? AND key = ?", (stored, kind, key)
            ).rowcount
        assert changed == 1, (kind, key)
    finally:
        conn.close()
