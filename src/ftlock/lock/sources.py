"""Which indexes a lock names as the source of its packages.

A lock is read, and installed, on other machines than the one that made it.  Naming every
index the solve could have read — a ``file://`` mirror from this machine's pip
configuration, an extra index that served nothing — tells a teammate about places that
supplied nothing, some of which do not exist on their machine.  So the header lists only
the indexes that supplied a locked package, in the solve's order, and says of a
``file://`` one that it is local to the machine that made the lock.
"""

from __future__ import annotations

from ftlock._urls import redact
from ftlock.resolve.result import Resolution

LOCAL_NOTE = "(local: a directory on the machine that made this lock)"


def supplying_indexes(resolution: Resolution) -> list[str]:
    """The solve's indexes that supplied at least one locked package, in the solve's order."""
    used = {p.index_url for p in resolution.packages if p.index_url}
    return [url for url in resolution.indexes if url in used]


def shown(url: str) -> str:
    """``url`` for a lock header: without credentials, a ``file://`` one marked as local."""
    text = redact(url)
    return f"{text} {LOCAL_NOTE}" if url.lower().startswith("file:") else text


def indexes_line(resolution: Resolution) -> str:
    """The header's ``Indexes:`` value."""
    supplying = supplying_indexes(resolution)
    if not supplying:
        return "none (no package comes from an index)"
    return ", ".join(shown(url) for url in supplying)
