"""``tomllib`` on every supported Python: the standard library's from 3.11, the ``tomli``
backport before (a declared dependency there).  One import for the whole package, so the
version switch is written once."""

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["tomllib"]
