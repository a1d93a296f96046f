"""Reading locks in tests: the pinned heads and one package's entry."""

from __future__ import annotations


def pins(lock: str) -> list[str]:
    """The requirement heads of a lock (``name==version`` / ``name @ url``), in file order."""
    heads = []
    for line in lock.splitlines():
        if not line or line.startswith(("#", " ", "--")):
            continue
        heads.append(line.removesuffix(" \\"))
    return heads


def pinned(lock: str) -> list[str]:
    """The first word of every requirement line, in file order: ``name==version`` for a
    pin, the bare name for a direct reference (``name @ url``)."""
    return [
        line.split(" ")[0]
        for line in lock.splitlines()
        if line and not line.startswith(("#", " ", "-"))
    ]


def entry(lock: str, head: str) -> list[str]:
    """The lines of one package entry: its head line and the indented lines under it."""
    lines = lock.splitlines()
    start = next(i for i, l in enumerate(lines) if l.removesuffix(" \\") == head)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    return block
