"""Load and validate rule files: ``data/*.toml``, one topic per file.

A file holds ``[[conflict]]``, ``[[requires]]``, ``[[metadata]]`` and ``[[abi]]`` tables.  Validation
errors name the file and the rule id (or its position), so a bad edit is easy to find.

Loading yields run-time rules (:mod:`ftlock.knowledge.rules`).  pydantic, which validates a
file against the schema (:mod:`ftlock.knowledge.models`), is imported only when a file is
validated: the built-in rules are read from ``data/compiled.json`` without it, and importing
it with the schema's models costs ~60-70 ms of a cold solve.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ftlock.errors import UsageError
from ftlock.knowledge.rules import Rule, from_json

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ftlock.knowledge import models

DATA_DIR = Path(__file__).parent / "data"
COMPILED = DATA_DIR / "compiled.json"  # generated: python -m ftlock.knowledge.regenerate
KINDS = ("conflict", "requires", "metadata", "abi")


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[models.Rule]:
    """The schema's validator, built on first validation (the models defer building it)."""
    from pydantic import TypeAdapter  # noqa: PLC0415 - only to validate a file

    from ftlock.knowledge import models  # noqa: PLC0415

    return TypeAdapter(models.Rule)


class KnowledgeError(UsageError):
    """A rule file is malformed; the message names the file and the rule."""


class LoadedRule(msgspec.Struct, frozen=True):
    rule: Rule
    file: str  # the data file it came from, for `kb show` and lint messages


def load_file(path: Path) -> list[LoadedRule]:
    """The file's rules, validated against the schema, then made run-time rules through
    the builder that reads ``compiled.json`` (:func:`~ftlock.knowledge.rules.from_json`)."""
    from pydantic import ValidationError  # noqa: PLC0415 - only to validate a file

    from ftlock._toml import tomllib  # noqa: PLC0415 - rule files are read only to be validated

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
                model = _adapter().validate_python({**entry, "kind": kind})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "rule"
                raise KnowledgeError(
                    f"{path.name}: rule {label!r}: {where}: {first['msg']}"
                    + (f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
                ) from None
            rule = from_json(model.model_dump(mode="json", by_alias=True))
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
        return tuple(LoadedRule(rule, file) for rule, file in stored)
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
