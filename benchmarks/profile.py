"""Where does an ftlock solve spend its time?  cProfile of a cold solve, a warm one (answered
by the solve cache) and a warm re-solve (``--no-solve-cache``: the solver runs on cached
pages and metadata).

    python benchmarks/profile.py A            # live index
    python benchmarks/profile.py C --mirror   # recorded mirror
    python benchmarks/profile.py "requests rich" --top 15 --save /tmp/prof

The solve runs in-process (``ftlock.resolve.solve.solve(SolveRequest(...))``) so the
profile sees ftlock itself, not a subprocess.  ftlock does its I/O and parsing on a thread
pool, and cProfile only watches the thread that enabled it — so every thread started
during the solve gets its own profiler and their statistics are merged into a second
report.  Read them together: the **main thread** profile is the critical path (time
blocked in ``Future.result`` is time waiting for the network or a worker), the **worker**
profile is where CPU goes (parsing pages, hashing, unzipping) summed over threads.

Phases: interpreter start-up and ``import`` are measured in fresh subprocesses (an
in-process import would already be warm): what every run imports (CLI, solve front door,
lock writer — all a solve-cache hit needs) and what only a run of the solver adds
(``ftlock.resolve.engine``; the knowledge overlay it loads mid-solve is counted in the
solve).  Solve and render (lock text) are timed here.  The slowest imports of a solve's
import path (``python -X importtime``, fresh interpreter, top 12 by cumulative time) are
listed after the phases.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Before anything imports cProfile: as a script, this folder is sys.path[0] and this very
# file would be imported as the stdlib's ``profile`` (which cProfile needs).
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import bootstrap

    bootstrap()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import MIRROR_DATA, default_index_url, redact_hosts, tool_env  # noqa: E402
from benchmarks.inputs import INPUTS  # noqa: E402
from benchmarks.tools import FTLOCK_PLATFORM, TARGET_PYTHON, compile_ftlock  # noqa: E402

SOLVE_IMPORTS = ("ftlock.cli", "ftlock.resolve.engine")  # what a solve that runs the solver imports


@contextmanager
def thread_profiles() -> Iterator[list[cProfile.Profile]]:
    """Give every thread *started inside the block* its own profiler; yields the list
    their finished profiles are appended to."""
    profiles: list[cProfile.Profile] = []
    original: Callable[[threading.Thread], None] = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()
            profiles.append(profiler)

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    try:
        yield profiles
    finally:
        threading.Thread.run = original  # type: ignore[method-assign, assignment]


def subprocess_seconds(code: str, repeat: int = 3) -> float:
    """Best-of-``repeat`` wall time of ``python -c code`` (start-up and imports are cold
    only in a fresh interpreter)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - started)
    return best


def parse_importtime(text: str) -> list[tuple[str, int, int]]:
    """``python -X importtime`` output → ``(module, self µs, cumulative µs)`` in import order."""
    rows = []
    for line in text.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
            rows.append((fields[2].strip(), int(fields[0]), int(fields[1])))
    return rows


def slowest_imports(modules: tuple[str, ...] = SOLVE_IMPORTS, limit: int = 12) -> list[tuple[str, int, int]]:
    """The ``limit`` slowest imports, by cumulative time, of ``import modules`` in a fresh
    interpreter (an in-process import would already be warm)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + ", ".join(modules)],
                          capture_output=True, text=True, check=True)
    return sorted(parse_importtime(proc.stderr), key=lambda row: row[2], reverse=True)[:limit]


def profile_solve(request: Any, label: str) -> dict[str, Any]:
    """One in-process solve + render under cProfile; returns timings and the profiles."""
    from ftlock.lock.requirements_txt import render  # noqa: PLC0415
    from ftlock.resolve.solve import solve  # noqa: PLC0415

    main = cProfile.Profile()
    with thread_profiles() as workers:
        started = time.perf_counter()
        main.enable()
        resolution = solve(request)
        solved = time.perf_counter()
        text = render(resolution, "ftlock solve (profile)")
        main.disable()
        rendered = time.perf_counter()
        # The pool is shut down without waiting; let its threads finish so their
        # profiles are complete before merging.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.name.startswith("ftlock"):
                thread.join(timeout=30)
    return {
        "label": label,
        "solve_s": solved - started,
        "render_s": rendered - solved,
        "packages": len(resolution.packages),
        "requests": resolution.stats.requests,
        "reused": resolution.stats.reused,
        "bytes": resolution.stats.bytes,
        "lock_bytes": len(text),
        "main": main,
        "workers": list(workers),
    }


def top(profiles: list[cProfile.Profile], sort: str, limit: int) -> str:
    if not profiles:
        return "(no profile)\n"
    stream = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=stream)
    for extra in profiles[1:]:
        stats.add(extra)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    text = stream.getvalue()
    # Drop pstats' preamble up to the column header; keep the totals line.
    lines = text.splitlines()
    head = next((i for i, ln in enumerate(lines) if "function calls" in ln), 0)
    return "\n".join(ln for ln in lines[head:] if ln.strip() and "Ordered by" not in ln) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="an input key (A–D) or requirements separated by spaces")
    parser.add_argument("--mirror", action="store_true", help="solve against the recorded mirror")
    parser.add_argument("--mirror-data", type=Path, default=MIRROR_DATA)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, default=None, help="write .prof files here")
    args = parser.parse_args(argv)

    key = args.input.strip().upper()
    requirements = INPUTS[key].requirements if key in INPUTS else tuple(args.input.split())
    if not requirements:
        raise SystemExit(f"{args.input}: no explicit requirements to profile")

    mirror = None
    if args.mirror:
        from benchmarks.run import Mirror  # noqa: PLC0415

        mirror = Mirror(args.mirror_data, Path(tempfile.mkdtemp()) / "profile-requests.log")
    index_url = mirror.index_url if mirror else default_index_url()
    # The same single-index environment the benchmark gives the CLI.
    env = tool_env(index_url)
    os.environ.clear()
    os.environ.update(env)

    compile_ftlock()  # bytecode, as run.py writes it before timing anything
    startup = subprocess_seconds("pass")
    front = "import ftlock.cli, ftlock.resolve.solve, ftlock.lock.requirements_txt"
    imports = subprocess_seconds(front) - startup
    solver_imports = subprocess_seconds(f"{front}, ftlock.resolve.engine") - startup - imports
    slowest = slowest_imports()

    from ftlock.resolve.solve import SolveRequest  # noqa: PLC0415

    cache = Path(tempfile.mkdtemp(prefix="ftlock-profile-"))
    request = SolveRequest(
        requirements=tuple(requirements),
        python=TARGET_PYTHON,
        platform=FTLOCK_PLATFORM,
        index_url=index_url,
        cache_dir=cache,
    )
    try:
        runs = [
            profile_solve(request, "cold"),
            profile_solve(request, "warm"),
            profile_solve(replace(request, no_solve_cache=True), "re-solve"),
        ]
    finally:
        if mirror:
            mirror.stop()

    print(f"# ftlock profile: {' '.join(requirements)} ({'mirror' if mirror else 'live'} index)\n")
    print("## Phases (seconds)\n")
    print(f"interpreter start-up      {startup:7.3f}   (python -c pass, best of 3)")
    print(f"import ftlock             {imports:7.3f}   (cli + solve front door + lock writers, fresh interpreter)")
    print(f"import the solver         {solver_imports:7.3f}   (ftlock.resolve.engine; not needed on a solve-cache hit)")
    print(f"\n## Slowest imports of a solve (python -X importtime -c 'import {', '.join(SOLVE_IMPORTS)}'; "
          "fresh interpreter; ms)\n")
    print(f"{'cumulative':>10} {'self':>8}  module")
    for name, self_us, cumulative_us in slowest:
        print(f"{cumulative_us / 1000:10.1f} {self_us / 1000:8.1f}  {name}")
    print()
    for run in runs:
        print(f"solve  {run['label']:8s}           {run['solve_s']:7.3f}   "
              f"({run['packages']} packages, {run['requests']} requests, {run['bytes'] / 1e6:.1f} MB"
              f"{', solve cache' if run['reused'] else ''})")
        print(f"render {run['label']:8s}           {run['render_s']:7.3f}   ({run['lock_bytes']} bytes of lock)")
    for run in runs:
        for who, profiles in (("main thread", [run["main"]]), (f"{len(run['workers'])} worker threads", run["workers"])):
            for sort, title in (("cumulative", "cumulative"), ("tottime", "internal")):
                print(f"\n## {run['label']} solve — {who} — top {args.top} by {title} time\n")
                print(redact_hosts(top(profiles, sort, args.top)))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            stem = key if key in INPUTS else "custom"  # requirements as text make no file name
            run["main"].dump_stats(args.save / f"{stem}-{run['label']}-main.prof")
            if run["workers"]:
                merged = pstats.Stats(run["workers"][0])
                for extra in run["workers"][1:]:
                    merged.add(extra)
                merged.dump_stats(args.save / f"{stem}-{run['label']}-workers.prof")
    return 0


if __name__ == "__main__":
    sys.exit(main())
