"""The one lock model: the pins, hashes, ``# via`` chains, rule notes and the recorded inputs.

A :class:`LockEntry` is one locked package as a lock records it.  It comes from two places and
both give the same value: :func:`read_lock` parses a file — the hash-pinned ``requirements.txt``
(also one written by pip-compile) or PEP 751 ``pylock.toml`` — and :func:`recorded_entries`
computes, from the :class:`~ftlock.resolve.result.Resolution` a writer is given, what that
writer puts into the file.  So ``ftlock lock`` words its summary and ``lock --check --refresh``
compares a fresh solve without writing and re-reading a file, and a test pins that the two
agree (write, read back, compare).  Re-locking (existing pins become preferred versions),
``lock --check``, ``diff`` and ``why`` all use :class:`LockFile`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import msgspec
from packaging.utils import canonicalize_name

from ftlock._urls import redact
from ftlock.errors import InputFileError
from ftlock.lock.wording import note_lines
from ftlock.resolve.pins import parse_pin
from ftlock.resolve.result import LockedPackage, Resolution
from ftlock.resolve.reqfile import read_file
from ftlock.untrusted import is_sha256

# Header lines that record the inputs a lock was made from (see ftlock.project.fingerprint).
FINGERPRINT_PREFIX = "Inputs fingerprint: "
INPUT_PREFIX = "Input: "


class LockEntry(msgspec.Struct, frozen=True):
    """One locked package."""

    name: str
    version: str | None  # None for a direct reference without a known version
    url: str | None = None
    hashes: tuple[str, ...] = ()  # "sha256:<hex>", sorted
    via: tuple[str, ...] = ()  # who requires it: package names and inputs (-r file, ...)
    notes: tuple[str, ...] = ()  # "ftlock: ..." rule notes
    yanked: bool = False

    @property
    def shown(self) -> str:
        return f"{self.name}=={self.version}" if self.version else f"{self.name} @ {self.url}"


class LockFile(msgspec.Struct, frozen=True):
    path: Path
    format: Literal["requirements", "pylock"]
    packages: dict[str, LockEntry]
    header: tuple[str, ...] = ()  # comment lines of the header, without "# "
    fingerprint: str | None = None  # "sha256:<hex>" when written by `ftlock lock`
    inputs: tuple[str, ...] = ()  # the recorded input items
    target: str | None = None  # e.g. "CPython 3.11, linux_x86_64"
    command: str | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def pins(self) -> dict[str, str]:
        """``name -> version`` of the packages pinned by version (not direct references)."""
        return {n: e.version for n, e in self.packages.items() if e.version and not e.url}


LockFormat = Literal["requirements", "pylock"]


def recorded_entries(resolution: Resolution, format: LockFormat) -> dict[str, LockEntry]:
    """``name -> LockEntry`` of what the ``format`` writer records for ``resolution``: the
    value :func:`read_lock` returns for the written file, computed without the file.

    The two formats record different things (pylock keeps a direct reference's version and
    the hashes of the files it lists; requirements.txt keeps every file's hash and only the
    ``ftlock:`` notes), so the conversion follows the format — what matters to ``diff`` is that
    a lock in memory and the same lock on disk compare equal.
    """
    convert = _pylock_entry if format == "pylock" else _requirements_entry
    return {p.name: convert(p) for p in sorted(resolution.packages, key=lambda p: p.name)}


def requirements_hashes(package: LockedPackage) -> list[str]:
    """The sha256 digests the requirements.txt writer pins, sorted.

    Only 64 hex digits ever reach a lock line (the pages' parser enforces it; this is the last
    line of defence against a value that would inject lines).
    """
    return sorted({f.sha256 for f in package.files if is_sha256(f.sha256)})


def _requirements_entry(package: LockedPackage) -> LockEntry:
    # as the reader parses ``name @ url``: up to whitespace, then up to a marker or comment
    url = _URL_END.split((redact(package.url).split() or [""])[0], 1)[0] if package.url else None
    return LockEntry(
        name=package.name,
        version=None if package.url else package.version,
        url=url,
        hashes=tuple(f"sha256:{h}" for h in requirements_hashes(package)),
        via=tuple(who.strip() for who in package.required_by),
        notes=tuple(n.strip() for n in note_lines(package.notes) if n.strip().startswith("ftlock")),
        yanked=package.yanked,
    )


def _pylock_entry(package: LockedPackage) -> LockEntry:
    # the writer builds the table and the reader reads it: one code path, so they cannot drift
    from ftlock.lock import pylock  # noqa: PLC0415 - TOML writing only when a pylock is converted

    entry = pylock.package_table(package, ())
    return _pylock_package(canonicalize_name(package.name), entry)


def is_pylock(path: Path) -> bool:
    return path.name.endswith(".toml")


def read_lock(path: Path) -> LockFile:
    """Parse a lock written by ftlock (or pip-compile); InputFileError when it is not one."""
    path = Path(path)
    if is_pylock(path):
        return _read_pylock(path)
    return _read_requirements(path, read_file(path))


# -- requirements.txt ------------------------------------------------------------------------

#: where a lock line's URL ends: a marker, a line continuation or a comment
_URL_END = re.compile(r"[;\\#]")
_HASH = re.compile(r"--hash[=\s]+(\w+):([0-9a-fA-F]+)")
_YANKED = re.compile(r"^#\s*(\S+)\s+(\S+)\s+is yanked")
_HEADER_TARGET = re.compile(r"generated by ftlock \S+ for (.+)\.$")


def _read_requirements(path: Path, text: str) -> LockFile:
    header: list[str] = []
    packages: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    yanked: set[str] = set()
    in_header = True
    via_block = False
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if in_header and stripped.startswith("#") and not raw.startswith((" ", "\t")):
            header.append(stripped[1:].strip())
            continue
        in_header = False
        if not stripped:
            continue
        indented = raw.startswith((" ", "\t"))
        if stripped.startswith("#"):
            comment = stripped[1:].strip()
            if not indented:
                if match := _YANKED.match(stripped):
                    yanked.add(canonicalize_name(match.group(1)))
                via_block = False
                continue
            if current is None:
                continue
            if comment == "via":
                via_block = True
            elif comment.startswith("via "):
                current["via"].append(comment[4:].strip())
                via_block = False
            elif via_block and stripped.startswith("#   "):
                current["via"].append(comment)
            elif comment.startswith("ftlock"):
                current["notes"].append(comment)
                via_block = False
            continue
        via_block = False
        if indented or stripped.startswith("--hash"):
            if current is not None:
                current["hashes"] += [f"{a.lower()}:{h.lower()}" for a, h in _HASH.findall(stripped)]
            continue
        if stripped.startswith("-"):
            continue  # --index-url, --extra-index-url, -c ... lines
        pin = parse_pin(stripped)
        url = _URL_END.split(pin.url, 1)[0] if pin is not None and pin.url is not None else None
        if pin is None or url == "":
            raise InputFileError(f"{path}:{number}: not a pinned requirement: {stripped[:60]!r}")
        name = pin.name
        current = {
            "name": name,
            "version": pin.version,
            "url": url,
            "hashes": [f"{a.lower()}:{h.lower()}" for a, h in _HASH.findall(stripped)],
            "via": [],
            "notes": [],
        }
        packages[name] = current
    if not packages:
        raise InputFileError(f"{path}: no pinned packages found")
    entries = {
        name: LockEntry(
            name=name,
            version=p["version"],
            url=p["url"],
            hashes=tuple(sorted(set(p["hashes"]))),
            via=tuple(p["via"]),
            notes=tuple(p["notes"]),
            yanked=name in yanked,
        )
        for name, p in sorted(packages.items())
    }
    fingerprint = None
    inputs: list[str] = []
    target = command = None
    for line in header:
        if line.startswith(FINGERPRINT_PREFIX):
            fingerprint = line[len(FINGERPRINT_PREFIX):].split()[0]
        elif line.startswith(INPUT_PREFIX):
            inputs.append(line[len(INPUT_PREFIX):])
        elif line.startswith("Command: "):
            command = line[len("Command: "):]
        elif match := _HEADER_TARGET.search(line):
            target = match.group(1)
    return LockFile(
        path=path,
        format="requirements",
        packages=entries,
        header=tuple(header),
        fingerprint=fingerprint,
        inputs=tuple(inputs),
        target=target,
        command=command,
    )


# -- pylock.toml -----------------------------------------------------------------------------


def _read_pylock(path: Path) -> LockFile:
    from ftlock._toml import tomllib  # noqa: PLC0415 - pylock files only (tomllib: 3 ms)

    text = read_file(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{path}: invalid TOML ({exc})") from None
    if "lock-version" not in doc or not isinstance(doc.get("packages", []), list):
        raise InputFileError(f"{path}: not a pylock.toml (no lock-version)")
    packages: dict[str, LockEntry] = {}
    for position, pkg in enumerate(doc.get("packages", []), 1):
        if not isinstance(pkg, dict) or "name" not in pkg:
            raise InputFileError(f"{path}: packages[{position}]: no name")
        name = canonicalize_name(str(pkg["name"]))
        packages[name] = _pylock_package(name, pkg)
    tool = doc.get("tool", {}).get("ftlock", {}) if isinstance(doc.get("tool"), dict) else {}
    return LockFile(
        path=path,
        format="pylock",
        packages=dict(sorted(packages.items())),
        fingerprint=tool.get("inputs-fingerprint"),
        inputs=tuple(tool.get("inputs", ())),
        target=tool.get("target"),
        command=tool.get("command"),
        extra={"environments": doc.get("environments"), "requires-python": doc.get("requires-python")},
    )


def _pylock_package(name: str, pkg: dict[str, Any]) -> LockEntry:
    """One ``[[packages]]`` table as a :class:`LockEntry` (the reader's and
    :func:`recorded_entries`' shared step, so both say the same about a table)."""
    files = list(pkg.get("wheels", []))
    if isinstance(pkg.get("sdist"), dict):
        files.append(pkg["sdist"])
    if isinstance(pkg.get("archive"), dict):
        files.append(pkg["archive"])
    hashes = sorted(
        {f"{algo}:{value}" for f in files for algo, value in dict(f.get("hashes", {})).items()}
    )
    url = None
    if isinstance(pkg.get("archive"), dict):
        url = pkg["archive"].get("url") or pkg["archive"].get("path")
    elif isinstance(pkg.get("vcs"), dict):
        vcs = pkg["vcs"]
        url = f"{vcs.get('type', 'git')}+{vcs.get('url')}@{vcs.get('commit-id')}"
    elif isinstance(pkg.get("directory"), dict):
        url = pkg["directory"].get("path")
    tool = pkg.get("tool", {}).get("ftlock", {}) if isinstance(pkg.get("tool"), dict) else {}
    return LockEntry(
        name=name,
        version=str(pkg["version"]) if "version" in pkg else None,
        url=url,
        hashes=tuple(hashes),
        via=tuple(tool.get("via", ())),
        notes=tuple(tool.get("notes", ())),
        yanked=bool(tool.get("yanked", False)),
    )
