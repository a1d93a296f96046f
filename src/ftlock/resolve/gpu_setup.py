"""GPU targets and model presets: what ``--gpu``, ``--cuda-driver``/``--cuda``,
``--torch-index``, ``--model``, ``--quant`` and ``--with`` add to a solve.

:func:`prepare` runs before the solve and turns the flags into ordinary inputs — requirement
lines (model minimums, the default fine-tuning stack), a constraint on torch (releases whose
build fits the GPU and driver, :mod:`ftlock.gpu.torch_builds`), index routes for the torch
family, declared features and rule facts.  :meth:`Stack.finish` checks the locked torch build
afterwards and returns what the lock header and the summary on stderr state, as facts
(:class:`~ftlock.resolve.facts.GpuStack`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PkgRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ftlock.untrusted import parse_pep508
from ftlock.errors import UsageError
from ftlock.resolve.facts import (
    GpuStack,
    GpuTarget,
    ModelPreset,
    NoTorchBuildData,
    Quantization,
    TorchBuild,
    TorchBuildMismatch,
    TorchWithoutKernels,
)
from ftlock.resolve.reqfile import InputLine, ParsedInputs
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.gpu.cuda import DriverSupport
    from ftlock.gpu.gpus import Gpu
    from ftlock.gpu import torch_builds
    from ftlock.resolve.result import SolveRequest

QUANT_FEATURES = {"4bit": "load_in_4bit", "8bit": "load_in_8bit"}


class Stack(msgspec.Struct):
    gpu: Gpu | None = None
    driver: DriverSupport | None = None
    torch: torch_builds.TorchPlan | None = None
    features: tuple[str, ...] = ()
    quantization: Quantization | None = None
    model: ModelPreset | None = None
    warnings: list[Any] = msgspec.field(default_factory=list)

    @property
    def cuda(self) -> Version | None:
        """The CUDA release rule conditions (``when.cuda``) are evaluated against."""
        return self.driver.native if self.driver is not None else None

    @property
    def routes(self) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
        return self.torch.routes if self.torch is not None else ()

    def indexes(self, configured: tuple[str, ...], every: tuple[str, ...], packages: Any) -> tuple[str, ...]:
        """The solve's indexes for the lock: the configured ones, and a routed (torch) index
        only when a locked package came from it."""
        used = {p.index_url for p in packages}
        return configured + tuple(u for u in every if u not in configured and u in used)

    def unreachable(self, error: str) -> str | None:
        """A failure to read the torch index this stack routed to, told with why that
        index was needed and the ways out (None: the error is not about it)."""
        return self.torch.unreachable(error) if self.torch is not None else None

    def finish(self, packages: Any) -> tuple[GpuStack | None, list[Any]]:
        """``(what the stack set, warnings)`` for the locked ``packages`` (LockedPackage
        objects); the torch build only when the lock holds torch."""
        torch = next((p for p in packages if p.name == "torch"), None)
        warnings = list(self.warnings)
        build = self._torch_build(torch, packages, warnings) if torch is not None and self.torch is not None else None
        gpu = self.gpu
        facts = GpuStack(
            GpuTarget(gpu.name, gpu.label, gpu.arch, gpu.compute_capability, gpu.sm) if gpu is not None else None,
            self.driver.describe() if self.driver is not None else None,
            self.quantization,
            self.model,
            build,
        )
        return (None if facts == GpuStack() else facts), warnings

    def _torch_build(self, torch: Any, packages: Any, warnings: list[Any]) -> TorchBuild:
        from ftlock.gpu import torch_builds  # noqa: PLC0415 - catalogs only with a torch plan

        assert self.torch is not None
        # The build was chosen before the solve for the newest release that fits; the solve
        # may have held torch on an older release with another build: describe that one.
        plan = self.torch.settled(torch.version)
        observed = torch_builds.observed_variant({p.name: p.version for p in packages})
        release = torch_builds.release_of(torch.version)
        variant = release.variant(observed) if release is not None and observed else None
        expected = plan.variant.name if plan.variant is not None else None
        if expected is not None and observed is not None and observed != expected:
            warnings.append(TorchBuildMismatch(torch.version, torch.index_url, observed, expected))
        gpu = self.gpu
        if (
            gpu is not None and gpu.capability is not None and variant is not None
            and variant.cuda is not None and not variant.has_kernels(gpu.capability)
        ):
            warnings.append(TorchWithoutKernels(torch.version, observed, gpu.label, gpu.sm))
        return TorchBuild(
            version=torch.version,
            build=plan.variant.describe() if plan.variant else None,
            routed_to=plan.index_url,
            routed=(*torch_builds.TORCH_FAMILY, *torch_builds.TORCH_COMPANIONS) if plan.index_url else (),
            driver_need=plan.driver_note,
            why=plan.why,
            served_from=torch.index_url,
            observed=observed,
            observed_build=variant.describe() if variant is not None else None,
        )


def _named(line: InputLine) -> PkgRequirement | None:
    try:
        return parse_pep508(line.text.strip())
    except InvalidRequirement:
        return None


def _torch_spec(inputs: ParsedInputs) -> SpecifierSet:
    spec = SpecifierSet()
    for line in [*inputs.requirements, *inputs.constraints]:
        req = _named(line)
        if req is not None and canonicalize_name(req.name) == "torch" and not req.url:
            spec &= req.specifier
    return spec


def prepare(request: SolveRequest, target: Target, inputs: ParsedInputs) -> Stack:
    """Add what the GPU/model flags mean to ``inputs`` (in place) and describe it."""
    # The catalogs (pydantic models over TOML, ~0.1 s to import) are read here, not at
    # import: a solve without GPU/model flags never needs them.
    from ftlock.gpu.cuda import DriverSupport
    from ftlock.gpu.gpus import lookup
    from ftlock.gpu import torch_builds

    stack = Stack()
    features: list[str] = []
    if request.cuda_driver and request.cuda:
        raise UsageError("give --cuda-driver or --cuda, not both (--cuda is the CUDA release the driver supports)")
    if request.gpu:
        stack.gpu = lookup(request.gpu)
    if request.cuda_driver:
        stack.driver = DriverSupport.from_driver(request.cuda_driver)
    elif request.cuda:
        stack.driver = DriverSupport.from_cuda(request.cuda)
    if stack.gpu is not None and stack.gpu.name == torch_builds.CPU and stack.driver is not None:
        raise UsageError("--gpu cpu takes no --cuda-driver/--cuda")

    _presets(request, inputs, stack, features)
    stack.features = tuple(features)

    stack.torch = torch_builds.plan(
        stack.gpu,
        stack.driver,
        target.platform.system,
        target.platform.machine,
        _torch_spec(inputs),
        request.exclude_newer,
        request.torch_index,
    )
    if stack.torch is None and stack.gpu is not None and stack.gpu.capability is not None:
        stack.warnings.append(NoTorchBuildData(target.platform.name))
    if stack.torch is not None:
        if str(stack.torch.constraint):
            origin = f"--gpu {stack.gpu.name}" if stack.gpu is not None else "--torch-index"
            inputs.constraints.append(InputLine(f"torch{stack.torch.constraint}", origin))
    return stack


def _presets(request: SolveRequest, inputs: ParsedInputs, stack: Stack, features: list[str]) -> None:
    from ftlock.gpu.models_catalog import catalog

    presets = catalog()
    asked = bool(request.model or request.quant or request.with_packages)
    if not asked:
        return
    added: list[InputLine] = []
    if not inputs.requirements:
        added += [InputLine(name, "fine-tuning stack") for name in presets.stack.packages]
    if request.quant:
        if request.quant not in QUANT_FEATURES:
            raise UsageError(f"--quant {request.quant!r}: use 4bit or 8bit")
        features.append(QUANT_FEATURES[request.quant])
        added += [InputLine(name, f"--quant {request.quant}") for name in presets.stack.quant]
        stack.quantization = Quantization(request.quant, QUANT_FEATURES[request.quant])
    for name in request.with_packages:
        if canonicalize_name(name) not in presets.stack.extras:
            raise UsageError(f"--with {name!r}: known: {', '.join(presets.stack.extras)}")
        added.append(InputLine(canonicalize_name(name), f"--with {name}"))
    if request.model:
        model = presets.lookup(request.model)
        added += [InputLine(text, f"--model {model.name}") for text in model.requires]
        stack.model = ModelPreset(model.name, model.label, tuple(model.requires))
    inputs.requirements += added
