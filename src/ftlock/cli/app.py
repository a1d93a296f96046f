"""The ``ftlock`` click group and what its commands share: option parsers, help texts,
the recorded command line and the one way a command fails (``error: …`` and the error's exit
code).

The command modules register themselves on :data:`main`; :mod:`ftlock.cli` imports them all.
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from ftlock._dates import parse_date as parse_utc
from ftlock._version import __version__
from ftlock.errors import FtlockError, UsageError


INDEX_HELP = (
    "Package index (PEP 691/503) to use instead of the configured one. Without it: "
    "PIP_INDEX_URL, then pip's configuration files, then pip's default. A project is taken "
    "from the FIRST index that has it and never mixed across indexes (no dependency confusion)."
)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--exclude-newer``: read as ``exclude-newer`` in ``[tool.ftlock]`` is (:mod:`ftlock._dates`)."""
    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def refuse_overwriting_inputs(output: str | None, inputs: tuple[object, ...]) -> None:
    """``-r reqs.txt -o reqs.txt`` would replace the input with its own lock: refuse."""
    if output in (None, "-"):
        return
    target = Path(output).expanduser().resolve()
    for item in inputs:
        if item is None or str(item) == "-":
            continue
        if Path(str(item)).expanduser().resolve() == target:
            raise UsageError(f"-o {output} is also an input file; write the lock somewhere else")


class Seconds(click.ParamType):
    """A finite number of seconds, at least ``minimum``: click's FloatRange lets ``nan``
    and ``inf`` through, and a socket timeout of either ends in a traceback."""

    name = "seconds"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        if number < self.minimum:
            self.fail(f"{value!r} is less than {self.minimum:g}", param, ctx)
        return number


PLATFORM_HELP = (
    "Target platform, in pip's --platform names: linux_x86_64 / linux_aarch64 (glibc 2.28, "
    "i.e. manylinux_2_28), manylinux_2_N_ARCH (glibc 2.N: every manylinux wheel up to 2_N), "
    "manylinux2014_ARCH (= manylinux_2_17), manylinux2010_ARCH (= manylinux_2_12), "
    "manylinux1_ARCH (= manylinux_2_5), musllinux_1_N_ARCH (musl 1.N, e.g. Alpine; no "
    "manylinux wheels), macosx_X_Y_ARCH (macOS X.Y: wheels for X.Y or older; arm64, x86_64, "
    "universal2), win_amd64, win32, win_arm64. Linux ARCH: x86_64, aarch64, i686, armv7l, "
    "ppc64le, ppc64, s390x, riscv64. Default: this machine."
)
ISOLATED_HELP = (
    "Ignore pip's configuration altogether: its files and PIP_* variables (index-url, "
    "extra-index-url, constraint, trusted-host, cert). Without it, pip's indexes are used "
    "and pip's constraint files apply as if given with -c, because pip install applies them "
    "to the lock too."
)
ONLY_BINARY_HELP = (
    "Use only wheels for these projects: ':all:', ':none:' or comma-separated names "
    "(repeatable; pip's rules and order: a name overrides ':all:' given before it). Versions "
    "without a wheel for the target are not candidates; the lock hashes only wheels."
)
NO_BINARY_HELP = (
    "Use only sdists for these projects (':all:', ':none:' or names, as pip): metadata comes "
    "from the sdist (static PKG-INFO or a build) and the lock hashes only sdists."
)


def binary_options(argv: list[str], only: tuple[str, ...], no: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``--only-binary``/``--no-binary`` values in command-line order, which pip's rules
    depend on (``:all:`` clears the other flag's names).  click keeps each option's values
    in order but not how the two interleave, so the order is read from the raw arguments."""
    kinds = [a.split("=", 1)[0][2:] for a in argv if a.split("=", 1)[0] in ("--only-binary", "--no-binary")]
    if kinds.count("only-binary") != len(only) or kinds.count("no-binary") != len(no):
        kinds = ["only-binary"] * len(only) + ["no-binary"] * len(no)  # argv of another caller
    values = {"only-binary": iter(only), "no-binary": iter(no)}
    pairs = tuple((kind, next(values[kind])) for kind in kinds)
    from ftlock.resolve.formats import FormatControl

    FormatControl.from_options(pairs)  # a bad value is a usage error before any work
    return pairs


def parse_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value == "":
        raise click.BadParameter("empty file name (use '-' for stdout)")
    return value


def parse_index_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # "" must not fall through to the configured/default index
    if value is not None and not value.strip():
        raise click.BadParameter("empty index URL")
    return value


# Options that change how ftlock runs but never what it writes: left out of the lock's
# header so the same inputs give the same bytes however verbose or cached the run was.
# Knowledge switches are reported by their own header line, and only when a rule they turn
# off concerns the locked packages (so unrelated solves stay byte-identical).
_NOT_RECORDED_FLAGS = {
    "-q", "--quiet", "-v", "--verbose", "--no-cache", "--offline", "--refresh", "--no-knowledge",
    "--no-solve-cache",
}
_NOT_RECORDED_VALUES = {
    "--cache-dir", "--concurrency", "--timeout", "--retries", "--page-ttl", "--ignore-rule",
}


def command_line(argv: list[str]) -> str:
    from ftlock._urls import redact_text

    kept: list[str] = []
    skip_value = False
    for arg in argv:
        if skip_value:
            skip_value = False
            continue
        name = arg.split("=", 1)[0]
        if arg in _NOT_RECORDED_FLAGS:
            continue
        if name in _NOT_RECORDED_VALUES:
            skip_value = "=" not in arg
            continue
        kept.append(redact_text(arg) if "://" in arg else arg)
    return "ftlock " + shlex.join(kept)


class _RecordingGroup(click.Group):
    """Keeps the raw arguments, so the lock header shows the command actually given —
    also when ftlock runs in-process (tests, ``main(args)``), where sys.argv is not ours."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ftlock.argv"] = list(args)
        return super().parse_args(ctx, args)

    def main(self, *args, **kwargs):
        """Usage errors are one ``error:`` line and exit 2, like every other input error."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())
            if isinstance(exc, no_args_help):  # plain `ftlock`: show help, not an "error"
                click.echo(exc.format_message(), err=True)
                sys.exit(exc.exit_code)
            die(exc.format_message(), exc.exit_code)
        except click.Abort:
            die("aborted")
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_RecordingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftlock")
def main() -> None:
    """ftlock: one atomic, hash-pinned install set for fine-tuning stacks."""


def die(message: str, code: int = 1) -> NoReturn:
    """The one way a command stops on an error: one ``error:`` line on stderr, then ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def fail(exc: FtlockError, verbose: bool = False) -> NoReturn:
    """An ftlock error as :func:`die` words it (credentials redacted), with its exit code;
    ``--verbose`` re-raises it instead, for the traceback."""
    if verbose:
        raise exc
    from ftlock._urls import redact_text

    die(redact_text(str(exc)), exc.exit_code)
