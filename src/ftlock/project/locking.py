"""The team lock lifecycle behind ``ftlock lock``: one lock per configured target, minimal
re-locks, ``--upgrade``/``--upgrade-package`` and the pre-merge ``--check``.

Re-locking reads the current lock and hands its pins to the solver as *preferred* versions:
the solver tries each one first while it still fits, so a changed input moves only the
packages it forces.  ``--upgrade-package NAME`` drops NAME's preference and pins it, for this
solve only, to the version a free solve picks (or to ``NAME==VER``); the other pins stay
preferred, so only what the new version forces moves with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock._values import replace
from ftlock.untrusted import parse_pep508
from ftlock.project.config import Project, ProjectTarget, absolute_path_requirement
from ftlock.errors import FtlockError, InputFileError, NoSolution, UsageError
from ftlock.project.fingerprint import explain, fingerprint, header_lines, input_items
from ftlock.lock.lockfile import LockFile, read_lock, recorded_entries
from ftlock.resolve.session import Session
from ftlock.resolve.solve import LockedPackage, Resolution, SolveRequest, solve


@dataclass(frozen=True)
class RunOptions:
    """How to run (never recorded in the lock)."""

    cache_dir: Path | None = None
    no_cache: bool = False
    offline: bool = False
    refresh: bool = False
    no_build: bool = False
    allow_insecure_hosts: tuple[str, ...] = ()
    concurrency: int = 16
    timeout: float = 30.0
    retries: int = 3
    page_ttl: float = 600.0
    isolated: bool = False  # ignore pip's configuration (indexes, constraints)


@dataclass
class TargetLock:
    target: ProjectTarget
    resolution: Resolution
    text: str
    previous: LockFile | None
    #: the lock ``text`` records, as :func:`read_lock` would return it once written (its
    #: packages, fingerprint and inputs; the header's comment lines are not rebuilt), so the
    #: CLI words what changed without re-reading the file it wrote
    written: LockFile
    warnings: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    target: ProjectTarget
    status: str  # "ok" | "stale"
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not failing (warn rules)


def parse_upgrade(spec: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME==VERSION`` of ``--upgrade-package``."""
    try:
        req = parse_pep508(spec)
    except InvalidRequirement:
        raise UsageError(f"--upgrade-package {spec!r}: expected NAME or NAME==VERSION") from None
    specs = list(req.specifier)
    if req.url or req.marker or req.extras or len(specs) > 1 or (specs and specs[0].operator != "=="):
        raise UsageError(f"--upgrade-package {spec!r}: expected NAME or NAME==VERSION")
    version = specs[0].version if specs else None
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            raise UsageError(f"--upgrade-package {spec!r}: {version!r} is not a version") from None
    return canonicalize_name(req.name), version


def solve_request(
    project: Project,
    target: ProjectTarget,
    options: RunOptions,
    preferred: dict[str, str] | None = None,
    extra_constraints: tuple[Path, ...] = (),
    refresh: bool | None = None,
) -> SolveRequest:
    return SolveRequest(
        requirements=tuple(absolute_path_requirement(r, project.root) for r in project.requirements),
        requirement_files=project.requirement_files,
        constraint_files=project.constraint_files + extra_constraints,
        python=target.python,
        platform=target.platform,
        index_url=project.index_url,
        extra_index_urls=project.extra_index_urls,
        prerelease=project.prerelease,
        exclude_newer=project.exclude_newer,
        no_build=options.no_build,
        binary=project.binary,
        cache_dir=options.cache_dir,
        no_cache=options.no_cache,
        offline=options.offline,
        refresh=options.refresh if refresh is None else refresh,
        page_ttl=options.page_ttl,
        concurrency=options.concurrency,
        timeout=options.timeout,
        retries=options.retries,
        allow_insecure_hosts=options.allow_insecure_hosts,
        isolated=options.isolated,
        features=target.features,
        gpu=target.gpu,
        rules=project.rules,
        strict_rules=project.strict_rules,
        preferred=tuple(sorted((preferred or {}).items())),
    )


def relabel(resolution: Resolution, project: Project) -> Resolution:
    """``# via`` names inputs as the project does: ``pyproject.toml`` for the configured
    requirements, ``-r requirements.in`` relative to the project — never an absolute path,
    so the lock's bytes do not depend on where the repository is checked out."""

    def label(who: str) -> str:
        if who == "requested":
            return project.requirements_label
        flag, _, rest = who.partition(" ")
        if flag in ("-r", "-c") and rest:
            return f"{flag} {project.relative(Path(rest))}"
        return who

    def fix(package: LockedPackage) -> LockedPackage:
        via = [label(w) for w in package.required_by]
        return replace(package, required_by=tuple(dict.fromkeys(via)))

    return replace(resolution, packages=tuple(fix(p) for p in resolution.packages))


def render_lock(project: Project, target: ProjectTarget, resolution: Resolution) -> tuple[str, LockFile]:
    """The lock text and the :class:`LockFile` it records, both from the one resolution."""
    from ftlock.lock import pylock, requirements_txt

    resolution = relabel(resolution, project)
    items = input_items(project, target, [p.name for p in resolution.packages])
    command = "ftlock lock" + (f" --target {target.name}" if len(project.targets) > 1 else "")
    if target.format == "pylock":
        text = pylock.render(resolution, command, fingerprint(items), items)
    else:
        text = requirements_txt.render(resolution, command, header_lines(items))
    written = LockFile(
        path=target.output,
        format=target.format,
        packages=recorded_entries(resolution, target.format),
        fingerprint=fingerprint(items),
        inputs=tuple(items),
        target=resolution.target.describe(),
        command=command,
    )
    return text, written


def read_previous(target: ProjectTarget) -> tuple[LockFile | None, str | None]:
    """The current lock of ``target``, or None (with a warning when it exists but is unreadable)."""
    if not target.output.exists():
        return None, None
    try:
        return read_lock(target.output), None
    except (InputFileError, OSError) as exc:
        return None, f"{target.name}: cannot reuse the pins of {target.output.name} ({exc}); solving afresh"


def _constraints_file(directory: Path, pins: dict[str, str]) -> Path:
    path = directory / "upgrade-constraints.txt"
    path.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())), encoding="utf-8")
    return path


def _newer(a: str, b: str) -> bool:
    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return a != b


def lock_target(
    project: Project,
    target: ProjectTarget,
    options: RunOptions,
    upgrade: bool = False,
    upgrade_packages: tuple[tuple[str, str | None], ...] = (),
    on_progress: Callable[[int, str], None] | None = None,
) -> TargetLock:
    previous, warning = read_previous(target)
    warnings = [warning] if warning else []
    preferred: dict[str, str] = {} if upgrade or previous is None else previous.pins()
    forced: dict[str, str] = {}
    free_needed = []
    for name, version in upgrade_packages:
        preferred.pop(name, None)
        if version is not None:
            forced[name] = version
        elif upgrade:
            continue  # everything moves anyway
        elif previous is not None and name in previous.packages:
            free_needed.append(name)
        else:
            warnings.append(f"{target.name}: --upgrade-package {name}: not in the current lock")
    if free_needed:
        # the version a fresh lock would choose; keep it only where it is an upgrade
        free = solve(solve_request(project, target, options))
        fresh: dict[str, str] = {p.name: p.version for p in free.packages}
        for name in free_needed:
            current = previous.pins().get(name) if previous is not None else None
            if name in fresh and (current is None or _newer(fresh[name], current)):
                forced[name] = fresh[name]
    with tempfile.TemporaryDirectory(prefix="ftlock-lock-") as tmp:
        extra = (_constraints_file(Path(tmp), forced),) if forced else ()
        try:
            resolution = solve(
                solve_request(project, target, options, preferred, extra), on_progress=on_progress
            )
        except NoSolution as exc:
            if forced:
                wanted = ", ".join(f"{n}=={v}" for n, v in sorted(forced.items()))
                raise NoSolution(f"--upgrade-package {wanted}: {exc}") from None
            raise
    locked = {p.name for p in resolution.packages}
    for name, version in upgrade_packages:
        if version is not None and name not in locked:
            warnings.append(f"{target.name}: --upgrade-package {name}=={version}: {name} is not part of this lock")
    text, written = render_lock(project, target, resolution)
    return TargetLock(target, resolution, text, previous, written, warnings)


# -- check -------------------------------------------------------------------------------------


def check_target(project: Project, target: ProjectTarget, options: RunOptions, refresh: bool = False) -> CheckResult:
    result = CheckResult(target, "ok")
    name = project.relative(target.output)
    if not target.output.exists():
        result.status = "stale"
        result.reasons.append(f"{name} does not exist")
        return result
    try:
        lock = read_lock(target.output)
    except InputFileError as exc:
        result.status = "stale"
        result.reasons.append(f"cannot read the lock: {exc}")
        return result
    if lock.format != target.format:
        result.status = "stale"
        result.reasons.append(f"{name} is a {lock.format} lock; the target's format is {target.format}")
        return result
    if lock.fingerprint is None:
        result.status = "stale"
        result.reasons.append(f"{name} records no inputs fingerprint (it was not written by `ftlock lock`)")
        return result
    items = input_items(project, target, lock.packages)
    if fingerprint(lock.inputs) != lock.fingerprint:
        result.status = "stale"
        result.reasons.append("the recorded inputs do not match the recorded fingerprint (was the header edited?)")
    elif fingerprint(items) != lock.fingerprint:
        result.status = "stale"
        result.reasons += explain(lock.inputs, items) or ["inputs changed"]
    _rule_findings(project, target, lock, result)
    if refresh and result.status == "ok":
        _refresh_findings(project, target, lock, options, result)
    return result


def _rule_findings(project: Project, target: ProjectTarget, lock: LockFile, result: CheckResult) -> None:
    from ftlock.knowledge.engine import Knowledge

    knowledge = Knowledge.for_target(project.rules, target.features, target.gpu)
    for violation in knowledge.violations(lock.pins()):
        rule = violation.rule
        line = (
            f"the lock breaks knowledge rule {rule.id}: {', '.join(violation.packages)}: "
            f"{rule.summary} (fix: {rule.fix}; source: {rule.source})"
        )
        if rule.severity == "error":
            result.status = "stale"
            result.reasons.append(line)
        else:
            result.notes.append(line)


def _pin_status(session: Session, name: str, version: str) -> str | None:
    """Why a pinned version cannot stay: yanked, gone from the index, or None."""
    try:
        wanted = Version(version)
        for candidate in session.finder.candidates(name):
            if candidate.version == wanted:
                if candidate.yanked:
                    reasons = {f.yanked_reason for f in candidate.files if f.yanked_reason}
                    return "yanked" + (f": {', '.join(sorted(reasons))}" if reasons else "")
                return None
            if candidate.version < wanted:
                break
    except (FtlockError, InvalidVersion):
        return None
    return "no longer offered by the index for this target"


def _refresh_findings(project: Project, target: ProjectTarget, lock: LockFile, options: RunOptions, result: CheckResult) -> None:
    """Re-solve with the lock's pins preferred and fresh index pages; report what moves."""
    request = solve_request(project, target, options, lock.pins(), refresh=True)
    try:
        fresh = relabel(solve(request), project)
    except FtlockError as exc:
        result.status = "stale"
        result.reasons.append(f"a fresh solve fails: {exc}")
        return
    from ftlock.lock.diff import diff

    changes = diff(lock, replace(lock, packages=recorded_entries(fresh, lock.format)))
    if changes.empty:
        return
    result.status = "stale"
    from ftlock.resolve.target import Target as SolveTarget

    session = Session.open(replace(request, refresh=False), SolveTarget.from_options(target.python, target.platform))
    try:
        for c in changes.upgraded + changes.downgraded + changes.removed:
            why = _pin_status(session, c.name, c.old) if c.old else None
            suffix = f" ({c.name} {c.old} is {why})" if why else ""
            if c.new is None:
                result.reasons.append(f"a fresh solve drops {c.name} {c.old}{suffix}")
            else:
                result.reasons.append(f"a fresh solve moves {c.name} {c.old} -> {c.new}{suffix}")
    finally:
        session.close()
    for c in changes.added:
        result.reasons.append(f"a fresh solve adds {c.name} {c.new}")
    for c in changes.changed:
        result.reasons.append(f"{c.name} {c.new}: the index now offers other files (hashes differ)")
