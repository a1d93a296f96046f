"""Load and validate rule files: ``data/*.toml``, one topic per file.

A file holds ``[[conflict]]``, ``[[requires]]``, ``[[metadata]]`` and ``[[abi]]`` tables.  Validation
errors name the file and the rule id (or its position), so a bad edit is easy to find.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from ftlock.errors import UsageError
from ftlock.knowledge.models import Rule
from ftlock._toml import tomllib


DATA_DIR = Path(__file__).parent / "data"
COMPILED = DATA_DIR / "compiled.json"  # generated: python -m ftlock.knowledge.regenerate
KINDS = ("conflict", "requires", "metadata", "abi")


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[Rule]:
    """Built on first validation: the models defer building their validators
    (:mod:`ftlock.knowledge.compiled` rebuilds stored rules without them)."""
    return TypeAdapter(Rule)


class KnowledgeError(UsageError):
    """A rule file is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    file: str  # the data file it came from, for `kb show` and lint messages


def load_file(path: Path) -> list[LoadedRule]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path.name}: invalid TOML ({exc})") from None
    unknown = set(data) - set(KINDS)
    if unknown:
        raise KnowledgeError(
            f"{path.name}: unknown table(s) {sorted(unknown)}; expected [[conflict]], "
            "[[requires]], [[metadata]] or [[abi]]"
        )
    loaded: list[LoadedRule] = []
    for kind in KINDS:
        for position, entry in enumerate(data.get(kind, []), 1):
            label = entry.get("id", f"{kind} #{position}") if isinstance(entry, dict) else kind
            try:
                rule = _adapter().validate_python({**entry, "kind": kind})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "rule"
                raise KnowledgeError(
                    f"{path.name}: rule {label!r}: {where}: {first['msg']}"
                    + (f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
                ) from None
            loaded.append(LoadedRule(rule, path.name))
    return loaded


def load_dir(directory: Path = DATA_DIR) -> list[LoadedRule]:
    rules: list[LoadedRule] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        for item in load_file(path):
            if item.rule.id in seen:
                raise KnowledgeError(
                    f"{path.name}: rule id {item.rule.id!r} already used in {seen[item.rule.id]}"
                )
            seen[item.rule.id] = path.name
            rules.append(item)
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[LoadedRule, ...]:
    """The built-in rules: rebuilt from ``data/compiled.json`` when it was made from these
    rule files (:mod:`ftlock.knowledge.compiled`), else validated."""
    from ftlock.knowledge import compiled  # noqa: PLC0415

    stored = compiled.load(COMPILED, sorted(DATA_DIR.glob("*.toml")))
    if stored is not None:
        return tuple(LoadedRule(rule, file) for rule, file in stored)  # type: ignore[arg-type]
    return tuple(load_dir())


def load_rules(extra: Iterable[Path] = ()) -> tuple[LoadedRule, ...]:
    """Built-in rules plus a team's own rule files or directories (``--rules PATH``)."""
    rules = list(builtin_rules())
    seen = {r.rule.id: r.file for r in rules}
    for path in extra:
        loaded = load_file(path) if path.is_file() else load_dir(path) if path.is_dir() else None
        if loaded is None:
            raise KnowledgeError(f"--rules {path}: no such file or directory")
        for item in loaded:
            if item.rule.id in seen:
                raise KnowledgeError(
                    f"{item.file}: rule id {item.rule.id!r} already used in {seen[item.rule.id]}"
                )
            seen[item.rule.id] = item.file
            rules.append(item)
    return tuple(rules)
