"""What a ``pip freeze`` leaves out, and how ftlock reads its silence.

Without ``--all``, ``pip freeze`` omits pip itself and, before Python 3.12, setuptools,
wheel and distribute.  Reading such a freeze as the whole environment makes those packages
*missing*: ``solve --base`` then "adds" the setuptools that is installed, and ``check``
reports it as not installed.  They are not missing, only unlisted, so ftlock treats them as
installed at an unknown version: requirements on them are not checked, and the output says
which ones it could not check and to use ``pip freeze --all``.

The sign of a freeze without ``--all`` is that pip itself is absent: wherever ``pip freeze``
ran, pip was installed.
"""

from __future__ import annotations

from collections.abc import Iterable

#: names ``pip freeze`` leaves out without ``--all`` (pip's own list, every Python)
FREEZE_OMITS: frozenset[str] = frozenset({"pip", "setuptools", "wheel", "distribute"})

ADVICE = "`pip freeze` lists pip, setuptools and wheel only with --all; use `pip freeze --all`"


def unlisted(names: Iterable[str]) -> frozenset[str]:
    """The packages of :data:`FREEZE_OMITS` a freeze of ``names`` (normalised) leaves
    unknown: none when pip itself is listed (``--all`` was given), else those absent."""
    listed = set(names)
    if "pip" in listed:
        return frozenset()
    return FREEZE_OMITS - listed


def unchecked_line(name: str, requirements: Iterable[str]) -> str:
    """One warning: ``name`` was not in the freeze, so these requirements on it are unchecked."""
    shown = ", ".join(sorted(set(requirements)))
    return f"{name} is not in the freeze, so its installed version is unknown; not checked: {shown} ({ADVICE})"
