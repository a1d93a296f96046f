"""Import every top-level module of every installed distribution, each in its own process.

The modules come from each distribution's ``RECORD`` (what the installer wrote), else its
``top_level.txt``: ``pkg/__init__.py`` is package ``pkg``, ``mod.py`` and ``mod.*.so`` are
module ``mod``; a namespace directory without ``__init__.py`` (``nvidia/``) stands for the
packages inside it (``nvidia.cublas``).  Each import runs in a child process with a timeout,
so a segfault or a hang is one failed row; a failure reports the exception's last line.

A few modules cannot be imported on a machine without a GPU or a display however right the
environment is; the allow-list below names them with the source of that behaviour, and they
are reported as skipped there (never silently dropped).
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name

from ftlock.verify.env import Outcome, run_python

IMPORT_TIMEOUT = 180.0

# module -> (what it needs, why, source).  Skipped only when that is missing here.
NEEDS: dict[str, tuple[str, str, str]] = {
    "unsloth": (
        "gpu",
        "raises NotImplementedError on import when torch sees no accelerator",
        "https://github.com/unslothai/unsloth/blob/main/unsloth/__init__.py",
    ),
    "unsloth_zoo": (
        "gpu",
        "raises NotImplementedError on import when torch sees no accelerator",
        "https://github.com/unslothai/unsloth-zoo/blob/main/unsloth_zoo/device_type.py",
    ),
    "pyautogui": (
        "display",
        "opens the X display named by $DISPLAY on import (Linux)",
        "https://github.com/asweigart/pyautogui/blob/master/pyautogui/_pyautogui_x11.py",
    ),
    "mouseinfo": (
        "display",
        "opens the X display named by $DISPLAY on import (Linux)",
        "https://github.com/asweigart/mouseinfo/blob/master/src/mouseinfo/__init__.py",
    ),
    "pynput": (
        "display",
        "its xorg backend connects to the X display on import (Linux)",
        "https://pynput.readthedocs.io/en/latest/limitations.html",
    ),
}

# Directories some wheels ship at the top level that are not meant to be imported.
NOT_MODULES = {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "scripts", "bin"}


@dataclass(frozen=True)
class Module:
    name: str
    dists: tuple[str, ...]  # the distributions that install it


@dataclass(frozen=True)
class ImportResult:
    module: Module
    status: str  # "pass" | "fail" | "skip"
    seconds: float
    detail: str = ""


def installed(site_dirs: list[Path]) -> dict[str, tuple[str, Path]]:
    """``canonical name -> (version, .dist-info path)`` of the installed distributions."""
    found: dict[str, tuple[str, Path]] = {}
    for site in site_dirs:
        if not site.is_dir():
            continue
        for info in sorted(site.glob("*.dist-info")):
            meta = info / "METADATA"
            try:
                headers = HeaderParser().parsestr(meta.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            name, version = headers.get("Name"), headers.get("Version")
            if name and version:
                found[canonicalize_name(name)] = (version, info)
    return found


def _identifier(name: str) -> bool:
    return name.isidentifier() and not name.startswith("__")


def modules_of(info: Path) -> list[str]:
    """The top-level importable names one distribution installs."""
    site = info.parent
    record = info / "RECORD"
    paths: list[str] = []
    try:
        with record.open(encoding="utf-8", errors="replace", newline="") as fh:
            paths = [row[0] for row in csv.reader(fh) if row]
    except OSError:
        paths = []
    if not paths:
        try:
            lines = (info / "top_level.txt").read_text(encoding="utf-8").split()
        except OSError:
            return []
        return sorted({line.strip().replace("/", ".") for line in lines if all(_identifier(p) for p in line.strip().split("/"))})
    names: set[str] = set()
    packages: dict[str, set[str]] = {}  # top dir -> files under it
    for path in paths:
        parts = path.replace("\\", "/").split("/")
        top = parts[0]
        if top in ("..", "") or top.endswith((".dist-info", ".data", ".egg-info")) or top == "__pycache__":
            continue
        if len(parts) == 1:
            if top.endswith(".py"):
                stem = top[:-3]
            elif top.endswith((".so", ".pyd")):
                stem = top.split(".", 1)[0]
            else:
                continue
            if _identifier(stem):
                names.add(stem)
            continue
        if _identifier(top):
            packages.setdefault(top, set()).add("/".join(parts[1:]))
    for top, files in packages.items():
        if "__init__.py" in files or any(f.startswith("__init__.") and f.endswith((".so", ".pyd")) for f in files):
            names.add(top)
            continue
        # a namespace directory: the packages one level down (nvidia/cublas/__init__.py)
        subs = {f.split("/", 1)[0] for f in files if "/" in f and f.split("/", 1)[1].startswith("__init__.")}
        subs |= {f[:-3] for f in files if "/" not in f and f.endswith(".py")}
        found = {f"{top}.{s}" for s in subs if _identifier(s)}
        if found:
            names |= found
        elif (site / top).is_dir():
            names.add(top)  # e.g. only data or extension modules under it: importing the namespace still checks it
    return sorted(names)


def collect(site_dirs: list[Path]) -> list[Module]:
    owners: dict[str, list[str]] = {}
    for name, (_, info) in sorted(installed(site_dirs).items()):
        for module in modules_of(info):
            owners.setdefault(module, []).append(name)
    return [Module(m, tuple(owners[m])) for m in sorted(owners)]


def skip_reason(module: str, *, gpu: bool, display: bool) -> str | None:
    top = module.split(".", 1)[0]
    if top in NOT_MODULES:
        return "a directory shipped at the top level, not a module to import"
    need = NEEDS.get(top)
    if need is None:
        return None
    what, why, source = need
    if what == "gpu" and not gpu:
        return f"needs a GPU: {why} ({source})"
    if what == "display" and not display:
        return f"needs a display: {why} ({source})"
    return None


_IMPORT = "import importlib; importlib.import_module({name!r})"


def import_all(
    python: Path, modules: list[Module], *, env: dict[str, str], cwd: Path, gpu: bool,
    workers: int | None = None, timeout: float = IMPORT_TIMEOUT,
) -> list[ImportResult]:
    display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))

    def one(module: Module) -> ImportResult:
        reason = skip_reason(module.name, gpu=gpu, display=display)
        if reason is not None:
            return ImportResult(module, "skip", 0.0, reason)
        outcome: Outcome = run_python(python, _IMPORT.format(name=module.name), env=env, cwd=cwd, timeout=timeout)
        return ImportResult(module, "pass" if outcome.ok else "fail", outcome.seconds, outcome.line)

    count = workers or max(1, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="ftlock-import") as pool:
        return list(pool.map(one, modules))
