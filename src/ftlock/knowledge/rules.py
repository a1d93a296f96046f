"""Knowledge rules as a solve uses them: plain frozen values, no validation.

:mod:`ftlock.knowledge.models` is the rules' schema: pydantic validates a rule file against
it, and the validated model's JSON form (``model_dump(mode="json", by_alias=True)``) is
turned into these values by :func:`from_json` — the same builder that reads the shipped
``data/compiled.json`` (:mod:`ftlock.knowledge.compiled`), so there is one conversion path.
A solve that uses only the built-in rules therefore never imports pydantic: importing it
and creating the schema's model classes cost ~60-70 ms of a cold solve, for data that was
validated when ftlock was built.

The values are :class:`msgspec.Struct` classes (``frozen=True``): msgspec is imported by a
solve anyway (the index client), and creating a Struct class measured ~0.02 ms against
~0.9 ms for a ``@dataclass(frozen=True, slots=True)`` with the same fields (class creation
is what an import pays); :func:`msgspec.convert` and msgspec's JSON encoder also give the
JSON form in both directions without per-field code.  Attribute names, properties and
methods are those of the schema's models, and :func:`to_json` gives exactly what the
models' ``model_dump(mode="json", by_alias=True)`` gives (a team lock records a digest of
it: :func:`ftlock.project.fingerprint.rule_digest`).  ``sources`` holds the URLs as
validation normalised them (``str(HttpUrl)``).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import msgspec
import msgspec.json
from packaging.specifiers import SpecifierSet
from packaging.version import Version


class PackageRange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A project (canonical name) and a PEP 440 version range (empty = every version)."""

    name: str
    versions: str = ""

    @property
    def specifier(self) -> SpecifierSet:
        return SpecifierSet(self.versions)

    def contains(self, version: Version | str) -> bool:
        return self.specifier.contains(version, prereleases=True)

    def __str__(self) -> str:
        return f"{self.name}{self.versions}"


class Condition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Target conditions; a rule applies only when all given ones hold (see the schema,
    :class:`ftlock.knowledge.models.Condition`)."""

    features: tuple[str, ...] = ()
    gpu_arch: tuple[str, ...] = ()
    compute_capability: str | None = None
    cuda: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.features or self.gpu_arch or self.compute_capability or self.cuda)


class Example(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pins that break (``bad``) and a nearby set that works (``good``): the rule's test."""

    bad: tuple[str, ...]
    good: tuple[str, ...]
    features: tuple[str, ...] = ()
    gpu: str | None = None


class Verified(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The releases nearest a range's bounds that the audit verified (see the schema,
    :class:`ftlock.knowledge.models.Verified`)."""

    name: str
    last_good: str | None = None
    first_bad: str | None = None
    last_bad: str | None = None
    first_good: str | None = None
    unverified: str | None = None

    def releases(self) -> list[tuple[str, str]]:
        """``(field, version)`` of every release given, in the order of the fields."""
        return [(f, v) for f in ("last_good", "first_bad", "last_bad", "first_good") if (v := getattr(self, f))]


class _RuleBase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    severity: Literal["error", "warn"] = "error"
    summary: str
    symptom: str
    fix: str
    sources: tuple[str, ...]
    added: _dt.date
    when: Condition = Condition()
    example: Example
    probe: str | None = None
    probe_expect: str | None = None
    probe_with: tuple[str, ...] = ()
    verified: tuple[Verified, ...] = ()

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        """Each package range of the rule, with whether its versions are the bad ones (a
        ``requires`` rule's ``then`` range is the good one)."""
        raise NotImplementedError  # pragma: no cover - every kind defines it

    @property
    def packages(self) -> tuple[str, ...]:
        raise NotImplementedError  # pragma: no cover - every kind defines it

    @property
    def source(self) -> str:
        return self.sources[0]

    @property
    def needs_gpu(self) -> bool:
        """The rule concerns a GPU target: proving it takes a machine with a GPU."""
        when = self.when
        return bool(self.example.gpu or when.gpu_arch or when.compute_capability or when.cuda)


class ConflictRule(_RuleBase, frozen=True, kw_only=True):
    kind: Literal["conflict"] = "conflict"
    a: PackageRange
    b: PackageRange

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.a.name, self.b.name)

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.a, True), (self.b, True))


class RequiresRule(_RuleBase, frozen=True, kw_only=True):
    kind: Literal["requires"] = "requires"
    if_installed: PackageRange = msgspec.field(name="if")
    then: PackageRange

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.if_installed.name, self.then.name)

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.if_installed, True), (self.then, False))


class MetadataRule(_RuleBase, frozen=True, kw_only=True):
    kind: Literal["metadata"] = "metadata"
    package: PackageRange
    requires_dist: tuple[str, ...] | None = None
    requires_python: str | None = None

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.package.name,)

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.package, True),)


class AbiRule(_RuleBase, frozen=True, kw_only=True):
    """A class of breakage recognised from what the index says about a release (see the
    schema, :class:`ftlock.knowledge.models.AbiRule`; :mod:`ftlock.knowledge.classes`
    evaluates it)."""

    kind: Literal["abi"] = "abi"
    library: PackageRange
    built_before: _dt.date
    exceptions: tuple[PackageRange, ...] = ()

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.library.name,)

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.library, True),)

    def describe_versions(self) -> str:
        """For ``kb show``: the class, as one sentence."""
        return (
            f"any release with a platform-specific wheel, a {self.library.name} requirement "
            f"without an upper bound and files uploaded before {self.built_before} must not "
            f"be installed with {self.library}"
        )

    def describe_more(self) -> list[tuple[str, str]]:
        if not self.exceptions:
            return []
        return [("Except", ", ".join(str(e) if e.versions else f"{e.name} (every version)" for e in self.exceptions))]


Rule = ConflictRule | RequiresRule | MetadataRule | AbiRule

_BY_KIND: dict[str, type[Rule]] = {
    "conflict": ConflictRule,
    "requires": RequiresRule,
    "metadata": MetadataRule,
    "abi": AbiRule,
}


def from_json(data: dict[str, Any]) -> Rule:
    """The rule whose JSON form (a schema model's ``model_dump(mode="json", by_alias=True)``,
    as stored in ``compiled.json``) is ``data``.  Checks the shape only (field names and
    types; ``KeyError`` for an unknown kind, :class:`msgspec.ValidationError` otherwise):
    the content was validated by the schema."""
    return msgspec.convert(data, type=_BY_KIND[data["kind"]])


def to_json(rule: Rule) -> dict[str, Any]:
    """The rule's JSON form: what the schema model's ``model_dump(mode="json",
    by_alias=True)`` gives (``if_installed`` as ``if``, tuples as lists, dates as ISO text):
    through JSON text, as :func:`msgspec.to_builtins` would keep tuples."""
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(rule))
    return data
