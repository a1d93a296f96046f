"""``ftlock kb prove``: demonstrate a knowledge rule by running it.

A rule's ``example`` names a bad and a good set of pins; its ``probe`` is a few lines of
Python that should fail on the bad set with the rule's symptom and pass on the good one.
For each side the pins are solved into a hash-pinned lock for this machine (the bad side
with the rule itself turned off, or the solver would refuse it), installed into a throwaway
environment with the same machinery as ``verify``, and the probe runs there:

* ``proven`` — bad fails with the symptom (``probe_expect`` appears in its output, or
  without one, the exception its last line names appears in the rule's ``symptom``) and
  good passes;
* ``not reproduced`` — anything else, saying which side did what;
* ``needs GPU`` — the rule concerns a GPU target and this machine has none that fits;
* ``no probe`` — the rule carries no probe yet;
* ``error`` — an example could not be solved or installed here.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ftlock.errors import FtlockError, NoSolution
from ftlock.knowledge.loader import LoadedRule
from ftlock.verify import env as envmod
from ftlock.verify import install as installmod
from ftlock.verify.report import Gpu

PROVEN, NOT_REPRODUCED, NEEDS_GPU, NO_PROBE, ERROR = "proven", "not reproduced", "needs GPU", "no probe", "error"
PROBE_TIMEOUT = 600.0


@dataclass(frozen=True)
class ProveOptions:
    python: str | None = None  # --python PATH (default: this interpreter)
    installer: str = "auto"
    cache_dir: Path | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    allow_insecure_hosts: tuple[str, ...] = ()
    exclude_newer: datetime | None = None
    rules: tuple[Path, ...] = ()  # extra rule files, so examples solve with them
    keep: Path | None = None  # keep each environment under DIR/<rule>/<side>
    timeout: float = PROBE_TIMEOUT


@dataclass
class Side:
    pins: tuple[str, ...]
    ok: bool | None = None  # the probe passed; None: it did not run
    line: str = ""  # the probe's error line, or why it did not run
    output: str = ""
    seconds: float = 0.0
    locked: list[str] = field(default_factory=list)  # name==version installed

    def to_json(self) -> dict[str, object]:
        return {"pins": list(self.pins), "probe": None if self.ok is None else ("pass" if self.ok else "fail"),
                "detail": self.line, "seconds": round(self.seconds, 1), "locked": self.locked}


@dataclass
class Proof:
    rule: str
    file: str
    status: str
    detail: str = ""
    bad: Side | None = None
    good: Side | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule, "file": self.file, "result": self.status, "detail": self.detail,
            "seconds": round(self.seconds, 1),
            "bad": self.bad.to_json() if self.bad else None,
            "good": self.good.to_json() if self.good else None,
        }


def gpu_facts(gpus: Sequence[Gpu]):
    """TargetFacts of this machine's first GPU that the catalog knows, or None."""
    from ftlock.knowledge.engine import TargetFacts
    from ftlock.gpu.probe import match

    for gpu in gpus:
        card = match(gpu.name, gpu.compute_capability)
        if card is not None:
            return TargetFacts.build((), card.name)
    return None


def needs_gpu(item: LoadedRule, gpus: Sequence[Gpu]) -> str | None:
    """Why this machine cannot prove a GPU rule, or None when it can (or the rule needs none)."""
    rule = item.rule
    if not rule.needs_gpu:
        return None
    if not gpus:
        return "the rule concerns a GPU target and this machine has no GPU"
    facts = gpu_facts(gpus)
    if facts is None:
        return f"this machine's GPU ({gpus[0].name}) is not in the GPU catalog"
    from dataclasses import replace

    facts = replace(facts, features=frozenset(rule.example.features))
    if not facts.satisfies(rule.when):
        return f"the rule's condition does not hold for this machine's {gpus[0].name}"
    return None


def symptom_matches(item: LoadedRule, output: str, line: str) -> bool:
    rule = item.rule
    if rule.probe_expect is not None:
        return rule.probe_expect in output
    match = re.match(r"^([A-Za-z_][\w.]*)(?::|$)", line)
    if not match:
        return False
    name = match.group(1).rsplit(".", 1)[-1]
    return name in rule.symptom


class Prover:
    """Proves rules one after the other, sharing the interpreter, installer and wheel cache."""

    def __init__(self, options: ProveOptions, gpus: Sequence[Gpu], on_step: Callable[[str], None] | None = None) -> None:
        from ftlock.verify.runner import cache_root

        self.options = options
        self.gpus = list(gpus)
        self.on_step = on_step or (lambda text: None)
        self.interpreter = envmod.find_interpreter(None, options.python) if options.python else envmod.Interpreter(
            *_this_interpreter()
        )
        self.installer = installmod.choose(options.installer, envmod.uv_path(), cache_root(options.cache_dir), pylock=False)

    def prove(self, item: LoadedRule) -> Proof:
        started = time.perf_counter()
        rule = item.rule
        proof = Proof(rule.id, item.file, NO_PROBE)
        if rule.probe is None:
            proof.detail = "the rule has no probe"
            return proof
        reason = needs_gpu(item, self.gpus)
        if reason is not None:
            proof.status, proof.detail = NEEDS_GPU, reason
            return proof
        temp = Path(tempfile.mkdtemp(prefix="ftlock-prove-"))
        try:
            proof.bad = self._side(item, "bad", temp)
            proof.good = self._side(item, "good", temp)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        proof.status, proof.detail = judge(item, proof.bad, proof.good)
        proof.seconds = time.perf_counter() - started
        return proof

    def _side(self, item: LoadedRule, side: str, temp: Path) -> Side:
        rule = item.rule
        pins = tuple(rule.example.bad if side == "bad" else rule.example.good)
        result = Side(pins)
        started = time.perf_counter()
        self.on_step(f"{rule.id}: {side}: solving {' '.join(pins)}")
        try:
            lock_text, result.locked = self._lock(item, pins, bad=side == "bad")
        except FtlockError as exc:
            result.line = f"cannot solve the {side} example here: {exc}"
            return result
        work = temp / side
        work.mkdir()
        lock = work / "requirements.txt"
        lock.write_text(lock_text, encoding="utf-8")
        venv = (self.options.keep / rule.id / side) if self.options.keep else work / "venv"
        if self.options.keep and venv.exists():
            shutil.rmtree(venv)
        self.on_step(f"{rule.id}: {side}: installing {len(result.locked)} packages")
        try:
            python = envmod.create_venv(self.interpreter, venv, self.installer.kind, self.installer.exe)
        except FtlockError as exc:
            result.line = str(exc)
            return result
        installed = installmod.install(self.installer, python, lock)
        if not installed.ok:
            result.line = f"the {side} example does not install: {installed.line}"
            return result
        scratch = work / "scratch"
        scratch.mkdir()
        self.on_step(f"{rule.id}: {side}: running the probe")
        outcome = envmod.run_python(
            python, rule.probe or "", env=envmod.child_env(venv, scratch), cwd=scratch, timeout=self.options.timeout
        )
        result.ok, result.line, result.output = outcome.ok, outcome.line.replace(str(venv), "<env>"), outcome.output
        result.seconds = time.perf_counter() - started
        return result

    def _lock(self, item: LoadedRule, pins: tuple[str, ...], *, bad: bool) -> tuple[str, list[str]]:
        from ftlock.lock.requirements_txt import render
        from ftlock.resolve.solve import SolveRequest, solve

        rule = item.rule
        major, minor, _ = self.interpreter.version
        request = SolveRequest(
            requirements=(*pins, *rule.probe_with),
            python=f"{major}.{minor}",
            index_url=self.options.index_url,
            extra_index_urls=self.options.extra_index_urls,
            allow_insecure_hosts=self.options.allow_insecure_hosts,
            exclude_newer=self.options.exclude_newer,
            cache_dir=self.options.cache_dir,
            features=tuple(rule.example.features),
            rules=self.options.rules,
            ignore_rules=(rule.id,) if bad else (),
        )
        try:
            resolution = solve(request)
        except NoSolution:
            if not bad:
                raise
            # another rule forbids the bad set too: solve it with the overlay off
            from dataclasses import replace

            resolution = solve(replace(request, ignore_rules=(), no_knowledge=True))
        text = render(resolution, f"ftlock kb prove {rule.id} ({'bad' if bad else 'good'} example)")
        return text, [f"{p.name}=={p.version}" for p in resolution.packages]


def _this_interpreter() -> tuple[str, tuple[int, int, int]]:
    import sys

    return sys.executable, (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)


def judge(item: LoadedRule, bad: Side, good: Side) -> tuple[str, str]:
    if bad.ok is None:
        return ERROR, bad.line
    if good.ok is None:
        return ERROR, good.line
    if bad.ok:
        return NOT_REPRODUCED, "the bad example passes the probe" + (f"; good: {good.line or 'passes'}" if not good.ok else "")
    if not symptom_matches(item, bad.output, bad.line):
        return NOT_REPRODUCED, f"the bad example fails, but not with the rule's symptom: {bad.line}"
    if not good.ok:
        return NOT_REPRODUCED, f"the good example fails too: {good.line}"
    return PROVEN, f"bad: {bad.line}"
