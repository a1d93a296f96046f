"""The environment a lock is made for — never the interpreter running ftlock.

A :class:`Target` answers three questions for the rest of the resolver: which wheel tags
install there, how environment markers evaluate there, and whether a ``Requires-Python``
specifier admits it.  ``--python 3.11`` means *every* 3.11.x (as uv reads it): a file that
needs ``>=3.11.5`` is not installable on that target, so both ends of the minor series are
checked.  ``--python 3.11.7`` means exactly that release.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import msgspec
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftlock.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from packaging import tags
    from packaging.markers import Marker

# The glibc a ``linux_*`` target is assumed to have.  ``linux_x86_64`` means a
# manylinux_2_28 machine (as uv's ``x86_64-unknown-linux-gnu`` does): it is what current
# CUDA wheels need and every supported distribution provides it.
DEFAULT_GLIBC = (2, 28)
# Version numbers in platform names above this are typos (or hostile): a target's tag list
# grows with the number, so ``manylinux_2_99999999999…`` would never finish.
MAX_MINOR = 99
OLDEST_GLIBC = (2, 5)  # manylinux1, the first manylinux

_ARCH = "x86_64|i686|aarch64|armv7l|ppc64le|ppc64|s390x|riscv64"
# pip's and PEP 600's legacy names: the glibc each stands for, and the CPUs it was defined for
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_LEGACY_ARCHES = {
    "manylinux1": frozenset({"x86_64", "i686"}),
    "manylinux2010": frozenset({"x86_64", "i686"}),
    "manylinux2014": frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"}),
}
_MANYLINUX_LEGACY = {glibc: legacy for legacy, glibc in LEGACY_MANYLINUX.items()}

PLATFORM_ALIASES = {
    "linux": "linux_x86_64",
    "windows": "win_amd64",
    "macos": "macosx_14_0_arm64",
}

_MANYLINUX_RE = re.compile(rf"^manylinux_(\d+)_(\d+)_({_ARCH})$")
_LEGACY_RE = re.compile(rf"^(manylinux1|manylinux2010|manylinux2014)_({_ARCH})$")
_MUSLLINUX_RE = re.compile(rf"^musllinux_(\d+)_(\d+)_({_ARCH})$")
_LINUX_RE = re.compile(rf"^linux_({_ARCH})$")
_MACOS_RE = re.compile(r"^macosx_(\d+)_(\d+)_(arm64|x86_64|universal2)$")
# Windows wheel platform -> platform.machine() there
_WINDOWS = {"win_amd64": "AMD64", "win32": "x86", "win_arm64": "ARM64"}

#: What each accepted ``--platform`` form means (shown by ``--help`` and in errors).
PLATFORM_HELP = (
    "linux_x86_64 or linux_aarch64 (= manylinux_2_28), manylinux_2_N_ARCH (glibc 2.N: "
    "manylinux wheels up to 2_N), manylinux2014_ARCH (= manylinux_2_17), manylinux2010_ARCH "
    "(= manylinux_2_12), manylinux1_ARCH (= manylinux_2_5), musllinux_1_N_ARCH (musl 1.N, "
    "e.g. Alpine), macosx_X_Y_ARCH (macOS X.Y: wheels built for X.Y or older; ARCH arm64, "
    "x86_64 or universal2), win_amd64, win32, win_arm64. Linux ARCH: x86_64, aarch64, "
    "i686, armv7l, ppc64le, ppc64, s390x, riscv64"
)


def _shown(text: str) -> str:
    """A user's value for an error line: quoted, and cut short when it is huge."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _numbers(text: str, major: str, minor: str, what: str, low: tuple[int, int]) -> tuple[int, int]:
    """``(major, minor)`` of a platform name, refusing absurd numbers before converting them
    (a thousand-digit number must fail at once, not after building its tag list)."""
    if len(major) > 2 or len(minor) > 2:
        raise UsageError(
            f"--platform {_shown(text)}: {what} version out of range (each number at most {MAX_MINOR})"
        )
    version = (int(major), int(minor))
    if version < low:
        raise UsageError(f"--platform {_shown(text)}: {what} {major}.{minor} is older than {low[0]}.{low[1]}")
    return version


class PythonTarget(msgspec.Struct, frozen=True):
    """A CPython version: ``(3, 11)`` for the whole minor series or ``(3, 11, 7)`` exactly."""

    release: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> PythonTarget:
        text = text.strip()
        if text.lower().startswith(("cpython", "cp")):
            text = text.lower().removeprefix("cpython").removeprefix("cp").lstrip("-")
            if re.fullmatch(r"3\d{2,}", text):  # cp311
                text = f"{text[0]}.{text[1:]}"
        if not re.fullmatch(r"3\.\d{1,2}(\.\d{1,3})?", text):
            raise UsageError(
                f"--python {text!r}: expected a CPython version such as 3.11 or 3.11.7"
            )
        release = tuple(int(p) for p in text.split("."))
        if release < (3, 8):
            raise UsageError(f"--python {text}: Python 3.8 or newer is supported")
        return cls(release)

    @classmethod
    def running(cls) -> PythonTarget:
        return cls(tuple(sys.version_info[:2]))

    @property
    def minor(self) -> tuple[int, int]:
        return (self.release[0], self.release[1])

    @property
    def exact(self) -> bool:
        return len(self.release) == 3

    @property
    def lowest(self) -> Version:
        return Version(".".join(map(str, self.release if self.exact else (*self.minor, 0))))

    @property
    def highest(self) -> Version:
        return Version(".".join(map(str, self.release if self.exact else (*self.minor, 999))))

    def __str__(self) -> str:
        return ".".join(map(str, self.release))


class PlatformTarget(msgspec.Struct, frozen=True):
    """An operating system and CPU, with the wheel platform tags that install there."""

    name: str  # as the user wrote it, normalised (e.g. ``linux_x86_64``, ``manylinux2014_x86_64``)
    system: str  # Linux | Darwin | Windows
    machine: str  # platform.machine() there: x86_64 | aarch64 | arm64 | AMD64 | x86 | ARM64 | …
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> PlatformTarget:
        """Every platform name pip's ``--platform`` takes that means an installable target
        (see :data:`PLATFORM_HELP`); legacy manylinux names stand for their glibc."""
        raw = text.strip().lower().replace("-", "_").replace(".", "_")
        key = PLATFORM_ALIASES.get(raw, raw)
        if m := _LINUX_RE.match(key):
            return cls._linux(key, m.group(1), DEFAULT_GLIBC)
        if m := _MANYLINUX_RE.match(key):
            glibc = _numbers(text, m.group(1), m.group(2), "glibc", OLDEST_GLIBC)
            if glibc[0] != 2:
                raise UsageError(f"--platform {_shown(text)}: manylinux_2_N is the only glibc series (2.5 to 2.{MAX_MINOR})")
            return cls._linux(key, m.group(3), glibc)
        if m := _LEGACY_RE.match(key):
            legacy, arch = m.group(1), m.group(2)
            if arch not in _LEGACY_ARCHES[legacy]:
                raise UsageError(
                    f"--platform {_shown(text)}: {legacy} is defined only for "
                    f"{', '.join(sorted(_LEGACY_ARCHES[legacy]))}; use manylinux_2_N_{arch}"
                )
            return cls._linux(key, arch, LEGACY_MANYLINUX[legacy])
        if m := _MUSLLINUX_RE.match(key):
            musl = _numbers(text, m.group(1), m.group(2), "musl", (1, 0))
            if musl[0] != 1:
                raise UsageError(f"--platform {_shown(text)}: musllinux_1_N is the only musl series")
            return cls._musl(key, m.group(3), musl)
        if m := _MACOS_RE.match(key):
            arch = m.group(3)
            version = _numbers(text, m.group(1), m.group(2), "macOS", (10, 0))
            from packaging import tags  # noqa: PLC0415 - kept off the solve cache's path

            plats = tuple(tags.mac_platforms(version, arch))
            machine = "arm64" if arch in ("arm64", "universal2") else "x86_64"
            return cls(key, "Darwin", machine, plats)
        if key in _WINDOWS:
            return cls(key, "Windows", _WINDOWS[key], (key,))
        raise UsageError(f"--platform {_shown(text)}: unknown platform; use one of {PLATFORM_HELP}")

    @classmethod
    def _linux(cls, name: str, arch: str, glibc: tuple[int, int]) -> PlatformTarget:
        """A glibc Linux: every manylinux tag up to ``glibc`` (legacy aliases included where
        they are defined for ``arch``), newest first, then the plain ``linux_ARCH``."""
        plats: list[str] = []
        for minor in range(glibc[1], OLDEST_GLIBC[1] - 1, -1):
            plats.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
            legacy = _MANYLINUX_LEGACY.get((glibc[0], minor))
            if legacy and arch in _LEGACY_ARCHES[legacy]:
                plats.append(f"{legacy}_{arch}")
        plats.append(f"linux_{arch}")
        return cls(name, "Linux", arch, tuple(plats))

    @classmethod
    def _musl(cls, name: str, arch: str, musl: tuple[int, int]) -> PlatformTarget:
        """A musl Linux (Alpine): musllinux tags up to ``musl``; manylinux wheels need glibc."""
        plats = [f"musllinux_{musl[0]}_{minor}_{arch}" for minor in range(musl[1], -1, -1)]
        plats.append(f"linux_{arch}")
        return cls(name, "Linux", arch, tuple(plats))

    @classmethod
    def running(cls) -> PlatformTarget:
        system = _platform.system()
        machine = _platform.machine()
        if system == "Linux":
            libc = _platform.libc_ver()
            glibc = DEFAULT_GLIBC
            if libc[0] == "glibc" and libc[1]:
                major, minor = (int(x) for x in libc[1].split(".")[:2])
                glibc = (major, minor)
            arch = "aarch64" if machine in ("aarch64", "arm64") else "x86_64"
            return cls._linux(f"manylinux_{glibc[0]}_{glibc[1]}_{arch}", arch, glibc)
        if system == "Darwin":
            return cls.parse(f"macosx_14_0_{'arm64' if machine == 'arm64' else 'x86_64'}")
        return cls.parse("win_amd64")


@dataclass(frozen=True)
class Target:
    """Python version + platform; everything compatibility-related is derived from it."""

    python: PythonTarget
    platform: PlatformTarget
    extra_markers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_options(cls, python: str | None, platform: str | None) -> Target:
        py = PythonTarget.parse(python) if python else PythonTarget.running()
        plat = PlatformTarget.parse(platform) if platform else PlatformTarget.running()
        return cls(py, plat)

    def describe(self) -> str:
        return f"CPython {self.python}, {self.platform.name}"

    @cached_property
    def markers(self) -> dict[str, str]:
        """The PEP 508 marker environment of the target (``extra`` is added per evaluation)."""
        system = self.platform.system
        env = {
            "implementation_name": "cpython",
            "implementation_version": str(self.python.lowest),
            "os_name": "nt" if system == "Windows" else "posix",
            "platform_machine": self.platform.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": system,
            "platform_version": "",
            "python_full_version": str(self.python.lowest),
            "python_version": "{}.{}".format(*self.python.minor),
            "sys_platform": {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[system],
        }
        env.update(dict(self.extra_markers))
        return env

    @cached_property
    def _marker_memo(self) -> dict[tuple[str, str], bool]:
        return {}

    def marker_holds(self, text: str, marker: Marker, extra: str = "") -> bool:
        """Whether ``marker`` holds on the target with ``extra``.  Memoised by ``text``,
        which names the marker (the provider passes the marker's own text): the same
        markers recur across a project's versions, across projects and between the
        prefetcher and the solver, and packaging's evaluation costs tens of microseconds
        each time."""
        key = (text, extra)
        found = self._marker_memo.get(key)
        if found is None:
            found = self._marker_memo[key] = marker.evaluate({**self.markers, "extra": extra})
        return found

    @cached_property
    def tag_priority(self) -> dict[tags.Tag, int]:
        """Supported wheel tags, most specific first (lower number = preferred)."""
        from packaging import tags  # noqa: PLC0415 - kept off the solve cache's path

        py = self.python.minor
        interp = f"cp{py[0]}{py[1]}"
        ordered = list(
            tags.cpython_tags(py, abis=[interp], platforms=list(self.platform.platform_tags))
        )
        ordered += list(
            tags.compatible_tags(py, interpreter=interp, platforms=list(self.platform.platform_tags))
        )
        priority: dict[tags.Tag, int] = {}
        for index, tag in enumerate(ordered):
            priority.setdefault(tag, index)
        return priority

    @cached_property
    def _tag_rank(self) -> dict[str, int]:
        return {str(tag): rank for tag, rank in self.tag_priority.items()}

    def wheel_priority(self, filename: str) -> int | None:
        """Best tag rank of a wheel on this target, or None when it does not install here.

        Hot (every wheel of every page), so compressed tag sets are expanded by string
        splitting against a precomputed ``"interp-abi-platform"`` table instead of
        ``parse_wheel_filename``.
        """
        parts = filename[:-4].split("-") if filename.endswith(".whl") else []
        if len(parts) not in (5, 6):
            return None
        triple = "-".join(parts[-3:]).lower()
        memo = self._memo_tags
        if triple not in memo:
            memo[triple] = self._tags_priority(triple)
        return memo[triple]

    @cached_property
    def _memo_tags(self) -> dict[str, int | None]:
        return {}

    @cached_property
    def _memo_python(self) -> dict[str | None, bool]:
        return {}

    def _tags_priority(self, tag_triple: str) -> int | None:
        interps, abis, plats = (p.split(".") for p in tag_triple.split("-"))
        rank = self._tag_rank
        best: int | None = None
        for i in interps:
            for a in abis:
                for p in plats:
                    found = rank.get(f"{i}-{a}-{p}")
                    if found is not None and (best is None or found < best):
                        best = found
        return best

    def admits_python(self, requires_python: str | None) -> bool:
        """Whether every Python of the target satisfies ``Requires-Python``.

        Malformed specifiers (they exist on real indexes) are ignored, as pip does.
        Memoised: the same few strings recur on every page.
        """
        memo = self._memo_python
        if requires_python not in memo:
            memo[requires_python] = self._admits_python(requires_python)
        return memo[requires_python]

    def _admits_python(self, requires_python: str | None) -> bool:
        if not requires_python or not requires_python.strip():
            return True
        try:
            spec = SpecifierSet(requires_python)
        except Exception:
            return True
        return spec.contains(self.python.lowest, prereleases=True) and spec.contains(
            self.python.highest, prereleases=True
        )
