"""Classes of breakage: rules that recognise a release by what the index says about it.

A pair rule names versions; some breakages are a whole class.  NumPy 2.0.0 (uploaded
2024-06-16) changed the C ABI: an extension module compiled against NumPy 1.x fails at
import under NumPy 2 (``ValueError: numpy.dtype size changed, may indicate binary
incompatibility``, ``ImportError: numpy.core.multiarray failed to import``).  Hundreds of
scientific-stack releases are in that class and their metadata says ``numpy>=1.x`` with
no upper bound, so a resolver happily pairs them with numpy 2.  The facts that identify
one are all on the index page and in the metadata the solver reads anyway:

* a platform-specific wheel for the target (compiled code; ``*-none-any`` wheels are
  pure Python and not affected),
* a requirement on the library without an upper bound (a release that says ``numpy<2``
  is already kept off it; one that says ``numpy<2.3`` declared it was built for 2.x),
* every such wheel uploaded before the library's ABI break (built against the old ABI).

:class:`ReleaseFacts` gathers them; :func:`in_class` applies an
:class:`~ftlock.knowledge.rules.AbiRule` to them.  The rule's ``exceptions`` name the
releases the facts misjudge (built against a NumPy 2.0 release candidate before the date;
compiled code loaded with ctypes that never touches NumPy's C API).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

import msgspec

#: operators that bound a requirement from above
_UPPER = ("<", "<=", "==", "===", "~=")

class ReleaseFacts(msgspec.Struct, frozen=True):
    """What the index and the metadata say about one release, for the target."""

    platform_uploads: tuple[float | None, ...]  # upload times of its platform-specific wheels
    requires: tuple[Any, ...]  # its Requires-Dist for the target (packaging Requirements)

    @classmethod
    def of(cls, files: Iterable[Any], requires: Sequence[Any]) -> ReleaseFacts:
        """From a candidate's files (those that install on the target) and its
        requirements for the target (markers already evaluated)."""
        uploads = tuple(
            f.upload_time for f in files
            if f.is_wheel and not f.filename.endswith("-any.whl")
        )
        return cls(uploads, tuple(requires))

    @property
    def compiled(self) -> bool:
        return bool(self.platform_uploads)

    def uploaded_before(self, day: Any) -> bool:
        """Every platform-specific wheel was uploaded before ``day`` (unknown times: no)."""
        cutoff = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
        return self.compiled and all(t is not None and t < cutoff for t in self.platform_uploads)

    def unbounded_requirement_on(self, library: str) -> bool:
        """Requires ``library`` and no requirement on it has an upper bound."""
        found = [r for r in self.requires if canonicalize_name(r.name) == library]
        return bool(found) and not any(
            s.operator in _UPPER for r in found for s in r.specifier
        )


def excepted(rule: Any, name: str, version: Version) -> bool:
    return any(e.name == name and e.contains(version) for e in rule.exceptions)


def in_class(rule: Any, name: str, version: Version, facts: ReleaseFacts) -> bool:
    """Whether ``name version`` (with ``facts``) is a release the class rule describes."""
    library = rule.library.name
    if name == library or excepted(rule, name, version):
        return False
    return (
        facts.compiled
        and facts.unbounded_requirement_on(library)
        and facts.uploaded_before(rule.built_before)
    )
