"""The front door of a solve: inputs → target → indexes → (solve cache | solver) → answer.

This module prepares what every solve needs — the target, the requirement lines (plus what
``--gpu``/``--model`` add), the index settings — then asks the solve cache
(:mod:`ftlock.resolve.memo`) and only on a miss imports and runs the solver
(:mod:`ftlock.resolve.engine`).  Keeping this path free of the solver's imports is what
lets an unchanged re-run finish in a few hundred milliseconds less.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ftlock._values import replace
from ftlock.errors import IndexError_, UsageError
from ftlock.resolve import memo
from ftlock.index.cache import Cache, default_cache_dir
from ftlock.index.pipconfig import PipConstraint, pip_constraints
from ftlock.resolve.facts import GpuAuto, PipConstraintFile
from ftlock.resolve.request import fetch_policy, index_settings
from ftlock.resolve.reqfile import InputLine, ParsedInputs, parse_file
from ftlock.resolve.result import LockedPackage, Resolution, SolveRequest, SolveStats
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.index.settings import IndexSettings

__all__ = [
    "LockedPackage",
    "Resolution",
    "SolveRequest",
    "SolveStats",
    "fetch_policy",
    "gather_inputs",
    "index_settings",
    "solve",
]


def gather_inputs(request: SolveRequest) -> ParsedInputs:
    """Requirement and constraint lines from arguments and files (nested -r/-c followed)."""
    inputs = ParsedInputs()
    inputs.requirements += [InputLine(r, "requested") for r in request.requirements]
    for path in request.requirement_files:
        parse_file(path, inputs)
    for path in request.constraint_files:
        parse_file(path, inputs, constraint=True)
    return inputs


def resolve_gpu_auto(request: SolveRequest) -> tuple[SolveRequest, GpuAuto | None]:
    """``--gpu auto``: this machine's GPU and driver (as ``ftlock probe`` reads them), or a
    one-line error when there is no usable one — never a silent lock without a GPU.  A
    ``--cuda-driver``/``--cuda`` given with it wins over the probed driver."""
    if request.gpu is None or request.gpu.strip().lower() != "auto":
        return request, None
    from ftlock.gpu.probe import auto  # noqa: PLC0415 - only for --gpu auto

    found = auto()
    given = bool(request.cuda_driver or request.cuda)
    driver = request.cuda_driver if given else found.driver
    return replace(request, gpu=found.gpu, cuda_driver=driver), GpuAuto(found.seen, found.gpu, found.driver, given)


def add_pip_constraints(request: SolveRequest, inputs: ParsedInputs) -> tuple[PipConstraint, ...]:
    """pip's ``constraint`` setting (``PIP_CONSTRAINT``, pip's configuration files), added to
    ``inputs`` as if given with ``-c``: ``pip install -r LOCK`` applies it, so a lock that
    ignored it would not install here.  None with ``--isolated``."""
    if request.isolated:
        return ()
    found = pip_constraints()
    for item in found:
        parse_file(item.path, inputs, constraint=True)
    return found


def _uses_stack(request: SolveRequest) -> bool:
    return any(
        (request.gpu, request.cuda_driver, request.cuda, request.torch_index,
         request.model, request.quant, request.with_packages)
    )


def _run_engine(
    request: SolveRequest,
    target: Target,
    inputs: ParsedInputs,
    stack: Any,
    settings: IndexSettings,
    on_progress: Callable[[int, str], None] | None,
) -> tuple[Resolution, Any]:
    """The solver's answer and the index client it read through.  The session opens and
    starts fetching before the solver and the rules are imported and loaded, so that
    loading overlaps the first round trips (:mod:`ftlock.resolve.session`)."""
    from ftlock.resolve.session import start  # noqa: PLC0415 - not needed on a solve-cache hit

    begun = start(request, target, inputs, settings)
    try:
        from ftlock.resolve.engine import solve_prepared  # noqa: PLC0415
    except BaseException:  # pragma: no cover - a broken installation
        begun.session.close()
        raise
    try:
        return solve_prepared(request, target, inputs, stack, settings, on_progress, begun)
    except IndexError_ as exc:
        # a PyTorch index ftlock chose and cannot read: say why it was needed, and the ways out
        told = stack.unreachable(str(exc)) if stack is not None else None
        if told is None:
            raise
        raise type(exc)(told) from None


def solve(request: SolveRequest, on_progress: Callable[[int, str], None] | None = None) -> Resolution:
    """Solve ``request``: from the solve cache when an identical solve's pages are all
    unchanged and fresh, else by running the solver (and storing its answer)."""
    started = time.perf_counter()
    request, gpu_auto = resolve_gpu_auto(request)
    target = Target.from_options(request.python, request.platform)
    inputs = gather_inputs(request)
    from_pip = tuple(PipConstraintFile(str(c.path), c.source) for c in add_pip_constraints(request, inputs))

    def with_notes(resolution: Resolution) -> Resolution:
        """What the solve took from this machine rather than from its inputs (not part of
        a stored answer: the same solve elsewhere takes its own)."""
        if not from_pip and gpu_auto is None and request.platform is not None:
            return resolution
        return replace(
            resolution, pip_constraints=from_pip, gpu_auto=gpu_auto, platform_assumed=request.platform is None
        )

    settings = index_settings(request, inputs)
    # The key is taken before the GPU/model presets run: they are a pure function of the
    # request, the target and ftlock's catalogs (part of the key), so a hit skips them too.
    key = memo.solve_key(request, target, inputs, settings)
    solves = None
    if key is not None:
        solves = memo.SolveCache(Cache(request.cache_dir or default_cache_dir()), fetch_policy(request))
        stats = SolveStats(0.0, 0, 0, reused=True)
        found = solves.get(key, request, target, stats)
        if found is not None:
            return with_notes(replace(found, stats=replace(stats, seconds=time.perf_counter() - started)))
    # --gpu/--cuda-driver/--model...: more inputs, a torch constraint, torch index routes
    # (the GPU and model catalogs are read only when one of those flags is given)
    stack = None
    if _uses_stack(request):
        from ftlock.resolve import gpu_setup

        stack = gpu_setup.prepare(request, target, inputs)
        if stack.routes:
            request = replace(request, index_routes=stack.routes)
            settings = settings.with_routes(stack.routes)
    if not inputs.requirements and request.base is None and request.base_python is None:
        raise UsageError("nothing to solve: give requirements as arguments or with -r FILE")
    resolution, index = _run_engine(request, target, inputs, stack, settings, on_progress)
    if solves is not None and key is not None:
        # a copy: speculative requests still in flight may add pages while it is stored
        solves.put(key, resolution, index.pages_read())
    return with_notes(resolution)
