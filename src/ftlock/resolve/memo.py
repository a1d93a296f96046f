"""The solve cache: answer a repeated solve without running the solver again.

A solve is a function of its inputs (requirements, constraints, target, flags, rule files, a
base freeze), the index pages it read, the metadata of the files it looked at (immutable:
cached by file hash), the knowledge rules and ftlock's own code.  When a solve with the same
inputs finished before, and every index page it read is *the same cache entry* and still
*fresh* under this run's policy (``--page-ttl``, ``--exclude-newer``, ``--offline``;
``--refresh`` makes nothing fresh), the solver would read exactly the same data and reach
exactly the same answer — so the stored answer is returned instead.  That is what makes a
warm re-run cost milliseconds (CI re-checking a lock, a team member re-running the command),
and it never changes a result: any page that would be refetched invalidates the entry.

Not cached, because their inputs can change behind a stable name: direct references (paths,
URLs, git), ``--base-python`` (a live interpreter), ``--no-cache`` and ``--no-solve-cache``.

This module is deliberately light (no resolver, HTTP or knowledge imports): a hit must not
pay for the machinery it skips.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ftlock._values import field_names
from ftlock._version import __version__
from ftlock.index.cache import Cache, FetchPolicy
from ftlock.resolve.formats import FormatControl
from ftlock.errors import InputFileError
from ftlock.index.models import DistFile
from ftlock.resolve.facts import from_json, to_json
from ftlock.resolve.reqfile import read_bytes_bounded
from ftlock.resolve.result import LockedPackage, Resolution, SolveRequest, SolveStats
from ftlock.resolve.target import Target

#: SolveRequest fields that change how a solve runs, never what it answers.
_TRANSPORT_FIELDS = frozenset({"cache_dir", "no_cache", "concurrency", "timeout", "retries", "no_solve_cache"})
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _is_index_requirement(text: str) -> bool:
    """A plain ``name[extras] specifier ; marker`` line (no URL, path or ``@``)."""
    head = text.split(";")[0].strip()
    return not (
        "@" in head
        or "://" in head
        or head.startswith((".", "/", "~"))
        or head.endswith((".whl", ".tar.gz", ".zip"))
    )


def _code_fingerprint() -> list[Any]:
    """ftlock's version and the size/mtime of every file of the package (code, rules,
    catalogs): an edited rule or a new release never reuses an old answer."""
    out: list[Any] = [__version__]
    stack = [_PACKAGE_DIR]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name == "__pycache__" or entry.name.startswith("."):
                continue
            if entry.is_dir():
                stack.append(Path(entry.path))
            elif entry.name.endswith((".py", ".toml", ".json")):
                st = entry.stat()
                out.append((os.path.relpath(entry.path, _PACKAGE_DIR), st.st_size, st.st_mtime_ns))
    return out


def _file_digests(paths: list[Path]) -> list[Any]:
    """Content hashes of user files the solve reads beyond the requirement lines (rule
    files and folders, a base freeze)."""
    out: list[Any] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:  # bounded: a --base of /dev/zero is refused by its reader, not read here
                out.append((str(file), hashlib.sha256(read_bytes_bounded(file)).hexdigest()))
            except (OSError, InputFileError):
                out.append((str(file), None))
    return out


def solve_key(request: SolveRequest, target: Target, inputs: Any, settings: Any) -> str | None:
    """The key of a solve, or None when this solve must not be cached (see module doc).

    ``inputs`` are the parsed requirement/constraint lines after the GPU/model presets added
    theirs, ``settings`` the discovered :class:`~ftlock.index.settings.IndexSettings`.
    """
    if request.no_cache or request.no_solve_cache or request.base_python is not None:
        return None
    lines = [*inputs.requirements, *inputs.constraints]
    if not all(_is_index_requirement(line.text) for line in lines):
        return None
    # the binary policy is keyed as applied (command line, then the files' option lines):
    # `--only-binary a --only-binary b` and `--only-binary a,b` are one policy, one answer
    asked = {
        name: getattr(request, name)
        for name in field_names(request)
        if name not in _TRANSPORT_FIELDS and name != "binary"
    }
    material = {
        "code": _code_fingerprint(),
        "request": repr(sorted(asked.items())),
        "target": repr(target),
        "inputs": repr(inputs),
        "binary": FormatControl.from_options((*request.binary, *inputs.binary)).describe(),
        "indexes": repr((settings.urls, settings.all_urls, settings.default_url, settings.routes)),
        "files": _file_digests([*request.rules, *([request.base] if request.base else [])]),
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


# -- the stored answer ------------------------------------------------------------------------
#: the Resolution fields stored as facts (ftlock.resolve.facts), beside the packages
_FACT_FIELDS = ("stack", "features", "rules_off", "pinned_breaks", "base", "warnings", "changes", "kept")


def _fields(value: Any) -> dict[str, Any]:
    """A value's fields, one level deep: ``dataclasses.asdict`` deep-copies every value
    and walked each package's files twice (4% of a cold solve's CPU on a 116-package lock)."""
    return {name: getattr(value, name) for name in field_names(value)}


def _dump(resolution: Resolution) -> dict[str, Any]:
    return {
        "packages": [
            {**_fields(p), "files": [_fields(f) for f in p.files], "notes": to_json(p.notes)}
            for p in resolution.packages
        ],
        "indexes": list(resolution.indexes),
        "default_index": resolution.default_index,
        "binary": list(resolution.binary),
        **{name: to_json(getattr(resolution, name)) for name in _FACT_FIELDS},
    }


def _load(data: dict[str, Any], request: SolveRequest, target: Target, stats: SolveStats) -> Resolution:
    packages = tuple(
        LockedPackage(
            **{
                **p,
                "files": tuple(DistFile(**f) for f in p["files"]),
                "required_by": tuple(p["required_by"]),
                "notes": from_json(p["notes"]),
            }
        )
        for p in data["packages"]
    )
    return Resolution(
        packages=packages,
        target=target,
        indexes=tuple(data["indexes"]),
        default_index=data["default_index"],
        exclude_newer=request.exclude_newer,
        stats=stats,
        binary=tuple(data["binary"]),
        **{name: from_json(data[name]) for name in _FACT_FIELDS},
    )


class SolveCache:
    """Solve answers in the cache directory, under ``solves/``, checksummed like every entry."""

    KIND = "solves"

    def __init__(self, cache: Cache, policy: FetchPolicy) -> None:
        self.cache = cache
        self.policy = policy

    def get(self, key: str, request: SolveRequest, target: Target, stats: SolveStats) -> Resolution | None:
        """The stored answer, if every page it read is the same entry and still fresh."""
        entry = self.cache.read_entry(self.KIND, key)
        if not isinstance(entry, dict):
            return None
        try:
            for index_url, name, fetched_at, *identity in entry["pages"]:
                if not self.policy.fresh(fetched_at):
                    return None
                if self.cache.page_identity(index_url, name) != tuple(identity):
                    return None
            return _load(entry["resolution"], request, target, stats)
        except (KeyError, TypeError, ValueError):
            return None  # another layout: solve again (and overwrite it)

    def put(
        self,
        key: str,
        resolution: Resolution,
        pages: dict[tuple[str, str], tuple[float, tuple[int, int, int] | None]],
    ) -> None:
        """Store an answer with the pages it read; nothing when a page is not in the cache."""
        if not pages or any(identity is None for _, identity in pages.values()):
            return
        listed = sorted(
            [index_url, name, fetched_at, *(identity or ())]  # identity: checked not None above
            for (index_url, name), (fetched_at, identity) in pages.items()
        )
        self.cache.write_entry(self.KIND, key, {"pages": listed, "resolution": _dump(resolution)})
