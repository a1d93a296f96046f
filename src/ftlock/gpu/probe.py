"""``ftlock probe``: read this machine's GPUs and driver with ``nvidia-smi`` and turn them
into the ``--gpu``/``--cuda-driver`` flags of a solve for this machine."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from ftlock.errors import FtlockError
from ftlock.gpu.gpus import Gpu, catalog

QUERY = ["--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"]
QUERY_OLD = ["--query-gpu=name,driver_version", "--format=csv,noheader"]  # drivers before compute_cap


class ProbeError(FtlockError):
    """No usable nvidia-smi here; the message is one line."""

    exit_code = 1


@dataclass(frozen=True)
class ProbedGpu:
    name: str  # as nvidia-smi reports it, e.g. "NVIDIA A100-SXM4-80GB"
    driver: str  # e.g. "535.104.05"
    compute_capability: str | None  # e.g. "8.0"; None from drivers too old to report it
    match: Gpu | None  # the catalog entry, when one fits

    def flags(self) -> str:
        parts = [f"--gpu {self.match.name}"] if self.match is not None else []
        return " ".join(parts + [f"--cuda-driver {self.driver}"])


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def match(name: str, capability: str | None) -> Gpu | None:
    """The catalog GPU an nvidia-smi name denotes: a catalog name equal to one word of it or to
    two adjacent words joined ("GeForce RTX 4090" -> rtx4090), with the same compute
    capability when nvidia-smi reports one ("NVIDIA L40S" is not an "l4")."""
    words = _tokens(name)
    candidates = set(words) | {a + b for a, b in zip(words, words[1:])}
    found = [gpu for gpu in catalog().values() if gpu.name in candidates]
    if capability is not None:
        try:
            wanted = Version(capability)
        except InvalidVersion:
            wanted = None
        found = [gpu for gpu in found if wanted is None or gpu.capability == wanted]
    return max(found, key=lambda gpu: len(gpu.name)) if found else None


def _run(exe: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([exe, *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProbeError(f"nvidia-smi could not be run: {exc}") from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def probe() -> list[ProbedGpu]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        raise ProbeError(
            "nvidia-smi not found on PATH: no NVIDIA driver on this machine (or not on PATH); "
            "pass --gpu NAME --cuda-driver VERSION for the target, or --gpu cpu"
        )
    result = _run(exe, QUERY)
    with_capability = True
    if result.returncode != 0 and "compute_cap" in (result.stdout + result.stderr):
        result = _run(exe, QUERY_OLD)  # drivers before 510 cannot report compute_cap
        with_capability = False
    if result.returncode != 0:
        raise ProbeError(f"nvidia-smi failed (exit {result.returncode}): {_first_line(result.stderr or result.stdout)}")
    gpus: list[ProbedGpu] = []
    for line in result.stdout.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if not line.strip():
            continue
        if len(fields) < (3 if with_capability else 2):
            raise ProbeError(f"nvidia-smi printed an unexpected line: {line.strip()!r}")
        name, driver = fields[0], fields[1]
        capability = fields[2] if with_capability else None
        gpus.append(ProbedGpu(name, driver, capability, match(name, capability)))
    if not gpus:
        raise ProbeError("nvidia-smi lists no GPU on this machine")
    return gpus


@dataclass(frozen=True)
class AutoGpu:
    """What ``solve --gpu auto`` found on this machine: the flags it stands for."""

    gpu: str  # catalog name, e.g. "a100"
    driver: str  # e.g. "535.104.05"
    seen: str  # nvidia-smi's name, e.g. "NVIDIA A100-SXM4-80GB"


def auto() -> AutoGpu:
    """This machine's GPU for ``--gpu auto``, or a one-line :class:`ProbeError`.

    Unlike ``$(ftlock probe)`` in a shell — which expands to nothing when probing fails, so
    the solve silently locks for no GPU — every way this can go wrong stops the solve: no
    nvidia-smi, a failing one, a GPU outside the catalog, different GPUs on one machine.
    """
    try:
        found = probe()
    except ProbeError as exc:
        raise ProbeError(f"--gpu auto: {exc}") from None
    models = list(dict.fromkeys(g.name for g in found))
    if len(models) > 1:
        raise ProbeError(
            f"--gpu auto: this machine has different GPUs ({', '.join(models)}); "
            "pass --gpu NAME for the one you train on (`ftlock probe` prints each)"
        )
    first = found[0]
    if first.match is None:
        cc = f"compute capability {first.compute_capability}" if first.compute_capability else "compute capability not reported"
        raise ProbeError(
            f"--gpu auto: {first.name} ({cc}) is not in the GPU catalog; pass --gpu NAME "
            f"(`ftlock gpus` lists them) and --cuda-driver {first.driver}"
        )
    return AutoGpu(first.match.name, first.driver, first.name)
