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

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftlock.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from packaging import tags

# Oldest and newest glibc a ``linux_*`` target is assumed to have.  ``linux_x86_64`` means
# a manylinux_2_28 machine (as uv's ``x86_64-unknown-linux-gnu`` does): it is what current
# CUDA wheels need and every supported distribution provides it.
DEFAULT_GLIBC = (2, 28)
_MANYLINUX_LEGACY = {(2, 5): "manylinux1", (2, 12): "manylinux2010", (2, 17): "manylinux2014"}

PLATFORM_ALIASES = {
    "linux": "linux_x86_64",
    "linux_x86_64": "linux_x86_64",
    "linux_aarch64": "linux_aarch64",
    "windows": "win_amd64",
    "win_amd64": "win_amd64",
    "macos": "macosx_14_0_arm64",
}

_MANYLINUX_RE = re.compile(r"^manylinux_(\d+)_(\d+)_(x86_64|aarch64)$")
_LINUX_RE = re.compile(r"^linux_(x86_64|aarch64)$")
_MACOS_RE = re.compile(r"^macosx_(\d+)_(\d+)_(arm64|x86_64|universal2)$")


@dataclass(frozen=True)
class PythonTarget:
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


@dataclass(frozen=True)
class PlatformTarget:
    """An operating system and CPU, with the wheel platform tags that install there."""

    name: str  # as the user wrote it, normalised (e.g. ``linux_x86_64``)
    system: str  # Linux | Darwin | Windows
    machine: str  # x86_64 | aarch64 | arm64 | AMD64
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> PlatformTarget:
        raw = text.strip().lower().replace("-", "_")
        key = PLATFORM_ALIASES.get(raw, raw)
        if m := _LINUX_RE.match(key):
            return cls._linux(key, m.group(1), DEFAULT_GLIBC)
        if m := _MANYLINUX_RE.match(key):
            return cls._linux(key, m.group(3), (int(m.group(1)), int(m.group(2))))
        if m := _MACOS_RE.match(key):
            arch = m.group(3)
            version = (int(m.group(1)), int(m.group(2)))
            from packaging import tags  # noqa: PLC0415 - kept off the solve cache's path

            plats = tuple(tags.mac_platforms(version, arch))
            machine = "arm64" if arch in ("arm64", "universal2") else "x86_64"
            return cls(key, "Darwin", machine, plats)
        if key == "win_amd64":
            return cls(key, "Windows", "AMD64", ("win_amd64",))
        raise UsageError(
            f"--platform {text!r}: unknown platform; use one of linux_x86_64, linux_aarch64, "
            "manylinux_2_28_x86_64 (any manylinux_2_N), macosx_14_0_arm64 (any macosx_X_Y_ARCH), win_amd64"
        )

    @classmethod
    def _linux(cls, name: str, arch: str, glibc: tuple[int, int]) -> PlatformTarget:
        plats: list[str] = []
        for minor in range(glibc[1], 4, -1):
            plats.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
            legacy = _MANYLINUX_LEGACY.get((glibc[0], minor))
            if legacy and (arch == "x86_64" or legacy == "manylinux2014"):
                plats.append(f"{legacy}_{arch}")
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
