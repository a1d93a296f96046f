"""The built-in rules as validation produced them, shipped next to the rule files, so that a
solve does not validate them again.

Validating the 101 built-in rules means building pydantic's validators for every model and
checking every field: ~80 ms, a sixth of a small cold solve, for data that changes only with
ftlock itself.  ``data/compiled.json`` holds each rule's ``model_dump`` and the sha256 of
the rule files it was made from; when that still matches the files, the rules are rebuilt
from it with ``model_construct`` (no validation; the models ``defer_build``, so no validator
is built either).  When a rule file was edited and the JSON not regenerated, the rules are
validated as before: stale data costs time, never correctness.  A test fails while it is
stale; regenerate with::

    python -m ftlock.knowledge.regenerate

``ftlock kb lint`` and a team's own ``--rules`` files are always validated.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, HttpUrl

from ftlock.knowledge.models import AbiRule, ConflictRule, MetadataRule, RequiresRule

#: bump when the layout of the file changes
FORMAT = 1
_BY_KIND: dict[str, type[BaseModel]] = {
    "conflict": ConflictRule,
    "requires": RequiresRule,
    "metadata": MetadataRule,
    "abi": AbiRule,
}


def key(files: list[Path]) -> str:
    """The rule files' names and bytes, hashed: what the compiled rules were made from."""
    digest = hashlib.sha256(f"ftlock compiled rules {FORMAT}\n".encode())
    for path in files:
        digest.update(f"{path.name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load(compiled: Path, files: list[Path]) -> list[tuple[BaseModel, str]] | None:
    """The compiled rules ``(model, file name)`` when made from exactly ``files``, else None."""
    try:
        data = json.loads(compiled.read_bytes())
        if data["key"] != key(files):
            return None
        return [(_build(_BY_KIND[item["rule"]["kind"]], item["rule"]), item["file"]) for item in data["rules"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, damaged, or another layout: validate


def dump(files: list[Path], rules: Sequence[tuple[BaseModel, str]]) -> str:
    """The compiled file's text for validated ``rules`` made from ``files``."""
    data = {
        "key": key(files),
        "rules": [{"file": file, "rule": rule.model_dump(mode="json")} for rule, file in rules],
    }
    return json.dumps(data, indent=0, sort_keys=True) + "\n"


def _build(cls: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """``cls`` from its ``model_dump(mode="json")``, without validation: each field turned
    back into the type its annotation names (nested models, tuples, dates, URLs)."""
    values = {
        name: _value(field.annotation, data[name])
        for name, field in cls.__pydantic_fields__.items()
        if name in data
    }
    return cls.model_construct(**values)


def _value(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(annotation)
    if origin is Annotated:
        return _value(get_args(annotation)[0], value)
    if origin in (Union, types.UnionType):  # only `X | None` occurs in the models
        (inner,) = [a for a in get_args(annotation) if a is not type(None)]
        return _value(inner, value)
    if origin is tuple:
        return tuple(_value(get_args(annotation)[0], item) for item in value)
    if origin is Literal or annotation in (str, int, bool, Any):
        return value
    if annotation is _dt.date:
        return _dt.date.fromisoformat(value)
    if annotation is HttpUrl:
        return HttpUrl(value)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _build(annotation, value)
    raise TypeError(f"no rebuild for {annotation!r}")  # a new field type: validate instead
