"""Lock real requirement sets with ftlock and with uv, one after the other, and compare.

    python benchmarks/corpus.py                      # every set, three configurations
    python benchmarks/corpus.py --config 3.11        # one configuration
    python benchmarks/corpus.py --only qlora --only unsloth
    python benchmarks/corpus.py --update-docs        # also rewrite the report in docs/benchmarks.md
    python benchmarks/corpus.py --report-only benchmarks/results/corpus-DATE.json --update-docs

The sets are the public fine-tuning requirement files in ``../shared/corpus/`` (each names
its source repository and commit in its first line, with an approximate date such as
``(~2023-07)``).  Configurations:

* ``3.11``: CPython 3.11, linux x86_64 (manylinux_2_28), today's index;
* ``3.10``: the same on CPython 3.10;
* ``dated``: CPython 3.11 with ``--exclude-newer`` at the end of the month (or year) the
  file's header names — the index as the set's authors saw it.

Both tools run cold (a fresh cache each), on the same single index (pip's configured
primary index; the machine's extra indexes and constraints are left out, as uv ignores
them), with a time limit per run.  Per set the verdict is one of:

* ``both lock`` — then: whether uv, given ftlock's exact pins, changes nothing; how many
  lock lines have no ``--hash``; the time ratio ftlock/uv;
* ``both refuse``;
* ``ftlock refuses (rule …)`` — a knowledge rule names the broken combination;
* ``ftlock fails`` — uv locks, ftlock does not: a bug to fix;
* ``only ftlock locks``.

Results go to ``benchmarks/results/corpus-<date>.json``; ``--update-docs`` puts the
report between ``<!-- corpus-report -->`` markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import bootstrap

    bootstrap()

from benchmarks import locks  # noqa: E402
from benchmarks.common import (  # noqa: E402
    DOCS_MD,
    REPO_ROOT,
    RESULTS_DIR,
    default_index_url,
    redact_hosts,
    tool_env,
)
from benchmarks.tools import FTLOCK_PLATFORM, UV_PLATFORM, compile_ftlock, ftlock_base, venv_bin  # noqa: E402

CORPUS = REPO_ROOT.parent / "shared" / "corpus"
CONFIGS = ("3.11", "3.10", "dated")
MARK_BEGIN, MARK_END = "<!-- corpus-report -->", "<!-- /corpus-report -->"
_RULE = re.compile(r"knowledge rule ([\w.\-]+)")


@dataclass
class Run:
    ok: bool
    seconds: float
    lock: str = ""
    error: str = ""  # last line of stderr when it failed (hosts redacted)
    timed_out: bool = False


@dataclass
class SetResult:
    name: str
    config: str
    verdict: str
    ftlock: dict = field(default_factory=dict)
    uv: dict = field(default_factory=dict)
    ratio: float | None = None
    packages: int = 0
    consistent: str = ""
    unhashed: int = 0
    exclude_newer: str | None = None


def file_date(path: Path) -> str | None:
    """The end of the month or year the header's ``(~YYYY-MM)`` / ``(~YYYY)`` /
    ``(~YYYY-YYYY)`` names, as YYYY-MM-DD; None when it names none."""
    header = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    found = re.search(r"~(\d{4})(?:-(\d{4})|-(\d{2}))?(?!\d)", header)
    if not found:
        return None
    year = int(found.group(2) or found.group(1))
    month = int(found.group(3)) if found.group(3) else 12
    return date(year, month, calendar.monthrange(year, month)[1]).isoformat()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return redact_hosts(lines[-1])[:300] if lines else ""


def run_tool(cmd: list[str], cwd: Path, env: dict[str, str], out: Path, limit: float) -> Run:
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return Run(False, limit, error=f"killed after {limit:.0f} s", timed_out=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        return Run(False, seconds, error=_last_line(done.stderr or done.stdout))
    return Run(True, seconds, lock=out.read_text(encoding="utf-8"))


def ftlock_run(req: Path, python: str, cutoff: str | None, work: Path, index: str, limit: float) -> Run:
    out = work / "ftlock.txt"
    cmd = [
        *ftlock_base(), "solve", "-r", str(req), "--python", python, "--platform", FTLOCK_PLATFORM,
        "--index-url", index, "--cache-dir", str(work / "ftlock-cache"), "-q", "-o", str(out),
    ]
    if cutoff:
        cmd += ["--exclude-newer", cutoff]
    return run_tool(cmd, req.parent, tool_env(index), out, limit)


def uv_run(req: Path, python: str, cutoff: str | None, work: Path, index: str, limit: float, out_name: str = "uv.txt") -> Run:
    out = work / out_name
    cmd = [
        venv_bin("uv"), "pip", "compile", str(req), "--generate-hashes", "--no-config",
        "--python-version", python, "--python-platform", UV_PLATFORM, "--index-url", index,
        "--cache-dir", str(work / "uv-cache"), "-q", "-o", str(out),
    ]
    if cutoff:
        cmd += ["--exclude-newer", cutoff]
    return run_tool(cmd, req.parent, tool_env(index), out, limit)


def unhashed_lines(lock: str) -> int:
    return sum(1 for pin in locks.parse_lock(lock).values() if not pin.hashes)


def lock_set(req: Path, config: str, index: str, limit: float) -> SetResult:
    python = "3.10" if config == "3.10" else "3.11"
    cutoff = file_date(req) if config == "dated" else None
    with tempfile.TemporaryDirectory(prefix="ftlock-corpus-") as tmp:
        work = Path(tmp)
        ft = ftlock_run(req, python, cutoff, work, index, limit)
        uv = uv_run(req, python, cutoff, work, index, limit)
        result = SetResult(req.stem, config, "", exclude_newer=cutoff)
        result.ftlock = {"ok": ft.ok, "seconds": round(ft.seconds, 2), "error": ft.error}
        result.uv = {"ok": uv.ok, "seconds": round(uv.seconds, 2), "error": uv.error}
        if ft.ok and uv.ok:
            result.verdict = "both lock"
            pins = locks.parse_lock(ft.lock)
            result.packages = len(pins)
            result.ratio = round(ft.seconds / uv.seconds, 2) if uv.seconds else None
            result.unhashed = unhashed_lines(ft.lock)
            again_in = work / "ftlock-pins.in"
            again_in.write_text(locks.pins_text(pins))
            again = uv_run(again_in, python, None, work, index, limit, out_name="uv-again.txt")
            if again.ok:
                result.consistent = locks.consistency("uv", pins, locks.parse_lock(again.lock)).describe()
            else:
                result.consistent = f"NOT confirmed by uv: {again.error}"
        elif not ft.ok and not uv.ok:
            result.verdict = "both refuse"
        elif not ft.ok:
            rule = _RULE.search(ft.error)
            result.verdict = f"ftlock refuses (rule {rule.group(1)})" if rule else "ftlock fails"
        else:
            result.verdict = "only ftlock locks"
            result.packages = len(locks.parse_lock(ft.lock))
            result.unhashed = unhashed_lines(ft.lock)
    return result


def report(results: list[SetResult]) -> str:
    """Markdown: one table per configuration, then the summary line of each."""
    out: list[str] = []
    for config in dict.fromkeys(r.config for r in results):
        rows = [r for r in results if r.config == config]
        title = {
            "3.11": "CPython 3.11, linux x86_64",
            "3.10": "CPython 3.10, linux x86_64",
            "dated": "CPython 3.11, linux x86_64, `--exclude-newer` at each file's date",
        }[config]
        out += [f"#### {title}", "",
                "| set | verdict | pins | ftlock s | uv s | ftlock/uv | uv on ftlock's pins | unhashed |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            why = ""
            if r.verdict != "both lock":
                errors = [f"ftlock: {r.ftlock['error']}" if r.ftlock.get("error") else "",
                          f"uv: {r.uv['error']}" if r.uv.get("error") else ""]
                why = " — " + "; ".join(e for e in errors if e).replace("|", "\\|")
            cutoff = f" (≤ {r.exclude_newer})" if r.exclude_newer else ""
            out.append(
                f"| {r.name}{cutoff} | {r.verdict}{why} | {r.packages or ''} | {r.ftlock['seconds']} | "
                f"{r.uv['seconds']} | {r.ratio if r.ratio is not None else ''} | "
                f"{r.consistent.replace('|', '/')} | {r.unhashed if r.verdict == 'both lock' else ''} |"
            )
        both = [r for r in rows if r.ratio is not None]
        verdicts: dict[str, int] = {}
        for r in rows:
            key = "ftlock refuses (rule)" if r.verdict.startswith("ftlock refuses") else r.verdict
            verdicts[key] = verdicts.get(key, 0) + 1
        median = statistics.median(r.ratio for r in both) if both else None  # type: ignore[type-var]
        slowest = max((r.ftlock["seconds"] for r in rows), default=0)
        out += ["", f"{len(rows)} sets: " + ", ".join(f"{n} {v}" for v, n in verdicts.items())
                + (f"; median ftlock/uv {median:.2f}x" if median is not None else "")
                + f"; slowest ftlock run {slowest:.1f} s; "
                + f"{sum(1 for r in both if r.consistent.startswith('consistent'))}/{len(both)} confirmed by uv; "
                + f"{sum(r.unhashed for r in both)} unhashed lines.", ""]
    return "\n".join(out)


def update_docs(text: str) -> None:
    doc = DOCS_MD.read_text(encoding="utf-8")
    block = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
    if MARK_BEGIN in doc and MARK_END in doc:
        head, _, rest = doc.partition(MARK_BEGIN)
        _, _, tail = rest.partition(MARK_END)
        doc = head + block + tail
    else:
        doc += "\n## Real requirement sets (`benchmarks/corpus.py`)\n\n" + block + "\n"
    DOCS_MD.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", choices=CONFIGS, help="repeatable; default: all")
    parser.add_argument("--only", action="append", help="set name (file stem); repeatable")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per tool run (default 300)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument("--report-only", type=Path, metavar="JSON", help="re-render a saved run's report")
    args = parser.parse_args(argv)
    if args.report_only:
        stored = [SetResult(**r) for r in json.loads(args.report_only.read_text(encoding="utf-8"))]
        text = report(stored)
        print(text)
        if args.update_docs:
            update_docs(text)
        return 0
    files = sorted(p for p in args.corpus.glob("*.txt") if not args.only or p.stem in args.only)
    # a file another set includes with -r is locked through that set, not alone
    included = {Path(m).name for p in files for m in re.findall(r"^-r\s+(\S+)", p.read_text(), re.M)}
    files = [p for p in files if p.name not in included]
    if not files:
        print(f"no requirement sets in {args.corpus}", file=sys.stderr)
        return 2
    compile_ftlock()
    index = default_index_url()
    results: list[SetResult] = []
    for config in args.config or CONFIGS:
        for path in files:
            result = lock_set(path, config, index, args.limit)
            results.append(result)
            print(
                f"{config:6} {path.stem:36} {result.verdict:28} ftlock {result.ftlock['seconds']:7.2f}s "
                f"uv {result.uv['seconds']:7.2f}s {result.ratio or '':>6} {result.consistent[:60]}",
                flush=True,
            )
            if result.verdict != "both lock" and result.ftlock.get("error"):
                print(f"{'':8}ftlock: {result.ftlock['error']}", flush=True)
    text = report(results)
    print("\n" + text)
    RESULTS_DIR.mkdir(exist_ok=True)
    saved = RESULTS_DIR / f"corpus-{date.today().isoformat()}.json"
    saved.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    print(f"saved {saved.relative_to(REPO_ROOT)}")
    if args.update_docs:
        update_docs(text)
    return 0 if all(not r.verdict.startswith("ftlock fails") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
