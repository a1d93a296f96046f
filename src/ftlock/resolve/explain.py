"""Turn resolvelib's ``ResolutionImpossible.causes`` into a message a person can act on.

The first line names the package that cannot be satisfied and every conflicting
requirement with who asked for it; indented lines give the short chain from the user's
input to each asker when it is not direct.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from ftlock.resolve.candidates import PYTHON, Requirement
from ftlock.resolve.target import Target


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def _who(parent: Any) -> str:
    if parent is None:
        return "you requested"
    return f"{parent.name} {parent.version} requires"


def _said(info: Any) -> str:
    """One requirement and who asked; a knowledge rule is named with its source and fix."""
    req = info.requirement
    rule = getattr(req, "rule", None)
    if info.parent is None and "(installed" in (req.text or ""):
        return f"the base environment has {req.text}"
    if rule is None:
        return f"{_who(info.parent)} {req.describe()}"
    verb = "forbids" if req.exclude is not None else "needs"
    shown = f"{req.name}{req.exclude}" if req.exclude is not None else req.describe()
    return (
        f"{info.parent.name} {info.parent.version} {verb} {shown} by knowledge rule {rule.id} "
        f"({rule.summary}; fix: {rule.fix}; source: {rule.source})"
    )


def _compact(infos: Sequence[Any]) -> list[str]:
    """``_said`` of each cause, with causes that differ only in the asking version merged:
    "flash-attn 2.0.1-2.8.3 (52 versions) requires torch" instead of 52 lines."""
    merged: dict[tuple[str, str], list[Any]] = {}
    plain: list[tuple[str, str] | str] = []
    for info in infos:
        text = _said(info)
        parent = info.parent
        prefix = f"{parent.name} {parent.version} " if parent is not None else None
        if prefix is None or not text.startswith(prefix) or getattr(parent, "version", None) is None:
            plain.append(text)
            continue
        key = (str(parent.name), text[len(prefix):])
        if key not in merged:
            merged[key] = []
            plain.append(key)
        merged[key].append(parent.version)
    out = []
    for item in plain:
        if isinstance(item, str):
            out.append(item)
            continue
        versions = sorted(set(merged[item]))
        shown = str(versions[0]) if len(versions) == 1 else f"{versions[0]}-{versions[-1]} ({len(versions)} versions)"
        out.append(f"{item[0]} {shown} {item[1]}")
    return list(dict.fromkeys(out))


def _chain(name: str, required_by: Mapping[str, str], roots: AbstractSet[str]) -> list[str]:
    chain = [name]
    seen = {name}
    while chain[-1] not in roots and chain[-1] in required_by:
        parent = required_by[chain[-1]]
        if parent in seen:
            break
        seen.add(parent)
        chain.append(parent)
    return list(reversed(chain))


class _Info(NamedTuple):
    requirement: Requirement
    parent: Any


def _blame_askers_of_extras(
    causes: Collection[Any], asked: Mapping[str, Mapping[Any, tuple[Requirement, Any]]]
) -> list[Any]:
    """Replace ``pkg[x] v requires pkg==v`` by whoever asked for ``pkg[x]``.

    Extras are modelled as their own identifier pinned to the base version, so resolvelib
    reports each tried ``pkg[x]`` version as a cause.  The user needs the requirement that
    brought ``pkg[x]`` in (e.g. ``datasets 3.6.0 requires fsspec[http]<=2025.3.0``).
    """
    out: list[Any] = []
    for info in causes:
        parent = info.parent
        if parent is not None and getattr(parent, "extras", None) and parent.name == info.requirement.name:
            for req, asker in asked.get(parent.identifier, {}).values():
                replacement = _Info(req, asker)
                if replacement not in out:
                    out.append(replacement)
        elif info not in out:
            out.append(info)
    return out


def _bystanders_removed(infos: list[Any], versions: list[str]) -> list[Any]:
    """Keep the requirements that take part in a disjoint pair (``fsspec==2025.3.2`` vs
    ``fsspec<=2025.3.0``) and drop bystanders such as ``fsspec>=0.6`` — a base environment
    can have dozens of them.  When no pair is disjoint (a conflict of three or more), keep
    everything."""
    if len(infos) < 3 or not versions:
        return infos
    parsed = []
    for text in versions:
        try:
            parsed.append(Version(text))
        except InvalidVersion:
            continue
    sets: list[set[Version] | None] = []
    for info in infos:
        req = info.requirement
        sets.append(None if getattr(req, "url", None) else {v for v in parsed if req.accepts_version(v)})
    core = set()
    for i in range(len(infos)):
        for j in range(i + 1, len(infos)):
            a, b = sets[i], sets[j]
            if a is not None and b is not None and not (a & b):
                core |= {i, j}
    return [info for index, info in enumerate(infos) if index in core] if core else infos


def _grouped_causes(
    causes: Collection[Any], asked: Mapping[str, Mapping[Any, tuple[Requirement, Any]]]
) -> dict[str, list[Any]]:
    """The conflict's causes by the project they are about, each once, in the order given."""
    groups: dict[str, list[Any]] = {}
    for info in _blame_askers_of_extras(causes, asked):
        groups.setdefault(info.requirement.name, [])
        if info not in groups[info.requirement.name]:
            groups[info.requirement.name].append(info)
    return groups


def _nothing_satisfies(name: str, said: str, available: list[str], target: Target, prerelease: str) -> str:
    """One requirement no version meets: it, with the versions there are for the target
    (and why pre-releases among them did not count)."""
    tail = (
        f" (versions for {target.describe()}: {', '.join(available[:6])}"
        f"{', …' if len(available) > 6 else ''})"
        if available
        else f" (no version of {name} installs on {target.describe()})"
    )
    if prerelease == "explicit" and available and any(
        _is_prerelease(v) for v in available
    ):
        tail += "; pre-releases are used only when a specifier names one or with --prerelease if-necessary/allow"
    return f"no version of {name} satisfies: {said}{tail}"


def explain_conflict(
    causes: Collection[Any],
    user_requirements: Sequence[Requirement],
    target: Target,
    required_by: Mapping[str, str] | None = None,
    versions_of: Callable[[str], list[str]] | None = None,
    asked: Mapping[str, Mapping[Any, tuple[Requirement, Any]]] | None = None,
    constraints: Mapping[str, Any] | None = None,
    prerelease: str = "if-necessary",
    policy_note: Callable[[str, Sequence[Requirement]], str | None] | None = None,
    missing: Mapping[str, str] | None = None,
) -> str:
    """``policy_note(name, requirements)``: why versions those requirements accept were
    ruled out by ``--only-binary``/``--no-binary`` (None when the policy is not why).
    ``missing``: projects no index has, with the error that says so; the solver
    backtracked around them and they are named only when nothing else worked."""
    required_by = required_by or {}
    asked = asked or {}
    roots = {r.name for r in user_requirements}
    groups = _grouped_causes(causes, asked)
    parts: list[str] = []
    chains: list[str] = []
    for name, infos in groups.items():
        if name == PYTHON:
            for info in infos:
                parts.append(
                    f"{info.parent.name} {info.parent.version} requires Python "
                    f"{info.requirement.specifier}, but the target is {target.describe()}"
                )
            continue
        infos = _bystanders_removed(infos, versions_of(name) if versions_of else [])
        said = _compact(infos)
        if missing and name in missing:
            parts.append(f"{'; '.join(said)}; {missing[name]}")
            continue
        constraint = (constraints or {}).get(name)
        if constraint is not None and str(constraint):
            said.append(f"constraints limit it to {name}{constraint}")
        if len(said) == 1:
            available = versions_of(name) if versions_of else []
            parts.append(_nothing_satisfies(name, said[0], available, target, prerelease))
        else:
            parts.append(f"conflicting requirements on {name}: " + "; ".join(said))
        note = policy_note(name, [i.requirement for i in infos]) if policy_note else None
        if note:
            parts[-1] += f"; {note}"
        for info in infos:
            if info.parent is not None and info.parent.name not in roots:
                path = _chain(info.parent.name, required_by, roots)
                chains.append("  " + " -> ".join(path) + f" -> {info.requirement.describe()}")
    message = "cannot solve: " + " | ".join(dict.fromkeys(parts))
    if chains:
        message += "\n" + "\n".join(dict.fromkeys(chains))
    return message
