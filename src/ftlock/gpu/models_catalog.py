"""Model presets (data in ``catalog/models.toml``): ``--model gemma3`` adds the minimum
versions the family needs and, when no packages are given, a default fine-tuning stack."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from typing import Annotated

import msgspec

from ftlock.errors import UsageError
from ftlock.gpu._catalog import Entry, Sources, load


CATALOG = Path(__file__).parent / "catalog" / "models.toml"


def _requirements(value: tuple[str, ...]) -> tuple[str, ...]:
    for text in value:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise ValueError(f"requirement {text!r}: {exc}") from None
    return value


class Model(Entry, frozen=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    label: str
    requires: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    sources: Sources
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _requirements(self.requires)  # ValueError: msgspec reports it as a ValidationError


class Stack(Entry, frozen=True):
    packages: tuple[str, ...]
    quant: tuple[str, ...]
    extras: tuple[str, ...]


class ModelCatalog(Entry, frozen=True):
    stack: Stack
    model: tuple[Model, ...]

    def lookup(self, name: str) -> Model:
        key = name.strip().lower()
        for model in self.model:
            if key == model.name or key in model.aliases:
                return model
        raise UsageError(
            f"--model {name!r}: unknown model family; known: {', '.join(m.name for m in self.model)} "
            "(see `ftlock models`)"
        )


@lru_cache(maxsize=1)
def catalog() -> ModelCatalog:
    catalog: ModelCatalog = load(CATALOG, ModelCatalog)
    return catalog
