"""Compare two locks (``ftlock diff``) and explain a pin (``ftlock why``).

Both read what the locks themselves record — pins, hashes, ``# via`` and ``# ftlock:`` rule
notes — so they work on any lock ftlock wrote (requirements.txt or pylock.toml, in any
combination) without touching an index.
"""

from __future__ import annotations

import json
from typing import Any
from dataclasses import asdict, dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock.lock.lockfile import LockEntry, LockFile


@dataclass(frozen=True)
class Change:
    name: str
    old: str | None  # version (or URL) before; None when added
    new: str | None  # after; None when removed
    via: tuple[str, ...] = ()  # from the new lock (the old one for a removed package)
    notes: tuple[str, ...] = ()  # rule notes of the new lock


@dataclass
class LockDiff:
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    upgraded: list[Change] = field(default_factory=list)
    downgraded: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)  # same version, other source/files
    unchanged: int = 0

    GROUPS = ("added", "removed", "upgraded", "downgraded", "changed")

    @property
    def empty(self) -> bool:
        return not any(getattr(self, g) for g in self.GROUPS)

    def changed_names(self) -> set[str]:
        return {c.name for g in self.GROUPS for c in getattr(self, g)}

    def to_json(self) -> str:
        data: dict[str, Any] = {g: [asdict(c) for c in getattr(self, g)] for g in self.GROUPS}
        data["unchanged"] = self.unchanged
        return json.dumps(data, indent=2, sort_keys=True)

    def summary(self, limit: int = 6) -> str:
        """One line: ``+ datasets 2.19.0, peft 0.11.1 -> 0.12.0, - foo 1.0`` (shortened)."""
        parts = [f"+ {c.name} {c.new}" for c in self.added]
        parts += [f"{c.name} {c.old} -> {c.new}" for c in self.upgraded + self.downgraded]
        parts += [f"- {c.name} {c.old}" for c in self.removed]
        parts += [f"{c.name} {c.new} (files changed)" for c in self.changed]
        if not parts:
            return "no changes"
        shown = ", ".join(parts[:limit])
        return shown + (f", and {len(parts) - limit} more" if len(parts) > limit else "")


def _shown(entry: LockEntry) -> str:
    return entry.version or entry.url or "?"


def _order(old: LockEntry, new: LockEntry) -> int:
    """1 upgraded, -1 downgraded, 0 same version (or not comparable)."""
    if old.url or new.url or not old.version or not new.version:
        return 0
    try:
        a, b = Version(old.version), Version(new.version)
    except InvalidVersion:
        return 0
    return (b > a) - (b < a)


def diff(old: LockFile, new: LockFile) -> LockDiff:
    result = LockDiff()
    for name in sorted(set(old.packages) | set(new.packages)):
        before, after = old.packages.get(name), new.packages.get(name)
        if before is None and after is not None:
            result.added.append(Change(name, None, _shown(after), after.via, after.notes))
        elif after is None and before is not None:
            result.removed.append(Change(name, _shown(before), None, before.via, ()))
        elif before is not None and after is not None:
            change = Change(name, _shown(before), _shown(after), after.via, after.notes)
            direction = _order(before, after)
            if direction > 0:
                result.upgraded.append(change)
            elif direction < 0:
                result.downgraded.append(change)
            elif _shown(before) != _shown(after) or (
                before.hashes and after.hashes and before.hashes != after.hashes
            ):
                result.changed.append(change)
            else:
                result.unchanged += 1
    return result


def _reason(change: Change, removed: bool = False) -> list[str]:
    lines = []
    if change.via:
        lines.append(("was via " if removed else "via ") + ", ".join(change.via))
    lines += list(change.notes)
    return lines


def render_diff(result: LockDiff) -> str:
    out: list[str] = []
    titles = {
        "added": "Added",
        "removed": "Removed",
        "upgraded": "Upgraded",
        "downgraded": "Downgraded",
        "changed": "Changed files or source (same version)",
    }
    for group in LockDiff.GROUPS:
        changes: list[Change] = getattr(result, group)
        if not changes:
            continue
        out.append(f"{titles[group]} ({len(changes)}):")
        for c in changes:
            if group == "added":
                head = f"  + {c.name} {c.new}"
            elif group == "removed":
                head = f"  - {c.name} {c.old}"
            elif group == "changed":
                head = f"  ~ {c.name} {c.new}" + (f" (was {c.old})" if c.old != c.new else " (hashes differ)")
            else:
                head = f"  {'^' if group == 'upgraded' else 'v'} {c.name} {c.old} -> {c.new}"
            reasons = _reason(c, removed=group == "removed")
            if reasons:
                head += f"  ({reasons[0]})"
            out.append(head)
            out += [f"      # {r}" for r in reasons[1:]]
    total = sum(len(getattr(result, g)) for g in LockDiff.GROUPS)
    out.append(
        f"{total} change(s), {result.unchanged} package(s) unchanged"
        if total
        else f"no changes ({result.unchanged} packages)"
    )
    return "\n".join(out) + "\n"


# -- why -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    origin: str  # the input: "-r requirements.in", "pyproject.toml", "requested", ...
    packages: tuple[str, ...]  # from the requested package down to the one asked about

    def render(self, lock: LockFile) -> str:
        shown = " -> ".join(lock.packages[n].shown for n in self.packages)
        return f"{self.origin}: {shown}"


def why(lock: LockFile, name: str, limit: int = 50, every: bool = False) -> list[Chain]:
    """Chains from an input to ``name``, shortest first: the shortest one through each
    requested package, or (``every``) every chain without a repeated package, up to ``limit``."""
    wanted = canonicalize_name(name)
    if wanted not in lock.packages:
        raise KeyError(wanted)
    chains: list[Chain] = []

    def parents(node: str) -> tuple[list[str], list[str]]:
        pkgs: list[str] = []
        inputs: list[str] = []
        for who in lock.packages[node].via:
            key = canonicalize_name(who.split("[")[0]) if " " not in who else None
            if key is not None and key in lock.packages:
                pkgs.append(key)
            else:
                inputs.append(who)
        return pkgs, inputs

    # breadth-first over paths, so shorter chains come first and a cap stays fair
    frontier: list[tuple[str, ...]] = [(wanted,)]
    seen_paths = 0
    while frontier and (not every or len(chains) < limit) and seen_paths < 20_000:
        next_frontier: list[tuple[str, ...]] = []
        for path in frontier:
            seen_paths += 1
            head = path[0]
            pkgs, inputs = parents(head)
            for origin in inputs:
                chains.append(Chain(origin, path))
            if not pkgs and not inputs:
                chains.append(Chain("(no # via recorded)", path))
            for parent in pkgs:
                if parent not in path:
                    next_frontier.append((parent, *path))
        frontier = next_frontier
    if not every:
        firsts: dict[tuple[str, str], Chain] = {}
        for chain in chains:
            firsts.setdefault((chain.origin, chain.packages[0]), chain)
        chains = list(firsts.values())
    return chains[:limit]
