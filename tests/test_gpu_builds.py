"""Specification: the torch build a GPU lock describes is the one it holds (issue 16).

* the catalog covers torch 2.0-2.4 (2.0 cu117/cu118; 2.1-2.3 cu118/cu121; 2.4 adds cu124),
  and 2.7's CUDA 12.8 build carries compute_120 PTX;
* the catalog is Linux x86_64 data: a GPU target on Windows is refused in one line;
* the header, the driver line and the summary describe the torch the solve locked, also
  when other requirements hold torch below the release the build was chosen for;
* an unreachable PyTorch index is one line that says why it was needed and the ways out;
* an sdist-only pin that compiles CUDA at install time is said on stderr and next to it.

The default index and the PyTorch indexes are served locally, as in tests/test_gpu.py.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftlock.gpu.cuda import DriverSupport
from ftlock.gpu.gpus import lookup
from ftlock.gpu import torch_builds
from tests.support.dists import build_sdist, build_wheel
from tests.support.locks import pinned as pins


def header(lock: str) -> list[str]:
    return [l for l in lock.splitlines() if l.startswith("# ")]


@pytest.fixture
def main_index(local_index, dists_dir):  # type: ignore[no-untyped-def]
    """The default index: one CUDA build per torch release, named by its runtime pins."""
    index = local_index()
    wheels = [
        ("torch", "2.15.0", ["cuda-toolkit==13.2.2", "filelock"]),
        ("torch", "2.14.0", ["cuda-toolkit==13.0.3", "filelock"]),
        ("torch", "2.10.0", ["nvidia-cuda-runtime-cu12==12.8.90", "filelock"]),
        ("torch", "2.2.2", ["nvidia-cuda-runtime-cu12==12.1.105", "filelock"]),
        ("torchvision", "0.30.0", ["torch==2.15.0"]),
        ("torchvision", "0.29.0", ["torch==2.14.0"]),
        ("cuda-toolkit", "13.2.2", []),
        ("cuda-toolkit", "13.0.3", []),
        ("nvidia-cuda-runtime-cu12", "12.8.90", []),
        ("nvidia-cuda-runtime-cu12", "12.1.105", []),
        ("filelock", "3.0", []),
        ("einops", "0.8.1", []),
    ]
    for name, version, requires in wheels:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires))
    return index


# -- the catalog ----------------------------------------------------------------------------------


def chosen(gpu: str, spec: str = "", driver: str | None = None, exclude_newer: datetime | None = None) -> tuple[str, str, str | None]:
    support = DriverSupport.from_driver(driver) if driver else None
    plan = torch_builds.plan(lookup(gpu), support, "Linux", "x86_64", SpecifierSet(spec), exclude_newer)
    assert plan is not None and plan.variant is not None and plan.release is not None
    index = plan.index_url.rsplit("/", 1)[-1] if plan.index_url else None
    return str(plan.release.version), plan.variant.name, index


def test_the_catalog_has_torch_2_0_to_2_4_with_their_cuda_builds():
    releases = {str(r.version): r for r in torch_builds.catalog().releases}

    assert {v: sorted(releases[v].variants) for v in ("2.0", "2.1", "2.2", "2.3", "2.4")} == {
        "2.0": ["cu117", "cu118"],
        "2.1": ["cu118", "cu121"],
        "2.2": ["cu118", "cu121"],
        "2.3": ["cu118", "cu121"],
        "2.4": ["cu118", "cu121", "cu124"],
    }
    assert [releases[v].default_index for v in ("2.0", "2.1", "2.4")] == ["cu117", "cu121", "cu121"]
    # CUDA 11.x builds keep Kepler (sm_37); the CUDA 12.x builds start at sm_50
    assert releases["2.2"].variant("cu118").has_kernels(Version("3.7"))
    assert not releases["2.2"].variant("cu121").has_kernels(Version("3.7"))
    assert not releases["2.0"].variant("cu117").has_kernels(Version("9.0"))  # no Hopper before 11.8


def test_old_torch_releases_are_chosen_for_old_requirements_and_dates():
    assert chosen("a100", "==2.2.2") == ("2.2", "cu121", None)
    assert chosen("a100", exclude_newer=datetime(2024, 6, 1, tzinfo=timezone.utc)) == ("2.3", "cu121", None)
    assert chosen("h100", "<2.1") == ("2.0", "cu118", "cu118")  # 2.0's default cu117 build has no sm_90
    # a CUDA 11.4 driver runs 11.x builds through minor-version compatibility, no 12.x one
    assert chosen("v100", "<2.5", driver="470.42.01") == ("2.4", "cu118", "cu118")


def test_the_cuda_12_8_build_of_torch_2_7_carries_compute_120_ptx():
    release = torch_builds.release_of("2.7.1")
    assert release is not None
    archs = release.variant("cu128").archs

    assert archs[-1] == torch_builds.Arch(Version("12.0"), ptx=True)
    assert release.variant("cu128").has_kernels(Version("12.1"))  # PTX JITs upward


def test_an_old_pin_locks_the_default_index_build_that_fits(main_index, ftlock):
    result = ftlock("solve", "torch==2.2.2", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert pins(result.lock) == ["filelock==3.0", "nvidia-cuda-runtime-cu12==12.1.105", "torch==2.2.2"]
    assert "# Torch build: CUDA 12.1 build (cu121) from the configured index" in header(result.lock)


def test_a_gpu_target_on_windows_is_refused_in_one_line(main_index, ftlock):
    result = ftlock("solve", "torch", "--gpu", "a100", "--platform", "win_amd64", index=main_index)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --gpu a100 with a Windows platform: ftlock's torch build catalog records the "
        "Linux x86_64 builds only (PyTorch's Windows wheels ship other GPU architectures); lock "
        "for --platform linux_x86_64, or leave out --gpu and name the build with --torch-index URL"
    ]


# -- what the lock says is what it holds ----------------------------------------------------------


def test_header_driver_line_and_summary_describe_the_torch_actually_locked(main_index, ftlock):
    # the build is chosen for torch 2.15 (cu132); torchvision<0.30 holds torch at 2.14 (cu130)
    result = ftlock("solve", "torch", "torchvision<0.30", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    assert "torch==2.14.0" in pins(result.lock)
    assert header(result.lock)[3:6] == [
        "# GPU: NVIDIA A100 (ampere, compute capability 8.0, sm80) --gpu a100",
        "# Torch build: CUDA 13.0 build (cu130) from the configured index",
        "# CUDA driver: not given; the torch build needs a driver for CUDA 13.0 (>= 580.65.06, or >= 580 through minor-version compatibility)",
    ]
    stderr = result.stderr.splitlines()
    assert not [line for line in stderr if line.startswith("warning:")]
    assert f"torch 2.14.0: CUDA 13.0 build (cu130) from {main_index.url}" in stderr
    assert (
        "  why: torch 2.14: the newest release your other requirements allow (torch 2.15 would "
        "fit the target too); its cu130 build on the default index ships kernels for the NVIDIA A100 (sm80)"
    ) in stderr


def test_an_unreachable_pytorch_index_says_why_it_was_needed_and_the_ways_out(main_index, ftlock, monkeypatch):
    # nothing listens on port 9: the cu126 index of this test cannot be reached
    monkeypatch.setattr(torch_builds, "variant_index_url", lambda name: f"http://127.0.0.1:9/{name}")

    result = ftlock("solve", "torch", "--gpu", "v100", "--retries", "0", index=main_index)

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach http://127.0.0.1:9/cu126/torch/: ")
    assert line.endswith(
        " — that index was needed because torch 2.14 is the newest release with a build for the "
        "NVIDIA V100 (sm70), cu126, which only that PyTorch index serves (the configured index's "
        "build, cu130, has no kernels for the NVIDIA V100 (sm70)); ways out: --torch-index URL "
        "(a mirror of that index), or require torch<2.11, which the configured index serves in a "
        "build (cu128) that ships kernels for the NVIDIA V100 (sm70)"
    )
    # the way out it names works
    fallback = ftlock("solve", "torch<2.11", "--gpu", "v100", index=main_index)
    assert fallback.exit_code == 0, fallback.stderr
    assert "torch==2.10.0" in pins(fallback.lock)


# -- sdist-only pins that compile CUDA ------------------------------------------------------------


def test_an_sdist_only_pin_that_compiles_cuda_is_said_next_to_it_and_on_stderr(main_index, dists_dir, ftlock):
    main_index.add(build_sdist(dists_dir, "flash-attn", "2.8.3", requires_dist=["torch", "einops"]))
    main_index.add(build_sdist(dists_dir, "tinyutil", "1.0"))  # sdist-only too, but pure Python

    result = ftlock("solve", "flash-attn", "tinyutil", "--gpu", "a100", index=main_index)

    assert result.exit_code == 0, result.stderr
    lock = result.lock.splitlines()
    notes = [l for l in lock if l.startswith("    # ftlock: built from source")]
    assert notes == [
        "    # ftlock: built from source at install: flash-attn 2.8.3 has no wheel for this target, "
        "and building it compiles CUDA kernels (often an hour) with nvcc; install torch first, then "
        "this lock with pip --no-build-isolation (its setup.py imports torch); setup.py first tries "
        "a prebuilt wheel from https://github.com/Dao-AILab/flash-attention/releases, which the "
        "lock's hashes do not cover"
    ]
    assert lock.index(notes[0]) > lock.index("flash-attn==2.8.3 \\")
    assert (
        "warning: flash-attn 2.8.3 is locked as a source distribution only: installing the lock "
        "compiles CUDA kernels (often an hour) with nvcc, which needs a CUDA toolkit matching "
        "torch's CUDA on the installing machine; see the note next to its pin"
    ) in result.stderr.splitlines()
