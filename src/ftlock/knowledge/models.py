"""The schema of knowledge rules: pydantic models that validate a rule file.

A rule states the versions it covers, what breaks (the symptom a user sees), a fix, and at
least one public source.  Three kinds:

* ``conflict`` — A in range X must not be installed together with B in range Y.  Enforced
  only when both are present: it never pulls either package into a solve.
* ``requires`` — when A in range X is installed (optionally only under a condition such as
  a feature or a GPU), B in range Y must be installed too.
* ``metadata`` — corrected ``Requires-Dist``/``Requires-Python`` for versions whose
  published metadata is wrong, used instead of the index's.
* ``abi`` — a class of breakage recognised from what the index says about a release (a
  compiled wheel, an unbounded requirement on a library, an upload before the library's
  ABI break), not from a list of versions: e.g. every wheel built against NumPy 1.x is kept
  off NumPy 2.

Every rule may carry a ``when`` condition on the target (features, GPU architecture,
compute capability, CUDA version), so target-specific rules need no solver change.  Every
rule carries an ``example`` (a bad and a good set of pins) from which a scenario test is
generated, so no rule ships untested, and ``verified``: for each package whose range has a
bound, the releases either side of it that the audit checked (docs/knowledge-audit.md), so
a bound written off by one fails a test instead of shipping.

These models are the single source of the validation rules, used when a file is validated
(``ftlock kb lint``, a team's ``--rules`` file, a stale ``compiled.json``): the validated
model's ``model_dump(mode="json", by_alias=True)`` becomes the run-time rule
(:mod:`ftlock.knowledge.rules`, :func:`~ftlock.knowledge.rules.from_json`), which is what the
engine, the renderer and lint use.  A solve with only the built-in rules never imports this
module, nor pydantic (~60-70 ms of a cold solve).
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal, Union

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PackageRange(_Strict):
    """A project and a PEP 440 version range (empty ``versions`` = every version)."""

    name: str
    versions: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return canonicalize_name(value)

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: str) -> str:
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(f"invalid version range {value!r}: {exc}") from None
        return value


class Condition(_Strict):
    """Target conditions; a rule applies only when all given ones hold.

    ``features`` are named usages the user declares (``--feature load_in_8bit``).  GPU fields
    hold for the target GPU (``--gpu``); with no GPU known, a rule with GPU conditions does
    not apply.
    """

    features: tuple[str, ...] = ()
    gpu_arch: tuple[str, ...] = ()  # e.g. ("ampere", "ada")
    compute_capability: str | None = None  # specifier on the capability, e.g. ">=8.0"
    cuda: str | None = None  # specifier on the CUDA runtime version, e.g. "<12.1"

    @field_validator("compute_capability", "cuda")
    @classmethod
    def _spec(cls, value: str | None) -> str | None:
        if value is not None:
            SpecifierSet(value)
        return value


class Example(_Strict):
    """Pins that break (``bad``) and a nearby set that works (``good``): the rule's test."""

    bad: tuple[str, ...]
    good: tuple[str, ...]
    features: tuple[str, ...] = ()
    gpu: str | None = None  # a GPU catalog name, when the rule has GPU conditions

    @field_validator("bad", "good")
    @classmethod
    def _pins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                req = Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"example pin {text!r}: {exc}") from None
            pins = [s for s in req.specifier if s.operator == "=="]
            if len(pins) != 1:
                raise ValueError(f"example pin {text!r} must be exactly 'name==version'")
            try:
                Version(pins[0].version)
            except InvalidVersion as exc:
                raise ValueError(f"example pin {text!r}: {exc}") from None
        return value


class Verified(_Strict):
    """The releases nearest a range's bounds, on either side, that the audit verified.

    "bad" means the rule's case (the versions its range covers: the rule applies; for the
    ``then`` side of a ``requires`` rule, a release that does not satisfy it); "good" means
    outside it (this rule does not apply; another may).  A lower bound is verified by
    ``last_good`` and ``first_bad`` (``last_bad`` and ``first_good`` for ``then``), an upper
    bound by ``last_bad`` and ``first_good`` (``last_good`` and ``first_bad`` for ``then``);
    ``unverified`` says why one of them cannot be given (none was compared, none exists).
    ``ftlock kb lint`` requires them; tests/test_rule_boundaries.py checks each release
    falls on its side through the engine.
    """

    name: str
    last_good: str | None = None
    first_bad: str | None = None
    last_bad: str | None = None
    first_good: str | None = None
    unverified: str | None = Field(default=None, min_length=10)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return canonicalize_name(value)

    @field_validator("last_good", "first_bad", "last_bad", "first_good")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Version(value)
            except InvalidVersion as exc:
                raise ValueError(f"{value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _in_order(self) -> Verified:
        for low, high in (("last_good", "first_bad"), ("last_bad", "first_good")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and Version(a) >= Version(b):
                raise ValueError(f"{low} {a} must be older than {high} {b}")
        return self


class _RuleBase(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{2,80}$")
    severity: Literal["error", "warn"] = "error"
    summary: str = Field(min_length=10, max_length=200)
    symptom: str = Field(min_length=5)
    fix: str = Field(min_length=5)
    sources: tuple[HttpUrl, ...] = Field(min_length=1)
    added: _dt.date
    when: Condition = Condition()
    example: Example
    # A few lines of Python that fail on the example's bad set and pass on its good one
    # (`ftlock kb prove`); ``probe_expect``: text the bad run's error must contain (default:
    # the exception named by the error's last line must appear in ``symptom``).
    probe: str | None = None
    probe_expect: str | None = None
    # requirements added to both examples when proving (e.g. "numpy<2" for an old stack),
    # so the environment fails for the rule's reason and not for its era
    probe_with: tuple[str, ...] = ()
    # per package with a bounded range: the releases either side of its bounds, as audited
    verified: tuple[Verified, ...] = ()

    @field_validator("probe_with")
    @classmethod
    def _probe_with(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"probe_with entry {text!r}: {exc}") from None
        return value

    @field_validator("probe")
    @classmethod
    def _probe(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.strip():
            raise ValueError("probe is empty")
        try:
            compile(value, "<probe>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"probe is not valid Python: line {exc.lineno}: {exc.msg}") from None
        return value

    @model_validator(mode="after")
    def _expect_needs_probe(self) -> _RuleBase:
        if (self.probe_expect is not None or self.probe_with) and self.probe is None:
            raise ValueError("probe_expect/probe_with without a probe")
        return self

    @model_validator(mode="after")
    def _verified_names(self) -> _RuleBase:
        names = [v.name for v in self.verified]
        named = {r.name for r, _ in self.ranges()}
        for name in names:
            if name not in named:
                raise ValueError(f"verified: {name} is not a package of this rule")
            if names.count(name) > 1:
                raise ValueError(f"verified: {name} is given twice")
        return self

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        """Each package range of the rule, with whether its versions are the bad ones (a
        ``requires`` rule's ``then`` range is the good one): ``verified`` names packages of
        these."""
        raise NotImplementedError  # pragma: no cover - every kind defines it


class ConflictRule(_RuleBase):
    kind: Literal["conflict"] = "conflict"
    a: PackageRange
    b: PackageRange

    @model_validator(mode="after")
    def _distinct(self) -> ConflictRule:
        if self.a.name == self.b.name:
            raise ValueError("a conflict needs two different packages")
        return self

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.a, True), (self.b, True))


class RequiresRule(_RuleBase):
    kind: Literal["requires"] = "requires"
    if_installed: PackageRange = Field(alias="if")
    then: PackageRange

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.if_installed, True), (self.then, False))


class MetadataRule(_RuleBase):
    kind: Literal["metadata"] = "metadata"
    package: PackageRange
    requires_dist: tuple[str, ...] | None = None
    requires_python: str | None = None

    @model_validator(mode="after")
    def _something(self) -> MetadataRule:
        if self.requires_dist is None and self.requires_python is None:
            raise ValueError("a metadata rule must correct requires_dist or requires_python")
        for text in self.requires_dist or ():
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise ValueError(f"requires_dist entry {text!r}: {exc}") from None
        if self.requires_python is not None:
            SpecifierSet(self.requires_python)
        return self

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.package, True),)


class AbiRule(_RuleBase):
    """A class of breakage, recognised from facts the index gives rather than listed pair
    by pair: a release of *any* project whose wheel for the target is platform-specific
    (compiled), whose Requires-Dist names ``library`` without an upper bound, and whose
    platform wheels were all uploaded before ``built_before`` (the release of the library's
    ABI break) was built against the old ABI, and must not be installed with ``library`` in
    its range.  Pure-Python wheels, releases whose metadata bounds the library, and the
    ``exceptions`` (releases known to work: built against a release candidate of the new
    ABI, or compiled code that never touches the library's C API) are outside the class.
    (:mod:`ftlock.knowledge.classes` evaluates it.)"""

    kind: Literal["abi"] = "abi"
    library: PackageRange  # e.g. numpy >=2: the versions with the new ABI
    built_before: _dt.date  # the new ABI's first release: older uploads were built against the old one
    exceptions: tuple[PackageRange, ...] = ()

    @model_validator(mode="after")
    def _library_range(self) -> AbiRule:
        if not self.library.versions:
            raise ValueError("library needs the version range of the new ABI, e.g. '>=2'")
        if any(e.name == self.library.name for e in self.exceptions):
            raise ValueError("the library itself cannot be an exception")
        return self

    def ranges(self) -> tuple[tuple[PackageRange, bool], ...]:
        return ((self.library, True),)


Rule = Annotated[Union[ConflictRule, RequiresRule, MetadataRule, AbiRule], Field(discriminator="kind")]
