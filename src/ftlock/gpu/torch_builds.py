"""Which torch build a GPU target gets, from the data in ``gpu/catalog/torch.toml``.

A torch wheel is built for one CUDA release and ships kernels for a list of GPU
architectures.  For a target GPU (``--gpu``) and driver (``--cuda-driver``/``--cuda``) the
newest release (within the user's torch requirement and ``--exclude-newer``) is chosen that
has a build which

* the driver can run (natively, or through minor-version compatibility: ``knowledge.cuda``),
* and ships kernels for the GPU (a cubin for X.y runs on X.z with z >= y; PTX JITs upward).

When the default index already serves such a build (Linux x86_64 wheels are one CUDA build
per release) nothing changes but a constraint keeping torch on releases whose build fits;
otherwise the torch family is routed to the PyTorch index of the chosen variant
(``https://download.pytorch.org/whl/cu126``), where builds are local versions
(``2.14.0+cu126``), and the lock names that index.  Every decision comes from the table:
nothing here knows about particular GPUs or CUDA releases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ftlock._values import replace
from ftlock.errors import NoSolution, UsageError
from ftlock.gpu.cuda import DriverSupport, compat_floor, min_driver
from ftlock.gpu._catalog import Entry, HttpUrl, Sources, load
from ftlock.gpu.gpus import Gpu


CATALOG = Path(__file__).resolve().parent / "catalog" / "torch.toml"

#: Taken only from the chosen torch index: a torchvision of another build would not match.
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")
#: Taken from the chosen torch index when it has them, else from the configured indexes.
#: (nvidia-* runtime packages are pinned exactly by torch, so they come from the configured
#: index like any other project.)
TORCH_COMPANIONS = ("triton", "pytorch-triton")
CPU = "cpu"


@dataclass(frozen=True)
class Arch:
    capability: Version
    ptx: bool = False

    @classmethod
    def parse(cls, text: str) -> Arch:
        ptx = text.endswith("+PTX")
        return cls(Version(text.removesuffix("+PTX")), ptx)

    def runs_on(self, capability: Version) -> bool:
        if self.capability.major == capability.major and self.capability <= capability:
            return True  # cubin: same major, same or newer minor
        return self.ptx and self.capability <= capability

    @property
    def sm(self) -> str:
        return f"sm{self.capability.major}{self.capability.minor}"


@dataclass(frozen=True)
class Variant:
    """One build of one release: ``cu126`` (CUDA 12.6) or ``cpu``."""

    name: str
    archs: tuple[Arch, ...] = ()

    @property
    def cuda(self) -> Version | None:
        return variant_cuda(self.name)

    def has_kernels(self, capability: Version) -> bool:
        return any(a.runs_on(capability) for a in self.archs)

    def describe(self) -> str:
        return "CPU build" if self.cuda is None else f"CUDA {self.cuda} build ({self.name})"


def variant_cuda(name: str) -> Version | None:
    """``cu126`` -> 12.6, ``cu130`` -> 13.0, ``cu118`` -> 11.8; None for ``cpu``/unknown."""
    if not name.startswith("cu") or not name[2:].isdigit() or len(name) < 5:
        return None
    digits = name[2:]
    return Version(f"{digits[:-1]}.{digits[-1]}")


class _ReleaseData(Entry, frozen=True):
    version: str
    released: date
    default_index: str
    sources: Sources
    variants: dict[str, tuple[str, ...]]


class _CatalogData(Entry, frozen=True):
    index_base: HttpUrl
    release: tuple[_ReleaseData, ...]


@dataclass(frozen=True)
class Release:
    version: Version  # the minor release, e.g. 2.14
    released: date
    default_index: str
    variants: dict[str, Variant] = field(hash=False)

    def variant(self, name: str) -> Variant | None:
        if name == CPU:
            return Variant(CPU)  # every release has CPU builds
        return self.variants.get(name)

    def all_variants(self) -> list[Variant]:
        return [*self.variants.values(), Variant(CPU)]

    def admitted_by(self, spec: SpecifierSet) -> bool:
        if not str(spec):
            return True
        locals_ = ["", *(f"+{name}" for name in [*self.variants, CPU])]  # torch==2.14.0+cu126
        return any(
            spec.contains(Version(f"{self.version}.{patch}{local}"), prereleases=True)
            for patch in range(20)
            for local in locals_
        )


@dataclass(frozen=True)
class TorchCatalog:
    index_base: str
    releases: tuple[Release, ...]  # newest first


@lru_cache(maxsize=1)
def catalog() -> TorchCatalog:
    data: _CatalogData = load(CATALOG, _CatalogData)
    releases = [
        Release(
            Version(r.version),
            r.released,
            r.default_index,
            {name: Variant(name, tuple(Arch.parse(a) for a in archs)) for name, archs in r.variants.items()},
        )
        for r in data.release
    ]
    releases.sort(key=lambda r: r.version, reverse=True)
    return TorchCatalog(str(data.index_base).rstrip("/"), tuple(releases))


def variant_index_url(name: str) -> str:
    """The PyTorch index of a variant (tests point this at a local index)."""
    return f"{catalog().index_base}/{name}"


def variant_of_index(url: str) -> str | None:
    """``https://download.pytorch.org/whl/cu126`` -> ``cu126`` (None when not recognisable)."""
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail == CPU or variant_cuda(tail) is not None else None


def variant_of_version(version: str) -> str | None:
    """The local label of a PyTorch-index build: ``2.14.0+cu126`` -> ``cu126``."""
    try:
        local = Version(version).local
    except InvalidVersion:
        return None
    return local if local and (local == CPU or variant_cuda(local) is not None) else None


@dataclass(frozen=True)
class TorchPlan:
    """The build chosen for the target, and how the solve gets it."""

    variant: Variant | None  # None: --torch-index whose build ftlock cannot name
    release: Release | None  # the newest release that fits (what the solver will likely pick)
    index_url: str | None  # route the torch family here; None: the configured indexes
    constraint: SpecifierSet  # torch releases whose build (on that index) fits the target
    why: str  # one sentence for the summary on stderr
    driver_note: str = ""  # what the driver must support (when no driver was given)
    # the newest release (within the user's requirement) whose build on the configured
    # index fits too: the way out when ``index_url`` cannot be reached
    fallback: Release | None = None
    # the target the build was chosen for, so the plan can be re-told for the torch the
    # solve actually locked (:meth:`settled`)
    gpu: Gpu | None = field(default=None, compare=False)
    driver: DriverSupport | None = field(default=None, compare=False)
    user_index: bool = False  # --torch-index: the user named the index, ftlock did not choose

    @property
    def routes(self) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
        if self.index_url is None:
            return ()
        strict = tuple((name, (self.index_url,), False) for name in TORCH_FAMILY)
        companions = tuple((name, (self.index_url,), True) for name in TORCH_COMPANIONS)
        return strict + companions

    def unreachable(self, error: str) -> str | None:
        """``error`` (a failure to read this plan's PyTorch index) told as one line that
        says why that index was needed and the ways out; None when the error is about
        another index or the user named the index (``--torch-index``) themselves."""
        if self.index_url is None or self.user_index or self.variant is None or self.release is None:
            return None
        base = self.index_url.rstrip("/")
        if base not in error:
            from ftlock._urls import redact  # noqa: PLC0415 - only on this error path

            if redact(base) not in error:
                return None
        gpu = self.gpu if self.gpu is not None and self.gpu.capability is not None else None
        target = f"the {_gpu_text(gpu)}" if gpu is not None else "the target"
        default = self.release.variant(self.release.default_index)
        if default is None:
            because = "the configured index has no build of it"
        elif gpu is not None and gpu.capability is not None and not default.has_kernels(gpu.capability):
            because = f"the configured index's build, {default.name}, has no kernels for {target}"
        elif self.driver is not None and default.cuda is not None and self.driver.runs(default.cuda) is None:
            because = f"the configured index's build, {default.name}, needs a newer driver than {self.driver.describe()}"
        else:
            because = "the configured index does not serve that build for this platform"
        ways = ["--torch-index URL (a mirror of that index)"]
        if self.fallback is not None:
            newest = self.fallback.version
            fallback_build = self.fallback.variant(self.fallback.default_index)
            assert fallback_build is not None  # the fallback was chosen for a build that fits
            fits = " and ".join(_reasons(fallback_build, self.gpu, self.driver))
            ways.append(
                f"require torch<{newest.major}.{newest.minor + 1}, which the configured index "
                f"serves in a build ({self.fallback.default_index}) that {fits or 'fits'}"
            )
        return (
            f"{error} — that index was needed because torch {self.release.version} is the "
            f"newest release with a build for {target}, {self.variant.name}, which only that "
            f"PyTorch index serves ({because}); ways out: {', or '.join(ways)}"
        )

    def settled(self, version: str) -> TorchPlan:
        """The plan re-told for the torch the solve locked.

        The build is chosen before the solve, for the newest release that fits; other
        requirements (``torchvision<0.26``) can hold torch on an older release, whose build
        on the same index is another one (2.10 on the default index is CUDA 12.8, not the
        13.2 of 2.15).  The header, the driver line and the summary must describe what was
        locked, so they are derived again from the locked release.
        """
        locked = release_of(version)
        if locked is None or self.variant is None or (self.release is not None and locked.version == self.release.version):
            return self
        if self.index_url is None:
            name = locked.default_index
        else:
            name = self.variant.name
        variant = locked.variant(name)
        if variant is None:
            return self
        if self.user_index:
            return replace(self, variant=variant, release=locked)
        reasons = _reasons(variant, self.gpu, self.driver)
        where = "the default index" if self.index_url is None else self.index_url
        why = f"torch {locked.version}: the newest release your other requirements allow"
        if self.release is not None:
            why += f" (torch {self.release.version} would fit the target too)"
        why += f"; its {variant.name} build on {where}"
        why += f" {' and '.join(reasons)}" if reasons else " is used"
        note = _driver_need(variant) if self.driver is None else ""
        return replace(self, variant=variant, release=locked, why=why, driver_note=note)


def _constraint(allowed: list[Release]) -> SpecifierSet:
    """torch limited to the ``allowed`` catalog releases (and none outside the catalog)."""
    known = sorted(catalog().releases, key=lambda r: r.version)
    newest = known[-1].version
    parts = [f">={known[0].version}", f"<{newest.major}.{newest.minor + 1}"]
    allowed_versions = {r.version for r in allowed}
    parts += [f"!={r.version}.*" for r in known if r.version not in allowed_versions]
    return SpecifierSet(",".join(parts))


def _gpu_text(gpu: Gpu) -> str:
    return f"{gpu.label} ({gpu.sm})"


def _reasons(variant: Variant, gpu: Gpu | None, driver: DriverSupport | None) -> list[str]:
    """Why ``variant`` fits: "ships kernels for the NVIDIA A100 (sm80)", "driver … runs it"."""
    reasons = []
    if gpu is not None and gpu.capability is not None:
        reasons.append(f"ships kernels for the {_gpu_text(gpu)}")
    if driver is not None and variant.cuda is not None:
        runs = driver.runs(variant.cuda)
        reasons.append(f"{'driver ' + driver.driver if driver.driver else 'CUDA ' + str(driver.native)} runs it ({runs})")
    return reasons


def _driver_need(variant: Variant) -> str:
    cuda = variant.cuda
    if cuda is None:
        return ""
    need = f"needs a driver for CUDA {cuda} (>= {min_driver(cuda) or '?'}"
    floor = compat_floor(cuda.major)
    if floor:
        need += f", or >= {floor} through minor-version compatibility"
    return need + ")"


def plan(
    gpu: Gpu | None,
    driver: DriverSupport | None,
    system: str,
    machine: str,
    torch_spec: SpecifierSet,
    exclude_newer: datetime | None = None,
    torch_index: str | None = None,
) -> TorchPlan | None:
    """The torch build for the target, or None when nothing about it was asked."""
    if gpu is None and driver is None and torch_index is None:
        return None
    cpu = gpu is not None and gpu.name == CPU
    capability = gpu.capability if gpu is not None else None
    if system == "Windows" and gpu is not None and capability is not None:  # capability: from gpu
        raise UsageError(
            f"--gpu {gpu.name} with a Windows platform: ftlock's torch build catalog records "
            "the Linux x86_64 builds only (PyTorch's Windows wheels ship other GPU "
            "architectures); lock for --platform linux_x86_64, or leave out --gpu and name "
            "the build with --torch-index URL"
        )
    if gpu is not None and not cpu and driver is not None:
        first = driver.knows(capability)
        if first is not None:
            raise NoSolution(
                f"{driver.describe()} does not support the {_gpu_text(gpu)}: it needs a driver "
                f"for CUDA {first} or newer (>= {min_driver(first) or '?'})"
            )

    def fits(variant: Variant | None) -> bool:
        if variant is None:
            return False
        if cpu:
            return variant.name == CPU
        if variant.name == CPU:
            return gpu is None and driver is None  # only --torch-index .../cpu
        if capability is not None and not variant.has_kernels(capability):
            return False
        # a GPU build: the catalog names its CUDA release
        return driver is None or driver.runs(cast(Version, variant.cuda)) is not None

    releases = [
        r for r in catalog().releases
        if r.admitted_by(torch_spec)
        and (exclude_newer is None or r.released <= exclude_newer.date())
    ]
    target = _gpu_text(gpu) if gpu is not None and not cpu else "the target"

    if torch_index is not None:
        name = variant_of_index(torch_index)
        if name is None:
            return TorchPlan(None, None, torch_index, SpecifierSet(), f"--torch-index {torch_index} (its builds are not checked against the catalog)")
        if name == CPU or (gpu is None and driver is None):
            return TorchPlan(Variant(name), None, torch_index, SpecifierSet(), f"--torch-index {torch_index}")
        allowed = [r for r in catalog().releases if fits(r.variant(name))]
        if not allowed:
            raise NoSolution(
                f"--torch-index {torch_index}: no {name} build of torch in ftlock's catalog fits "
                f"{target}{' with ' + driver.describe() if driver else ''}"
            )
        chosen = next((r for r in releases if r in allowed), None)
        variant = (chosen or allowed[0]).variant(name)
        assert variant is not None  # every allowed release has a build named so (fits)
        return TorchPlan(variant, chosen, torch_index, _constraint(allowed), f"--torch-index {torch_index}", _driver_need(variant) if driver is None else "", gpu=gpu, driver=driver, user_index=True)

    if cpu:
        if system == "Darwin":
            return None  # macOS wheels on the default index are CPU builds already
        latest = releases[0] if releases else None
        return TorchPlan(Variant(CPU), latest, variant_index_url(CPU), SpecifierSet(), "--gpu cpu: CPU builds, without CUDA runtime packages")
    if system not in ("Linux", "Windows") or (system == "Linux" and machine != "x86_64"):
        return None  # no catalog data for these platforms: the caller warns
    skipped: list[str] = []
    for release in releases:
        options = [v for v in release.all_variants() if fits(v)]
        if not options:
            skipped.append(str(release.version))
            continue
        default = release.variant(release.default_index)
        on_default = system == "Linux" and machine == "x86_64" and default in options
        if on_default:
            assert default is not None  # on_default: it is one of the options
            variant = default
            allowed = [r for r in catalog().releases if fits(r.variant(r.default_index))]
            index = None
        else:
            variant = max(options, key=lambda v: v.cuda or Version("0"))
            allowed = [r for r in catalog().releases if fits(r.variant(variant.name))]
            index = variant_index_url(variant.name)
        reasons = _reasons(variant, gpu, driver)
        why = f"torch {release.version}: the newest release with a build that {' and '.join(reasons)}"
        if skipped:
            why += f"; skipped torch {', '.join(skipped)} (no build fits)"
        if on_default:
            why += "; the default index serves that build"
        # when the build needs a PyTorch index: the newest release whose build on the
        # configured index fits as well (named when that index cannot be reached)
        fallback = None
        if index is not None and system == "Linux" and machine == "x86_64":
            fallback = next((r for r in releases if fits(r.variant(r.default_index))), None)
        return TorchPlan(
            variant, release, index, _constraint(allowed), why,
            _driver_need(variant) if driver is None else "", fallback, gpu, driver,
        )
    span = f"{catalog().releases[-1].version}-{catalog().releases[0].version}"
    detail = f" with {driver.describe()}" if driver else ""
    raise NoSolution(
        f"no torch build in ftlock's catalog (torch {span}, within your torch requirement"
        f"{' and --exclude-newer' if exclude_newer else ''}) ships kernels for {target}{detail}"
    )


def observed_variant(packages: dict[str, str]) -> str | None:
    """The build a lock actually holds: the torch local label, else the CUDA version of its
    runtime packages (``cuda-toolkit``/``nvidia-cuda-runtime*``), else ``cpu``."""
    torch = packages.get("torch")
    if torch is None:
        return None
    local = variant_of_version(torch)
    if local:
        return local
    for name, version in sorted(packages.items()):
        if name == "cuda-toolkit" or canonicalize_name(name).startswith("nvidia-cuda-runtime"):
            try:
                parsed = Version(version)
            except InvalidVersion:
                continue
            return f"cu{parsed.major}{parsed.minor}"
    return CPU


def release_of(version: str) -> Release | None:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    minor = Version(f"{parsed.major}.{parsed.minor}")
    return next((r for r in catalog().releases if r.version == minor), None)
