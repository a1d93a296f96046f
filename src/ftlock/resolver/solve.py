"""The front door of a solve: inputs → target → indexes → (solve cache | solver) → answer.

This module prepares what every solve needs — the target, the requirement lines (plus what
``--gpu``/``--model`` add), the index settings — then asks the solve cache
(:mod:`ftlock.resolver.memo`) and only on a miss imports and runs the solver
(:mod:`ftlock.resolver.engine`).  Keeping this path free of the solver's imports is what
lets an unchanged re-run finish in a few hundred milliseconds less.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from ftlock.errors import UsageError
from ftlock.resolver import memo
from ftlock.resolver.cache import Cache, FetchPolicy, default_cache_dir
from ftlock.resolver.indexes import IndexSettings
from ftlock.resolver.reqfile import InputLine, ParsedInputs, parse_file
from ftlock.resolver.result import LockedPackage, Resolution, SolveRequest, SolveStats
from ftlock.resolver.target import Target

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


def index_settings(request: SolveRequest, inputs: ParsedInputs) -> IndexSettings:
    """Which indexes to read: flags, then the requirement files' options, then pip's config."""
    settings = IndexSettings.discover(
        request.index_url or inputs.index_url,
        tuple(request.extra_index_urls) or tuple(inputs.extra_index_urls),
        allow_insecure_hosts=tuple(request.allow_insecure_hosts),
    )
    if request.index_routes:
        settings = settings.with_routes(request.index_routes)
    return settings


def fetch_policy(request: SolveRequest) -> FetchPolicy:
    return FetchPolicy(
        page_ttl=request.page_ttl,
        refresh=request.refresh,
        offline=request.offline,
        exclude_newer=request.exclude_newer,
    )


def _uses_stack(request: SolveRequest) -> bool:
    return any(
        (request.gpu, request.cuda_driver, request.cuda, request.torch_index,
         request.model, request.quant, request.with_packages)
    )


def solve(request: SolveRequest, on_progress: Callable[[int, str], None] | None = None) -> Resolution:
    """Solve ``request``: from the solve cache when an identical solve's pages are all
    unchanged and fresh, else by running the solver (and storing its answer)."""
    started = time.perf_counter()
    target = Target.from_options(request.python, request.platform)
    inputs = gather_inputs(request)
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
            return replace(found, stats=replace(stats, seconds=time.perf_counter() - started))
    # --gpu/--cuda-driver/--model...: more inputs, a torch constraint, torch index routes
    # (the GPU and model catalogs are read only when one of those flags is given)
    stack = None
    if _uses_stack(request):
        from ftlock.resolver import gpu_setup

        stack = gpu_setup.prepare(request, target, inputs)
        if stack.routes:
            request = replace(request, index_routes=stack.routes)
            settings = settings.with_routes(stack.routes)
    if not inputs.requirements and request.base is None and request.base_python is None:
        raise UsageError("nothing to solve: give requirements as arguments or with -r FILE")
    from ftlock.resolver.engine import solve_prepared

    resolution, index = solve_prepared(request, target, inputs, stack, settings, on_progress)
    if solves is not None and key is not None:
        # a copy: speculative requests still in flight may add pages while it is stored
        solves.put(key, resolution, dict(index.read))
    return resolution
