"""Which file formats a project may be locked from: pip's ``--only-binary``/``--no-binary``.

The rules are pip's, to the letter, because users carry these flags over from pip commands
and requirement files and expect the same answer:

* each value is ``:all:``, ``:none:`` or comma-separated project names; flags repeat;
* ``--only-binary NAME`` moves NAME out of the ``--no-binary`` set (and the reverse);
* ``:all:`` empties *both* sets, then marks every project; the names after it in the same
  value are dropped unless a ``:none:`` follows (``--only-binary :all:,:none:,x`` = only x);
* ``:none:`` empties the set of the flag it is given to (only that one);
* a project named in a set wins over ``:all:`` in the other, so ``--only-binary :all:
  --no-binary x`` means wheels everywhere but sdists for x — and, since ``:all:`` clears the
  other set, ``--no-binary x --only-binary :all:`` means wheels for x too.  Order matters.

Options are applied in the order pip applies them: the command line first, then each
requirement file's option lines as the files are read.  The policy is only about files found
on an index; a direct reference (a path or URL) is what the user named and is used as is.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import msgspec
from packaging.utils import NormalizedName, canonicalize_name

from ftlock.errors import UsageError

ALL = ":all:"
NONE = ":none:"

#: (flag, value) as written, e.g. ("only-binary", ":all:"); flag is only-binary | no-binary.
BinaryOption = tuple[str, str]

_FLAGS = ("only-binary", "no-binary")
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class Format(enum.Enum):
    """A kind of distribution file a project can be installed from."""

    BINARY = "wheel"
    SOURCE = "sdist"


BOTH = frozenset(Format)


class FormatControl(msgspec.Struct, frozen=True):
    """The two sets pip keeps; :data:`ALL` in a set stands for every project."""

    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.only_binary or self.no_binary)

    @classmethod
    def from_options(cls, options: Iterable[BinaryOption]) -> FormatControl:
        """Apply ``(flag, value)`` pairs in order, starting from "both formats for all"."""
        control = cls()
        for flag, value in options:
            control = control.apply(flag, value)
        return control

    def apply(self, flag: str, value: str) -> FormatControl:
        """This control after one ``--only-binary VALUE`` or ``--no-binary VALUE``."""
        if flag not in _FLAGS:
            raise UsageError(f"unknown format option --{flag} (use --only-binary or --no-binary)")
        _check_value(flag, value)
        target = set(self.only_binary if flag == "only-binary" else self.no_binary)
        other = set(self.no_binary if flag == "only-binary" else self.only_binary)
        names = value.split(",")
        while ALL in names:  # pip's handle_mutual_excludes, step for step
            other.clear()
            target.clear()
            target.add(ALL)
            del names[: names.index(ALL) + 1]
            if NONE not in names:
                names = []
        for name in names:
            if name == NONE:
                target.clear()
                continue
            if not name:
                continue
            canonical = canonicalize_name(name)
            other.discard(canonical)
            target.add(canonical)
        if flag == "only-binary":
            return FormatControl(frozenset(target), frozenset(other))
        return FormatControl(frozenset(other), frozenset(target))

    def allowed(self, name: NormalizedName | str) -> frozenset[Format]:
        """The formats ``name`` may come from (pip's ``get_allowed_formats``)."""
        if not self:
            return BOTH
        if name in self.only_binary:
            return frozenset({Format.BINARY})
        if name in self.no_binary:
            return frozenset({Format.SOURCE})
        if ALL in self.only_binary:
            return frozenset({Format.BINARY})
        if ALL in self.no_binary:
            return frozenset({Format.SOURCE})
        return BOTH

    def restricting_flag(self, name: NormalizedName | str) -> str | None:
        """The flag that takes a format away from ``name``, as a user would write it."""
        if name in self.only_binary:
            return f"--only-binary {name}"
        if name in self.no_binary:
            return f"--no-binary {name}"
        if ALL in self.only_binary:
            return f"--only-binary {ALL}"
        if ALL in self.no_binary:
            return f"--no-binary {ALL}"
        return None

    def describe(self) -> tuple[str, ...]:
        """The shortest flags that rebuild this control when applied in order (for the lock
        header and the solve cache): ``:all:`` first, since it clears the other set."""
        out: list[str] = []
        for flag, own, other in (
            ("--only-binary", self.only_binary, self.no_binary),
            ("--no-binary", self.no_binary, self.only_binary),
        ):
            if ALL in own:
                out.append(f"{flag} {ALL}")
                other_flag = "--no-binary" if flag == "--only-binary" else "--only-binary"
                if other:
                    out.append(f"{other_flag} {','.join(sorted(other))}")
                return tuple(out)
        if self.only_binary:
            out.append(f"--only-binary {','.join(sorted(self.only_binary))}")
        if self.no_binary:
            out.append(f"--no-binary {','.join(sorted(self.no_binary))}")
        return tuple(out)


def _check_value(flag: str, value: str) -> None:
    """Refuse what pip refuses (a value that is another option) and what can only be a
    typo (nothing at all, or something that is not a project name)."""
    if not value.strip():
        raise UsageError(f"--{flag} needs a value: {ALL}, {NONE} or comma-separated project names")
    if value.startswith("-"):
        raise UsageError(f"--{flag} needs a value, got the option {value!r}")
    for name in value.split(","):
        if name and name not in (ALL, NONE) and not _PROJECT_NAME.match(name):
            raise UsageError(
                f"--{flag} {value}: {name!r} is not a project name (use {ALL}, {NONE} or names)"
            )
