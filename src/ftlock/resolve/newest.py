"""A last check that no package was left older than the solution needs.

resolvelib keeps a version it found incompatible while backtracking for the rest of the
attempt, even after the package that made it so has moved (docs/resolution.md): a
bystander can end up locked older than necessary.  After a solve, each package whose
newest version allowed by the final requirements is newer than its pin is tried in
place: when that version's own requirements are met by the other pins, it replaces the
pin.  The caller then re-solves with every pin preferred, so the lock's graph (who
requires what) comes from the solver as always, and the solver checks the answer.

One candidate per package is looked at — the newest allowed, if it has a wheel; the
solve has usually read its metadata already — so the check costs little; a package whose
newest version would need other packages to move is left alone.  Packages with extras in the solution,
direct references and preferred versions (an existing lock's pins) are left alone too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from packaging.version import Version

from ftlock.errors import FtlockError
from ftlock.resolve.candidates import PYTHON, Candidate, Requirement

#: passes over the solution; an upgrade can free another one (its old requirements go)
MAX_PASSES = 3


def upgrades(
    mapping: Mapping[str, Any], provider: Any, roots: Sequence[Requirement]
) -> dict[str, Candidate]:
    """``{identifier: newer candidate}`` for pins that can move up alone."""
    pins = dict(mapping)
    moved: dict[str, Candidate] = {}
    for _ in range(MAX_PASSES):
        changed = False
        wanted = _requirements(pins, provider, roots)
        for identifier, pinned in list(pins.items()):
            newer = _newer_that_fits(identifier, pinned, pins, provider, wanted.get(identifier, []))
            if newer is not None:
                pins[identifier] = moved[identifier] = newer
                changed = True
                wanted = _requirements(pins, provider, roots)
        if not changed:
            break
    return moved


def _requirements(
    pins: Mapping[str, Any], provider: Any, roots: Sequence[Requirement]
) -> dict[str, list[Requirement]]:
    """What the user and the pins require, per identifier."""
    wanted: dict[str, list[Requirement]] = {}
    for requirement in roots:
        wanted.setdefault(requirement.identifier, []).append(requirement)
    for candidate in pins.values():
        for requirement in provider.get_dependencies(candidate):
            wanted.setdefault(requirement.identifier, []).append(requirement)
    return wanted


def _newer_that_fits(
    identifier: str, pinned: Any, pins: Mapping[str, Any], provider: Any, wanted: list[Requirement]
) -> Candidate | None:
    if not isinstance(pinned, Candidate) or pinned.url or pinned.extras:
        return None
    if pinned.name in provider.preferred or any(i.startswith(f"{pinned.name}[") for i in pins):
        return None
    found = provider.find_matches(identifier, {identifier: wanted}, {identifier: []})
    newest = next(iter(found() if callable(found) else found), None)
    if not isinstance(newest, Candidate) or newest.version <= pinned.version:
        return None
    if not any(f.is_wheel for f in newest.files):
        return None  # its metadata could take a build: not worth it for a check
    try:
        needs = provider.get_dependencies(newest)
    except FtlockError:
        return None
    return newest if all(_met(need, pins, provider) for need in needs) else None


def _met(requirement: Requirement, pins: Mapping[str, Any], provider: Any) -> bool:
    if requirement.name == PYTHON:
        return False  # the version does not support the target's Python
    pinned = pins.get(requirement.identifier)
    if pinned is None:
        return requirement.optional  # a package the solution does not have yet
    return bool(provider.is_satisfied_by(requirement, pinned))


def preferred_after(mapping: Mapping[str, Any], moved: Mapping[str, Candidate]) -> dict[str, Version]:
    """Every pin's version, with the upgrades: what the re-solve tries first."""
    out: dict[str, Version] = {}
    for identifier, candidate in mapping.items():
        chosen = moved.get(identifier, candidate)
        if isinstance(chosen, Candidate) and not chosen.extras:
            out[chosen.name] = chosen.version
    return out
