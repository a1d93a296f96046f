"""``ftlock verify LOCK``: plan, install, check, report.

The order is that of a user's first day with the lock: make an environment for the lock's
Python, install the lock exactly as documented, ``pip check``, import everything, run the
first training step.  A failed install stops there (the rows after it are "not run").
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ftlock.errors import FtlockError
from ftlock.resolve.target import PlatformTarget, PythonTarget, Target
from ftlock.verify import env as envmod
from ftlock.verify import imports as importsmod
from ftlock.verify import install as installmod
from ftlock.verify import smoke as smokemod
from ftlock.verify.plan import LockPlan, estimate, read_plan
from ftlock.verify.report import FAIL, NOT_RUN, PASS, SKIP, Gpu, Machine, Report, Row


class Ui(Protocol):
    def note(self, text: str) -> None: ...
    def install_started(self, packages: int) -> None: ...
    def install_line(self, line: str) -> None: ...
    def install_done(self) -> None: ...
    def check_started(self, name: str) -> None: ...
    def check_done(self, row: Row) -> None: ...


class QuietUi:
    def note(self, text: str) -> None:
        pass

    def install_started(self, packages: int) -> None:
        pass

    def install_line(self, line: str) -> None:
        pass

    def install_done(self) -> None:
        pass

    def check_started(self, name: str) -> None:
        pass

    def check_done(self, row: Row) -> None:
        pass


@dataclass(frozen=True)
class VerifyOptions:
    python: str | None = None  # --python PATH
    keep: Path | None = None  # --keep DIR: the environment stays there
    installer: str = "auto"  # auto | uv | pip
    cache_dir: Path | None = None
    model: str | None = None  # --model: the tiny model's family (default: the lock's)
    dry_run: bool = False
    import_timeout: float = importsmod.IMPORT_TIMEOUT
    smoke_timeout: float = smokemod.SMOKE_TIMEOUT
    smoke: bool = True


def detect_gpus() -> list[Gpu]:
    """This machine's NVIDIA GPUs (nvidia-smi); none when there is no driver."""
    from ftlock.gpu.probe import ProbeError, probe

    try:
        return [Gpu(g.name, g.driver, g.compute_capability) for g in probe()]
    except (ProbeError, OSError):
        return []


def cache_root(cache_dir: Path | None) -> Path:
    from ftlock.index.cache import default_cache_dir

    return (cache_dir or default_cache_dir()).absolute() / "verify"  # venvs run from elsewhere


def machine_target(interpreter: envmod.Interpreter) -> Target:
    """The lock's Python as this interpreter has it, on this machine's platform: what the
    installer chooses files for."""
    major, minor, _ = interpreter.version
    return Target(PythonTarget((major, minor)), PlatformTarget.running())


@dataclass
class Prepared:
    plan: LockPlan
    interpreter: envmod.Interpreter
    installer: installmod.Installer
    gpus: list[Gpu]


def prepare(lock: Path, options: VerifyOptions) -> Prepared:
    """Everything decided before a byte is downloaded; CannotVerify when this machine cannot."""
    plan = read_plan(lock)
    if options.keep is not None and options.keep.exists() and any(options.keep.iterdir()):
        raise envmod.CannotVerify(f"--keep {options.keep}: exists and is not empty; give a new directory")
    envmod.check_platform(plan.platform)
    interpreter = envmod.find_interpreter(plan.python, options.python)
    installer = installmod.choose(
        options.installer, envmod.uv_path(), cache_root(options.cache_dir), pylock=plan.lock.format == "pylock"
    )
    return Prepared(plan, interpreter, installer, detect_gpus())


def verify(lock: Path, options: VerifyOptions, ui: Ui | None = None) -> Report:
    ui = ui or QuietUi()
    started = time.perf_counter()
    ready = prepare(lock, options)
    plan, interpreter, installer = ready.plan, ready.interpreter, ready.installer
    download = estimate(plan, machine_target(interpreter), cache_dir=options.cache_dir)
    report = Report(
        lock=str(lock),
        sha256=plan.sha256,
        target=plan.target_text,
        installer=f"{installer.describe()}: {installmod.shown_command(installer, plan.path)}",
        machine=Machine.here(interpreter.version_text, ready.gpus),
        download=download.to_json() | {"shown": download.describe()},
        dry_run=options.dry_run,
    )
    ui.note(f"lock: {plan.path} ({len(plan.lock.packages)} packages, {plan.target_text})")
    ui.note(f"python: {interpreter.describe()}")
    ui.note(f"install: {report.installer} (wheel cache {installer.cache})")
    ui.note(f"download: {download.describe()}")
    ui.note(f"machine: {report.machine.describe()}")
    if options.dry_run:
        report.seconds = time.perf_counter() - started
        return report

    temp = Path(tempfile.mkdtemp(prefix="ftlock-verify-"))
    venv = options.keep.resolve() if options.keep else temp / "venv"
    scratch = temp / "scratch"
    scratch.mkdir()
    try:
        _run(report, ready, options, venv, scratch, ui)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        if options.keep:
            report.notes.append(f"environment kept at {venv}")
    report.seconds = time.perf_counter() - started
    return report


def _add(report: Report, ui: Ui, row: Row) -> Row:
    report.rows.append(row)
    ui.check_done(row)
    return row


def _run(report: Report, ready: Prepared, options: VerifyOptions, venv: Path, scratch: Path, ui: Ui) -> None:
    plan, installer = ready.plan, ready.installer
    name = f"environment: CPython {ready.interpreter.version_text} venv"
    ui.check_started(name)
    t0 = time.perf_counter()
    try:
        python = envmod.create_venv(ready.interpreter, venv, installer.kind, installer.exe)
    except FtlockError as exc:
        _add(report, ui, Row(name, FAIL, time.perf_counter() - t0, str(exc)))
        _not_run(report, ui, ["install", "pip check", "imports", "smoke checks"])
        return
    _add(report, ui, Row(name, PASS, time.perf_counter() - t0))

    name = f"install ({installer.kind})"
    ui.check_started(name)
    ui.install_started(len(plan.lock.packages))
    try:
        result = installmod.install(installer, python, plan.path, on_line=ui.install_line)
    finally:
        ui.install_done()
    if not result.ok:
        _add(report, ui, Row(name, FAIL, result.seconds, result.line))
        _not_run(report, ui, ["pip check", "imports", "smoke checks"])
        return
    site = envmod.site_packages(python)
    dists = importsmod.installed(site)
    wrong = _not_as_locked(plan, dists)
    if wrong:
        _add(report, ui, Row(name, FAIL, result.seconds, "; ".join(wrong[:3]) + (f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else "")))
    else:
        _add(report, ui, Row(name, PASS, result.seconds, f"{len(plan.lock.packages)} packages as locked"))

    name = f"pip check ({installer.kind})" if installer.kind == "uv" else "pip check"
    ui.check_started(name)
    ok, seconds, problems = installmod.pip_check(installer, python)
    _add(report, ui, Row(name, PASS if ok else FAIL, seconds, problems))

    child = envmod.child_env(venv, scratch)
    gpu = bool(ready.gpus)
    modules = importsmod.collect(site)
    ui.check_started(f"import {len(modules)} modules")
    t0 = time.perf_counter()
    results = importsmod.import_all(python, modules, env=child, cwd=scratch, gpu=gpu, timeout=options.import_timeout)
    wall = time.perf_counter() - t0
    report.modules = [
        {"module": r.module.name, "distributions": list(r.module.dists), "result": r.status,
         "seconds": round(r.seconds, 2), "detail": r.detail}
        for r in results
    ]
    passed = [r for r in results if r.status == "pass"]
    failed = [r.module.name for r in results if r.status == "fail"]
    skipped = len(results) - len(passed) - len(failed)
    detail = ", ".join(
        part for part in (
            f"{len(failed)} failed ({', '.join(failed[:3])}{' …' if len(failed) > 3 else ''})" if failed else "",
            f"{skipped} skipped" if skipped else "",
        ) if part
    )
    _add(report, ui, Row(f"import {len(passed)} of {len(results)} modules", FAIL if failed else PASS, wall, detail))
    for r in results:
        owner = f" ({', '.join(r.module.dists)})" if r.module.dists and r.module.dists != (r.module.name,) else ""
        if r.status == "fail":
            _add(report, ui, Row(f"import {r.module.name}{owner}", FAIL, r.seconds, r.detail.replace(str(venv), "<venv>")))
        elif r.status == "skip":
            _add(report, ui, Row(f"import {r.module.name}{owner}", SKIP, 0.0, r.detail))

    if not options.smoke:
        return
    model_type, note = smokemod.model_type_for(options.model or plan.model)
    if note:
        report.notes.append(note)
    names = set(dists)
    for check in smokemod.applicable(smokemod.checks(model_type), names):
        if check.gpu and not gpu:
            _add(report, ui, Row(check.name, SKIP, 0.0, "no GPU on this machine"))
            continue
        ui.check_started(check.name)
        outcome = envmod.run_python(python, check.code, env=child, cwd=scratch, timeout=options.smoke_timeout)
        _add(report, ui, Row(check.name, PASS if outcome.ok else FAIL, outcome.seconds, outcome.line.replace(str(venv), "<venv>")))
    if options.keep:
        smokemod.write_scripts(smokemod.applicable(smokemod.checks(model_type), names), venv / "ftlock-checks")


def _not_as_locked(plan: LockPlan, dists: dict[str, tuple[str, Path]]) -> list[str]:
    """Locked packages the environment lacks or has at another version."""
    from packaging.version import InvalidVersion, Version

    wrong: list[str] = []
    for name, entry in plan.lock.packages.items():
        found = dists.get(name)
        if found is None:
            wrong.append(f"{entry.shown} is not installed")
            continue
        if entry.version is None or entry.url:
            continue
        try:
            same = Version(found[0]) == Version(entry.version)
        except InvalidVersion:
            same = found[0] == entry.version
        if not same:
            wrong.append(f"{name} {found[0]} is installed, the lock pins {entry.version}")
    return wrong


def _not_run(report: Report, ui: Ui, names: list[str]) -> None:
    for name in names:
        _add(report, ui, Row(name, NOT_RUN))
