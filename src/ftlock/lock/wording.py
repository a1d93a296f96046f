"""The words of a lock: the header lines and the notes next to pins, from the facts a
:class:`~ftlock.resolve.result.Resolution` carries (:mod:`ftlock.resolve.facts`).

Both writers (requirements.txt comments, pylock.toml ``[tool.ftlock]`` notes) and the lock
model (:func:`ftlock.lock.lockfile.recorded_entries`) take their lines from here, so the three
cannot word a fact differently.  Lines read back from a lock (:mod:`ftlock.lock.target`,
:mod:`ftlock.lock.lockfile`) are read in these words too: changing one changes the lock format.
"""

from __future__ import annotations

from collections.abc import Iterable

from ftlock.resolve.facts import (
    BaseSummary,
    GpuStack,
    KeptFromBase,
    PinNote,
    RuleMoved,
    RuleShaped,
    SourceBuild,
    TorchBuild,
    WarnRuleBroken,
)
from ftlock.resolve.result import Resolution

#: The header line that records the declared features; :mod:`ftlock.lock.target` reads it
#: back for ``ftlock check``.
FEATURES_PREFIX = "Features: "


def header_lines(resolution: Resolution) -> list[str]:
    """The header lines (without ``# ``) that say what applied to the solve: the GPU target
    and torch build, features, rules off or broken by the user's pins, the base, pip's
    constraints."""
    lines = _stack_lines(resolution.stack) if resolution.stack is not None else []
    if resolution.features:
        lines.append(f"{FEATURES_PREFIX}{', '.join(resolution.features)}")
    off = resolution.rules_off
    if off is not None:
        lines.append(f"Knowledge rules NOT applied ({off.flag}): " + ", ".join(off.rule_ids))
    lines += [
        f"Knowledge rule {b.rule_id} broken by your own pins {pins(b.packages)}: locked as asked "
        f"({b.summary}; source: {b.source})"
        for b in resolution.pinned_breaks
    ]
    if resolution.base is not None:
        lines.append(_base_line(resolution.base))
    lines += [
        f"Constraints from pip's configuration (applied as -c, as pip install applies them): {c.path} ({c.source})"
        for c in resolution.pip_constraints
    ]
    return lines


def pins(packages: Iterable[str]) -> str:
    """``unsloth==2024.7 and peft==0.12.0`` for ``("unsloth 2024.7", "peft 0.12.0")``."""
    return " and ".join(p.replace(" ", "==", 1) for p in packages)


def _stack_lines(stack: GpuStack) -> list[str]:
    lines = []
    gpu = stack.gpu
    if gpu is not None and gpu.compute_capability is not None:
        lines.append(f"GPU: {gpu.label} ({gpu.arch}, compute capability {gpu.compute_capability}, {gpu.sm}) --gpu {gpu.name}")
    elif gpu is not None:
        lines.append(f"GPU: none, CPU only (--gpu {gpu.name})")
    if stack.cuda is not None:
        lines.append(f"CUDA: {stack.cuda}")
    if stack.quantization is not None:
        lines.append(f"Quantization: {stack.quantization.quant} (feature {stack.quantization.feature})")
    if stack.model is not None:
        model = stack.model
        lines.append(f"Model: {model.name}, {model.label} ({', '.join(model.requires)})")
    if stack.torch is not None:
        lines += _torch_lines(stack.torch)
    return lines


def _torch_lines(torch: TorchBuild) -> list[str]:
    where = torch.routed_to or "the configured index"
    family = f" (for {', '.join(torch.routed)})" if torch.routed_to else ""
    lines = [f"Torch build: {torch.build or 'build as served'} from {where}{family}"]
    if torch.driver_need:
        lines.append(f"CUDA driver: not given; the torch build {torch.driver_need}")
    return lines


def _base_line(base: BaseSummary) -> str:
    source = base.freeze if base.freeze is not None else "a live interpreter"
    scope = "the whole resulting environment" if base.output_full else "only the packages to install or change"
    keep = "; --keep-base" if base.keep_base else ""
    return f"Base: {source} ({base.installed} packages installed); this lock holds {scope}{keep}"


def kept_line(kept: KeptFromBase) -> str:
    """Why a base package the index cannot provide is kept as installed."""
    if kept.sdist_only:
        return f"{kept.name}: kept as installed (sdist only on the index: its requirements are not checked)"
    how = (
        "recorded metadata of the installed package" if kept.recorded_metadata
        else "no recorded metadata, so its requirements are not checked (--base-python reads them)"
    )
    return f"{kept.name}: kept as installed ({'from ' + kept.url if kept.url else 'not on the index'}); using {how}"


def note_lines(notes: Iterable[PinNote]) -> list[str]:
    """The notes next to a pin: the rules whose requirements narrowed it first, in the order
    of their words, then the others as they came (rules that moved it from a distance, a
    source build, warn rules it breaks)."""
    notes = tuple(notes)
    shaped = sorted({note_text(n) for n in notes if isinstance(n, RuleShaped)})
    return shaped + [note_text(n) for n in notes if not isinstance(n, RuleShaped)]


def note_text(note: PinNote) -> str:
    """One note in words (``ftlock:``/``ftlock warning:``, which lock readers keep)."""
    if isinstance(note, str):
        return note
    if isinstance(note, RuleShaped):
        if note.excluded:
            wanted = f"{note.name} not {note.versions}" + (" (if installed)" if note.if_installed else "")
        else:
            wanted = f"{note.name}{note.versions}"
        return f"ftlock: {wanted} because {note.parent} {note.parent_version} — rule {note.rule_id}, {note.source}"
    if isinstance(note, RuleMoved):
        instead = f"{note.name} {note.instead}" if note.instead is not None else f"no {note.name}"
        return (
            f"ftlock: {instead} without this rule; the solver backtracked to {note.version} because "
            f"{note.summary} — rule {note.rule_id}, {note.source}"
        )
    if isinstance(note, SourceBuild):
        return _source_build(note)
    assert isinstance(note, WarnRuleBroken)
    return f"ftlock warning: {note.message} — rule {note.rule_id}, {note.source}"


def _source_build(note: SourceBuild) -> str:
    text = (
        f"ftlock: built from source at install: {note.name} {note.version} has no wheel for this "
        f"target, and building it compiles {note.compiles} with nvcc; install torch first, then "
        "this lock with pip --no-build-isolation (its setup.py imports torch)"
    )
    if note.prebuilt:
        text += f"; setup.py first tries a prebuilt wheel from {note.prebuilt}, which the lock's hashes do not cover"
    return text
