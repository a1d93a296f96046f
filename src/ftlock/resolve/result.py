"""The values at the two ends of a solve: what was asked (:class:`SolveRequest`) and what
came out (:class:`Resolution`).

They live apart from the solver so that the lock writers, and a solve answered from the
solve cache (:mod:`ftlock.resolve.memo`), never import the resolver machinery: a
re-run whose answer is already known should cost milliseconds, not imports.

A resolution holds facts (:mod:`ftlock.resolve.facts`), not sentences: the lock writers word
the lock's lines (:mod:`ftlock.lock.wording`), the CLI what it prints (:mod:`ftlock.cli.wording`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ftlock.index.models import DistFile
from ftlock.resolve.facts import (
    BaseAddition,
    BaseChange,
    BaseSummary,
    GpuAuto,
    GpuStack,
    KeptFromBase,
    PinnedPair,
    PinNote,
    PipConstraintFile,
    RulesOff,
    Warning_,
)
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from packaging.utils import NormalizedName

    from ftlock.resolve.provider import Prerelease


class SolveRequest(msgspec.Struct, frozen=True):
    """Everything a solve depends on; the CLI builds one from flags."""

    requirements: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    constraint_files: tuple[Path, ...] = ()
    python: str | None = None
    platform: str | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    prerelease: Prerelease | None = None
    exclude_newer: datetime | None = None
    no_build: bool = False
    # pip's --only-binary/--no-binary as (flag, value) in command-line order; requirement
    # files' option lines apply after them (ftlock.resolve.formats)
    binary: tuple[tuple[str, str], ...] = ()
    cache_dir: Path | None = None
    no_cache: bool = False
    offline: bool = False
    refresh: bool = False
    page_ttl: float = 600.0
    concurrency: int = 16
    timeout: float = 30.0
    retries: int = 3
    allow_insecure_hosts: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    gpu: str | None = None
    rules: tuple[Path, ...] = ()  # extra rule files/directories, beside the built-in ones
    # versions to keep when they still fit (existing lock pins, installed packages): the
    # solver tries them first, so a re-lock changes only what it must
    preferred: tuple[tuple[str, str], ...] = ()
    # an existing environment to solve on top of (issue: existing environments)
    base: Path | None = None  # a pip freeze
    base_python: str | None = None  # or a live interpreter
    keep_base: bool = False  # never change an installed package
    output_full: bool = False  # lock the whole resulting environment, not just the changes
    no_knowledge: bool = False
    ignore_rules: tuple[str, ...] = ()
    # a rule broken by the user's own exact pins is an error, not a warning (for CI)
    strict_rules: bool = False
    # GPU targets and model presets (ftlock.resolve.gpu_setup)
    cuda_driver: str | None = None  # the target's NVIDIA driver, e.g. 535.104.05
    cuda: str | None = None  # or the highest CUDA release it supports, e.g. 12.2
    torch_index: str | None = None  # take the torch family from this index
    model: str | None = None  # a model preset (`ftlock models`)
    quant: str | None = None  # 4bit | 8bit
    with_packages: tuple[str, ...] = ()  # optional stack members, e.g. unsloth
    # per-project index routes, ((pattern, urls, then the configured ones too), ...)
    index_routes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    no_solve_cache: bool = False  # run the solver even when an identical solve is cached
    # --isolated: ignore pip's configuration files and PIP_* variables (indexes, constraints)
    isolated: bool = False


class LockedPackage(msgspec.Struct, frozen=True):
    name: NormalizedName
    version: str
    files: tuple[DistFile, ...]
    index_url: str | None
    url: str | None
    required_by: tuple[str, ...]
    yanked: bool = False
    # what shaped this pin (knowledge rules, a source build, a warn rule it breaks)
    notes: tuple[PinNote, ...] = ()


class SolveStats(msgspec.Struct, frozen=True):
    seconds: float
    requests: int
    bytes: int
    reused: bool = False  # answered from the solve cache (ftlock.resolve.memo)


@dataclass(frozen=True)
class Resolution:
    """The locked packages and, as facts (:mod:`ftlock.resolve.facts`), what applied to the
    solve and what it found: the lock writers and the CLI word them."""

    packages: tuple[LockedPackage, ...]
    target: Target
    indexes: tuple[str, ...]
    default_index: str | None
    exclude_newer: datetime | None
    stats: SolveStats = field(compare=False)
    # the effective --only-binary/--no-binary policy, as flags (FormatControl.describe)
    binary: tuple[str, ...] = ()
    # what the lock header records
    stack: GpuStack | None = None  # --gpu/--cuda-driver/--quant/--model and the torch build
    features: tuple[str, ...] = ()  # declared (--feature, and what --quant declares)
    rules_off: RulesOff | None = None  # --no-knowledge/--ignore-rule, for the lock's packages
    pinned_breaks: tuple[PinnedPair, ...] = ()  # rules the user's own exact pins break
    base: BaseSummary | None = None
    # pip's `constraint` setting, applied as -c (also a note on stderr)
    pip_constraints: tuple[PipConstraintFile, ...] = ()
    warnings: tuple[Warning_, ...] = ()  # in the order stderr gives them
    changes: tuple[BaseAddition | BaseChange, ...] = ()  # with a base: what changes and why
    kept: tuple[KeptFromBase, ...] = ()  # with --output-full: base packages not from the index
    # for stderr, from `solve` and `lock` alike: what the solve took from this machine rather
    # than from its inputs (besides pip's constraints)
    gpu_auto: GpuAuto | None = None  # --gpu auto: what nvidia-smi said
    platform_assumed: bool = False  # no --platform: this machine's
