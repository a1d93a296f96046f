"""Lock writers and readers: the hash-pinned requirements.txt, PEP 751 pylock.toml, diffs
and reasons (``why``), the lock's recorded target, and the atomic write they all share.

:func:`render` is the one entry point a library caller needs; the CLI and ``ftlock lock``
call the writers directly because they add headers (fingerprints, inputs) of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftlock.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.resolve.result import Resolution


def render(resolution: Resolution, format: str = "requirements", command: str = "ftlock (library call)") -> str:
    """The lock text for ``resolution``: ``format`` is ``"requirements"`` (hash-pinned
    requirements.txt) or ``"pylock"`` (PEP 751).  ``command`` is recorded in the header, as
    the CLI records the command line that made the lock, so a reader knows how to remake it.
    """
    if format == "requirements":
        from ftlock.lock import requirements_txt  # noqa: PLC0415 - one writer per call

        return requirements_txt.render(resolution, command)
    if format == "pylock":
        from ftlock.lock import pylock  # noqa: PLC0415 - one writer per call

        return pylock.render(resolution, command)
    raise UsageError(f"unknown lock format {format!r} (expected 'requirements' or 'pylock')")
