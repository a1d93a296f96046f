"""Requirements and constraints files, as pip reads them.

Supported: comments, ``\\`` continuations, nested ``-r``/``-c`` (relative to the including
file, cycles rejected), ``-i/--index-url``, ``--extra-index-url``, ``--pre``, per-line
``--hash`` (ignored: ftlock computes hashes), ``--only-binary``/``--no-binary`` (pip's
semantics, applied after the command line's, in file order: see
:mod:`ftlock.resolve.formats`), PEP 508 lines, direct references (``name @ URL``), bare
wheel/sdist URLs and local paths.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from ftlock.errors import InputFileError, UsageError
from ftlock.resolve.formats import FormatControl

_COMMENT = re.compile(r"(^|\s+)#.*$")


class InputLine(msgspec.Struct, frozen=True):
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
    # --only-binary/--no-binary lines as ("only-binary", value), in reading order
    binary: list[tuple[str, str]] = field(default_factory=list)
    #: lines read so far, includes counted each time (bounded by MAX_INPUT_LINES)
    lines_read: int = field(default=0, repr=False, compare=False)
    files_read: int = field(default=0, repr=False, compare=False)


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


_BINARY_OPTIONS = ("--only-binary", "--no-binary")


def _binary_options(parts: list[str], where: str) -> list[tuple[str, str]]:
    """``--only-binary X --no-binary=Y …`` (pip allows several on one line) as pairs."""
    out: list[tuple[str, str]] = []
    position = 0
    while position < len(parts):
        option, eq, inline = parts[position].partition("=")
        if option not in _BINARY_OPTIONS:
            raise InputFileError(f"{where}: unsupported option {option!r} after {parts[0]}")
        if eq:
            value, position = inline, position + 1
        elif position + 1 < len(parts):
            value, position = parts[position + 1], position + 2
        else:
            raise InputFileError(f"{where}: {option} needs a value (:all:, :none: or names)")
        try:
            FormatControl().apply(option[2:], value)  # refuse a bad value here, with its line
        except UsageError as exc:
            raise InputFileError(f"{where}: {exc}") from None
        out.append((option[2:], value))
    return out


_OPTION_WITH_VALUE = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-i": "index-url",
    "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
}


#: Input files (requirements, constraints, a freeze, a lock) larger than this are refused
#: before they are read whole: ``-r /dev/zero`` must not fill memory.  The largest real
#: requirement files and freezes are well under 1 MiB.
MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024
#: ``-r``/``-c`` nesting depth and requirement lines in all, across includes: a chain
#: 2,000 files deep or files that each include the next twice ("billion laughs") stop here.
MAX_INCLUDE_DEPTH = 64
MAX_INPUT_LINES = 100_000
MAX_INPUT_FILE_READS = 1_000


def read_bytes_bounded(path: Path, limit: int = MAX_INPUT_FILE_BYTES) -> bytes:
    """At most ``limit`` bytes of ``path``; raises :class:`InputFileError` past it (and
    lets OSError through for the caller to word)."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(
            f"{path}: larger than {limit // (1024 * 1024)} MiB; not a requirements file"
        )
    return data


def read_file(path: Path) -> str:
    try:
        data = read_bytes_bounded(path)
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
    if len(_stack) >= MAX_INCLUDE_DEPTH:
        raise InputFileError(
            f"{path}: -r/-c includes nested more than {MAX_INCLUDE_DEPTH} deep"
        )
    into.files_read += 1
    if into.files_read > MAX_INPUT_FILE_READS:
        raise InputFileError(
            f"{path}: more than {MAX_INPUT_FILE_READS:,} requirement files read in all, "
            "counting each -r/-c include every time it is included"
        )
    text = read_file(path)
    stack = (*_stack, resolved)
    lines = _logical_lines(text)
    into.lines_read += len(lines) + 1  # a file that holds nothing still costs a read
    if into.lines_read > MAX_INPUT_LINES:
        raise InputFileError(
            f"{path}: more than {MAX_INPUT_LINES:,} requirement lines in all, counting each "
            "-r/-c include every time it is included"
        )
    for lineno, line in lines:
        where = f"{path}:{lineno}"
        if line.startswith("-"):
            _option_line(line, where, path, into, constraint, stack)
            continue
        # per-requirement options such as --hash=... are pip's business, not ours
        requirement = re.split(r"\s+--\w[\w-]*", line)[0].strip()
        entry = InputLine(requirement, f"-r {path}" if not constraint else f"-c {path}", path.parent)
        (into.constraints if constraint else into.requirements).append(entry)
    return into


def _option_line(
    line: str, where: str, path: Path, into: ParsedInputs, constraint: bool, stack: tuple[Path, ...]
) -> None:
    """One option line (``-r``, ``-c``, ``--index-url``, ``--pre``, ``--only-binary``, ...)
    of a requirements file, applied to ``into``; an include is read where it stands, so
    the order of lines is the order pip would see."""
    try:
        parts = shlex.split(line)
    except ValueError as exc:
        raise InputFileError(f"{where}: {exc}") from None
    option, _, inline = parts[0].partition("=")
    value = inline or (parts[1] if len(parts) > 1 else "")
    kind = _OPTION_WITH_VALUE.get(option)
    if option == "--pre":
        into.pre = True
        return
    if option in _BINARY_OPTIONS:
        into.binary += _binary_options(parts, where)
        return
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
