"""The GPU catalog (data in ``catalog/gpus.toml``): what rule conditions and torch build
selection need to know about a ``--gpu`` name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from packaging.version import Version
from typing import Annotated

import msgspec

from ftlock.errors import UsageError
from ftlock.gpu._catalog import Entry, Sources, load


CATALOG = Path(__file__).parent / "catalog" / "gpus.toml"


class Gpu(Entry, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]+$")]
    label: str
    arch: str
    compute_capability: str | None = None  # None for "cpu"
    memory_gb: int
    bf16: bool
    fp8: bool
    sources: Sources

    @property
    def capability(self) -> Version | None:
        return Version(self.compute_capability) if self.compute_capability else None

    @property
    def sm(self) -> str | None:
        """``sm80`` for compute capability 8.0 — how CUDA names kernel targets."""
        cap = self.capability
        return f"sm{cap.major}{cap.minor}" if cap is not None else None


@lru_cache(maxsize=1)
def catalog() -> dict[str, Gpu]:
    loaded: _GpuFile = load(CATALOG, _GpuFile)
    gpus = loaded.gpu
    return {gpu.name: gpu for gpu in gpus}


class _GpuFile(Entry, frozen=True):
    gpu: tuple[Gpu, ...]


def lookup(name: str) -> Gpu:
    key = name.strip().lower().replace("-", "").replace(" ", "")
    gpus = catalog()
    if key not in gpus:
        raise UsageError(f"--gpu {name!r}: unknown GPU; known: {', '.join(gpus)}")
    return gpus[key]
