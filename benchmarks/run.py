"""Benchmark ftlock against uv and pip-compile on the inputs of issue 9 — one command.

    python benchmarks/run.py                 # live index, 3 repetitions, A–E
    python benchmarks/run.py --quick         # 1 repetition; pip-compile capped (see below)
    python benchmarks/run.py --mirror        # the recorded local mirror (mirror.py record)

For each input and tool: COLD (fresh empty cache) then WARM (same cache again), ``--reps``
times; min/median wall and CPU time, peak RSS, requests and bytes; ratios ftlock/uv and
ftlock/pip-compile from the medians of *this* run; whether the locks agree.  Results go to
``benchmarks/results/<date>.json`` (one key per mode), a markdown table (printed, and put
between marker comments in docs/benchmarks.md) and a bar chart under docs/.

Against the live index pip-compile downloads every pinned wheel (pip prepares the files it
would install, and the index advertises no PEP 658 metadata) and then every file of every
pinned version to hash it — many gigabytes for torch stacks.  ``--quick`` therefore gives
pip-compile ``--quick-limit`` seconds (default 120) for its cold run, reports a killed run
as "> 120 s" (the ratio becomes a bound), and skips it outright for an input that a saved
result of the same mode already showed to take longer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import bootstrap

    bootstrap()

from benchmarks import locks, report  # noqa: E402
from benchmarks.common import (  # noqa: E402
    DOCS_MD,
    MIRROR_DATA,
    REPO_ROOT,
    RESULTS_DIR,
    default_index_url,
    redact_hosts,
    tool_env,
)
from benchmarks.inputs import INPUTS, BenchInput, ftlock_has_option, parse_keys  # noqa: E402
from benchmarks.measure import run_measured  # noqa: E402
from benchmarks.tools import (  # noqa: E402
    TOOLS,
    compile_ftlock,
    Invocation,
    ftlock_base,
    ftlock_cmd,
    ftlock_stats,
    pip_compile_cmd,
    python311,
    uv_cmd,
    versions,
)


class Mirror:
    """The recorded mirror as a child process (own process: its CPU use must not share
    this harness's GIL, and it is the same for every tool)."""

    def __init__(self, data: Path, log: Path) -> None:
        if not (data / "pages").is_dir():
            raise SystemExit(f"no recorded mirror at {data}: run `python benchmarks/mirror.py record` first")
        ready = log.with_suffix(".url")
        ready.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("mirror.py")), "serve",
             "--data", str(data), "--log", str(log), "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the mirror did not start")
            time.sleep(0.1)
        self.index_url = ready.read_text(encoding="utf-8").strip()

    def stats(self) -> dict[str, Any]:
        from benchmarks.mirror import fetch_stats  # noqa: PLC0415

        return fetch_stats(self.index_url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Bench:
    """One run of the harness: settings, the index, and the measurement loop."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.mode = "mirror" if args.mirror else "live"
        self.mirror = Mirror(args.mirror_data, work / "mirror-requests.log") if args.mirror else None
        self.index_url = self.mirror.index_url if self.mirror else default_index_url()
        self.python = python311()
        self.tools = [t for t in args.tools.split(",") if t]
        self.notes: list[str] = []
        if "pip-compile" in self.tools and self.python is None:
            self.notes.append("pip-compile not run: no CPython 3.11 interpreter with pip-tools found")
            self.tools.remove("pip-compile")

    # one measured invocation -------------------------------------------------------------
    def measure(self, inv: Invocation, cwd: Path, timeout: float, tool: str) -> dict[str, Any]:
        # Flush what the previous run wrote (pip-compile leaves gigabytes of dirty pages)
        # outside the timed region, so the writeback does not land on the next tool.
        os.sync()
        before = self.mirror.stats() if self.mirror else None
        result = run_measured(inv.cmd, cwd, tool_env(self.index_url, inv.extra_env), timeout)
        run: dict[str, Any] = {
            "wall_s": round(result.wall_s, 3),
            "cpu_s": round(result.cpu_s, 3),
            "peak_rss_mb": round(result.peak_rss_mb, 1),
            "ok": result.ok,
            "timed_out": result.timed_out,
            "returncode": result.returncode,
            "requests": None,
            "bytes": None,
        }
        own = ftlock_stats(result.stderr) if tool == "ftlock" else None
        if before is not None and self.mirror is not None:
            after = self.mirror.stats()
            run["requests"] = after["requests"] - before["requests"]
            run["bytes"] = after["bytes"] - before["bytes"]
            run["misses"] = after["misses"] - before["misses"]
            if own:
                run["self_reported"] = {"requests": own[0], "bytes": own[1]}
        elif own:
            run["requests"], run["bytes"] = own
        if not result.ok and not result.timed_out:
            lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
            run["error"] = redact_hosts(lines[-1][:300]) if lines else f"exit {result.returncode}"
        return run

    def invocation(self, tool: str, spec: BenchInput, req_in: Path, out: Path, cache: Path) -> Invocation:
        if tool == "ftlock":
            return ftlock_cmd(req_in, out, cache, self.index_url, spec.ftlock_args)
        if tool == "uv":
            return uv_cmd(req_in, out, cache, self.index_url)
        assert self.python is not None
        return pip_compile_cmd(self.python, req_in, out, cache, self.index_url)

    def timeout_for(self, tool: str) -> float:
        if tool == "pip-compile" and self.args.quick:
            return float(self.args.quick_limit)
        return float(self.args.timeout)

    # one input ---------------------------------------------------------------------------
    def run_input(self, spec: BenchInput, previous: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"title": spec.title, "requirements": list(spec.requirements)}
        if spec.needs_option and not ftlock_has_option(ftlock_base(), spec.needs_option):
            entry["status"] = f"skipped: not implemented (ftlock solve has no {spec.needs_option})"
            return entry
        folder = self.work / spec.key
        folder.mkdir(parents=True, exist_ok=True)
        req_in = spec.write_in(folder / "requirements.in")
        tools = list(self.tools)
        if spec.ftlock_args:  # E: ftlock first; uv then gets the inputs ftlock's lock names
            tools = [t for t in tools if t in ("ftlock", "uv")]
        entry["tools"] = {t: {} for t in tools}
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {t: {"cold": [], "warm": []} for t in tools}
        skip: dict[str, str] = {}
        slow = _previous_slow(previous, spec.key, self.args.quick_limit)
        if self.args.quick and "pip-compile" in tools and slow:
            skip["pip-compile"] = f"quick mode: its cold run took > {self.args.quick_limit:.0f} s on {slow}"
        lock_files: dict[str, Path] = {}
        for rep in range(self.args.reps):
            for tool in tools:
                if tool in skip:
                    continue
                if tool == "uv" and spec.ftlock_args:
                    lock = lock_files.get("ftlock")
                    if lock is None:
                        skip["uv"] = "ftlock produced no lock to take requirements from"
                        continue
                    req_in = folder / "requirements-uv.in"
                    req_in.write_text("".join(f"{r}\n" for r in locks.lock_inputs(lock.read_text())))
                cache = folder / f"cache-{tool}"
                shutil.rmtree(cache, ignore_errors=True)
                out = folder / f"{tool}-{rep}.txt"
                inv = self.invocation(tool, spec, req_in, out, cache)
                timeout = self.timeout_for(tool)
                cold = self.measure(inv, folder, timeout, tool)
                runs[tool]["cold"].append(cold)
                _progress(spec.key, tool, "cold", rep, cold)
                if cold["ok"]:
                    lock_files.setdefault(tool, out)
                    warm = self.measure(inv, folder, timeout, tool)
                    runs[tool]["warm"].append(warm)
                    _progress(spec.key, tool, "warm", rep, warm)
                elif cold["timed_out"]:
                    skip[tool] = f"cold run killed at {timeout:.0f} s"
                else:
                    skip[tool] = f"cold run failed: {cold.get('error')}"
                shutil.rmtree(cache, ignore_errors=True)  # pip's cache can be gigabytes
        for tool in tools:
            cold = report.summarize(runs[tool]["cold"], self.timeout_for(tool))
            warm = report.summarize(runs[tool]["warm"], self.timeout_for(tool))
            entry["tools"][tool] = {"cold": cold, "warm": warm, "runs": runs[tool]}
            if tool in skip and not runs[tool]["cold"]:
                entry["tools"][tool] = {"skipped": skip[tool]}
                if tool == "pip-compile" and slow:
                    entry["tools"][tool]["slow_on"] = slow  # the evidence, kept for the next run
            elif tool in skip and not cold.get("ok_runs"):
                entry["tools"][tool]["note"] = skip[tool]
        ft = entry["tools"].get("ftlock", {})
        entry["ratios"] = {
            phase: {
                other: report.ratio(ft.get(phase), entry["tools"].get(other, {}).get(phase))
                for other in ("uv", "pip-compile")
                if other in entry["tools"]
            }
            for phase in ("cold", "warm")
        }
        entry["locks"] = self.compare_locks(spec, folder, lock_files)
        entry["status"] = "ok"
        return entry

    # lock agreement ----------------------------------------------------------------------
    def compare_locks(self, spec: BenchInput, folder: Path, files: dict[str, Path]) -> dict[str, Any]:
        parsed = {tool: locks.parse_lock(path.read_text(encoding="utf-8")) for tool, path in files.items()}
        result: dict[str, Any] = {"packages": {t: len(p) for t, p in parsed.items()}, "notes": []}
        notes: list[str] = result["notes"]
        ft = parsed.get("ftlock")
        for other in ("uv", "pip-compile"):
            if ft is None or other not in parsed:
                continue
            diff = locks.compare_pins(ft, parsed[other])
            result[f"ftlock_vs_{other}"] = {
                "same_pins": diff.same_pins, "only_ftlock": diff.only_left,
                "only_other": diff.only_right, "changed": diff.changed,
                "hash_subset": diff.hash_subset, "hash_compared": diff.hash_compared,
            }
            line = f"ftlock vs {other}: {diff.describe('ftlock', other)}"
            if diff.hash_compared:
                line += f"; ftlock's hashes ⊆ {other}'s for {diff.hash_subset}/{diff.hash_compared} shared pins"
            notes.append(line)
        if self.args.no_consistency:
            return result
        checks = [("ftlock", "uv"), ("uv", "ftlock"), ("pip-compile", "uv")]
        for subject, checker in checks:
            if subject not in parsed or checker not in self.tools:
                continue
            if subject != "ftlock" and ft is not None and locks.compare_pins(ft, parsed[subject]).same_pins:
                continue  # same pins as ftlock: its check covers this lock too
            verdict = self.check(folder, parsed[subject], checker, subject)
            result[f"{subject}_checked_by_{checker}"] = {
                "ok": verdict.ok, "added": verdict.added, "changed": verdict.changed,
                "removed": verdict.removed, "error": verdict.error,
            }
            notes.append(f"{subject} lock: {verdict.describe()}")
        return result

    def check(self, folder: Path, pins: dict[str, locks.Pin], checker: str, subject: str) -> locks.Consistency:
        """Re-solve ``pins`` with ``checker`` for the same target and compare."""
        pins_in = folder / f"pins-{subject}.in"
        pins_in.write_text(locks.pins_text(pins), encoding="utf-8")
        out = folder / f"check-{subject}-by-{checker}.txt"
        cache = folder / f"check-cache-{checker}"
        if checker == "uv":
            inv = uv_cmd(pins_in, out, cache, self.index_url, hashes=False)
        else:
            inv = ftlock_cmd(pins_in, out, cache, self.index_url)
        result = run_measured(inv.cmd, folder, tool_env(self.index_url, inv.extra_env), self.args.timeout)
        if not result.ok:
            lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
            return locks.Consistency(checker, False, error=redact_hosts(" ".join(lines[-3:])[:400]) or "failed")
        return locks.consistency(checker, pins, locks.parse_lock(out.read_text(encoding="utf-8")))

    def close(self) -> None:
        if self.mirror:
            self.mirror.stop()


def _progress(key: str, tool: str, phase: str, rep: int, run: dict[str, Any]) -> None:
    state = "ok" if run["ok"] else ("killed" if run["timed_out"] else "FAILED")
    traffic = "" if run["requests"] is None else f" {run['requests']} req {run['bytes'] / 1e6:.1f} MB"
    misses = f" {run['misses']} mirror misses" if run.get("misses") else ""
    print(f"  {key} {tool:11s} {phase} #{rep + 1}: {state} {run['wall_s']:.2f}s "
          f"(CPU {run['cpu_s']:.2f}s) {run['peak_rss_mb']:.0f} MiB{traffic}{misses}",
          file=sys.stderr, flush=True)
    if run.get("error"):
        print(f"      {run['error']}", file=sys.stderr, flush=True)


def _previous_slow(previous: dict[str, Any], key: str, limit: float) -> str | None:
    """The date of a saved result (same mode) where pip-compile's cold run on ``key``
    was killed or took longer than ``limit`` seconds — quick mode then skips it."""
    for when, mode_result in previous.items():
        tools = mode_result.get("inputs", {}).get(key, {}).get("tools", {})
        pip_compile = tools.get("pip-compile", {})
        if pip_compile.get("slow_on"):  # skipped then, on the evidence of an earlier run
            return str(pip_compile["slow_on"])
        cold = pip_compile.get("cold") or {}
        if cold.get("timed_out") or cold.get("median_s", 0) > limit:
            return when
    return None


def load_previous(mode: str) -> dict[str, Any]:
    """Saved results of ``mode`` by date, newest first."""
    found: dict[str, Any] = {}
    for path in sorted(RESULTS_DIR.glob("*.json"), reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if mode in data:
            found[path.stem] = data[mode]
    return found


def speed_probe_ms() -> float:
    """This machine's speed now: the best of three runs of a fixed pure-Python loop (3
    million additions), in ms.  Shared machines drift (221 ms to 348 ms within one evening
    of 2026-12-01); ftlock is CPU-bound and uv is not, so ratios from runs whose probes
    differ much are not comparable."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def machine_facts(pip_python: str | None) -> dict[str, str]:
    facts = {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}, glibc {platform.libc_ver()[1] or '?'}",
    }
    facts.update(versions(pip_python))
    facts["ftlock_commit"] = _git_commit()
    return facts


def _git_commit() -> str:
    """The commit ftlock was measured at, ``+dirty`` when src/ has uncommitted edits:
    ftlock changes quickly, so a number without its commit is not comparable."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", default="A,B,C,D,E", help="comma-separated keys (A–E)")
    parser.add_argument("--reps", type=int, default=3, help="cold+warm pairs per tool (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="1 repetition; pip-compile gets --quick-limit seconds or is skipped "
                             "where a saved result shows it takes longer")
    parser.add_argument("--quick-limit", type=float, default=120.0)
    parser.add_argument("--mirror", action="store_true", help="use the recorded local mirror")
    parser.add_argument("--mirror-data", type=Path, default=MIRROR_DATA)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    parser.add_argument("--no-consistency", action="store_true", help="skip the lock re-solve checks")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/ (results JSON only)")
    parser.add_argument("--keep", type=Path, default=None, help="keep locks and logs in this folder")
    parser.add_argument("--render-only", metavar="YYYY-MM-DD", default=None,
                        help="measure nothing: redraw the chart and docs tables from a saved result")
    args = parser.parse_args(argv)
    if args.render_only:
        stored = json.loads((RESULTS_DIR / f"{args.render_only}.json").read_text(encoding="utf-8"))
        for stored_mode, stored_results in stored.items():
            publish(stored_results, stored_mode, docs=not args.no_docs)
        return 0
    if args.quick:
        args.reps = 1
    keys = parse_keys(args.inputs)

    today = date.today().isoformat()
    mode = "mirror" if args.mirror else "live"
    previous = load_previous(mode)
    work = args.keep or Path(tempfile.mkdtemp(prefix="ftlock-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    compile_ftlock()
    bench = Bench(args, work)
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": today,
        "mode": mode,
        "quick": args.quick,
        "reps": args.reps,
        "machine": {**machine_facts(bench.python), "speed_probe_ms_before": str(speed_probe_ms())},
        "index": "recorded mirror (127.0.0.1)" if args.mirror else "the default index from pip's configuration",
        "inputs": {},
        "notes": bench.notes,
    }
    print(f"ftlock benchmark, {mode} index, {args.reps} rep(s), work dir {work}", file=sys.stderr)
    try:
        for key in keys:
            print(f"{key}: {INPUTS[key].title}", file=sys.stderr, flush=True)
            results["inputs"][key] = bench.run_input(INPUTS[key], previous)
    finally:
        bench.close()
        results["machine"]["speed_probe_ms_after"] = str(speed_probe_ms())
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    if args.mirror:
        results["notes"].append(
            "mirror mode: every wheel advertises PEP 658 metadata, so all three tools read the "
            "same small .metadata files; pip-compile still downloads each pinned wheel (pip "
            "prepares what it would install) and takes hashes from the mirror's JSON API."
        )

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_json = RESULTS_DIR / f"{today}.json"
    saved: dict[str, Any] = {}
    if out_json.exists():
        saved = json.loads(out_json.read_text(encoding="utf-8"))
    saved[mode] = results
    out_json.write_text(redact_hosts(json.dumps(saved, indent=1, sort_keys=True)) + "\n", encoding="utf-8")

    publish(results, mode, docs=not args.no_docs)
    print(f"results: {out_json.relative_to(REPO_ROOT)}; took {results['elapsed_s']:.0f} s", file=sys.stderr)
    return 0


def publish(results: dict[str, Any], mode: str, docs: bool) -> None:
    """Print the markdown block; with ``docs``, also redraw the chart, put the block
    between this mode's markers in docs/benchmarks.md and a summary between the README's."""
    chart_rel = f"benchmarks-{mode}.png"
    chart_ok = docs and report.draw_chart(results, DOCS_MD.parent / chart_rel)
    block = redact_hosts(report.render_markdown(results, chart_rel if chart_ok else None))
    print(block)
    if docs:
        DOCS_MD.parent.mkdir(parents=True, exist_ok=True)
        text = DOCS_MD.read_text(encoding="utf-8") if DOCS_MD.exists() else "# Benchmarks\n"
        DOCS_MD.write_text(report.replace_between_markers(text, f"bench-results:{mode}", block),
                           encoding="utf-8")
        # the README carries a short summary where it has this mode's markers
        readme = DOCS_MD.parent.parent / "README.md"
        marker = f"bench-summary:{mode}"
        if readme.exists() and f"<!-- {marker}:begin -->" in (current := readme.read_text(encoding="utf-8")):
            summary = redact_hosts(
                report.render_summary(results, f"docs/{chart_rel}" if chart_ok else None)
            )
            readme.write_text(report.replace_between_markers(current, marker, summary), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
