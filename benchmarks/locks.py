"""Do the three locks agree?  Parsing and comparing hash-pinned requirements files.

Two locks can differ and both be right: a resolver may pick any versions that satisfy
everything.  So agreement is checked two ways — same pins, or else each lock is
*independently consistent*: fed back as ``name==version`` pins to a second resolver for the
same target, nothing gets added, removed or changed.  Everything here is pure except
:func:`consistency_command` callers, which run the resolver (see ``run.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;\\]+)")
_URL_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*@\s*(\S+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: frozenset[str] = frozenset()


def _logical_lines(text: str) -> list[str]:
    """Join backslash continuations; drop comments and blank lines."""
    lines: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not buffer:
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        if buffer.strip():
            lines.append(buffer.strip())
        buffer = ""
    if buffer.strip():
        lines.append(buffer.strip())
    return lines


def parse_lock(text: str) -> dict[str, Pin]:
    """``{canonical name: Pin}`` of a requirements.txt lock (ftlock, uv or pip-compile).

    Extras are dropped (``pkg[x]==1`` pins ``pkg``), options lines (``--index-url``) are
    skipped, and direct references keep their URL as the "version".
    """
    pins: dict[str, Pin] = {}
    for line in _logical_lines(text):
        if line.startswith("-"):
            continue
        hashes = frozenset(h.lower() for h in _HASH.findall(line))
        match = _PIN.match(line)
        if match:
            name, version = match.group(1), match.group(3)
        else:
            url_match = _URL_PIN.match(line)
            if not url_match:
                continue
            name, version = url_match.group(1), url_match.group(3)
        pins[canonicalize_name(name)] = Pin(version, hashes)
    return pins


def pins_text(pins: dict[str, Pin]) -> str:
    """The lock as plain ``name==version`` lines, to feed to another resolver."""
    return "".join(
        f"{name} @ {pin.version}\n" if "://" in pin.version else f"{name}=={pin.version}\n"
        for name, pin in sorted(pins.items())
    )


@dataclass(frozen=True)
class PinDiff:
    only_left: tuple[str, ...] = ()
    only_right: tuple[str, ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()  # (name, left version, right version)
    shared: int = 0
    hash_subset: int = 0  # shared pins whose left hashes ⊆ right hashes (both hashed)
    hash_compared: int = 0

    @property
    def same_pins(self) -> bool:
        return not (self.only_left or self.only_right or self.changed)

    def describe(self, left: str, right: str) -> str:
        """One line for the report: ``same 70 pins`` or what differs."""
        if self.same_pins:
            return f"same {self.shared} pins"
        parts = []
        if self.changed:
            shown = ", ".join(f"{n} {a} vs {b}" for n, a, b in self.changed[:6])
            more = f" (+{len(self.changed) - 6} more)" if len(self.changed) > 6 else ""
            parts.append(f"{len(self.changed)} versions differ ({left} vs {right}): {shown}{more}")
        if self.only_left:
            parts.append(f"only in {left}: {', '.join(self.only_left[:8])}" + (" …" if len(self.only_left) > 8 else ""))
        if self.only_right:
            parts.append(f"only in {right}: {', '.join(self.only_right[:8])}" + (" …" if len(self.only_right) > 8 else ""))
        return "; ".join(parts)


def compare_pins(left: dict[str, Pin], right: dict[str, Pin]) -> PinDiff:
    """Which names/versions differ; for equal pins also whether left's hashes ⊆ right's."""
    only_left = tuple(sorted(set(left) - set(right)))
    only_right = tuple(sorted(set(right) - set(left)))
    changed = []
    shared = subset = compared = 0
    for name in sorted(set(left) & set(right)):
        a, b = left[name], right[name]
        if _norm_version(a.version) != _norm_version(b.version):
            changed.append((name, a.version, b.version))
            continue
        shared += 1
        if a.hashes and b.hashes:
            compared += 1
            subset += a.hashes <= b.hashes
    return PinDiff(only_left, only_right, tuple(changed), shared, subset, compared)


def _norm_version(text: str) -> object:
    """A comparable version: ``1.0`` and ``1.0.0`` are the same pin (PEP 440)."""
    from packaging.version import InvalidVersion, Version  # noqa: PLC0415

    try:
        return Version(text)
    except InvalidVersion:
        return text


@dataclass(frozen=True)
class Consistency:
    """Result of feeding a lock's pins back to another resolver."""

    checker: str
    ok: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.error:  # the checker refused the pins (no solution) or failed to run
            return f"NOT confirmed by {self.checker}: {self.error}"
        if self.ok:
            return f"consistent per {self.checker} (nothing added or changed)"
        bits = []
        if self.changed:
            bits.append("changed " + ", ".join(f"{n} {a}->{b}" for n, a, b in self.changed[:6]))
        if self.added:
            bits.append("added " + ", ".join(self.added[:8]))
        if self.removed:
            bits.append("not needed " + ", ".join(self.removed[:8]))
        return f"NOT consistent per {self.checker}: " + "; ".join(bits)


def consistency(checker: str, pins: dict[str, Pin], resolved: dict[str, Pin]) -> Consistency:
    """Compare the pins given to ``checker`` with what it resolved from them.

    ``added`` (the lock missed a dependency) or ``changed`` (a pin the checker could not
    keep) make the lock inconsistent.  Every pin is a root requirement of the re-solve, so
    ``removed`` only shows up when a checker drops a pin whose marker excludes the target;
    it is reported but does not fail the check.
    """
    diff = compare_pins(pins, resolved)
    ok = not diff.changed and not diff.only_right
    return Consistency(
        checker, ok, added=diff.only_right, removed=diff.only_left, changed=diff.changed
    )


def lock_vias(text: str) -> dict[str, list[str]]:
    """``{package: its '# via' entries}`` of a pip-compile-style annotated lock."""
    vias: dict[str, list[str]] = {}
    current: str | None = None
    in_via = False
    for raw in text.splitlines():
        line = raw.strip()
        match = _PIN.match(line) or _URL_PIN.match(line)
        if match and not raw.startswith((" ", "\t")):
            current, in_via = canonicalize_name(match.group(1)), False
            vias.setdefault(current, [])
            continue
        if current is None or not line.startswith("#"):
            continue
        body = line.lstrip("#").strip()
        if body == "via" or body.startswith("via "):
            in_via, body = True, body[3:].strip()
        elif not in_via or not raw.startswith((" ", "\t")):
            in_via = False
            continue
        if body:
            vias[current].append(body)
    return vias


def lock_inputs(text: str) -> list[str]:
    """The packages a lock names as *inputs*: a ``# via`` entry that is not another
    locked package (``-r requirements.in``, ``fine-tuning stack``, ...).

    For E, whose requirements ftlock derives from ``--gpu/--model`` itself, these are the
    explicit requirements handed to uv.  Falls back to the lock's roots (packages no other
    locked package requires) when the lock has no such annotation.
    """
    pins = parse_lock(text)
    vias = lock_vias(text)

    def is_package(entry: str) -> bool:
        return bool(_NAME_ONLY.match(entry)) and canonicalize_name(entry.split()[0]) in pins

    named = sorted(n for n in pins if any(not is_package(e) for e in vias.get(n, [])))
    if named:
        return named
    return sorted(n for n in pins if not any(is_package(e) for e in vias.get(n, [])))


_NAME_ONLY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\s|$)")
