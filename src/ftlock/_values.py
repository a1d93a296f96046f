"""``replace`` and field names for ftlock's value types, whichever kind they are.

Most value types are :class:`msgspec.Struct` classes: creating a Struct class costs
~0.015 ms, a ``@dataclass(frozen=True)`` 0.3-1.8 ms (``exec`` of its generated methods),
and a solve's start-up defined 44 of them (26 ms).  Those that need what a Struct does
not offer stay dataclasses: a field left out of comparisons (``field(compare=False)``), a
``cached_property``, or mutable state with attributes set later.  Code that copies or
walks values goes through here, so it need not know which kind it holds.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import msgspec

_V = TypeVar("_V")


def replace(value: _V, /, **changes: Any) -> _V:
    """A copy of ``value`` with ``changes`` (``dataclasses.replace``, for both kinds)."""
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(value, **changes)
    return dataclasses.replace(value, **changes)  # type: ignore[type-var]


def field_names(value: Any) -> tuple[str, ...]:
    """The names of ``value``'s fields, in order (a Struct or a dataclass, or its class)."""
    kind = value if isinstance(value, type) else type(value)
    if issubclass(kind, msgspec.Struct):
        return kind.__struct_fields__
    return tuple(f.name for f in dataclasses.fields(kind))  # type: ignore[arg-type]
