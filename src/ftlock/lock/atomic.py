"""Write a file so that readers see the old content or the new, never a partial one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename over it.

    The rename is atomic on POSIX and Windows, so a crash or a concurrent writer leaves
    either the previous file or a complete new one.  File mode follows the umask, as a
    plain ``open(..., "w")`` would.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        # /dev/null, a FIFO, /dev/stdout: renaming over them would replace the device
        # (as root: /dev/null itself) with a regular file.  Write through instead.
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        return
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
