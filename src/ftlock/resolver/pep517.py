"""Run the PEP 517 ``prepare_metadata_for_build_wheel`` hook in an isolated environment,
in a child process.

A child process keeps a backend's warnings, its pip install of build requirements and any
crash away from ftlock's own output, and lets the build be time-limited.  ``build`` does
the work (isolated env + hooks); this module only runs it and returns the METADATA text.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BUILD_TIMEOUT = 900.0


def run_metadata_hook(source_dir: Path, timeout: float = BUILD_TIMEOUT) -> str:
    """METADATA text of ``source_dir``; raises RuntimeError with the backend's last line."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ftlock.resolver.pep517", str(source_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the build did not finish within {timeout:.0f}s") from None
    if result.returncode != 0:
        lines = [l for l in (result.stderr or "").strip().splitlines() if l.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit code {result.returncode}")
    return result.stdout


def _main(argv: list[str]) -> int:  # pragma: no cover - runs in the child process
    import build.util

    metadata = build.util.project_wheel_metadata(Path(argv[0]), isolated=True)
    sys.stdout.write(metadata.as_string() if hasattr(metadata, "as_string") else str(metadata))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
