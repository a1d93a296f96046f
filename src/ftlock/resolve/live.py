"""The installed distributions of a live interpreter, read by running it.

``--base-python`` (a solve on top of an environment) and ``ftlock check --python PATH`` (an
audit of one) both need them; the reading lives here, in the resolver, so that the base
environment does not reach up into the audit for it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ftlock.errors import UsageError
from ftlock.index.models import Metadata


@dataclass(frozen=True)
class Installed:
    """One installed (or pinned) distribution."""

    name: str
    version: str | None  # None: installed from a URL/VCS without a known version
    source: str  # the line it came from, or "environment"
    metadata: Metadata | None = None  # known when read from a live environment


_LIVE_SCRIPT = r"""
import json, sys
from importlib import metadata
out = []
for dist in metadata.distributions():
    m = dist.metadata
    if not m or not m.get("Name"):
        continue
    out.append({"name": m["Name"], "version": m["Version"],
                "requires_dist": list(m.get_all("Requires-Dist") or ()),
                "requires_python": m.get("Requires-Python")})
print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "dists": out}))
"""


def read_live_environment(python: str) -> tuple[str, dict[str, Installed]]:
    """Installed distributions (with their metadata) of another interpreter."""
    try:
        result = subprocess.run(
            [python, "-c", _LIVE_SCRIPT], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        raise UsageError(f"--python {python}: cannot run it ({exc.strerror})") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"--python {python}: {last}")
    data = json.loads(result.stdout)
    installed: dict[str, Installed] = {}
    for d in data["dists"]:
        name = canonicalize_name(d["name"])
        installed[name] = Installed(
            name,
            d["version"],
            "environment",
            Metadata(d["name"], d["version"], tuple(d["requires_dist"]), d["requires_python"]),
        )
    return data["python"], installed
