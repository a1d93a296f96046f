"""Model presets (data in ``catalog/models.toml``): ``--model gemma3`` adds the minimum
versions the family needs and, when no packages are given, a default fine-tuning stack."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from ftlock.errors import UsageError
from ftlock._toml import tomllib


CATALOG = Path(__file__).parent / "catalog" / "models.toml"


def _requirements(value: tuple[str, ...]) -> tuple[str, ...]:
    for text in value:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise ValueError(f"requirement {text!r}: {exc}") from None
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    label: str
    aliases: tuple[str, ...] = ()
    requires: tuple[str, ...] = Field(min_length=1)
    sources: tuple[HttpUrl, ...] = Field(min_length=1)

    @field_validator("requires")
    @classmethod
    def _valid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _requirements(value)


class Stack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    packages: tuple[str, ...]
    quant: tuple[str, ...]
    extras: tuple[str, ...]


class ModelCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
    return ModelCatalog.model_validate(tomllib.loads(CATALOG.read_text(encoding="utf-8")))
