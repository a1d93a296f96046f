"""Command-line interface: click commands only — option parsing, output and exit codes.

Everything a library user would also need lives in :mod:`ftlock.resolver` and
:mod:`ftlock.lockgen`.
"""

from __future__ import annotations

import logging
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from ftlock import __version__
from ftlock.errors import FtlockError

INDEX_HELP = (
    "Package index (PEP 691/503) to use instead of the configured one. Without it: "
    "PIP_INDEX_URL, then pip's configuration files, then pip's default. A project is taken "
    "from the FIRST index that has it and never mixed across indexes (no dependency confusion)."
)


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = datetime.strptime(text, "%Y-%m-%d")
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD or an RFC 3339 time)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# Options that change how ftlock runs but never what it writes: left out of the lock's
# header so the same inputs give the same bytes however verbose or cached the run was.
# Knowledge switches are reported by their own header line, and only when a rule they turn
# off concerns the locked packages (so unrelated solves stay byte-identical).
_NOT_RECORDED_FLAGS = {
    "-q", "--quiet", "-v", "--verbose", "--no-cache", "--offline", "--refresh", "--no-knowledge",
}
_NOT_RECORDED_VALUES = {
    "--cache-dir", "--concurrency", "--timeout", "--retries", "--page-ttl", "--ignore-rule",
}


def _command_line(argv: list[str]) -> str:
    from ftlock.resolver.indexes import redact

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
        kept.append(redact(arg) if "://" in arg else arg)
    return "ftlock " + shlex.join(kept)


class _RecordingGroup(click.Group):
    """Keeps the raw arguments, so the lock header shows the command actually given —
    also when ftlock runs in-process (tests, ``main(args)``), where sys.argv is not ours."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ftlock.argv"] = list(args)
        return super().parse_args(ctx, args)

    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        """Usage errors are one ``error:`` line and exit 2, like every other input error."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())
            if isinstance(exc, no_args_help):  # plain `ftlock`: show help, not an "error"
                click.echo(exc.format_message(), err=True)
            else:
                click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_RecordingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftlock")
def main() -> None:
    """ftlock: one atomic, hash-pinned install set for fine-tuning stacks."""


@main.command()
@click.argument("requirements", nargs=-1)
@click.option("-r", "--requirement", "requirement_files", multiple=True, type=click.Path(path_type=Path), help="Read requirements from FILE (pip format; nested -r/-c allowed).")
@click.option("-c", "--constraint", "constraint_files", multiple=True, type=click.Path(path_type=Path), help="Constrain versions with FILE; constraints never add packages.")
@click.option("-o", "--output", type=str, default=None, help="Write the lock to FILE (atomically), or '-' for stdout. Default: stdout.")
@click.option("--python", "python", default=None, help="Target CPython: 3.11 (every 3.11.x) or 3.11.7. Default: the running interpreter.")
@click.option("--platform", "platform", default=None, help="Target platform: linux_x86_64 (manylinux_2_28), linux_aarch64, manylinux_2_N_x86_64, macosx_14_0_arm64, win_amd64. Default: this machine.")
@click.option("-i", "--index-url", default=None, help=INDEX_HELP)
@click.option("--extra-index-url", multiple=True, help="More indexes, asked in order after --index-url; each project still comes from the first index that has it.")
@click.option("--prerelease", type=click.Choice(["allow", "if-necessary", "explicit"]), default=None, help="Pre-releases: 'explicit' (default, like pip) only when a specifier names one; 'if-necessary' also when nothing else fits; 'allow' always.")
@click.option("--exclude-newer", callback=_parse_date, default=None, metavar="DATE", help="Ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339, UTC); files with no upload time are ignored too.")
@click.option("--no-build", is_flag=True, help="Never run a PEP 517 build to learn an sdist's metadata; fail naming the package instead.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory (default: the platform's user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--offline", is_flag=True, help="Resolve from the cache alone; fail naming what is missing.")
@click.option("--refresh", is_flag=True, help="Refetch every index page, however fresh the cached copy.")
@click.option("--page-ttl", type=click.FloatRange(min=0), default=600.0, show_default=True, help="Seconds a cached index page is used without refetching.")
@click.option("--concurrency", type=click.IntRange(1, 128), default=16, show_default=True, help="Parallel HTTP requests.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds before an HTTP request times out.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True, help="Retries for transient HTTP failures.")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declare a usage that knowledge rules depend on, e.g. load_in_8bit, load_in_4bit (repeatable).")
@click.option("--no-knowledge", is_flag=True, help="Solve without the knowledge overlay (the lock header names the rules that would have applied).")
@click.option("--ignore-rule", "ignore_rules", multiple=True, metavar="ID", help="Turn one knowledge rule off (repeatable; see `ftlock kb list`).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
def solve(requirements: tuple[str, ...], output: str | None, quiet: bool, verbose: bool, **options) -> None:  # type: ignore[no-untyped-def]
    """Solve REQUIREMENTS for the target and write a hash-pinned requirements.txt.

    \b
    Example:
      ftlock solve transformers peft trl --python 3.11 --platform linux_x86_64 -o ft.txt
      pip install --require-hashes --no-deps -r ft.txt
    """
    from ftlock.lockgen.atomic import write_atomic
    from ftlock.lockgen.requirements_txt import render
    from ftlock.resolver.solve import SolveRequest, solve as run_solve

    if verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    request = SolveRequest(
        requirements=requirements,
        requirement_files=tuple(options.pop("requirement_files")),
        constraint_files=tuple(options.pop("constraint_files")),
        extra_index_urls=tuple(options.pop("extra_index_url")),
        features=tuple(options.pop("features")),
        ignore_rules=tuple(options.pop("ignore_rules")),
        **options,
    )
    try:
        resolution = _with_progress(request, quiet)
        argv = click.get_current_context().meta.get("ftlock.argv", sys.argv[1:])
        text = render(resolution, _command_line(argv))
        if output is None or output == "-":
            click.echo(text, nl=False)
        else:
            write_atomic(Path(output), text)
    except FtlockError as exc:
        if verbose:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if verbose:
            raise
        click.echo(f"error: cannot write {output}: {exc.strerror}", err=True)
        sys.exit(1)
    for warning in resolution.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        stats = resolution.stats
        click.echo(
            f"Resolved {len(resolution.packages)} packages for {resolution.target.describe()} "
            f"in {stats.seconds:.2f}s ({stats.requests} HTTP requests, "
            f"{stats.bytes / 1e6:.1f} MB)",
            err=True,
        )


def _with_progress(request, quiet: bool):  # type: ignore[no-untyped-def]
    from ftlock.resolver.solve import solve as run_solve

    if quiet or not sys.stderr.isatty():
        return run_solve(request)
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("Resolving…") as status:
        def update(pinned: int, name: str) -> None:
            status.update(f"Resolving… {pinned} pinned, now {name}")

        return run_solve(request, on_progress=update)
