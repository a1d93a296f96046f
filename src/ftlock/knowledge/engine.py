"""Apply knowledge rules to a solve and to an installed set.

The solver sees rules as ordinary requirements carrying the rule's id:

* a ``conflict`` rule A∈X × B∈Y becomes, once A∈X is pinned, an *optional* requirement
  "B ∉ Y, if B is present" (and symmetrically from B), which an absent B satisfies — so a
  rule never pulls a package in, yet the solver backtracks through it like any other
  requirement;
* a ``requires`` rule A∈X ⇒ B∈Y becomes, once A∈X is pinned, a real requirement B∈Y;
* a ``metadata`` rule replaces the package's published ``Requires-Dist``/``Requires-Python``;
* an ``abi`` rule (a class, :mod:`ftlock.knowledge.classes`) becomes, once a release in the
  class is pinned, the optional requirement "library ∉ new ABI, if present" — like a
  conflict, but recognised from the release's facts (its wheels, upload times, metadata).

Only ``error`` rules are enforced; ``warn`` rules are reported against the result.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock.knowledge.classes import ReleaseFacts, in_class
from ftlock.knowledge.loader import LoadedRule, builtin_rules, load_rules
from ftlock.knowledge.rules import (
    AbiRule,
    Condition,
    ConflictRule,
    MetadataRule,
    PackageRange,
    RequiresRule,
)


class TargetFacts(msgspec.Struct, frozen=True):
    """What rule conditions are evaluated against."""

    features: frozenset[str] = frozenset()
    gpu: str | None = None
    gpu_arch: str | None = None
    compute_capability: Version | None = None
    cuda: Version | None = None

    @classmethod
    def build(
        cls, features: Iterable[str] = (), gpu: str | None = None, cuda: Version | None = None
    ) -> TargetFacts:
        """Facts from ``--feature`` names, a ``--gpu`` catalog name and the CUDA release the
        driver supports (``--cuda-driver``/``--cuda``, see :mod:`ftlock.gpu.cuda`)."""
        if gpu is None:
            return cls(frozenset(features), cuda=cuda)
        from ftlock.gpu.gpus import lookup

        card = lookup(gpu)
        return cls(frozenset(features), card.name, card.arch, card.capability, cuda)

    def satisfies(self, when: Condition) -> bool:
        if when.features and not set(when.features) <= self.features:
            return False
        if when.gpu_arch and (self.gpu_arch is None or self.gpu_arch not in when.gpu_arch):
            return False
        if when.compute_capability is not None:
            if self.compute_capability is None:
                return False
            if not SpecifierSet(when.compute_capability).contains(self.compute_capability):
                return False
        if when.cuda is not None:
            if self.cuda is None or not SpecifierSet(when.cuda).contains(self.cuda):
                return False
        return True


class RuleRequirementSpec(msgspec.Struct, frozen=True):
    """A requirement a rule adds when a package version is pinned."""

    rule: ConflictRule | RequiresRule | AbiRule
    name: str
    specifier: SpecifierSet = msgspec.field(default_factory=SpecifierSet)
    exclude: SpecifierSet | None = None  # conflict: the version must NOT be in this range
    optional: bool = False  # conflict: satisfied by the package being absent


class Violation(msgspec.Struct, frozen=True):
    """A rule broken by a set of installed/pinned versions."""

    rule: ConflictRule | RequiresRule | MetadataRule | AbiRule
    packages: tuple[str, ...]  # "name version" of the packages involved
    message: str


def _version(value: str | Version) -> Version | None:
    if isinstance(value, Version):
        return value
    try:
        return Version(value)
    except InvalidVersion:
        return None


class Knowledge:
    """The active rules for one target, indexed by the packages they mention."""

    def __init__(
        self,
        rules: Sequence[LoadedRule] | None = None,
        facts: TargetFacts | None = None,
        ignored: Iterable[str] = (),
        enabled: bool = True,
    ) -> None:
        self.facts = facts or TargetFacts()
        self.enabled = enabled
        self.ignored = frozenset(ignored)
        self.all_rules = tuple(builtin_rules() if rules is None else rules)
        known = {r.rule.id for r in self.all_rules}
        unknown = sorted(self.ignored - known)
        if unknown:
            from ftlock.errors import UsageError

            raise UsageError(f"--ignore-rule: unknown rule id(s) {', '.join(unknown)}; see `ftlock kb list`")
        self.active = tuple(
            r.rule
            for r in self.all_rules
            if enabled and r.rule.id not in self.ignored and self.facts.satisfies(r.rule.when)
        )
        self._index()

    @classmethod
    def for_target(
        cls,
        rule_paths: Iterable[Path] = (),
        features: Iterable[str] = (),
        gpu: str | None = None,
        cuda: Version | None = None,
        ignored: Iterable[str] = (),
        enabled: bool = True,
    ) -> Knowledge:
        """The built-in rules plus ``rule_paths``, active for one target.  The one way a
        solve, ``ftlock check`` and ``ftlock lock`` build their knowledge, so they can never
        disagree on which rules apply to the same target."""
        return cls(load_rules(rule_paths), TargetFacts.build(features, gpu, cuda), ignored, enabled)

    def _index(self) -> None:
        self._by_package: dict[str, list] = {}
        for rule in self.active:
            for name in rule.packages:
                self._by_package.setdefault(name, []).append(rule)
        # class rules concern every project's releases, not the packages they name
        self.classes = tuple(r for r in self.active if isinstance(r, AbiRule) and r.severity == "error")

    def without(self, rule_ids: Iterable[str]) -> Knowledge:
        """These rules not enforced, the rest as they are.  Unlike ``--ignore-rule`` this is
        not the user's choice, so the header does not list them as "NOT applied": the
        caller says why (the user's own pins, a counterfactual solve)."""
        drop = frozenset(rule_ids)
        if not drop & {r.id for r in self.active}:
            return self
        clone = copy.copy(self)
        clone.active = tuple(r for r in self.active if r.id not in drop)
        clone._index()
        return clone

    def rules_for(self, name: str) -> list:
        return self._by_package.get(canonicalize_name(name), [])

    # -- solving -----------------------------------------------------------------------------
    def requirements_for(
        self, name: str, version: Version, release: ReleaseFacts | None = None
    ) -> list[RuleRequirementSpec]:
        """Requirements the enforced rules add once ``name==version`` is pinned; class
        rules apply when the ``release`` facts (files, metadata) are given."""
        out: list[RuleRequirementSpec] = []
        if release is not None:
            for rule in self.classes:
                if in_class(rule, name, version, release):
                    if self._pinned_by_user(rule, name, version):
                        continue  # the user's own pair: reported, not enforced
                    out.append(
                        RuleRequirementSpec(
                            rule, rule.library.name, exclude=rule.library.specifier, optional=True
                        )
                    )
        for rule in self.rules_for(name):
            if rule.severity != "error":
                continue
            if isinstance(rule, ConflictRule):
                for mine, other in ((rule.a, rule.b), (rule.b, rule.a)):
                    if mine.name == name and mine.contains(version):
                        out.append(
                            RuleRequirementSpec(
                                rule, other.name, exclude=other.specifier, optional=True
                            )
                        )
            elif isinstance(rule, RequiresRule):
                if rule.if_installed.name == name and rule.if_installed.contains(version):
                    out.append(RuleRequirementSpec(rule, rule.then.name, rule.then.specifier))
        return out

    def metadata_rule(self, name: str, version: Version) -> MetadataRule | None:
        for rule in self.rules_for(name):
            if isinstance(rule, MetadataRule) and rule.package.contains(version):
                return rule
        return None

    # -- auditing ----------------------------------------------------------------------------
    def violations(
        self, installed: Mapping[str, str | Version], severities: tuple[str, ...] = ("error", "warn")
    ) -> list[Violation]:
        """Rules broken by a complete set of installed versions (``name -> version``)."""
        versions: dict[str, Version | None] = {canonicalize_name(n): _version(v) for n, v in installed.items()}
        found: list[Violation] = []

        def have(rng: PackageRange) -> Version | None:
            v = versions.get(rng.name)
            return v if v is not None and rng.contains(v) else None

        for rule in self.active:
            if rule.severity not in severities:
                continue
            if isinstance(rule, ConflictRule):
                va, vb = have(rule.a), have(rule.b)
                if va is not None and vb is not None:
                    found.append(
                        Violation(
                            rule,
                            (f"{rule.a.name} {va}", f"{rule.b.name} {vb}"),
                            f"{rule.a.name} {va} must not be used with {rule.b.name}{rule.b.versions}",
                        )
                    )
            elif isinstance(rule, RequiresRule):
                va = have(rule.if_installed)
                if va is None:
                    continue
                vb = versions.get(rule.then.name)
                if vb is None or not rule.then.contains(vb):
                    shown = f"{rule.then.name} {vb}" if vb is not None else f"{rule.then.name} (missing)"
                    found.append(
                        Violation(
                            rule,
                            (f"{rule.if_installed.name} {va}", shown),
                            f"{rule.if_installed.name} {va} needs {rule.then}",
                        )
                    )
        return found

    def exempt_user_pins(self, pins: Mapping[str, Version]) -> None:
        """Class rules do not steer releases the user pinned exactly together with an
        exact pin of the library inside the rule's range (:mod:`ftlock.knowledge.pinned`);
        such pairs are collected in :attr:`pinned_class_breaks` for the warning."""
        self.user_pins = dict(pins)
        self.pinned_class_breaks: dict[tuple[str, str], Violation] = {}

    def _pinned_by_user(self, rule: AbiRule, name: str, version: Version) -> bool:
        pins = getattr(self, "user_pins", None)
        if not pins or pins.get(name) != version:
            return False
        library = pins.get(rule.library.name)
        if library is None or not rule.library.contains(library):
            return False
        self.pinned_class_breaks[(rule.id, name)] = Violation(
            rule,
            (f"{name} {version}", f"{rule.library.name} {library}"),
            f"{name} {version} (compiled before {rule.built_before}) must not be used with {rule.library}",
        )
        return True

    def class_violations(
        self, installed: Mapping[str, Version], facts: Mapping[str, ReleaseFacts]
    ) -> list[Violation]:
        """Class rules broken by an installed set, for the releases whose ``facts`` are
        known (``check`` reads them from the index)."""
        found: list[Violation] = []
        for rule in self.active:
            if not isinstance(rule, AbiRule):
                continue
            library = installed.get(rule.library.name)
            if library is None or not rule.library.contains(library):
                continue
            for name in sorted(facts):
                version = installed.get(name)
                if version is not None and in_class(rule, name, version, facts[name]):
                    found.append(
                        Violation(
                            rule,
                            (f"{name} {version}", f"{rule.library.name} {library}"),
                            f"{name} {version} (compiled before {rule.built_before}) must not "
                            f"be used with {rule.library}",
                        )
                    )
        return found

    def rules_off(self, present: Iterable[str]) -> tuple[str, tuple[str, ...]] | None:
        """``(flag, rule ids)`` of the rules turned off (``--no-knowledge``, ``--ignore-rule``)
        for the target — only those that concern ``present``, for the lock header.

        A solve that involves none of a rule's packages is byte-identical whether or not
        knowledge is on, so unrelated rules are never mentioned.
        """
        names = {canonicalize_name(n) for n in present}
        off = [
            r.rule
            for r in self.all_rules
            if (not self.enabled or r.rule.id in self.ignored)
            and self.facts.satisfies(r.rule.when)
            and set(r.rule.packages) <= names
        ]
        if not off:
            return None
        return ("--no-knowledge" if not self.enabled else "--ignore-rule"), tuple(sorted(r.id for r in off))
