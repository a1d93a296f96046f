"""What ``solve`` and ``lock`` print on stderr about a resolution: its warnings, notes,
summary and base changes, worded from the facts it carries (:mod:`ftlock.resolve.facts`).
The lines of the lock itself are worded by :mod:`ftlock.lock.wording`."""

from __future__ import annotations

import re
from typing import Any

from ftlock.lock.wording import pins
from ftlock.resolve.facts import (
    BaseAddition,
    ChangeReason,
    IndexWarning,
    KeptConsistent,
    NoTorchBuildData,
    PinnedPair,
    PreexistingBreak,
    RequiredBy,
    RuleRequired,
    SourceBuild,
    TorchBuild,
    TorchBuildMismatch,
    TorchWithoutKernels,
    UncheckedRequirements,
    WarnRuleBroken,
    YouRequested,
)
from ftlock.resolve.freeze import unchecked_line
from ftlock.resolve.result import Resolution
from ftlock.resolve.target import Target


def warnings(resolution: Resolution) -> list[str]:
    """One line per warning (without ``warning: ``), in the resolution's order."""
    return [_warning(w) for w in resolution.warnings]


def _warning(fact: Any) -> str:  # noqa: PLR0911 - one branch per kind of warning
    if isinstance(fact, IndexWarning):
        return fact.message
    if isinstance(fact, SourceBuild):
        return (
            f"{fact.name} {fact.version} is locked as a source distribution only: installing the "
            f"lock compiles {fact.compiles} with nvcc, which needs a CUDA toolkit matching "
            "torch's CUDA on the installing machine; see the note next to its pin"
        )
    if isinstance(fact, PinnedPair):
        return (
            f"your own pins {pins(fact.packages)} break knowledge rule {fact.rule_id}: {fact.summary}; "
            f"locked as asked (--strict-rules refuses them) | symptom: {fact.symptom} | fix: {fact.fix} | "
            f"source: {fact.source}"
        )
    if isinstance(fact, PreexistingBreak):
        return (
            f"the base environment already breaks knowledge rule {fact.rule_id}; left as installed "
            f"(`ftlock check` on the freeze explains it, `ftlock kb show {fact.rule_id}` shows the fix)"
        )
    if isinstance(fact, UncheckedRequirements):
        return unchecked_line(fact.name, fact.requirements)
    if isinstance(fact, WarnRuleBroken):
        return (
            f"{', '.join(fact.packages)}: {fact.summary} [rule {fact.rule_id}, {fact.severity}] "
            f"symptom: {fact.symptom} | fix: {fact.fix} | source: {fact.source}"
        )
    return _torch_warning(fact)


def _torch_warning(fact: Any) -> str:
    if isinstance(fact, NoTorchBuildData):
        return (
            f"no CUDA torch build data for {fact.platform}: torch (if any) comes from the "
            "configured index, its kernels unchecked"
        )
    if isinstance(fact, TorchBuildMismatch):
        return (
            f"torch {fact.version} from {fact.served_from or 'the configured index'} is a {fact.observed} "
            f"build, not the {fact.expected} build ftlock expected there; check the index serves the "
            "builds you think"
        )
    assert isinstance(fact, TorchWithoutKernels), fact
    return f"torch {fact.version} ({fact.observed}) ships no kernels for the {fact.gpu_label} ({fact.sm})"


def notes(resolution: Resolution) -> list[str]:
    """What the solve took from this machine rather than from its inputs (without ``note: ``)."""
    lines = []
    auto = resolution.gpu_auto
    if auto is not None and auto.driver_given:
        lines.append(f"--gpu auto: this machine's {auto.seen}: --gpu {auto.gpu} (with the driver given)")
    elif auto is not None:
        lines.append(f"--gpu auto: this machine's {auto.seen}, driver {auto.driver}: --gpu {auto.gpu} --cuda-driver {auto.driver}")
    lines += [
        f"pip's configuration constrains this solve, as it constrains pip install: -c {c.path} ({c.source}); "
        "--isolated ignores pip's configuration"
        for c in resolution.pip_constraints
    ]
    return lines


def summary(resolution: Resolution) -> list[str]:
    """``solve``'s account of the target: the torch build and why, the platform assumed."""
    stack = resolution.stack
    lines = _torch_summary(stack.torch) if stack is not None and stack.torch is not None else []
    if resolution.platform_assumed:
        lines.append(f"note: {default_platform_note(resolution.target)}")
    return lines


def _torch_summary(torch: TorchBuild) -> list[str]:
    built = torch.observed_build or f"{torch.observed or 'unknown'} build"
    lines = [
        f"torch {torch.version}: {built} from {torch.served_from or 'the configured index'}",
        f"  why: {torch.why}",
    ]
    if torch.driver_need:
        lines.append(f"  driver: {torch.driver_need}; pass --cuda-driver to check yours")
    return lines


def default_platform_note(target: Target) -> str:
    """Which platform a solve without ``--platform`` assumed, and how to widen it: this
    machine's glibc is often newer than a teammate's or a CI runner's."""
    name = target.platform.name
    match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", name)
    if match is None:
        return f"no --platform given: locked for this machine's platform, {name}; pass --platform to lock for another"
    major, minor, arch = int(match.group(1)), int(match.group(2)), match.group(3)
    text = f"no --platform given: locked for this machine's platform, {name} (wheels for glibc {major}.{minor} or older)"
    if (major, minor) > (2, 28):
        text += f"; --platform linux_{arch} (manylinux_2_28) widens it to machines with glibc 2.28 or newer"
    return text


def changes(resolution: Resolution) -> list[str]:
    """One line per base package that changes, with the requirements that forced it, and
    per new package: ``~ fsspec 2025.3.2 -> 2025.3.0 (datasets 3.6.0 requires …)``."""
    lines = []
    for change in resolution.changes:
        if isinstance(change, BaseAddition):
            via = ", ".join(change.required_by) or "requested"
            hint = (
                f"; newest is {change.newest}, which needs changes to installed packages — ask for "
                f"{change.name}>={change.newest} to allow them"
                if change.newest is not None else ""
            )
            lines.append(f"+ {change.name} {change.version} (new; required by {via}{hint})")
            continue
        why = "; ".join(dict.fromkeys(_reason(r) for r in change.reasons)) or "chosen by the solver"
        lines.append(f"~ {change.name} {change.installed} -> {change.version} ({why})")
    return lines


def _reason(reason: ChangeReason) -> str:
    if isinstance(reason, YouRequested):
        return f"you requested {reason.requirement}"
    if isinstance(reason, RuleRequired):
        verb = "forbids" if reason.excluded else "needs"
        return (
            f"{reason.parent} {reason.parent_version} {verb} {reason.name}{reason.versions} "
            f"by knowledge rule {reason.rule_id}"
        )
    if isinstance(reason, RequiredBy):
        extras = f"[{','.join(reason.extras)}]" if reason.extras else ""
        return f"{reason.parent} {reason.parent_version} requires {reason.name}{extras}{reason.versions}"
    assert isinstance(reason, KeptConsistent)
    return (
        f"changed to keep {reason.pinned} consistent: {reason.name} {reason.installed} requires "
        f"{reason.requirement}, and {reason.pinned} is now {reason.pinned_version}"
    )
