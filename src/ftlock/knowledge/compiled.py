"""The built-in rules as validation produced them, shipped next to the rule files, so that a
solve does not validate them again.

Validating the 101 built-in rules means importing pydantic, building its validators for
every model and checking every field: ~80 ms, a sixth of a small cold solve, for data that
changes only with ftlock itself.  ``data/compiled.json`` holds each validated rule's JSON
form (the schema model's ``model_dump(mode="json", by_alias=True)``) and the sha256 of the
rule files it was made from; when that still matches the files, the run-time rules
(:mod:`ftlock.knowledge.rules`) are built from it by
:func:`~ftlock.knowledge.rules.from_json` — the builder validation itself ends with — without
importing pydantic.  When a rule file was edited and the JSON not regenerated, the rules are
validated as before: stale data costs time, never correctness.  A test fails while it is
stale; regenerate with::

    python -m ftlock.knowledge.regenerate

``ftlock kb lint`` and a team's own ``--rules`` files are always validated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import msgspec

from ftlock.knowledge.rules import Rule, from_json, to_json

#: bump when the layout of the file changes (2: a rule's JSON form by alias, ``if``)
FORMAT = 2


def key(files: list[Path]) -> str:
    """The rule files' names and bytes, hashed: what the compiled rules were made from."""
    digest = hashlib.sha256(f"ftlock compiled rules {FORMAT}\n".encode())
    for path in files:
        digest.update(f"{path.name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load(compiled: Path, files: list[Path]) -> list[tuple[Rule, str]] | None:
    """The compiled rules ``(rule, file name)`` when made from exactly ``files``, else None."""
    try:
        data = msgspec.json.decode(compiled.read_bytes())  # 100 KB: 4x faster than json
        if data["key"] != key(files):
            return None
        return [(from_json(item["rule"]), item["file"]) for item in data["rules"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, msgspec.DecodeError):
        return None  # missing, damaged, or another layout: validate


def dump(files: list[Path], rules: Sequence[tuple[Rule, str]]) -> str:
    """The compiled file's text for validated ``rules`` made from ``files``."""
    data = {
        "key": key(files),
        "rules": [{"file": file, "rule": to_json(rule)} for rule, file in rules],
    }
    return json.dumps(data, indent=0, sort_keys=True) + "\n"
