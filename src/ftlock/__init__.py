"""ftlock: one atomic, hash-pinned install set for fine-tuning stacks.

The library API is the same path the CLI takes::

    import ftlock

    resolution = ftlock.solve(ftlock.SolveRequest(requirements=("peft", "torch"), python="3.11"))
    print(ftlock.render(resolution))  # the hash-pinned requirements.txt

Names are loaded on first use (:func:`__getattr__`): ``import ftlock`` runs on every CLI
start, and the resolver is not needed for ``ftlock --help`` or a solve-cache hit.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ftlock._version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs; nothing runs here
    from ftlock.errors import FtlockError, NoSolution, UsageError
    from ftlock.lock import render
    from ftlock.lock.lockfile import LockEntry, LockFile, read_lock
    from ftlock.resolve.result import LockedPackage, Resolution, SolveRequest
    from ftlock.resolve.solve import solve
    from ftlock.resolve.target import Target

#: public name -> the module that defines it
_PUBLIC: dict[str, str] = {
    "solve": "ftlock.resolve.solve",
    "SolveRequest": "ftlock.resolve.result",
    "Resolution": "ftlock.resolve.result",
    "LockedPackage": "ftlock.resolve.result",
    "Target": "ftlock.resolve.target",
    "render": "ftlock.lock",
    "read_lock": "ftlock.lock.lockfile",
    "LockFile": "ftlock.lock.lockfile",
    "LockEntry": "ftlock.lock.lockfile",
    "FtlockError": "ftlock.errors",
    "UsageError": "ftlock.errors",
    "NoSolution": "ftlock.errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ftlock' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
