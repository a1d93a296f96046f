"""One exception hierarchy for everything a user can cause or fix.

Every error carries a message meant to be printed as a single line, naming the offending
input, and an exit code: 2 for usage/input mistakes (like click), 1 for everything the
input was well-formed but could not be satisfied or fetched.
"""

from __future__ import annotations


class FtlockError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 1


class UsageError(FtlockError):
    """A flag, requirement string, date or file the user gave is malformed."""

    exit_code = 2


class InputFileError(UsageError):
    """A requirements/constraints file cannot be read or parsed."""


class IndexError_(FtlockError):
    """Base for problems talking to a package index."""


class IndexUnreachable(IndexError_):
    """No answer (connection refused, DNS, TLS, timeout) from an index."""


class IndexResponseError(IndexError_):
    """The index answered, but with an error status or a body we cannot parse."""


class ProjectNotFound(FtlockError):
    """No configured index has the project."""


class HashMismatch(FtlockError):
    """A downloaded file or metadata file does not match the hash the index published."""


class MetadataError(FtlockError):
    """A distribution's metadata could not be obtained or parsed."""


class BuildRequired(MetadataError):
    """Metadata needs a PEP 517 build, but ``--no-build`` forbids it."""


class OfflineMissing(FtlockError):
    """``--offline`` was given and the cache lacks something the solve needs."""


class NoSolution(FtlockError):
    """The requirements cannot all be satisfied together on the target."""
