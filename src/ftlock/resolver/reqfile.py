"""Requirements and constraints files, as pip reads them.

Supported: comments, ``\\`` continuations, nested ``-r``/``-c`` (relative to the including
file, cycles rejected), ``-i/--index-url``, ``--extra-index-url``, ``--pre``, per-line
``--hash`` (ignored: ftlock computes hashes), PEP 508 lines, direct references
(``name @ URL``), bare wheel/sdist URLs and local paths.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ftlock.errors import InputFileError

_COMMENT = re.compile(r"(^|\s+)#.*$")


@dataclass(frozen=True)
class InputLine:
    """One requirement line and where it came from (``-r path:lineno`` or ``requested``)."""

    text: str
    origin: str
    base_dir: Path | None = None  # for resolving relative local paths


@dataclass
class ParsedInputs:
    requirements: list[InputLine] = field(default_factory=list)
    constraints: list[InputLine] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    pre: bool = False


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        line = raw if buffer else raw
        if line.endswith("\\") and not _COMMENT.search(line):
            buffer += line[:-1]
            continue
        buffer += line
        stripped = _COMMENT.sub("", buffer).strip()
        if stripped:
            lines.append((start, stripped))
        buffer = ""
    if buffer.strip():
        lines.append((start, _COMMENT.sub("", buffer).strip()))
    return lines


_OPTION_WITH_VALUE = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-i": "index-url",
    "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
}


def read_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a requirements file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in data:
        raise InputFileError(f"{path}: binary file, not a requirements file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None


def parse_file(
    path: Path,
    into: ParsedInputs,
    constraint: bool = False,
    _stack: tuple[Path, ...] = (),
) -> ParsedInputs:
    resolved = path.resolve()
    if resolved in _stack:
        chain = " -> ".join(str(p) for p in (*_stack, resolved))
        raise InputFileError(f"{path}: requirements files include each other ({chain})")
    text = read_file(path)
    stack = (*_stack, resolved)
    for lineno, line in _logical_lines(text):
        where = f"{path}:{lineno}"
        if line.startswith("-"):
            try:
                parts = shlex.split(line)
            except ValueError as exc:
                raise InputFileError(f"{where}: {exc}") from None
            option, _, inline = parts[0].partition("=")
            value = inline or (parts[1] if len(parts) > 1 else "")
            kind = _OPTION_WITH_VALUE.get(option)
            if option == "--pre":
                into.pre = True
                continue
            if kind is None:
                if option in ("-e", "--editable"):
                    raise InputFileError(
                        f"{where}: editable requirements cannot be locked; use a path instead"
                    )
                raise InputFileError(f"{where}: unsupported option {option!r}")
            if not value:
                raise InputFileError(f"{where}: {option} needs a value")
            if kind in ("requirement", "constraint"):
                nested = (path.parent / value) if not Path(value).is_absolute() else Path(value)
                parse_file(nested, into, constraint or kind == "constraint", stack)
            elif kind == "index-url":
                into.index_url = value
            else:
                into.extra_index_urls.append(value)
            continue
        # per-requirement options such as --hash=... are pip's business, not ours
        requirement = re.split(r"\s+--\w[\w-]*", line)[0].strip()
        entry = InputLine(requirement, f"-r {path}" if not constraint else f"-c {path}", path.parent)
        (into.constraints if constraint else into.requirements).append(entry)
    return into
