"""When a solve may use pre-releases: pip's rule, written out so it cannot drift.

pip collects every requirement on a project (and its constraint) into one specifier set
and keeps the versions ``SpecifierSet.filter(versions, prereleases=None)`` returns
(packaging 26, which current pip vendors):

1. if any specifier *names* a pre-release — any operator but ``!=`` and ``==X.*`` with a
   pre- or dev-release version, so ``>=2.0rc1`` and also ``<2.0.0dev`` — pre-releases
   count like final releases;
2. otherwise the final releases that match are used, and only when none matches, the
   matching pre-releases (a project that publishes only pre-releases still installs).

The versions looked at are those with a file that installs on the target, yanked ones
included; versions the solver has ruled out while backtracking are not removed first, so
the answer depends on the requirements alone and never flips during a solve.

ftlock does not call the installed ``packaging`` for this: before packaging 26 a
non-empty specifier set never fell back to pre-releases and ``<``/``>`` did not count as
naming one, and ftlock supports packaging 24 onwards.  Written out, the rule is the same
whichever packaging is installed.

``--prerelease`` chooses the policy: ``if-necessary`` (the default) is the rule above,
``explicit`` drops step 2 (pre-releases only when a specifier names one), ``allow``
treats every pre-release like a final release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, Protocol, TypeVar

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

Prerelease = Literal["allow", "if-necessary", "explicit"]


class _Versioned(Protocol):
    @property
    def version(self) -> Version: ...


_V = TypeVar("_V", bound=_Versioned)

#: pip's behaviour; what a solve uses when neither ``--prerelease`` nor ``--pre`` is given
DEFAULT: Prerelease = "if-necessary"


def names_prerelease(specifier: Specifier) -> bool:
    """Whether one specifier asks for pre-releases (packaging 26's ``Specifier.prereleases``).

    ``!=1.0rc1`` only excludes; ``==1.0.*`` cannot name a pre-release; ``===`` with a
    string that is no version says nothing.
    """
    if specifier.operator == "!=":
        return False
    if specifier.operator == "==" and specifier.version.endswith(".*"):
        return False
    try:
        return Version(specifier.version).is_prerelease
    except InvalidVersion:
        return False


def admits_prereleases(
    policy: Prerelease,
    specifiers: Iterable[SpecifierSet],
    final_release_matches: Callable[[], bool],
) -> bool:
    """Whether the project's candidates include its pre-releases under ``policy``.

    ``specifiers`` are every requirement's (and the constraint's) on the project;
    ``final_release_matches`` says whether a final release that installs on the target
    satisfies all of them.  It is called only when the answer depends on it: it may have
    to read down a long version list.
    """
    if policy == "allow":
        return True
    if any(names_prerelease(spec) for specifier_set in specifiers for spec in specifier_set):
        return True
    if policy == "explicit":
        return False
    return not final_release_matches()


def policy_for(requested: Prerelease | None, pre: bool) -> Prerelease:
    """``--prerelease`` when given, else ``allow`` for ``--pre`` (in a requirements file
    too), else :data:`DEFAULT`."""
    return requested or ("allow" if pre else DEFAULT)


def likely_pick(
    policy: Prerelease, specifier: SpecifierSet, matching: Iterable[_V]
) -> _V | None:
    """What the solver most likely picks for one requirement, from the ``matching``
    versions (objects with a ``version``), newest first: a guess for prefetching, by the
    rule above with only this requirement known.

    Reads down ``matching`` only as far as it must (it may be lazy): to the first final
    release, or to the end when only pre-releases match (then the newest of them, under
    ``if-necessary``)."""
    if policy == "allow" or any(names_prerelease(spec) for spec in specifier):
        return next(iter(matching), None)
    newest_pre = None
    for item in matching:
        if not item.version.is_prerelease:
            return item
        if newest_pre is None:
            newest_pre = item
    return newest_pre if policy == "if-necessary" else None

