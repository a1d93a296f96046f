"""``ftlock check``: audit an installed set (a ``pip freeze``, a lockfile, or a live
interpreter) against the packages' own metadata — like ``pip check`` — and against the
knowledge rules.

Metadata comes from the live environment when auditing one, else from the index (the
version's wheel for the target); versions the index does not have (git installs,
local builds) are audited against the rules only, and the report says so.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement as PkgRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock.errors import FtlockError, UsageError
from ftlock.knowledge.classes import ReleaseFacts
from ftlock.resolve.freeze import unchecked_line, unlisted
from ftlock.index.models import Metadata
from ftlock.resolve.provider import target_dependencies
from ftlock.resolve.pins import parse_pin
from ftlock.resolve.reqfile import read_file
from ftlock.resolve.live import Installed, read_live_environment  # noqa: F401 - `ftlock check --python PATH`
from ftlock.resolve.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.knowledge.engine import Knowledge
    from ftlock.resolve.session import Session
    from ftlock.resolve.result import SolveRequest


@dataclass(frozen=True)
class Problem:
    kind: str  # "metadata" | "rule"
    severity: str  # "error" | "warn"
    packages: tuple[str, ...]
    message: str
    rule: str | None = None
    symptom: str | None = None
    fix: str | None = None
    source: str | None = None

    def line(self) -> str:
        text = f"{self.severity}: {self.message}"
        if self.rule:
            text += f" [rule {self.rule}] symptom: {self.symptom} | fix: {self.fix} | source: {self.source}"
        return text


@dataclass
class AuditReport:
    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # not on the index: rules only
    missing: list[str] = field(default_factory=list)  # requirements not in the set
    #: one line per package a freeze without --all leaves out, naming the requirements on it
    #: that were not checked (ftlock.resolve.freeze)
    unlisted: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def to_json(self) -> str:
        return json.dumps(
            {
                "checked": self.checked,
                "unknown_metadata": self.unknown,
                "missing": self.missing,
                "unlisted": self.unlisted,
                "problems": [asdict(p) for p in self.problems],
            },
            indent=2,
            sort_keys=True,
        )




def read_pins(path: Path) -> dict[str, Installed]:
    """Pins of a ``pip freeze`` output or a requirements lockfile (hash lines ignored)."""
    installed: dict[str, Installed] = {}
    for number, raw in enumerate(read_file(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "-", "--")):
            continue
        pin = parse_pin(line)
        if pin is None:
            raise UsageError(f"{path}:{number}: not a 'name==version' pin: {line[:60]!r}")
        installed[pin.name] = Installed(pin.name, pin.version, f"{path}:{number}")
    if not installed:
        raise UsageError(f"{path}: no pinned packages found")
    return installed


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def audit(
    installed: dict[str, Installed],
    target: Target,
    knowledge: Knowledge,
    metadata_of=None,  # callable (name, version) -> Future[Metadata] | None, for index lookups
    complete: bool = False,
    files_of=None,  # callable (name, version) -> the version's files for the target, or None
    freeze: bool = False,
) -> AuditReport:
    """Problems of ``installed``.  A requirement on a package that is not in the set is an
    error only when the set claims to be ``complete`` (a whole environment); a partial list
    is checked for consistency among what it names.  ``freeze``: the set was read from a
    file, where pip, setuptools and wheel may be absent only because ``pip freeze`` ran
    without ``--all`` — requirements on them are unknown, not missing."""
    report = AuditReport(checked=len(installed))
    unknown_names = unlisted(installed) if freeze else frozenset()
    not_checked: dict[str, list[str]] = {}
    futures: dict[str, Future | Metadata | None] = {}
    for name, dist in installed.items():
        version = _version(dist.version)
        rule = knowledge.metadata_rule(name, version) if version is not None else None
        if rule is not None and rule.requires_dist is not None:
            futures[name] = Metadata(name, str(version), rule.requires_dist, rule.requires_python)
        elif dist.metadata is not None:
            futures[name] = dist.metadata
        elif version is not None and metadata_of is not None:
            futures[name] = metadata_of(name, version)
        else:
            futures[name] = None
    versions = {n: _version(d.version) for n, d in installed.items()}
    # what class rules read (ftlock.knowledge.classes): each release's files and requirements
    facts: dict[str, ReleaseFacts] = {}
    for name in sorted(installed):
        dist = installed[name]
        value = futures[name]
        try:
            metadata = value.result() if isinstance(value, Future) else value
        except FtlockError:
            metadata = None
        if metadata is None:
            report.unknown.append(f"{name} {dist.version or '(from a URL)'}")
            continue
        files = files_of(name, versions[name]) if files_of is not None and versions.get(name) else None
        if files:
            facts[name] = ReleaseFacts.of(files, target_dependencies(metadata, frozenset(), target))
        for req in target_dependencies(metadata, frozenset(), target):
            dep = canonicalize_name(req.name)
            have = installed.get(dep)
            who = f"{name} {dist.version}"
            if have is None and dep in unknown_names:
                not_checked.setdefault(dep, []).append(f"{who} requires {_bare(req)}")
                continue
            if have is None:
                message = f"{who} requires {_bare(req)}, which is not installed"
                if complete:
                    report.problems.append(Problem("metadata", "error", (who,), message))
                else:
                    report.missing.append(message)
                continue
            have_version = versions.get(dep)
            if have_version is not None and not req.specifier.contains(have_version, prereleases=True):
                report.problems.append(
                    Problem(
                        "metadata",
                        "error",
                        (who, f"{dep} {have.version}"),
                        f"{who} requires {_bare(req)}, but {dep} {have.version} is installed",
                    )
                )
    report.unlisted = [unchecked_line(name, lines) for name, lines in sorted(not_checked.items())]
    pinned = {n: v for n, v in versions.items() if v is not None}
    for violation in knowledge.violations(pinned) + knowledge.class_violations(pinned, facts):
        broken = violation.rule
        report.problems.append(
            Problem(
                "rule",
                broken.severity,
                violation.packages,
                f"{violation.message}: {broken.summary}",
                rule=broken.id,
                symptom=broken.symptom,
                fix=broken.fix,
                source=broken.source,
            )
        )
    return report


def _bare(req: PkgRequirement) -> str:
    """The requirement without its marker (already evaluated for the target)."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def audit_with_index(
    installed: dict[str, Installed],
    target: Target,
    knowledge: Knowledge,
    request: SolveRequest,
    complete: bool = False,
) -> AuditReport:
    """:func:`audit` of a freeze or a lock, with the requirements of each pinned version
    read from the index ``request`` names (all pages asked for at once, before the audit
    waits on the first)."""
    from ftlock.resolve.session import Session  # noqa: PLC0415 - only with an index

    session = Session.open(request, target)
    for name in installed:
        session.index.prefetch(name)
    metadata_of = _index_metadata(session)
    try:
        return audit(
            installed, target, knowledge, metadata_of, complete,
            files_of=_index_files(session),
            freeze=True,
        )
    finally:
        session.close()


def _index_files(session: Session) -> Callable[[str, Version], Any]:
    """(name, version) -> that version's files for the target (what class rules read)."""
    def lookup(name: str, version: Version) -> Any:
        try:
            candidate = session.finder.candidates(name).get(version)
        except FtlockError:
            return None
        return candidate.files if candidate is not None else None

    return lookup


def _index_metadata(session: Session) -> Callable[[str, Version], Any]:
    """(name, version) -> Future[Metadata] of that version's file for the target, or None."""
    def lookup(name: str, version: Version) -> Any:
        try:
            for candidate in session.finder.candidates(name):
                if candidate.version == version:
                    return session.metadata.future(candidate)
                if candidate.version < version:
                    break
        except FtlockError:
            return None
        return None

    return lookup
