"""The GPU catalogs ship with ftlock and are checked when loaded: unknown keys, wrong
types, sources that are not http(s) URLs, empty source lists, bad names and invalid
requirements are refused; the shipped files pass; a ``--gpu`` solve imports no pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from ftlock.gpu import cuda, gpus, models_catalog, torch_builds
from ftlock.gpu._catalog import load

GPU = """
[[gpu]]
name = "a100"
label = "NVIDIA A100"
arch = "ampere"
compute_capability = "8.0"
memory_gb = 80
bf16 = true
fp8 = false
sources = ["https://example.org/a100"]
"""


def _load_gpus(tmp_path: Path, text: str) -> object:
    path = tmp_path / "gpus.toml"
    path.write_text(text, encoding="utf-8")
    return load(path, gpus._GpuFile)


def test_the_shipped_catalogs_load() -> None:
    assert "a100" in gpus.catalog()
    assert cuda.catalog().toolkit == tuple(sorted(cuda.catalog().toolkit, key=lambda t: t.version))
    assert torch_builds.catalog().releases
    assert models_catalog.catalog().lookup("gemma3").requires


def test_a_valid_entry_loads_with_its_values(tmp_path: Path) -> None:
    loaded = _load_gpus(tmp_path, GPU)
    assert loaded == gpus._GpuFile(gpu=(gpus.Gpu(
        name="a100", label="NVIDIA A100", arch="ampere", compute_capability="8.0", memory_gb=80,
        bf16=True, fp8=False, sources=("https://example.org/a100",),
    ),))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("fp8 = false", "fp8 = false\ncolour = \"green\""), "unknown field `colour`"),
        (('memory_gb = 80', 'memory_gb = "80"'), "Expected `int`, got `str`"),
        (('sources = ["https://example.org/a100"]', 'sources = ["file:///etc/passwd"]'), "matching regex"),
        (('sources = ["https://example.org/a100"]', 'sources = ["https://"]'), "matching regex"),
        (('sources = ["https://example.org/a100"]', "sources = []"), "length >= 1"),
        (('name = "a100"', 'name = "A-100"'), "matching regex"),
    ],
    ids=["unknown-key", "wrong-type", "not-http", "no-host", "no-sources", "bad-name"],
)
def test_a_broken_entry_is_refused(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=expected):
        _load_gpus(tmp_path, GPU.replace(*change))


def test_a_model_with_an_invalid_requirement_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[stack]\npackages = []\nquant = []\nextras = []\n'
        '[[model]]\nname = "m"\nlabel = "M"\nrequires = ["transformers >>= 4"]\n'
        'sources = ["https://example.org/m"]\n',
        encoding="utf-8",
    )
    with pytest.raises(msgspec.ValidationError, match="requirement 'transformers >>= 4'"):
        load(path, models_catalog.ModelCatalog)


def test_loading_every_catalog_imports_no_pydantic() -> None:
    code = (
        "import sys\n"
        "from ftlock.gpu import cuda, gpus, models_catalog, torch_builds\n"
        "cuda.catalog(); gpus.catalog(); models_catalog.catalog(); torch_builds.catalog()\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
