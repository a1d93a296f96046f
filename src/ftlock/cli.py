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
from ftlock.errors import FtlockError, UsageError

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
    from ftlock.resolver.indexes import redact_text

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
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (or HOST:PORT); repeatable. Without it only https and loopback (localhost, 127.0.0.1, ::1) are used; pip's trusted-host is honoured too.")
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
@click.option("--gpu", default=None, metavar="NAME", help="Target GPU (see `ftlock gpus`): GPU-specific knowledge rules apply.")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declare a usage that knowledge rules depend on, e.g. load_in_8bit, load_in_4bit (repeatable).")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also apply the rules in this TOML file or directory (a team's own knowledge; see docs/knowledge.md).")
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
        rules=tuple(options.pop("rules")),
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
        from ftlock.resolver.indexes import redact_text

        click.echo(f"error: {redact_text(str(exc))}", err=True)
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


def _fail(exc: FtlockError, verbose: bool = False) -> None:
    if verbose:
        raise exc
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


@main.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--python", "python", default=None, help="Target CPython version (3.11), or the path of an interpreter whose installed packages to audit instead of FILE.")
@click.option("--platform", "platform", default=None, help="Target platform (as for solve).")
@click.option("--gpu", default=None, metavar="NAME", help="Target GPU: GPU-specific rules apply.")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declared usage, e.g. load_in_8bit (repeatable).")
@click.option("-i", "--index-url", default=None, help="Index to read metadata from (default: as for solve).")
@click.option("--extra-index-url", multiple=True, help="More indexes.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory.")
@click.option("--offline", is_flag=True, help="Use cached metadata only.")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also apply the rules in this TOML file or directory.")
@click.option("--complete", is_flag=True, help="The set is a whole environment: a requirement on a package it lacks is an error (default for --python PATH).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def check(file: Path | None, python: str | None, platform: str | None, gpu: str | None, features: tuple[str, ...], index_url: str | None, extra_index_url: tuple[str, ...], cache_dir: Path | None, offline: bool, rules: tuple[Path, ...], complete: bool, fmt: str, verbose: bool) -> None:
    """Audit a pip freeze, a lockfile or a live environment: metadata (like pip check) and knowledge rules.

    Exit 1 when a problem is found, with one line per problem.
    """
    from ftlock.knowledge.engine import Knowledge, TargetFacts
    from ftlock.resolver import audit as audit_mod
    from ftlock.resolver.solve import Session, SolveRequest
    from ftlock.resolver.target import Target

    try:
        live = python is not None and ("/" in python or Path(python).exists())
        if live:
            version, installed = audit_mod.read_live_environment(python)  # type: ignore[arg-type]
            target = Target.from_options(version, platform)
        else:
            if file is None:
                raise UsageError("check needs a FILE (pip freeze output or lockfile) or --python PATH")
            installed = audit_mod.read_pins(file)
            target = Target.from_options(python, platform)
        from ftlock.knowledge.loader import load_rules

        knowledge = Knowledge(load_rules(rules), facts=TargetFacts.build(features, gpu))
        session = None
        metadata_of = None
        if not live:
            request = SolveRequest(index_url=index_url, extra_index_urls=extra_index_url, cache_dir=cache_dir, offline=offline)
            session = Session.open(request, target)
            for name in installed:
                session.index.prefetch(name)
            metadata_of = _index_metadata(session)
        try:
            report = audit_mod.audit(installed, target, knowledge, metadata_of, complete or live)
        finally:
            if session is not None:
                session.close()
    except FtlockError as exc:
        _fail(exc, verbose)
        return
    if fmt == "json":
        click.echo(report.to_json())
    else:
        for problem in report.problems:
            click.echo(problem.line())
        if report.missing:
            click.echo(
                f"note: {len(report.missing)} requirement(s) name packages not in the set "
                f"(e.g. {report.missing[0]}); --complete treats them as errors",
                err=True,
            )
        if report.unknown:
            click.echo(
                f"note: no index metadata for {', '.join(report.unknown)} (checked against rules only)",
                err=True,
            )
        errors = sum(p.severity == "error" for p in report.problems)
        click.echo(f"{report.checked} packages checked, {errors} problem(s)", err=True)
    sys.exit(1 if report.failed else 0)


def _index_metadata(session):  # type: ignore[no-untyped-def]
    """(name, version) -> Future[Metadata] of that version's file for the target, or None."""
    from ftlock.errors import FtlockError as _Err

    def lookup(name: str, version):  # type: ignore[no-untyped-def]
        try:
            for candidate in session.finder.candidates(name):
                if candidate.version == version:
                    return session.metadata.future(candidate)
                if candidate.version < version:
                    break
        except _Err:
            return None
        return None

    return lookup


@main.group()
def kb() -> None:
    """The knowledge base: sourced rules about combinations that install but break."""


@kb.command("list")
def kb_list() -> None:
    """One line per rule: id, packages, severity, summary."""
    from ftlock.knowledge.loader import builtin_rules

    try:
        rules = builtin_rules()
    except FtlockError as exc:
        _fail(exc)
    for item in rules:
        r = item.rule
        click.echo(f"{r.id:<55} {r.kind:<9} {r.severity:<5} {', '.join(r.packages):<32} {r.summary}")
    click.echo(f"{len(rules)} rules", err=True)


@kb.command("show")
@click.argument("rule_id")
def kb_show(rule_id: str) -> None:
    """Everything about one rule, sources included."""
    from ftlock.knowledge.loader import builtin_rules

    for item in builtin_rules():
        if item.rule.id == rule_id:
            data = item.rule.model_dump(mode="json", by_alias=True, exclude_defaults=False)
            click.echo(f"file: {item.file}")
            for key, value in data.items():
                click.echo(f"{key}: {value}")
            return
    _fail(UsageError(f"no rule {rule_id!r}; see `ftlock kb list`"))


@kb.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def kb_lint(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: the built-in ones); exit 1 naming the file and rule."""
    from ftlock.knowledge.loader import load_dir, load_file

    try:
        if paths:
            count = sum(len(load_file(p) if p.is_file() else load_dir(p)) for p in paths)
        else:
            count = len(load_dir())
    except FtlockError as exc:
        _fail(exc)
    click.echo(f"ok: {count} rules valid")


@main.command()
def gpus() -> None:
    """The GPU catalog: architecture, compute capability, memory, bf16/fp8."""
    from ftlock.knowledge.gpus import catalog

    for gpu in catalog().values():
        cc = gpu.compute_capability or "-"
        click.echo(
            f"{gpu.name:<8} {gpu.label:<26} {gpu.arch:<10} cc {cc:<5} {gpu.memory_gb:>4} GB "
            f"bf16={'yes' if gpu.bf16 else 'no':<3} fp8={'yes' if gpu.fp8 else 'no'}"
        )
