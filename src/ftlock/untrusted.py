"""What an index says is input, not fact: the checks and bounds every index-supplied value
passes before it reaches a path, a lock line or memory.

A lock sits on the supply chain — the hashes in it are what a team installs with
``--require-hashes`` — so a hostile or broken index must never be able to write outside the
cache (a "hash" of ``../../x``), inject lock lines (a "hash" with a newline), point ftlock at
local files (a ``file:`` link on an https page) or exhaust memory (a decompression bomb, a
body that never ends).  The threat model is in docs/reliability.md; the limits are here so
that they are named once.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeGuard
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    from packaging.requirements import Requirement as PkgRequirement

#: A page (PEP 691 JSON or PEP 503 HTML) after decompression.  The largest real pages are
#: under 10 MiB (torch's JSON page is about 7 MiB).
MAX_PAGE_BYTES = 256 * 1024 * 1024
#: One core-metadata file (PEP 658 ``.metadata``, a wheel's METADATA, an sdist's PKG-INFO)
#: after decompression.  Real ones are a few KiB; the largest seen are a few MiB of README.
MAX_METADATA_BYTES = 64 * 1024 * 1024
#: A wheel's central directory (torch's 13,000 entries take about 1.5 MiB).
MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024
#: A distribution file downloaded whole (streamed to disk, hashed on the way).  The largest
#: real wheels (CUDA runtimes, torch with its kernels) are 2–4 GiB.
MAX_DIST_BYTES = 16 * 1024 * 1024 * 1024
#: What an sdist may unpack to before a metadata build (the sum of its members' sizes).
MAX_UNPACKED_SDIST_BYTES = 2 * 1024 * 1024 * 1024
#: A body must arrive within this many ``--timeout`` periods in total, however steadily
#: it trickles in (the per-read timeout alone lets a drip-fed body run for ever) …
BODY_DEADLINE_TIMEOUTS = 10
#: … plus one second per this many bytes expected, so a multi-GiB wheel on a slow link is
#: not cut off (1 MiB/s).
BODY_DEADLINE_BYTES_PER_SECOND = 1024 * 1024

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: POSIX seconds of 0001-01-01 and 9999-12-31T23:59:59 UTC: anything outside cannot be
#: written as a date (PEP 751's ``upload-time``) and is no real upload time.
_MIN_TIME = datetime(1, 1, 1, tzinfo=timezone.utc).timestamp()
_MAX_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()


def sha256_or_none(value: object) -> str | None:
    """The value as a sha256 hex digest (lower-cased), or None when it is not one.

    Only 64 hex digits are a hash: anything else could become a path component of the
    cache or a line of the lock, so it is dropped and the file treated as unhashed.
    """
    if not isinstance(value, str) or len(value) != 64:
        return None
    lowered = value.lower()
    return lowered if _SHA256.fullmatch(lowered) else None


def is_sha256(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def text_or_none(value: object, limit: int = 4096) -> str | None:
    """A short single-line string, or None (``requires-python``, a yank reason)."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    if any(ch in value for ch in "\r\n\x00"):
        return None
    return value


def size_or_none(value: object) -> int | None:
    """A file size: a non-negative int (``True`` is an int in Python, not a size)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def upload_time_or_none(value: object) -> float | None:
    """PEP 700 ``upload-time`` (RFC 3339, UTC) as POSIX seconds, or None when it is not a
    date that exists (year 1–9999) — never an exception, never ``nan`` or ``inf``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and value and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            seconds = parsed.timestamp()
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if not math.isfinite(seconds) or not _MIN_TIME <= seconds <= _MAX_TIME:
        return None
    return seconds


def file_url_allowed(url: str, page_url: str) -> bool:
    """Whether a file link found on ``page_url`` may be followed.

    Links are http(s); ``file:`` only from a ``file:`` page (a local index): an https page
    must not make ftlock read ``file:///dev/zero`` or a secret on this machine.  A URL with
    a character that is not printable (a form feed, a line separator: a real one would be
    percent-encoded) is refused, so no link can break a message or a lock line in two.
    """
    if not url.isprintable():
        return False
    try:
        scheme = urlsplit(url).scheme.lower()
        page_scheme = urlsplit(page_url).scheme.lower()
    except ValueError:
        return False
    if scheme in ("http", "https"):
        return True
    return scheme == "file" and page_scheme == "file"


def body_deadline(timeout: float, expected_bytes: int | None = None) -> float:
    """Seconds a whole body may take (see :data:`BODY_DEADLINE_TIMEOUTS`)."""
    extra = (expected_bytes or 0) / BODY_DEADLINE_BYTES_PER_SECOND
    return timeout * BODY_DEADLINE_TIMEOUTS + extra


#: The longest run of digits a version in a requirement may have.  Real ones are at most a
#: date (8 digits); a specifier of thousands of digits makes int() raise ValueError (not
#: InvalidVersion) deep inside packaging, at the first comparison.
MAX_VERSION_DIGITS = 64
_DIGIT_RUN = re.compile(r"\d{%d,}" % (MAX_VERSION_DIGITS + 1))


def parse_pep508(text: str) -> PkgRequirement:
    """``packaging.requirements.Requirement(text)``, refusing versions packaging cannot
    compare with InvalidRequirement (so every caller's existing handling applies)."""
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415

    req = Requirement(text)
    for spec in req.specifier:
        if spec.operator != "===" and _DIGIT_RUN.search(spec.version):
            raise InvalidRequirement(
                f"version {spec.version[:20]}… has a number longer than {MAX_VERSION_DIGITS} digits"
            )
    return req


def shorten(text: str, limit: int = 120) -> str:
    """Text someone else wrote, fit for a one-line message: printable and short."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
