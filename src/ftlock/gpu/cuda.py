"""What an NVIDIA driver can run (data in ``catalog/cuda.toml``).

``--cuda-driver 535.104`` and ``--cuda 12.2`` both become a :class:`DriverSupport`: the
highest CUDA release the driver supports natively, and the rule for the others — a build
for CUDA X.Y runs natively when X.Y is at most that, through minor-version compatibility
when X is the driver's major family and the driver is at or above that family's floor, and
always for older majors (backward compatibility).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from packaging.version import Version
import msgspec

from ftlock.errors import UsageError
from ftlock.gpu._catalog import Entry, Sources, load


CATALOG = Path(__file__).parent / "catalog" / "cuda.toml"
_DRIVER_RE = re.compile(r"^\d{3,4}(\.\d{1,3}){0,2}$")


def parse_driver(text: str) -> tuple[int, ...]:
    """``"535.104.05"`` -> ``(535, 104, 5)``; a bare branch such as ``"535"`` -> ``(535,)``."""
    value = text.strip()
    if not _DRIVER_RE.match(value):
        raise UsageError(
            f"--cuda-driver {text!r}: expected an NVIDIA driver version such as 535.104.05 or 535"
        )
    return tuple(int(part) for part in value.split("."))


def _at_least(driver: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    """Whether ``driver`` is at or above ``minimum``.  A bare branch (``535``) stands for the
    whole branch, so it meets every minimum of that branch (535.54.03 but not 545.x)."""
    if len(driver) == 1:
        return driver[0] >= minimum[0]
    width = max(len(driver), len(minimum))
    return driver + (0,) * (width - len(driver)) >= minimum + (0,) * (width - len(minimum))


def _cuda_version(value: str) -> Version:
    version = Version(value)
    return Version(f"{version.major}.{version.minor}")


class Toolkit(Entry, frozen=True):
    cuda: str
    driver: str

    @property
    def version(self) -> Version:
        return Version(self.cuda)

    @property
    def driver_tuple(self) -> tuple[int, ...]:
        return parse_driver(self.driver)


class MinorCompatibility(Entry, frozen=True):
    major: int
    driver: str


class Architecture(Entry, frozen=True):
    compute_capability: str
    name: str
    first_cuda: str
    sources: Sources


class CudaCatalog(Entry, frozen=True):
    sources: Sources
    toolkit: tuple[Toolkit, ...]  # oldest first (as loaded by catalog())
    minor_compatibility: tuple[MinorCompatibility, ...]
    architecture: tuple[Architecture, ...]

    def toolkit_for(self, cuda: Version) -> Toolkit | None:
        return next((t for t in self.toolkit if t.version == cuda), None)

    def floor(self, major: int) -> tuple[int, ...] | None:
        found = next((m for m in self.minor_compatibility if m.major == major), None)
        return parse_driver(found.driver) if found else None

    def first_cuda(self, capability: Version) -> Version | None:
        """The first CUDA release that supports a GPU of this compute capability."""
        same_major = [
            a for a in self.architecture
            if Version(a.compute_capability).major == capability.major
            and Version(a.compute_capability) <= capability
        ]
        if not same_major:
            return None
        return Version(max(same_major, key=lambda a: Version(a.compute_capability)).first_cuda)


@lru_cache(maxsize=1)
def catalog() -> CudaCatalog:
    loaded: CudaCatalog = load(CATALOG, CudaCatalog)
    return msgspec.structs.replace(loaded, toolkit=tuple(sorted(loaded.toolkit, key=lambda t: t.version)))


Runs = Literal["native", "minor-version compatibility"]


@dataclass(frozen=True)
class DriverSupport:
    """What the target machine's driver runs.  ``driver`` is None when only ``--cuda`` was
    given (then ``native`` is that CUDA release)."""

    native: Version  # highest CUDA release the driver supports natively, e.g. 12.2
    driver: str | None = None

    @classmethod
    def from_driver(cls, text: str) -> DriverSupport:
        driver = parse_driver(text)
        supported = [t for t in catalog().toolkit if _at_least(driver, t.driver_tuple)]
        if not supported:
            oldest = catalog().toolkit[0]
            raise UsageError(
                f"--cuda-driver {text}: older than any driver ftlock knows (CUDA {oldest.cuda} "
                f"needs {oldest.driver}); PyTorch builds need at least CUDA 11"
            )
        return cls(supported[-1].version, text.strip())

    @classmethod
    def from_cuda(cls, text: str) -> DriverSupport:
        try:
            version = _cuda_version(text.strip())
        except Exception:
            raise UsageError(f"--cuda {text!r}: expected a CUDA version such as 12.2") from None
        if version.major < 11:
            raise UsageError(f"--cuda {text}: PyTorch builds need at least CUDA 11")
        return cls(version)

    def runs(self, cuda: Version) -> Runs | None:
        """How the driver runs a build for CUDA ``cuda``, or None when it cannot."""
        cuda = _cuda_version(str(cuda))
        if cuda <= self.native:
            return "native"
        if cuda.major < self.native.major:
            return "native"  # backward compatibility: an older major on a newer driver
        if cuda.major == self.native.major and cuda.major >= 11:
            floor = catalog().floor(cuda.major)
            if floor is None:
                return None
            if self.driver is None:
                # --cuda X.Y: the driver runs X.Y natively, so it is a driver of family X at
                # or above X.Y's own minimum, which is above the family's floor
                return "minor-version compatibility"
            if _at_least(parse_driver(self.driver), floor):
                return "minor-version compatibility"
        return None

    def knows(self, capability: Version | None) -> Version | None:
        """None when the driver supports a GPU of ``capability``; otherwise the first CUDA
        release (and so driver) that does."""
        if capability is None:
            return None
        first = catalog().first_cuda(capability)
        if first is None or first <= self.native:
            return None
        return first

    def describe(self) -> str:
        family = f"{self.native.major}.x through minor-version compatibility"
        if self.driver is None:
            return f"CUDA {self.native} (--cuda; {family})"
        newest = self.native == catalog().toolkit[-1].version
        native = f"CUDA {self.native}{' or newer' if newest else ''} natively"
        return f"driver {self.driver}: {native}, {family}"


def min_driver(cuda: Version) -> str | None:
    """The oldest driver that runs CUDA ``cuda`` natively (its GA row), when known."""
    found = catalog().toolkit_for(_cuda_version(str(cuda)))
    return found.driver if found else None


def compat_floor(major: int) -> str | None:
    found = next((m for m in catalog().minor_compatibility if m.major == major), None)
    return found.driver if found else None
