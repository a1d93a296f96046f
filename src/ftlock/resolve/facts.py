"""What a solve found out, as facts: small frozen values a :class:`~ftlock.resolve.result.Resolution`
carries, with no words in them.

The resolver says *which* rule shaped *which* pin, *which* base packages changed and *why*,
*which* features, constraints and GPU target applied; the lock writers (:mod:`ftlock.lock.wording`,
for the lines of a lock) and the CLI (:mod:`ftlock.cli.wording`, for stderr) put them into
words.  So a library caller gets data it can act on, and the wording of a lock lives next to
the writer that must keep it byte for byte.

Strings inside a fact are names, versions, specifiers, URLs and the texts a rule or a catalog
supplies (a rule's summary, a torch build's description) — never a sentence of the resolver.
:func:`to_json` and :func:`from_json` carry facts through the solve cache.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec


class Fact(msgspec.Struct, frozen=True):
    """A frozen, typed value.  A msgspec Struct rather than a frozen dataclass: defining a
    frozen dataclass costs ~0.5 ms (its methods are generated with ``exec``), and every
    cold solve imports these 27 classes — 13 ms of its start-up; a Struct class is defined
    in ~0.02 ms and built faster too.  Fields, equality, hashing, ``repr`` and ordering
    (``order=True``) behave as a frozen dataclass's do."""


# -- next to a pin -----------------------------------------------------------------------------
class RuleShaped(Fact, frozen=True, order=True):
    """A knowledge rule's requirement changed this pin: without it a newer version would
    have fitted, or the package would not be here.  The requirement is ``name versions``
    (``excluded``: the versions must stay out of ``versions``, ``if_installed``: an absent
    package satisfies it), added because ``parent parent_version`` was pinned."""

    name: str
    versions: str
    excluded: bool
    if_installed: bool
    parent: str
    parent_version: str
    rule_id: str
    source: str


class RuleMoved(Fact, frozen=True):
    """A rule acted at a distance (it only made the solver backtrack): without it the pin
    would have been ``instead`` (None: the package would not be locked)."""

    name: str
    instead: str | None
    version: str
    summary: str  # the rule's
    rule_id: str
    source: str


class SourceBuild(Fact, frozen=True):
    """A pin locked as an sdist only, whose build compiles GPU code at install time
    (``gpu/catalog/source_builds.toml``); also a warning."""

    name: str
    version: str
    compiles: str  # what the build compiles, as the catalog says
    prebuilt: str | None  # where its setup.py looks for a prebuilt wheel first


class WarnRuleBroken(Fact, frozen=True):
    """A warn-severity rule the lock breaks: a warning, and a note next to each pin of
    ``packages`` (``name version``).  ``message`` is the rule engine's statement of it."""

    packages: tuple[str, ...]
    message: str
    rule_id: str
    severity: str
    summary: str
    symptom: str
    fix: str
    source: str


#: a note next to a pin; a ``str`` is one already in words (from a lock read back, or a caller)
PinNote = Union[RuleShaped, RuleMoved, SourceBuild, WarnRuleBroken, str]


# -- the header: the target and what applied ---------------------------------------------------
class GpuTarget(Fact, frozen=True):
    """``--gpu``: a catalog GPU (``compute_capability`` None: ``cpu``)."""

    name: str
    label: str
    arch: str
    compute_capability: str | None
    sm: str | None


class Quantization(Fact, frozen=True):
    quant: str  # 4bit | 8bit
    feature: str  # the feature it declares


class ModelPreset(Fact, frozen=True):
    name: str
    label: str
    requires: tuple[str, ...]


class TorchBuild(Fact, frozen=True):
    """The torch build of the lock, for a GPU/CUDA target (:mod:`ftlock.gpu.torch_builds`).

    ``build``: the planned build as the catalog describes it (None: as the index serves it);
    ``routed_to``: the PyTorch index the ``routed`` projects come from (None: the configured
    ones); ``driver_need``, ``why``: the catalog's account of the choice; ``served_from``:
    the index the locked torch came from; ``observed``/``observed_build``: the build its
    requirements show (name, description when known)."""

    version: str
    build: str | None
    routed_to: str | None
    routed: tuple[str, ...]
    driver_need: str
    why: str
    served_from: str | None
    observed: str | None
    observed_build: str | None


class GpuStack(Fact, frozen=True):
    """What ``--gpu``, ``--cuda-driver``/``--cuda``, ``--quant`` and ``--model`` set."""

    gpu: GpuTarget | None = None
    cuda: str | None = None  # the target's driver as :meth:`DriverSupport.describe` tells it
    quantization: Quantization | None = None
    model: ModelPreset | None = None
    torch: TorchBuild | None = None  # only when the lock holds torch


class RulesOff(Fact, frozen=True):
    """Rules not applied although the lock holds their packages, and the flag that did it."""

    flag: str  # --no-knowledge | --ignore-rule
    rule_ids: tuple[str, ...]


class PinnedPair(Fact, frozen=True):
    """A rule broken by the user's own exact pins, locked as asked (also a warning)."""

    packages: tuple[str, ...]  # ``name version``
    rule_id: str
    summary: str
    symptom: str
    fix: str
    source: str


class BaseSummary(Fact, frozen=True):
    """The base environment a solve ran on."""

    freeze: str | None  # the freeze's file name; None: a live interpreter (--base-python)
    installed: int
    output_full: bool
    keep_base: bool


class PipConstraintFile(Fact, frozen=True):
    """pip's ``constraint`` setting, applied as ``-c``: the file, and where pip's
    configuration names it."""

    path: str
    source: str


class GpuAuto(Fact, frozen=True):
    """``--gpu auto``: what this machine's nvidia-smi said and the flags it became."""

    seen: str
    gpu: str
    driver: str
    driver_given: bool


# -- warnings ----------------------------------------------------------------------------------
class IndexWarning(Fact, frozen=True):
    """A warning the index client worded (e.g. a file whose hash it had to compute)."""

    message: str


class PreexistingBreak(Fact, frozen=True):
    """The base environment already breaks this rule; left as installed."""

    rule_id: str


class UncheckedRequirements(Fact, frozen=True):
    """Locked packages require ``name``, which the freeze leaves out (installed, version
    unknown): ``requirements`` (``pkg version requires name spec``) went unchecked."""

    name: str
    requirements: tuple[str, ...]


class NoTorchBuildData(Fact, frozen=True):
    """A GPU target on a platform the torch build catalog does not cover."""

    platform: str


class TorchBuildMismatch(Fact, frozen=True):
    """The locked torch is not the build ftlock expected from that index."""

    version: str
    served_from: str | None
    observed: str
    expected: str


class TorchWithoutKernels(Fact, frozen=True):
    version: str
    observed: str | None
    gpu_label: str
    sm: str | None


Warning_ = Union[
    IndexWarning, SourceBuild, PinnedPair, PreexistingBreak, UncheckedRequirements,
    WarnRuleBroken, NoTorchBuildData, TorchBuildMismatch, TorchWithoutKernels,
]


# -- a base environment: what changes and why --------------------------------------------------
class YouRequested(Fact, frozen=True):
    requirement: str  # as the user wrote it


class RequiredBy(Fact, frozen=True):
    """``parent parent_version`` requires ``name[extras]versions``."""

    parent: str
    parent_version: str
    name: str
    extras: tuple[str, ...]
    versions: str


class RuleRequired(Fact, frozen=True):
    """A rule's requirement added by ``parent parent_version``: ``name`` must stay out of
    ``versions`` (``excluded``) or be in it."""

    parent: str
    parent_version: str
    name: str
    versions: str
    excluded: bool
    rule_id: str


class KeptConsistent(Fact, frozen=True):
    """Nothing excluded the installed version, but its own requirement ``requirement``
    no longer holds now that ``pinned`` is ``pinned_version``."""

    name: str
    installed: str
    requirement: str
    pinned: str
    pinned_version: str


ChangeReason = Union[YouRequested, RequiredBy, RuleRequired, KeptConsistent]


class BaseAddition(Fact, frozen=True):
    """A package the base does not have (or has at an unknown version)."""

    name: str
    version: str
    required_by: tuple[str, ...]
    newest: str | None  # a newer release the solve could not take without changing the base


class BaseChange(Fact, frozen=True):
    """An installed package that changes version (``reasons`` empty: the solver chose)."""

    name: str
    installed: str
    version: str
    reasons: tuple[ChangeReason, ...]


class KeptFromBase(Fact, frozen=True):
    """A base package the index cannot provide, kept as installed."""

    name: str
    url: str | None  # installed from this URL
    sdist_only: bool  # on the index as an sdist only: its requirements are not checked
    recorded_metadata: bool  # its requirements come from the installed package's metadata


# -- through the solve cache -------------------------------------------------------------------
_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        RuleShaped, RuleMoved, SourceBuild, WarnRuleBroken, GpuTarget, Quantization, ModelPreset,
        TorchBuild, GpuStack, RulesOff, PinnedPair, BaseSummary, PipConstraintFile, GpuAuto,
        IndexWarning, PreexistingBreak, UncheckedRequirements, NoTorchBuildData,
        TorchBuildMismatch, TorchWithoutKernels, YouRequested, RequiredBy, RuleRequired,
        KeptConsistent, BaseAddition, BaseChange, KeptFromBase,
    )
}


def to_json(value: Any) -> Any:
    """A fact (or a tuple of them, or a plain value) as JSON data, each fact tagged with its type."""
    if isinstance(value, Fact):
        return {"fact": type(value).__name__, **{f: to_json(getattr(value, f)) for f in value.__struct_fields__}}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    return value


def from_json(data: Any) -> Any:
    """The inverse of :func:`to_json` (lists come back as tuples); KeyError on an unknown fact."""
    if isinstance(data, dict):
        cls = _TYPES[data["fact"]]
        return cls(**{k: from_json(v) for k, v in data.items() if k != "fact"})
    if isinstance(data, list):
        return tuple(from_json(v) for v in data)
    return data
