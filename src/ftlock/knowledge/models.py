"""Pydantic models of knowledge rules.

A rule states the versions it covers, what breaks (the symptom a user sees), a fix, and at
least one public source.  Three kinds:

* ``conflict`` — A in range X must not be installed together with B in range Y.  Enforced
  only when both are present: it never pulls either package into a solve.
* ``requires`` — when A in range X is installed (optionally only under a condition such as
  a feature or a GPU), B in range Y must be installed too.
* ``metadata`` — corrected ``Requires-Dist``/``Requires-Python`` for versions whose
  published metadata is wrong, used instead of the index's.

Every rule may carry a ``when`` condition on the target (features, GPU architecture,
compute capability, CUDA version), so target-specific rules need no solver change.  Every
rule carries an ``example`` (a bad and a good set of pins) from which a scenario test is
generated, so no rule ships untested.
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
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    @property
    def specifier(self) -> SpecifierSet:
        return SpecifierSet(self.versions)

    def contains(self, version: Version | str) -> bool:
        return self.specifier.contains(version, prereleases=True)

    def __str__(self) -> str:
        return f"{self.name}{self.versions}"


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

    @property
    def is_empty(self) -> bool:
        return not (self.features or self.gpu_arch or self.compute_capability or self.cuda)


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

    @property
    def source(self) -> str:
        return str(self.sources[0])


class ConflictRule(_RuleBase):
    kind: Literal["conflict"] = "conflict"
    a: PackageRange
    b: PackageRange

    @model_validator(mode="after")
    def _distinct(self) -> ConflictRule:
        if self.a.name == self.b.name:
            raise ValueError("a conflict needs two different packages")
        return self

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.a.name, self.b.name)


class RequiresRule(_RuleBase):
    kind: Literal["requires"] = "requires"
    if_installed: PackageRange = Field(alias="if")
    then: PackageRange

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.if_installed.name, self.then.name)


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

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.package.name,)


Rule = Annotated[Union[ConflictRule, RequiresRule, MetadataRule], Field(discriminator="kind")]
