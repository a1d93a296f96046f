"""Specification: GPU/CUDA targets and model presets (`--gpu`, `--cuda-driver`, `--cuda`,
`--torch-index`, `--model`, `--quant`, `--with`, `ftlock probe`, `ftlock models`).

The default index and the PyTorch CUDA indexes are served locally: `main` plays the default
index (one CUDA build per torch release, as its Linux x86_64 wheels are), `cu126`/`cu128`/
`cpu` play https://download.pytorch.org/whl/<variant> with local versions (2.14.0+cu126).
"""

from __future__ import annotations

import os
import stat
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftlock.gpu.cuda import DriverSupport
from ftlock.gpu.gpus import lookup
from ftlock.gpu import torch_builds
from tests.support.dists import BACKEND_LOG_ENV, build_sdist, build_wheel
from tests.support.locks import pinned as pins


def index_lines(lock: str) -> list[str]:
    return [l for l in lock.splitlines() if l.startswith("--")]


def header(lock: str) -> list[str]:
    return [l for l in lock.splitlines() if l.startswith("# ")]


@pytest.fixture
def main_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    index = local_index()
    wheels = [
        ("torch", "2.15.0", ["cuda-toolkit==13.2.2; platform_system == 'Linux'", "triton==3.9.0; platform_system == 'Linux'", "filelock"]),
        ("torch", "2.14.0", ["cuda-toolkit==13.0.3; platform_system == 'Linux'", "triton==3.8.0; platform_system == 'Linux'", "filelock"]),
        ("torch", "2.7.1", ["nvidia-cuda-runtime-cu12==12.6.77; platform_system == 'Linux'", "filelock"]),
        ("cuda-toolkit", "13.2.2", []),
        ("cuda-toolkit", "13.0.3", []),
        ("nvidia-cuda-runtime-cu12", "12.6.77", []),
        ("nvidia-cuda-runtime-cu12", "12.8.90", []),
        ("triton", "3.8.0", []),
        ("triton", "3.9.0", []),
        ("filelock", "3.0", []),
        ("einops", "0.8.1", []),
        ("packaging", "24.0", []),
        ("ninja", "1.11.1", []),
        ("transformers", "4.49.0", []),
        ("transformers", "4.50.0", []),
        ("peft", "0.15.0", ["transformers", "torch"]),
        ("trl", "0.9.0", ["transformers"]),
        ("trl", "1.0.0", ["transformers<4.50"]),
        ("accelerate", "1.5.0", ["torch"]),
        ("datasets", "3.4.0", []),
        ("bitsandbytes", "0.45.5", ["torch"]),
        ("bitsandbytes", "0.46.1", ["torch"]),
        ("unsloth", "2025.3.18", ["torch"]),
    ]
    for name, version, requires in wheels:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires))
    # flash-attn publishes sdists whose metadata needs a PEP 517 build (it imports torch)
    for version in ("2.8.3", "1.0.9"):
        index.add(build_sdist(dists_dir, "flash-attn", version, requires_dist=["torch", "einops"], pep517_backend=True))
    return index


@pytest.fixture
def pytorch_indexes(local_index, dists_dir, monkeypatch):  # type: ignore[no-untyped-def]
    """Local stand-ins for the PyTorch indexes; torch_builds.variant_index_url points at them."""
    indexes = {name: local_index() for name in ("cu126", "cu128", "cpu")}
    cu126, cu128, cpu = indexes["cu126"], indexes["cu128"], indexes["cpu"]
    for version in ("2.14.0+cu126", "2.8.0+cu126"):
        cu126.add(build_wheel(dists_dir, "torch", version, requires_dist=["nvidia-cuda-runtime-cu12==12.6.77; platform_system == 'Linux'", "triton==3.8.0; platform_system == 'Linux'", "filelock"]))
    cu126.add(build_wheel(dists_dir, "torchvision", "0.29.0+cu126", requires_dist=["torch==2.14.0"]))
    cu126.add(build_wheel(dists_dir, "triton", "3.8.0"))
    cu126.add(build_wheel(dists_dir, "filelock", "99.0"))  # PyTorch indexes mirror other projects too
    cu128.add(build_wheel(dists_dir, "torch", "2.7.1+cu128", requires_dist=["nvidia-cuda-runtime-cu12==12.8.90; platform_system == 'Linux'", "filelock"]))
    cpu.add(build_wheel(dists_dir, "torch", "2.15.0+cpu", requires_dist=["filelock"]))
    monkeypatch.setattr(torch_builds, "variant_index_url", lambda name: indexes[name].url)
    return indexes


# -- torch build selection ----------------------------------------------------------------------


def test_a100_keeps_the_default_index_build_and_the_header_names_gpu_and_build(main_index, pytorch_indexes, ftlock):
    result = ftlock("solve", "torch", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["cuda-toolkit==13.2.2", "filelock==3.0", "torch==2.15.0", "triton==3.9.0"]
    assert index_lines(result.lock) == [f"--index-url {main_index.url}"]
    assert header(result.lock)[3:6] == [
        "# GPU: NVIDIA A100 (ampere, compute capability 8.0, sm80) --gpu a100",
        "# Torch build: CUDA 13.2 build (cu132) from the configured index",
        "# CUDA driver: not given; the torch build needs a driver for CUDA 13.2 (>= 595.45.04, or >= 580 through minor-version compatibility)",
    ]
    assert f"torch 2.15.0: CUDA 13.2 build (cu132) from {main_index.url}" in result.stderr.splitlines()


def test_v100_with_a_535_driver_gets_the_cu126_build_from_the_pytorch_index(main_index, pytorch_indexes, ftlock):
    cu126 = pytorch_indexes["cu126"]

    result = ftlock("solve", "torch", "torchvision", "--gpu", "v100", "--cuda-driver", "535.104.05", index=main_index)

    assert result.exit_code == 0, result.stderr
    # CUDA 13 builds (torch 2.15, and 2.14's default build) drop Volta and need a 580 driver;
    # the cu126 build of 2.14 has sm_70 and runs on 535 through minor-version compatibility
    assert pins(result.lock) == [
        "filelock==3.0",
        "nvidia-cuda-runtime-cu12==12.6.77",
        "torch==2.14.0+cu126",
        "torchvision==0.29.0+cu126",
        "triton==3.8.0",
    ]
    assert index_lines(result.lock) == [f"--index-url {main_index.url}", f"--extra-index-url {cu126.url}"]
    lock = result.lock.splitlines()
    assert "# CUDA: driver 535.104.05: CUDA 12.2 natively, 12.x through minor-version compatibility" in lock
    assert f"# Torch build: CUDA 12.6 build (cu126) from {cu126.url} (for torch, torchvision, torchaudio, triton, pytorch-triton)" in lock
    # the torch family comes from the PyTorch index; everything else from the configured one
    assert main_index.count("/simple/torch/") == 0
    assert cu126.count("/simple/filelock/") == 0
    assert "  why: torch 2.14: the newest release with a build that ships kernels for the NVIDIA V100 (sm70) and driver 535.104.05 runs it (minor-version compatibility); skipped torch 2.15 (no build fits)" in result.stderr.splitlines()


def test_the_cuda_release_of_the_driver_decides_between_cuda_12_and_13_builds(main_index, pytorch_indexes, ftlock):
    cuda_12 = ftlock("solve", "torch", "--gpu", "a100", "--cuda", "12.2", index=main_index)
    cuda_13 = ftlock("solve", "torch", "--gpu", "a100", "--cuda", "13.0", index=main_index)

    assert cuda_12.exit_code == cuda_13.exit_code == 0, cuda_12.stderr + cuda_13.stderr
    assert "torch==2.14.0+cu126" in pins(cuda_12.lock)
    assert "torch==2.15.0" in pins(cuda_13.lock)  # 13.2 runs on a 13.0 driver (minor-version compatibility)


def test_blackwell_never_gets_a_build_without_its_kernels(main_index, pytorch_indexes, ftlock):
    # torch 2.7's default build is CUDA 12.6, without sm_120: the cu128 build has it
    result = ftlock("solve", "torch<2.8", "--gpu", "rtx5090", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["filelock==3.0", "nvidia-cuda-runtime-cu12==12.8.90", "torch==2.7.1+cu128"]
    assert index_lines(result.lock)[-1] == f"--extra-index-url {pytorch_indexes['cu128'].url}"


def test_a_driver_older_than_the_gpu_is_an_error_naming_the_driver_it_needs(main_index, ftlock):
    result = ftlock("solve", "torch", "--gpu", "rtx5090", "--cuda-driver", "535.104.05", index=main_index)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: driver 535.104.05: CUDA 12.2 natively, 12.x through minor-version compatibility does not "
        "support the NVIDIA GeForce RTX 5090 (sm120): it needs a driver for CUDA 12.8 or newer (>= 570.26)"
    ]


def test_gpu_cpu_locks_the_cpu_build_without_cuda_packages(main_index, pytorch_indexes, ftlock):
    result = ftlock("solve", "torch", "--gpu", "cpu", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["filelock==3.0", "torch==2.15.0+cpu"]
    assert index_lines(result.lock) == [f"--index-url {main_index.url}", f"--extra-index-url {pytorch_indexes['cpu'].url}"]
    assert "# GPU: none, CPU only (--gpu cpu)" in result.lock.splitlines()


def test_torch_index_overrides_the_choice(main_index, pytorch_indexes, ftlock):
    cu126 = pytorch_indexes["cu126"]

    result = ftlock("solve", "torch", "--gpu", "a100", "--torch-index", cu126.url, index=main_index)

    assert result.exit_code == 0, result.stderr
    assert "torch==2.14.0+cu126" in pins(result.lock)
    assert f"torch 2.14.0+cu126: CUDA 12.6 build (cu126) from {cu126.url}" in result.stderr.splitlines()


def test_an_unknown_gpu_is_a_usage_error_listing_the_catalog(main_index, ftlock):
    result = ftlock("solve", "torch", "--gpu", "k80", index=main_index)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --gpu 'k80': unknown GPU; known: t4, v100, a10g, l4, a100, h100, h200, b200, rtx3090, rtx4090, rtx5090, cpu"
    ]


def test_the_build_catalog_picks_the_newest_release_whose_build_fits():
    def chosen(gpu: str, driver: str | None = None, exclude_newer: datetime | None = None) -> tuple[str, str, str | None]:
        support = DriverSupport.from_driver(driver) if driver else None
        plan = torch_builds.plan(lookup(gpu), support, "Linux", "x86_64", SpecifierSet(), exclude_newer)
        assert plan is not None and plan.variant is not None and plan.release is not None
        index = plan.index_url.rsplit("/", 1)[-1] if plan.index_url else None
        return str(plan.release.version), plan.variant.name, index

    assert chosen("t4") == ("2.15", "cu132", None)  # the default index's build has sm_75
    assert chosen("h100", "580.65.06") == ("2.15", "cu132", None)  # 13.2 on 580: minor-version compat
    assert chosen("a100", "570.26") == ("2.14", "cu126", "cu126")  # no CUDA 13 on a 570 driver
    assert chosen("v100") == ("2.14", "cu126", "cu126")  # CUDA 13 builds have no sm_70
    assert chosen("a100", exclude_newer=datetime(2025, 3, 25, tzinfo=timezone.utc)) == ("2.6", "cu124", None)


# -- CUDA driver facts --------------------------------------------------------------------------


def test_a_driver_runs_its_cuda_release_natively_and_its_major_family_through_minor_version_compatibility():
    r535 = DriverSupport.from_driver("535.104.05")
    r580 = DriverSupport.from_driver("580.65.06")

    assert r535.native == Version("12.2")
    assert DriverSupport.from_driver("535").native == Version("12.2")  # a bare branch
    assert [r535.runs(Version(v)) for v in ("11.8", "12.2", "12.8", "13.0")] == [
        "native", "native", "minor-version compatibility", None,
    ]
    assert r580.native == Version("13.0")
    assert r580.runs(Version("13.2")) == "minor-version compatibility"
    assert r580.runs(Version("12.6")) == "native"
    assert DriverSupport.from_driver("450.80.02").runs(Version("11.8")) == "minor-version compatibility"
    assert DriverSupport.from_driver("450.80.02").runs(Version("12.0")) is None


def test_cuda_driver_feeds_rule_conditions(local_index, dists_dir, ftlock, tmp_path):
    index = local_index()
    for name, version in [("app", "1.0"), ("helper", "1.0"), ("helper", "2.0")]:
        index.add(build_wheel(dists_dir, name, version))
    rules = tmp_path / "team.toml"
    rules.write_text(textwrap.dedent(
        """
        [[conflict]]
        id = "app-helper-2-needs-cuda-12.4"
        summary = "helper 2 calls a CUDA 12.4 driver API that app relies on"
        symptom = "CUDA error: the provided PTX was compiled with an unsupported toolchain"
        fix = "use helper 1 on drivers older than CUDA 12.4"
        sources = ["https://example.org/app/issues/1"]
        added = 2026-11-27
        when = { cuda = "<12.4" }
        a = { name = "app" }
        b = { name = "helper", versions = ">=2" }
        example = { bad = ["app==1.0", "helper==2.0"], good = ["app==1.0", "helper==1.0"] }
        """
    ))

    old = ftlock("solve", "app", "helper", "--cuda", "12.2", "--rules", str(rules), index=index)
    new = ftlock("solve", "app", "helper", "--cuda-driver", "560.35.03", "--rules", str(rules), index=index)

    assert old.exit_code == new.exit_code == 0, old.stderr + new.stderr
    assert pins(old.lock) == ["app==1.0", "helper==1.0"]
    assert pins(new.lock) == ["app==1.0", "helper==2.0"]
    # no torch in the lock: nothing about torch builds in it
    assert not any(line.startswith("# Torch build") for line in old.lock.splitlines())


# -- GPU-conditioned rules ----------------------------------------------------------------------


def test_flash_attn_on_a_t4_fails_explaining_the_architecture_with_sources(main_index, ftlock):
    result = ftlock("solve", "flash-attn", "--gpu", "t4", index=main_index)

    assert result.exit_code == 1
    message = result.stderr.splitlines()[0]
    assert message.startswith("error: cannot solve: conflicting requirements on torch: ")
    assert (
        "flash-attn 2.8.3 forbids torch by knowledge rule flash-attn-2-needs-ampere (FlashAttention-2 "
        "(flash-attn 2.x) runs only on Ampere or newer GPUs (compute capability 8.0+)"
    ) in message
    assert "source: https://github.com/Dao-AILab/flash-attention/blob/v2.8.3/README.md" in message
    assert "flash-attn 1.0.9 forbids torch by knowledge rule flash-attn-1-cannot-train-below-ampere" in message


def test_flash_attn_on_an_a100_solves_without_building_anything(main_index, ftlock, tmp_path, monkeypatch):
    hooks = tmp_path / "hooks.log"
    monkeypatch.setenv(BACKEND_LOG_ENV, str(hooks))

    result = ftlock("solve", "flash-attn", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["cuda-toolkit==13.2.2", "einops==0.8.1", "filelock==3.0", "flash-attn==2.8.3", "torch==2.15.0", "triton==3.9.0"]
    assert not hooks.exists(), hooks.read_text()  # the metadata rule gave Requires-Dist


# -- model presets ------------------------------------------------------------------------------


def test_model_preset_solves_the_fine_tuning_stack_with_the_family_minimum(main_index, ftlock):
    plain = ftlock("solve", "transformers", "trl", index=main_index)
    gemma3 = ftlock("solve", "--model", "gemma3", "--gpu", "a100", index=main_index)

    assert plain.exit_code == gemma3.exit_code == 0, plain.stderr + gemma3.stderr
    assert pins(plain.lock) == ["transformers==4.49.0", "trl==1.0.0"]
    # Gemma 3 needs transformers 4.50: trl 1.0 (transformers<4.50) gives way
    assert pins(gemma3.lock) == [
        "accelerate==1.5.0", "cuda-toolkit==13.2.2", "datasets==3.4.0", "filelock==3.0",
        "peft==0.15.0", "torch==2.15.0", "transformers==4.50.0", "triton==3.9.0", "trl==0.9.0",
    ]
    lock = gemma3.lock.splitlines()
    assert "# Model: gemma3, Gemma 3 (transformers>=4.50.0)" in lock
    via = lock[lock.index("transformers==4.50.0 \\") + 2 :][:8]
    assert {"    #   --model gemma3", "    #   fine-tuning stack"} <= set(via)


def test_quant_adds_bitsandbytes_and_declares_the_feature(main_index, ftlock, tmp_path):
    rules = tmp_path / "team.toml"
    rules.write_text(textwrap.dedent(
        """
        [[requires]]
        id = "team-4bit-needs-bnb-0.46"
        summary = "our 4-bit loader needs bitsandbytes 0.46"
        symptom = "ImportError in the 4-bit loader"
        fix = "bitsandbytes>=0.46"
        sources = ["https://example.org/team/1"]
        added = 2026-11-27
        when = { features = ["load_in_4bit"] }
        if = { name = "transformers" }
        then = { name = "bitsandbytes", versions = ">=0.46" }
        example = { bad = ["transformers==4.50.0", "bitsandbytes==0.45.5"], good = ["transformers==4.50.0", "bitsandbytes==0.46.1"], features = ["load_in_4bit"] }
        """
    ))

    result = ftlock("solve", "transformers", "bitsandbytes<=0.46.1", "--quant", "4bit", "--rules", str(rules), index=main_index)

    assert result.exit_code == 0, result.stderr
    assert "bitsandbytes==0.46.1" in pins(result.lock)
    assert "# Quantization: 4bit (feature load_in_4bit)" in result.lock.splitlines()


def test_with_unsloth_adds_it_to_the_stack(main_index, ftlock):
    result = ftlock("solve", "--model", "qwen2", "--with", "unsloth", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert "unsloth==2025.3.18" in pins(result.lock)
    assert "# Model: qwen2.5, Qwen2 and Qwen2.5 (Qwen2 architecture) (transformers>=4.37.0)" in result.lock.splitlines()


def test_an_unknown_model_is_a_usage_error(main_index, ftlock):
    result = ftlock("solve", "--model", "gpt5", index=main_index)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("error: --model 'gpt5': unknown model family; known: gemma, gemma2, gemma3,")


def test_models_lists_the_presets(ftlock):
    result = ftlock("models")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[2] == "gemma3                   transformers>=4.50.0     Gemma 3"
    assert "qwen2.5, qwen2           transformers>=4.37.0     Qwen2 and Qwen2.5 (Qwen2 architecture)" in lines


# -- probe --------------------------------------------------------------------------------------


def _fake_nvidia_smi(bin_dir: Path, output: str, exit_code: int = 0) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_probe_prints_the_flags_of_this_machine(ftlock, tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path / "bin", "NVIDIA A100-SXM4-80GB, 535.104.05, 8.0\nNVIDIA A100-SXM4-80GB, 535.104.05, 8.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ.get("PATH", ""))

    result = ftlock("probe")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "--gpu a100 --cuda-driver 535.104.05\n"
    assert result.stderr.splitlines() == [
        "NVIDIA A100-SXM4-80GB: compute capability 8.0; driver 535.104.05: CUDA 12.2 natively, 12.x through minor-version compatibility"
    ]


def test_probe_names_a_gpu_outside_the_catalog_and_still_prints_the_driver(ftlock, tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path / "bin", "NVIDIA L40S, 570.86.15, 8.9")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ.get("PATH", ""))

    result = ftlock("probe")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "--cuda-driver 570.86.15\n"
    assert "note: NVIDIA L40S (compute capability 8.9) is not in the GPU catalog (`ftlock gpus`); same compute capability: l4, rtx4090" in result.stderr.splitlines()


def test_probe_without_nvidia_smi_says_so_in_one_line_and_fails(ftlock, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    result = ftlock("probe")

    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: nvidia-smi not found on PATH: no NVIDIA driver on this machine")


def test_probe_reports_a_failing_nvidia_smi(ftlock, tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path / "bin", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", exit_code=9)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ.get("PATH", ""))

    result = ftlock("probe")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: nvidia-smi failed (exit 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    ]
