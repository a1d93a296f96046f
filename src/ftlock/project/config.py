"""Project configuration: ``[tool.ftlock]`` in ``pyproject.toml``.

A team keeps its inputs (requirements, indexes, an ``exclude-newer`` date) and a matrix of
targets in the repository; ``ftlock lock`` writes one lock per target::

    [project]
    dependencies = ["transformers", "peft"]

    [tool.ftlock]
    index-url = "https://mirror.example/simple"
    exclude-newer = 2025-06-01

    [tool.ftlock.targets.a100]
    python = "3.11"
    platform = "linux_x86_64"
    gpu = "a100"

    [tool.ftlock.targets.cpu]
    python = "3.11"
    platform = "linux_x86_64"

Inputs are ``requirements = [...]`` or, without it, the project's own
``[project].dependencies`` plus the optional-dependency ``groups`` named; ``requirement-files``
and ``constraint-files`` add to either.  Top-level ``python``/``platform``/``gpu``/``format``/
``output`` are defaults for every target; ``features`` add up.  Without targets there is one,
named ``default``.  Paths are relative to the ``pyproject.toml``.  ``only-binary`` and
``no-binary`` (pip's values: ``":all:"``, ``":none:"``, names) hold for every target; the key
that says ``:all:`` applies first, so names in the other one are its exceptions.

Validation is strict (unknown keys are errors) and every problem is one line naming its
location: ``pyproject.toml: tool.ftlock.targets.a100.gpu: unknown GPU 'a1000'``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from ftlock._values import replace
from ftlock.untrusted import parse_pep508
from ftlock._dates import parse_date
from ftlock.errors import UsageError
from ftlock.resolve.prereleases import Prerelease
from ftlock._toml import tomllib


Format = Literal["requirements", "pylock"]
DEFAULT_TARGET = "default"


class ConfigError(UsageError):
    """``[tool.ftlock]`` is malformed; the message names the file and the key."""


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=_kebab, populate_by_name=True
    )


def _check_python(value: str | None) -> str | None:
    if value is None:
        return None
    from ftlock.resolve.target import PythonTarget

    try:
        PythonTarget.parse(value)
    except UsageError:
        raise ValueError(f"{value!r} is not a CPython version such as 3.11 or 3.11.7") from None
    return value


def _check_platform(value: str | None) -> str | None:
    if value is None:
        return None
    from ftlock.resolve.target import PLATFORM_HELP, PlatformTarget

    try:
        return PlatformTarget.parse(value).name
    except UsageError as exc:
        if "unknown platform" not in str(exc):  # a known form with a bad number: say which
            raise ValueError(str(exc).removeprefix("--platform ")) from None
        raise ValueError(f"unknown platform {value!r} (use {PLATFORM_HELP})") from None


def _check_gpu(value: str | None) -> str | None:
    if value is None:
        return None
    from ftlock.gpu.gpus import catalog, lookup

    try:
        return lookup(value).name
    except UsageError:
        raise ValueError(f"unknown GPU {value!r} (known: {', '.join(catalog())})") from None


def _check_requirement(text: str) -> str:
    from ftlock.resolve.direct import is_direct_reference

    text = text.strip()
    if is_direct_reference(text):
        return text  # a local path or a URL: checked when it is resolved
    try:
        parse_pep508(text)
    except InvalidRequirement as exc:
        raise ValueError(f"invalid requirement {text!r}: {str(exc).splitlines()[0]}") from None
    return text


RequirementText = Annotated[str, AfterValidator(_check_requirement)]


class _TargetFields(_Strict):
    """What a target sets; at the top level of ``[tool.ftlock]`` these are defaults."""

    python: str | None = None
    platform: str | None = None
    gpu: str | None = None
    features: tuple[str, ...] = ()
    output: str | None = None
    format: Format | None = None

    @field_validator("python")
    @classmethod
    def _python(cls, value: str | None) -> str | None:
        return _check_python(value)

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        return _check_platform(value)

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, value: str | None) -> str | None:
        return _check_gpu(value)


class TargetConfig(_TargetFields):
    """``[tool.ftlock.targets.<name>]``: one environment to lock for."""


class FtlockConfig(_TargetFields):
    """``[tool.ftlock]``."""

    requirements: tuple[RequirementText, ...] | None = None
    groups: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    exclude_newer: _dt.datetime | None = None
    prerelease: Prerelease | None = None
    rules: tuple[str, ...] = ()  # a team's own knowledge rule files or directories
    # a knowledge rule broken by the team's own exact pins fails the lock (CI) instead of
    # being locked with a warning
    strict_rules: bool = False
    # pip's --only-binary/--no-binary: ":all:", ":none:" or names (a string or a list)
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    targets: dict[str, TargetConfig] = Field(default_factory=dict)

    @field_validator("exclude_newer", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value is None else parse_date(value)

    @field_validator("only_binary", "no_binary", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("only_binary", "no_binary")
    @classmethod
    def _binary_values(cls, value: tuple[str, ...], info: Any) -> tuple[str, ...]:
        from ftlock.resolve.formats import FormatControl

        for item in value:
            try:
                FormatControl().apply(_kebab(info.field_name), item)
            except UsageError as exc:
                raise ValueError(str(exc)) from None
        return value

    def binary_options(self) -> tuple[tuple[str, str], ...]:
        """Both keys as ordered pip options: the one that says ``:all:`` first, so names in
        the other override it (a table has no order of its own to follow)."""
        only = tuple(("only-binary", v) for v in self.only_binary)
        no = tuple(("no-binary", v) for v in self.no_binary)
        return no + only if any(":all:" in v.split(",") for v in self.no_binary) else only + no

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: dict[str, TargetConfig]) -> dict[str, TargetConfig]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
                raise ValueError(
                    f"target name {name!r}: use letters, digits, '-' and '_' (it names the lock file)"
                )
        return value


# -- resolved project ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectTarget:
    """One target with every default applied: what a solve and a lock file need."""

    name: str
    python: str | None
    platform: str | None
    gpu: str | None
    features: tuple[str, ...]
    output: Path
    format: Format


@dataclass(frozen=True)
class Project:
    """The resolved configuration of one project: inputs, settings and targets."""

    root: Path  # the directory of pyproject.toml
    config_file: Path
    requirements: tuple[str, ...]  # as written (local paths are relative to root)
    requirements_label: str  # how `# via` names requirements given in the config
    requirement_files: tuple[Path, ...]
    constraint_files: tuple[Path, ...]
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    exclude_newer: _dt.datetime | None
    prerelease: Prerelease | None
    rules: tuple[Path, ...]
    targets: tuple[ProjectTarget, ...]
    # --only-binary/--no-binary as ordered (flag, value) pairs (ftlock.resolve.formats)
    binary: tuple[tuple[str, str], ...] = ()
    strict_rules: bool = False  # tool.ftlock.strict-rules / --strict-rules

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root when under it (posix), else as given."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def select(self, names: tuple[str, ...]) -> tuple[ProjectTarget, ...]:
        if not names:
            return self.targets
        known = {t.name: t for t in self.targets}
        missing = [n for n in names if n not in known]
        if missing:
            raise UsageError(
                f"--target {missing[0]!r}: no such target in {self.config_file.name} "
                f"(targets: {', '.join(known)})"
            )
        return tuple(known[n] for n in dict.fromkeys(names))

    def with_output(self, target: ProjectTarget, output: Path) -> ProjectTarget:
        return replace(target, output=output)


@dataclass(frozen=True)
class Overrides:
    """Command-line flags; each set one replaces the configured value."""

    requirement_files: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    exclude_newer: _dt.datetime | None = None
    prerelease: Prerelease | None = None
    python: str | None = None
    platform: str | None = None
    gpu: str | None = None
    features: tuple[str, ...] | None = None  # replaces the top-level features
    format: Format | None = None
    binary: tuple[tuple[str, str], ...] | None = None  # replaces only-binary/no-binary
    strict_rules: bool = False  # --strict-rules: on for this run, whatever the config says


def find_config(start: Path | None = None) -> Path:
    """The nearest ``pyproject.toml`` from ``start`` (default: the current directory) up."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    raise UsageError(
        f"no pyproject.toml in {here} or its parents; create one with a [tool.ftlock] table "
        "(see docs/teams.md) or pass --config FILE"
    )


def _location(loc: tuple[Any, ...]) -> str:
    parts = ["tool", "ftlock"]
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("tuple_type", "list_type", "dict_type", "model_type"):
        return "expected a " + ("table" if kind in ("dict_type", "model_type") else "list")
    if kind == "string_type":
        return f"expected a string, got {error.get('input')!r}"
    if kind == "literal_error":
        return f"{msg.lower()}, got {error.get('input')!r}"
    return msg[:1].lower() + msg[1:]


def _known_keys(model: type[BaseModel]) -> str:
    return ", ".join(sorted(_kebab(name) for name in model.model_fields))


def validate(data: dict[str, Any], where: str) -> FtlockConfig:
    """Validate the ``[tool.ftlock]`` table; one error line naming the first problem."""
    try:
        return FtlockConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        message = _message(first)
        if first["type"] == "extra_forbidden":
            in_target = len(loc) >= 3 and loc[0] == "targets"
            model = TargetConfig if in_target else FtlockConfig
            message += f" (known: {_known_keys(model)})"
        more = exc.error_count() - 1
        suffix = f" (+{more} more)" if more else ""
        raise ConfigError(f"{where}: {_location(loc)}: {message}{suffix}") from None


def _project_requirements(doc: dict[str, Any], groups: tuple[str, ...], where: str) -> tuple[str, ...]:
    """``[project].dependencies`` plus the named optional groups, with self-references
    (``me[train]`` inside an optional group) expanded."""
    project = doc.get("project")
    if not isinstance(project, dict):
        raise ConfigError(
            f"{where}: nothing to lock: set tool.ftlock.requirements or [project].dependencies"
        )
    deps = project.get("dependencies", [])
    optional = project.get("optional-dependencies", {})
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(f"{where}: project.dependencies: expected a list of strings")
    if not isinstance(optional, dict):
        raise ConfigError(f"{where}: project.optional-dependencies: expected a table")
    own = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    out: list[str] = []
    seen_groups: set[str] = set()

    def add(lines: list[str], origin: str) -> None:
        for text in lines:
            try:
                req = parse_pep508(text)
            except InvalidRequirement as exc:
                raise ConfigError(f"{where}: {origin}: invalid requirement {text!r}: {exc}") from None
            if own is not None and canonicalize_name(req.name) == own:
                for extra in sorted(req.extras):
                    add_group(extra, origin)
                continue
            if text not in out:
                out.append(text)

    def add_group(group: str, origin: str) -> None:
        key = next((g for g in optional if canonicalize_name(g) == canonicalize_name(group)), None)
        if key is None:
            known = ", ".join(optional) or "none"
            raise ConfigError(
                f"{where}: {origin}: no group {group!r} in [project.optional-dependencies] "
                f"(groups: {known})"
            )
        if key in seen_groups:
            return
        seen_groups.add(key)
        lines = optional[key]
        if not isinstance(lines, list) or not all(isinstance(d, str) for d in lines):
            raise ConfigError(f"{where}: project.optional-dependencies.{key}: expected a list of strings")
        add(lines, f"project.optional-dependencies.{key}")

    add(deps, "project.dependencies")
    for group in groups:
        add_group(group, "tool.ftlock.groups")
    return tuple(out)


def load(config_file: Path | None = None, overrides: Overrides = Overrides()) -> Project:
    """Read, validate and resolve the project configuration, applying CLI overrides."""
    path = Path(config_file) if config_file is not None else find_config()
    where = path.name
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML ({exc})") from None
    tool = doc.get("tool", {}).get("ftlock", {}) if isinstance(doc.get("tool"), dict) else {}
    if not isinstance(tool, dict):
        raise ConfigError(f"{where}: tool.ftlock: expected a table")
    config = validate(tool, where)
    root = path.resolve().parent

    if config.requirements is not None:
        if config.groups:
            raise ConfigError(
                f"{where}: tool.ftlock.groups: only used with [project].dependencies; "
                "remove it or remove tool.ftlock.requirements"
            )
        requirements = config.requirements
    elif "project" in doc or not (config.requirement_files or overrides.requirement_files):
        requirements = _project_requirements(doc, config.groups, where)
    else:
        requirements = ()

    def paths(values: tuple[str, ...], override: tuple[str, ...]) -> tuple[Path, ...]:
        if override:  # relative to where the command runs, like any CLI path
            return tuple(Path(v) for v in override)
        return tuple(root / v for v in values)

    requirement_files = paths(config.requirement_files, overrides.requirement_files)
    if not requirements and not requirement_files:
        raise ConfigError(f"{where}: nothing to lock: the configured requirements are empty")

    features = overrides.features if overrides.features is not None else config.features
    raw_targets = config.targets or {DEFAULT_TARGET: TargetConfig()}
    try:
        py = _check_python(overrides.python)
        plat = _check_platform(overrides.platform)
        gpu = _check_gpu(overrides.gpu)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    targets = []
    for name, t in raw_targets.items():
        fmt: Format = overrides.format or t.format or config.format or "requirements"
        default_output = (
            ("pylock.toml" if fmt == "pylock" else "requirements.txt")
            if not config.targets
            else (f"pylock.{name}.toml" if fmt == "pylock" else f"requirements-{name}.txt")
        )
        output = t.output or (config.output if not config.targets else None) or default_output
        targets.append(
            ProjectTarget(
                name=name,
                python=py or t.python or config.python,
                platform=plat or t.platform or config.platform,
                gpu=gpu or t.gpu or config.gpu,
                features=tuple(sorted(set(features) | set(t.features))),
                output=root / output,
                format=fmt,
            )
        )
    return Project(
        root=root,
        config_file=path,
        requirements=requirements,
        requirements_label=where,
        requirement_files=requirement_files,
        constraint_files=paths(config.constraint_files, overrides.constraint_files),
        index_url=overrides.index_url or config.index_url,
        extra_index_urls=overrides.extra_index_urls or config.extra_index_urls,
        exclude_newer=overrides.exclude_newer or config.exclude_newer,
        prerelease=overrides.prerelease or config.prerelease,
        rules=tuple(root / r for r in config.rules),
        targets=tuple(targets),
        binary=overrides.binary if overrides.binary is not None else config.binary_options(),
        strict_rules=overrides.strict_rules or config.strict_rules,
    )


def absolute_path_requirement(text: str, root: Path) -> str:
    """Local paths in the config are relative to the project, not to the caller's cwd."""
    if text.startswith((".", "~")) and " @ " not in text.split(";")[0]:
        return str((root / Path(text).expanduser()).resolve())
    return text


__all__ = [
    "ConfigError",
    "FtlockConfig",
    "Overrides",
    "Project",
    "ProjectTarget",
    "TargetConfig",
    "find_config",
    "load",
    "parse_date",
    "validate",
]
