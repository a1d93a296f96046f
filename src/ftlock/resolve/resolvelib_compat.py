"""A cycle-safe ``_has_route_to_root`` for resolvelib.

resolvelib (every release up to 1.2.1) builds its result by asking, for each pinned key,
whether a chain of parents leads back to the root.  The recursive search keeps no set of
keys it is already visiting, so two pins that require each other (``a[x] -> b[y] ->
a[x]``) send it around the cycle until Python raises ``RecursionError``.  That happens
even when another parent would have led to the root.  ftlock's extras candidates depend on
their base package's dependencies (see ``Provider._compute_dependencies``), so such cycles
are common: tests/test_properties.py found them.

Importing this module replaces the function with one that skips keys already being
visited.  The answers are otherwise the same.  resolvelib versions that lack the function
are left alone.
"""

from __future__ import annotations

from typing import Any

from resolvelib.resolvers import resolution as _resolution


def _has_route_to_root(
    criteria: Any, key: Any, all_keys: dict[int, Any], connected: set[Any], _visiting: set[Any] | None = None
) -> bool:
    if key in connected:
        return True
    if key not in criteria:
        return False
    visiting = set() if _visiting is None else _visiting
    if key in visiting:  # a cycle: this key's other parents are being tried further up
        return False
    visiting.add(key)
    for parent in criteria[key].iter_parent():
        try:
            pkey = all_keys[id(parent)]
        except KeyError:
            continue
        if pkey in connected or _has_route_to_root(criteria, pkey, all_keys, connected, visiting):
            connected.add(key)
            return True
    return False


if hasattr(_resolution, "_has_route_to_root"):
    _resolution._has_route_to_root = _has_route_to_root
