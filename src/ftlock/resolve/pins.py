"""One reader for ``name==version`` and ``name @ url`` lines.

``--base`` freeze files, ``ftlock check``'s pins and lock files all hold such lines; read
three ways they drifted apart (one stopped a version at a backslash, one did not), so the
same line could mean two versions.  Each caller still decides what a line that is *not* a
pin means (an error, a skipped option, an editable install).
"""

from __future__ import annotations

import re

from packaging.utils import NormalizedName, canonicalize_name

import msgspec

_HEAD = r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
_PIN = re.compile(_HEAD + r"===?\s*([^\s;\\#]+)")
_URL = re.compile(_HEAD + r"@\s*(\S+)")


class Pin(msgspec.Struct, frozen=True):
    """A pinned line: exactly one of ``version`` and ``url`` is set."""

    name: NormalizedName
    version: str | None
    url: str | None


def parse_pin(line: str) -> Pin | None:
    """``name[extras]==version`` (or ``===``), or ``name[extras] @ url``; None for anything else.
    The URL runs to the first space, as pip freeze writes it."""
    if match := _PIN.match(line):
        return Pin(canonicalize_name(match.group(1)), match.group(2), None)
    if match := _URL.match(line):
        return Pin(canonicalize_name(match.group(1)), None, match.group(2))
    return None
