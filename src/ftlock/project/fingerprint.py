"""The inputs a lock depends on, as normalised one-line items, and their fingerprint.

``ftlock lock`` records the items and their sha256 in the lock header; ``ftlock lock
--check`` recomputes them from the configuration — reading only local files, never the
network — and, when the fingerprint differs, names what changed by comparing the items::

    # Inputs fingerprint: sha256:9c1e…
    # Input: platform linux_x86_64
    # Input: python 3.11
    # Input: require peft (pyproject.toml)
    # Input: require transformers (pyproject.toml)

Items: the target (python, platform, gpu, features, format), each requirement line and
constraint with the file it comes from (contents of requirement files, nested ones
included, not the files' bytes: comments and blank lines do not matter), the indexes
configured for the project (not those found in the environment, so a CI mirror does not make
locks stale), ``exclude-newer``, ``prerelease`` and the knowledge rules that concern the
locked packages (id and a digest of the rule, so a new or edited rule is named), and the
``--only-binary``/``--no-binary`` policy as applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from packaging.utils import canonicalize_name

from ftlock.project.config import Project, ProjectTarget
from ftlock.lock.lockfile import FINGERPRINT_PREFIX, INPUT_PREFIX
from ftlock.knowledge.rules import Rule, to_json
from ftlock._urls import redact

SCHEME = "ftlock-inputs-v1"

# items with one value each: a change is shown as "old -> new"
_SINGLE = ("python", "platform", "gpu", "format", "exclude-newer", "prerelease", "binary-policy")
_WORDS = {
    "require": "requirement",
    "constraint": "constraint",
    "index": "index",
    "extra-index": "extra index",
    "feature": "feature",
    "pre": "--pre in",
}


def _squash(text: str) -> str:
    """A requirement in normal form, so that spacing or quoting alone changes nothing."""
    from packaging.requirements import InvalidRequirement

    from ftlock.untrusted import parse_pep508

    text = " ".join(text.split())
    try:
        return str(parse_pep508(text))
    except InvalidRequirement:
        return text  # a path or URL: as written


def target_items(target: ProjectTarget) -> list[str]:
    from ftlock.resolve.target import Target as SolveTarget

    resolved = SolveTarget.from_options(target.python, target.platform)
    items = [
        f"python {resolved.python}",
        f"platform {resolved.platform.name}",
        f"format {target.format}",
    ]
    if target.gpu:
        items.append(f"gpu {target.gpu}")
    items += [f"feature {f}" for f in target.features]
    return items


def input_items(project: Project, target: ProjectTarget, locked: Iterable[str]) -> list[str]:
    """Every input of ``target``'s lock as a sorted list of one-line items.

    ``locked``: the names of the packages in the lock — knowledge rules count as inputs
    only when they mention one of them.
    """
    from ftlock.resolve.formats import FormatControl
    from ftlock.resolve.reqfile import ParsedInputs, parse_file

    items = target_items(target)
    label = project.requirements_label
    items += [f"require {_squash(r)} ({label})" for r in project.requirements]
    parsed = ParsedInputs()
    for path in project.requirement_files:
        parse_file(path, parsed)
    for path in project.constraint_files:
        parse_file(path, parsed, constraint=True)

    def origin(text: str) -> str:
        flag, _, where = text.partition(" ")
        from pathlib import Path

        return f"{flag} {project.relative(Path(where))}" if where else text

    items += [f"require {_squash(l.text)} ({origin(l.origin)})" for l in parsed.requirements]
    items += [f"constraint {_squash(l.text)} ({origin(l.origin)})" for l in parsed.constraints]
    index_url = project.index_url or parsed.index_url
    extras = project.extra_index_urls or tuple(parsed.extra_index_urls)
    if index_url:
        items.append(f"index {redact(index_url)}")
    items += [f"extra-index {i} {redact(u)}" for i, u in enumerate(extras, 1)]
    if parsed.pre:
        items.append("pre requirement files")
    if project.exclude_newer is not None:
        items.append(f"exclude-newer {project.exclude_newer.isoformat()}")
    if project.prerelease:
        items.append(f"prerelease {project.prerelease}")
    # as applied (configuration, then the files' option lines): one item, order included
    policy = FormatControl.from_options((*project.binary, *parsed.binary)).describe()
    if policy:
        items.append(f"binary-policy {' '.join(policy)}")
    items += rule_items(project, target, locked)
    return sorted(set(items))


def rule_items(project: Project, target: ProjectTarget, locked: Iterable[str]) -> list[str]:
    from ftlock.knowledge.engine import Knowledge

    names = {canonicalize_name(n) for n in locked}
    knowledge = Knowledge.for_target(project.rules, target.features, target.gpu)
    out = []
    for rule in knowledge.active:
        if names & set(rule.packages):
            out.append(f"rule {rule.id} {rule_digest(rule)}")
    return out


def rule_digest(rule: Rule) -> str:
    """What a lock records of a rule it depends on: an edited rule makes the lock stale.
    ``verified`` records how the rule's bounds were checked, not what the rule does: adding
    or correcting that record leaves every lock of the rule's packages as fresh as it was.
    Of the rule's JSON form (:func:`~ftlock.knowledge.rules.to_json`, the schema model's
    ``model_dump(mode="json", by_alias=True)``), so digests in existing locks stay valid."""
    data = json.dumps({k: v for k, v in to_json(rule).items() if k != "verified"}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def fingerprint(items: Iterable[str]) -> str:
    text = "\n".join([SCHEME, *sorted(items)])
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def header_lines(items: list[str]) -> list[str]:
    return [f"{FINGERPRINT_PREFIX}{fingerprint(items)} (checked by `ftlock lock --check`)"] + [
        f"{INPUT_PREFIX}{item}" for item in items
    ]


def _split(item: str) -> tuple[str, str]:
    kind, _, value = item.partition(" ")
    return kind, value


def explain(old: Iterable[str], new: Iterable[str]) -> list[str]:
    """What changed between two item lists, one readable line each."""
    old_items, new_items = sorted(set(old)), sorted(set(new))
    lines: list[str] = []
    for kind in _SINGLE:
        before = next((v for k, v in map(_split, old_items) if k == kind), None)
        after = next((v for k, v in map(_split, new_items) if k == kind), None)
        if before != after:
            lines.append(f"{kind}: {before or 'not set'} -> {after or 'not set'}")
    old_rules = {v.split()[0]: v for k, v in map(_split, old_items) if k == "rule"}
    new_rules = {v.split()[0]: v for k, v in map(_split, new_items) if k == "rule"}
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        if rule_id not in old_rules:
            lines.append(f"knowledge rule added: {rule_id}")
        elif rule_id not in new_rules:
            lines.append(f"knowledge rule removed: {rule_id}")
        elif old_rules[rule_id] != new_rules[rule_id]:
            lines.append(f"knowledge rule changed: {rule_id}")
    skip = set(_SINGLE) | {"rule"}
    removed = [i for i in old_items if i not in new_items and _split(i)[0] not in skip]
    added = [i for i in new_items if i not in old_items and _split(i)[0] not in skip]
    for item in removed:
        kind, value = _split(item)
        lines.append(f"removed {_WORDS.get(kind, kind)}: {value}")
    for item in added:
        kind, value = _split(item)
        lines.append(f"added {_WORDS.get(kind, kind)}: {value}")
    return lines
