"""Rules as a person reads them: ``ftlock kb list`` (a table) and ``ftlock kb show``.

The rule files are TOML for the machine and for review; on the terminal a rule should read
as a statement — which versions, what breaks, how to fix it, who says so, and the example
pins it is tested with — not as the model's field dump.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from packaging.version import Version

from ftlock.knowledge.loader import LoadedRule

WIDTH = 100
_LABEL = 10  # "Symptom:  " and friends


def table(rules: Sequence[LoadedRule]) -> list[str]:
    """A header row and one aligned row per rule (the summary last, unpadded)."""
    header = ("ID", "KIND", "SEVERITY", "PACKAGES", "SUMMARY")
    rows = [
        (r.rule.id, r.rule.kind, r.rule.severity, ", ".join(r.rule.packages), r.rule.summary)
        for r in rules
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4]
        for row in [header, *rows]
    ]


def versions(rule: Any) -> str:
    """The versions the rule is about, as one sentence."""
    kind = rule.kind
    if kind == "conflict":
        return f"{_range(rule.a)} must not be installed with {_range(rule.b)}"
    if kind == "requires":
        return f"{_range(rule.if_installed)} needs {_range(rule.then)}"
    if kind == "metadata":
        parts = []
        if rule.requires_dist is not None:
            parts.append("Requires-Dist " + (", ".join(rule.requires_dist) or "(none)"))
        if rule.requires_python is not None:
            parts.append(f"Requires-Python {rule.requires_python}")
        return f"{_range(rule.package)} is read with {' and '.join(parts)} instead of its published metadata"
    describe = getattr(rule, "describe_versions", None)
    return describe() if describe is not None else ", ".join(rule.packages)


def verified(rule: Any) -> str:
    """The releases verified at the bounds of the rule's ranges, as one line: ``transformers
    4.49.0 good, 4.50.0–4.50.3 bad, 4.51.0 good; accelerate 0.26.0 bad (unverified: …)``.
    ``kb show`` prints it; docs/knowledge-audit.md has the same text per rule (a test keeps
    the two the same)."""
    parts = []
    for entry in rule.verified:
        releases = sorted({(Version(v), v, "bad" if "bad" in f else "good") for f, v in entry.releases()})
        runs = []
        for label, run in groupby(releases, key=lambda r: r[2]):
            shown = [v for _, v, _ in run]
            runs.append(f"{shown[0]}–{shown[-1]} {label}" if len(shown) > 1 else f"{shown[0]} {label}")
        text = f"{entry.name} {', '.join(runs)}"
        if entry.unverified:
            text += f" (unverified: {entry.unverified})"
        parts.append(text)
    return "; ".join(parts)


def _range(package: Any) -> str:
    return f"{package.name} {package.versions}" if package.versions else f"{package.name} (every version)"


def _condition(rule: Any) -> str | None:
    when = rule.when
    if when.is_empty:
        return None
    parts = []
    if when.features:
        parts.append("features " + ", ".join(when.features))
    if when.gpu_arch:
        parts.append("GPU architecture " + " or ".join(when.gpu_arch))
    if when.compute_capability:
        parts.append(f"compute capability {when.compute_capability}")
    if when.cuda:
        parts.append(f"CUDA {when.cuda}")
    return "only for targets with " + "; ".join(parts)


def _field(label: str, text: str) -> list[str]:
    prefix = f"{label}:".ljust(_LABEL)
    return textwrap.wrap(
        text, WIDTH, initial_indent=prefix, subsequent_indent=" " * _LABEL,
        break_long_words=False, break_on_hyphens=False,
    ) or [prefix.rstrip()]


def describe(item: LoadedRule) -> list[str]:
    """``kb show``: the rule as a few labelled paragraphs."""
    rule = item.rule
    lines = [f"{rule.id} — {rule.kind} rule, {rule.severity} ({item.file}, added {rule.added})"]
    lines += textwrap.wrap(rule.summary, WIDTH, initial_indent="  ", subsequent_indent="  ")
    lines.append("")
    lines += _field("Versions", versions(rule))
    if rule.verified:
        lines += _field("Verified", verified(rule))
    condition = _condition(rule)
    if condition:
        lines += _field("When", condition)
    lines += _field("Symptom", rule.symptom)
    lines += _field("Fix", rule.fix)
    sources = list(rule.sources)
    lines.append("Sources:".ljust(_LABEL) + sources[0])
    lines += [" " * _LABEL + s for s in sources[1:]]
    example = rule.example
    extra = []
    if example.features:
        extra.append("features " + ", ".join(example.features))
    if example.gpu:
        extra.append(f"--gpu {example.gpu}")
    lines.append("Example:".ljust(_LABEL) + "breaks: " + ", ".join(example.bad))
    lines.append(" " * _LABEL + "works:  " + ", ".join(example.good))
    if extra:
        lines.append(" " * _LABEL + "with:   " + "; ".join(extra))
    for line in getattr(rule, "describe_more", lambda: [])():
        lines += _field(*line)
    probe = getattr(rule, "probe", None)
    if probe:
        lines.append("Probe:")
        lines += ["    " + line for line in probe.strip().splitlines()]
    return lines
