"""Command-line interface: click commands only — option parsing, output and exit codes.

Everything a library user would also need lives in :mod:`ftlock.resolver` and
:mod:`ftlock.lockgen`.
"""

from __future__ import annotations

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
    try:  # 9999-12-31T23:00-05:00 is year 10000 in UTC: no date Python can hold
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise click.BadParameter(f"{value!r} is outside the years 1-9999 in UTC") from None


def _refuse_overwriting_inputs(output: str | None, inputs: tuple[object, ...]) -> None:
    """``-r reqs.txt -o reqs.txt`` would replace the input with its own lock: refuse."""
    if output in (None, "-"):
        return
    target = Path(output).expanduser().resolve()
    for item in inputs:
        if item is None or str(item) == "-":
            continue
        if Path(str(item)).expanduser().resolve() == target:
            raise UsageError(f"-o {output} is also an input file; write the lock somewhere else")


class _Seconds(click.ParamType):
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


def _binary_options(argv: list[str], only: tuple[str, ...], no: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``--only-binary``/``--no-binary`` values in command-line order, which pip's rules
    depend on (``:all:`` clears the other flag's names).  click keeps each option's values
    in order but not how the two interleave, so the order is read from the raw arguments."""
    kinds = [a.split("=", 1)[0][2:] for a in argv if a.split("=", 1)[0] in ("--only-binary", "--no-binary")]
    if kinds.count("only-binary") != len(only) or kinds.count("no-binary") != len(no):
        kinds = ["only-binary"] * len(only) + ["no-binary"] * len(no)  # argv of another caller
    values = {"only-binary": iter(only), "no-binary": iter(no)}
    pairs = tuple((kind, next(values[kind])) for kind in kinds)
    from ftlock.resolver.formats import FormatControl

    FormatControl.from_options(pairs)  # a bad value is a usage error before any work
    return pairs


def _parse_output(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value == "":
        raise click.BadParameter("empty file name (use '-' for stdout)")
    return value


def _parse_index_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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
@click.option("-r", "--requirement", "requirement_files", multiple=True, type=click.Path(path_type=Path, readable=False), help="Read requirements from FILE (pip format; nested -r/-c allowed).")
@click.option("-c", "--constraint", "constraint_files", multiple=True, type=click.Path(path_type=Path, readable=False), help="Constrain versions with FILE; constraints never add packages.")
@click.option("-o", "--output", type=str, default=None, callback=_parse_output, help="Write the lock to FILE (atomically), or '-' for stdout. Default: stdout.")
@click.option("--format", "lock_format", type=click.Choice(["requirements", "pylock"]), default="requirements", show_default=True, help="requirements: hash-pinned requirements.txt; pylock: PEP 751 pylock.toml (name the file pylock.toml or pylock.NAME.toml).")
@click.option("--python", "python", default=None, help="Target CPython: 3.11 (every 3.11.x) or 3.11.7. Default: the running interpreter.")
@click.option("--platform", "platform", default=None, help=PLATFORM_HELP)
@click.option("-i", "--index-url", default=None, callback=_parse_index_url, help=INDEX_HELP)
@click.option("--extra-index-url", multiple=True, help="More indexes, asked in order after --index-url; each project still comes from the first index that has it.")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (or HOST:PORT); repeatable. Without it only https and loopback (localhost, 127.0.0.1, ::1) are used; pip's trusted-host is honoured too.")
@click.option("--prerelease", type=click.Choice(["allow", "if-necessary", "explicit"]), default=None, help="Pre-releases: 'if-necessary' (default, pip's rule) when a specifier names one or no final release fits; 'explicit' only when a specifier names one; 'allow' always.")
@click.option("--exclude-newer", callback=_parse_date, default=None, metavar="DATE", help="Ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339, UTC); files with no upload time are ignored too.")
@click.option("--no-build", is_flag=True, help="Never run a PEP 517 build to learn an sdist's metadata; fail naming the package instead.")
@click.option("--only-binary", "only_binary", multiple=True, metavar="NAMES", help=ONLY_BINARY_HELP)
@click.option("--no-binary", "no_binary", multiple=True, metavar="NAMES", help=NO_BINARY_HELP)
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory (default: the platform's user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--offline", is_flag=True, help="Resolve from the cache alone; fail naming what is missing.")
@click.option("--refresh", is_flag=True, help="Refetch every index page, however fresh the cached copy.")
@click.option("--page-ttl", type=_Seconds(0), default=600.0, show_default=True, help="Seconds a cached index page is used without refetching.")
@click.option("--no-solve-cache", is_flag=True, help="Run the solver even when the same solve is cached and every index page it read is unchanged and fresh (the answer would be the same).")
@click.option("--isolated", is_flag=True, help=ISOLATED_HELP)
@click.option("--concurrency", type=click.IntRange(1, 128), default=16, show_default=True, help="Parallel HTTP requests.")
@click.option("--timeout", type=_Seconds(0.1), default=30.0, show_default=True, help="Seconds before an HTTP request times out.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True, help="Retries for transient HTTP failures.")
@click.option("--base", type=click.Path(path_type=Path, readable=False), default=None, metavar="FREEZE", help="Solve on top of an existing environment (`pip freeze --all` output; without --all, pip, setuptools and wheel count as installed at an unknown version): every installed package stays and keeps its version unless the request forces a change; the lock holds only what to install or change.")
@click.option("--base-python", default=None, metavar="PATH", help="Like --base, reading a live interpreter's installed packages and their metadata.")
@click.option("--keep-base", is_flag=True, help="With --base: never change an installed package (fail naming the one in the way).")
@click.option("--output-full", is_flag=True, help="With --base: lock the whole resulting environment instead of only the changes.")
@click.option("--gpu", default=None, metavar="NAME", help="Target GPU (see `ftlock gpus`): chooses a torch build with kernels for it and applies GPU-specific knowledge rules. `cpu`: CPU builds of torch. `auto`: this machine's GPU and driver (nvidia-smi), failing when there is none.")
@click.option("--cuda-driver", "cuda_driver", default=None, metavar="VERSION", help="The target's NVIDIA driver, e.g. 535.104.05: the torch build must be one it can run (natively or through CUDA minor-version compatibility).")
@click.option("--cuda", "cuda", default=None, metavar="X.Y", help="Instead of --cuda-driver: the highest CUDA release the target's driver supports (what nvidia-smi shows), e.g. 12.2.")
@click.option("--torch-index", "torch_index", default=None, metavar="URL", help="Take torch, torchvision, torchaudio (and triton, if it has them) from this index, e.g. https://download.pytorch.org/whl/cu126; default: chosen from --gpu/--cuda-driver.")
@click.option("--model", "model", default=None, metavar="NAME", help="Model family preset (see `ftlock models`): adds the versions it needs; with no packages, solves a fine-tuning stack.")
@click.option("--quant", "quant", type=click.Choice(["4bit", "8bit"]), default=None, help="Quantized fine-tuning: adds bitsandbytes and declares the load_in_4bit/load_in_8bit feature.")
@click.option("--with", "with_packages", multiple=True, metavar="NAME", help="Add an optional member to the fine-tuning stack: unsloth (repeatable).")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declare a usage that knowledge rules depend on, e.g. load_in_8bit, load_in_4bit (repeatable).")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also apply the rules in this TOML file or directory (a team's own knowledge; see docs/knowledge.md).")
@click.option("--no-knowledge", is_flag=True, help="Solve without the knowledge overlay (the lock header names the rules that would have applied).")
@click.option("--ignore-rule", "ignore_rules", multiple=True, metavar="ID", help="Turn one knowledge rule off (repeatable; see `ftlock kb list`).")
@click.option("--strict-rules", "strict_rules", is_flag=True, help="Fail when your own exact pins (both sides ==) form a pair a knowledge rule knows is broken; without it they are locked with a warning (for CI).")
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
    from ftlock.resolver.solve import SolveRequest

    lock_format = options.pop("lock_format")
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    argv = click.get_current_context().meta.get("ftlock.argv", sys.argv[1:])
    only_binary, no_binary = options.pop("only_binary"), options.pop("no_binary")
    try:
        _refuse_overwriting_inputs(
            output,
            (*options["requirement_files"], *options["constraint_files"], options.get("base")),
        )
        request = SolveRequest(
            requirements=requirements,
            requirement_files=tuple(options.pop("requirement_files")),
            constraint_files=tuple(options.pop("constraint_files")),
            extra_index_urls=tuple(options.pop("extra_index_url")),
            features=tuple(options.pop("features")),
            rules=tuple(options.pop("rules")),
            ignore_rules=tuple(options.pop("ignore_rules")),
            binary=_binary_options(argv, only_binary, no_binary),
            **options,
        )
        resolution = _with_progress(request, quiet)
        if lock_format == "pylock":
            from ftlock.lockgen import pylock

            text = pylock.render(resolution, _command_line(argv))
            if output not in (None, "-") and not pylock.FILENAME.match(Path(output).name):
                click.echo(f"warning: PEP 751 names lock files pylock.toml or pylock.NAME.toml, not {Path(output).name}", err=True)
        else:
            text = render(resolution, _command_line(argv))
    except FtlockError as exc:
        if verbose:
            raise
        from ftlock.resolver.indexes import redact_text

        click.echo(f"error: {redact_text(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    if output is None or output == "-":
        click.echo(text, nl=False)
    else:
        try:
            write_atomic(Path(output), text)
        except OSError as exc:
            if verbose:
                raise
            click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
            sys.exit(1)
    for warning in resolution.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        for note in resolution.notes:
            click.echo(f"note: {note}", err=True)
        for line in resolution.summary:
            click.echo(line, err=True)
    if resolution.changes and not quiet:
        click.echo(f"Changes to the base environment ({len(resolution.changes)}):", err=True)
        for line in resolution.changes:
            click.echo(f"  {line}", err=True)
    if not quiet:
        stats = resolution.stats
        how = (
            "reused from the solve cache: every index page it read is unchanged and fresh"
            if stats.reused
            else f"{stats.requests} HTTP requests, {stats.bytes / 1e6:.1f} MB"
        )
        click.echo(
            f"Resolved {len(resolution.packages)} packages for {resolution.target.describe()} "
            f"in {stats.seconds:.2f}s ({how})",
            err=True,
        )


def _with_progress(request, quiet: bool):  # type: ignore[no-untyped-def]
    from ftlock.resolver.solve import solve as run_solve

    if quiet:
        return run_solve(request)
    if not sys.stderr.isatty():
        from ftlock.progress import LogProgress, is_log

        if not is_log(sys.stderr):  # in-process callers (tests, main(args)) read it whole
            return run_solve(request)
        # a log (CI): a plain line every few seconds, nothing for a quick solve

        with LogProgress(lambda line: click.echo(line, err=True)) as progress:
            return run_solve(request, on_progress=progress)
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("Resolving…") as status:
        def update(pinned: int, name: str) -> None:
            status.update(f"Resolving… {pinned} pinned, now {name}")

        return run_solve(request, on_progress=update)


def _fail(exc: FtlockError, verbose: bool = False) -> None:
    if verbose:
        raise exc
    from ftlock.resolver.indexes import redact_text

    click.echo(f"error: {redact_text(str(exc))}", err=True)
    sys.exit(exc.exit_code)


@main.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--python", "python", default=None, help="Target CPython version (3.11), or the path of an interpreter whose installed packages to audit instead of FILE.")
@click.option("--platform", "platform", default=None, help="Target platform (as for solve).")
@click.option("--gpu", default=None, metavar="NAME", help="Target GPU: GPU-specific rules apply.")
@click.option("--cuda-driver", "cuda_driver", default=None, metavar="VERSION", help="The target's NVIDIA driver: rules conditioned on the CUDA release apply.")
@click.option("--cuda", "cuda", default=None, metavar="X.Y", help="Instead of --cuda-driver: the highest CUDA release the driver supports.")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declared usage, e.g. load_in_8bit (repeatable).")
@click.option("-i", "--index-url", default=None, help="Index to read metadata from (default: as for solve).")
@click.option("--extra-index-url", multiple=True, help="More indexes.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory.")
@click.option("--offline", is_flag=True, help="Use cached metadata only.")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (as for solve).")
@click.option("--timeout", type=_Seconds(0.1), default=30.0, show_default=True, help="Seconds before an HTTP request times out.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True, help="Retries for transient HTTP failures.")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also apply the rules in this TOML file or directory.")
@click.option("--complete", is_flag=True, help="The set is a whole environment: a requirement on a package it lacks is an error (default for --python PATH).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def check(file: Path | None, python: str | None, platform: str | None, gpu: str | None, cuda_driver: str | None, cuda: str | None, features: tuple[str, ...], index_url: str | None, extra_index_url: tuple[str, ...], cache_dir: Path | None, offline: bool, allow_insecure_hosts: tuple[str, ...], timeout: float, retries: int, rules: tuple[Path, ...], complete: bool, fmt: str, verbose: bool) -> None:
    """Audit a pip freeze, a lockfile or a live environment: metadata (like pip check) and knowledge rules.

    Exit 1 when a problem is found, with one line per problem.
    """
    from ftlock.knowledge.engine import Knowledge, TargetFacts
    from ftlock.resolver import audit as audit_mod
    from ftlock.resolver.engine import Session
    from ftlock.resolver.solve import SolveRequest
    from ftlock.resolver.target import Target

    try:
        live = python is not None and ("/" in python or Path(python).exists())
        if not live and file is not None:
            # a lock ftlock wrote records its target: check against that, not the defaults
            from ftlock import lock_target

            recorded = lock_target.read(file)
            if recorded is not None:
                python = python or recorded.python
                platform = platform or recorded.platform
                gpu = gpu or recorded.gpu
                if not (cuda_driver or cuda):
                    cuda_driver, cuda = recorded.cuda_driver, recorded.cuda
                features = features or recorded.features
                if fmt != "json":
                    click.echo(f"note: target read from the lock header: {recorded.describe()}", err=True)
        if live:
            version, installed = audit_mod.read_live_environment(python)  # type: ignore[arg-type]
            target = Target.from_options(version, platform)
        else:
            if file is None:
                raise UsageError("check needs a FILE (pip freeze output or lockfile) or --python PATH")
            installed = audit_mod.read_pins(file)
            target = Target.from_options(python, platform)
        from ftlock.knowledge.loader import load_rules

        from ftlock.knowledge.cuda import DriverSupport

        if cuda_driver and cuda:
            raise UsageError("give --cuda-driver or --cuda, not both")
        driver = DriverSupport.from_driver(cuda_driver) if cuda_driver else DriverSupport.from_cuda(cuda) if cuda else None
        knowledge = Knowledge(
            load_rules(rules),
            facts=TargetFacts.build(features, gpu, driver.native if driver else None),
        )
        session = None
        metadata_of = None
        if not live:
            # no PEP 517 builds: an audit reads published metadata only (sdists without
            # static metadata are checked against the rules alone)
            request = SolveRequest(
                index_url=index_url, extra_index_urls=extra_index_url, cache_dir=cache_dir,
                offline=offline, no_build=True, allow_insecure_hosts=allow_insecure_hosts,
                timeout=timeout, retries=retries,
            )
            session = Session.open(request, target)
            for name in installed:
                session.index.prefetch(name)
            metadata_of = _index_metadata(session)
        try:
            report = audit_mod.audit(
                installed, target, knowledge, metadata_of, complete or live,
                files_of=_index_files(session) if session is not None else None,
                freeze=not live,
            )
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
        for line in report.unlisted:
            click.echo(f"note: {line}", err=True)
        errors = sum(p.severity == "error" for p in report.problems)
        click.echo(f"{report.checked} packages checked, {errors} problem(s)", err=True)
    sys.exit(1 if report.failed else 0)


def _index_files(session):  # type: ignore[no-untyped-def]
    """(name, version) -> that version's files for the target (what class rules read)."""
    from ftlock.errors import FtlockError as _Err

    def lookup(name: str, version):  # type: ignore[no-untyped-def]
        try:
            candidate = session.finder.candidates(name).get(version)
        except _Err:
            return None
        return candidate.files if candidate is not None else None

    return lookup


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
    from ftlock.knowledge.render import table

    for line in table(rules):
        click.echo(line)
    click.echo(f"{len(rules)} rules", err=True)


@kb.command("show")
@click.argument("rule_id")
def kb_show(rule_id: str) -> None:
    """Everything about one rule, sources included."""
    from ftlock.knowledge.loader import builtin_rules

    from ftlock.knowledge.render import describe

    for item in builtin_rules():
        if item.rule.id == rule_id:
            for line in describe(item):
                click.echo(line)
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


@kb.command("prove")
@click.argument("rule_ids", nargs=-1, metavar="RULE...")
@click.option("--all", "every", is_flag=True, help="Every rule (built-in and --rules).")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also load the rules in this TOML file or directory.")
@click.option("--python", "python", default=None, metavar="PATH", help="Interpreter to build the environments from (default: the one running ftlock).")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True, help="auto: uv when it is installed, else pip.")
@click.option("-i", "--index-url", default=None, callback=_parse_index_url, help="Index to solve and install the examples from (default: as for solve).")
@click.option("--extra-index-url", multiple=True, help="More indexes.")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (as for solve).")
@click.option("--exclude-newer", callback=_parse_date, default=None, metavar="DATE", help="Solve the examples as of DATE (the packages they do not pin).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory (index pages, and the installer's wheel cache under verify/).")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR", help="Keep each environment as DIR/RULE/bad and DIR/RULE/good.")
@click.option("--timeout", type=_Seconds(1), default=600.0, show_default=True, help="Seconds one probe may run.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (the table goes to stderr).")
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def kb_prove(rule_ids: tuple[str, ...], every: bool, rules: tuple[Path, ...], python: str | None, installer: str, index_url: str | None, extra_index_url: tuple[str, ...], allow_insecure_hosts: tuple[str, ...], exclude_newer, cache_dir: Path | None, keep: Path | None, timeout: float, as_json: bool, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    """Run each rule's probe on its bad and good example, each installed in a throwaway
    environment: `proven` (bad fails with the symptom, good passes), `not reproduced`,
    `needs GPU`, `no probe` or `error` (an example does not solve or install here).

    Exit 0 when every rule that could be run here is proven, else 1.

    \b
    Example:
      ftlock kb prove trl-0.7-transformers-4.39-top-k-top-p-filtering
      ftlock kb prove --all --json > proofs.json
    """
    import json

    from ftlock.knowledge.loader import load_rules
    from ftlock.verify.prove import ERROR, NOT_REPRODUCED, ProveOptions, Prover
    from ftlock.verify.report import FAIL, PASS, SKIP, Row, render
    from ftlock.verify.report import console as make_console
    from ftlock.verify.runner import detect_gpus

    err = make_console(stderr=True)
    out = err if as_json else make_console()
    try:
        if every and rule_ids:
            raise UsageError("give rule ids or --all, not both")
        if not every and not rule_ids:
            raise UsageError("name the rules to prove (see `ftlock kb list`) or give --all")
        loaded = load_rules(rules)
        by_id = {item.rule.id: item for item in loaded}
        unknown = [r for r in rule_ids if r not in by_id]
        if unknown:
            raise UsageError(f"no rule {unknown[0]!r}; see `ftlock kb list`")
        chosen = list(loaded) if every else [by_id[r] for r in dict.fromkeys(rule_ids)]
        options = ProveOptions(
            python=python, installer=installer, cache_dir=cache_dir, index_url=index_url,
            extra_index_urls=extra_index_url, allow_insecure_hosts=allow_insecure_hosts,
            exclude_newer=exclude_newer, rules=rules, keep=keep, timeout=timeout,
        )
        prover = Prover(options, detect_gpus(), on_step=(lambda text: err.print(f"  {text}", markup=False, highlight=False)) if verbose else None)
        proofs = []
        for item in chosen:
            proof = prover.prove(item)
            proofs.append(proof)
            if item.rule.probe is not None:
                err.print(f"{proof.status:<15} {proof.rule} ({proof.seconds:.0f}s){': ' + proof.detail if proof.detail else ''}", markup=False, highlight=False)
    except FtlockError as exc:
        _fail(exc, verbose)
        return
    status_of = {"proven": PASS, NOT_REPRODUCED: FAIL, ERROR: FAIL}
    rows = [Row(p.rule, status_of.get(p.status, SKIP), p.seconds, p.detail, label=p.status) for p in proofs]
    render(rows, out, title="ftlock kb prove")
    if as_json:
        click.echo(json.dumps([p.to_json() for p in proofs], indent=2))
    counts: dict[str, int] = {}
    for p in proofs:
        counts[p.status] = counts.get(p.status, 0) + 1
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items()), err=True)
    sys.exit(1 if any(p.status in (NOT_REPRODUCED, ERROR) for p in proofs) else 0)


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


@main.command()
def probe() -> None:
    """Read this machine's GPUs and driver (nvidia-smi) and print the matching solve flags.

    \b
    Example:
      flags=$(ftlock probe) && ftlock solve --model gemma3 $flags -o ft.txt
      ftlock solve --model gemma3 --gpu auto -o ft.txt      # the same, in one command
    """
    from ftlock.knowledge.cuda import DriverSupport
    from ftlock.probe import probe as run_probe

    try:
        found = run_probe()
    except FtlockError as exc:
        _fail(exc)
        return
    distinct = list(dict.fromkeys((g.match.name if g.match else g.name, g.driver) for g in found))
    seen: set[str] = set()
    for gpu in found:
        flags = gpu.flags()
        cc = f"compute capability {gpu.compute_capability}" if gpu.compute_capability else "compute capability not reported"
        try:
            cuda = DriverSupport.from_driver(gpu.driver).describe()
        except FtlockError:
            cuda = f"driver {gpu.driver}"
        if gpu.match is None:
            same = [g.name for g in _gpu_catalog().values() if gpu.compute_capability and g.compute_capability == gpu.compute_capability]
            hint = f"; same compute capability: {', '.join(same)}" if same else ""
            click.echo(f"note: {gpu.name} ({cc}) is not in the GPU catalog (`ftlock gpus`){hint}", err=True)
        if flags in seen:
            continue
        seen.add(flags)
        click.echo(f"{gpu.name}: {cc}; {cuda}", err=True)
        click.echo(flags)
    if len(distinct) > 1:
        click.echo("note: this machine has different GPUs; use the flags of the one you train on", err=True)


def _gpu_catalog():  # type: ignore[no-untyped-def]
    from ftlock.knowledge.gpus import catalog

    return catalog()


@main.command()
def models() -> None:
    """Model presets for `solve --model`: the versions each family needs, and the stack."""
    from ftlock.knowledge.models_catalog import catalog

    presets = catalog()
    for model in presets.model:
        names = ", ".join((model.name, *model.aliases))
        click.echo(f"{names:<24} {', '.join(model.requires):<24} {model.label}")
    click.echo(
        f"default stack (no packages given): {', '.join(presets.stack.packages)}; "
        f"--quant 4bit|8bit adds {', '.join(presets.stack.quant)}; --with: {', '.join(presets.stack.extras)}",
        err=True,
    )


# -- team lock lifecycle (issue 7): lock, lock --check, diff, why -----------------------------


@main.command("lock")
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None, help="The pyproject.toml to read (default: the nearest one from the current directory up).")
@click.option("--target", "targets", multiple=True, metavar="NAME", help="Lock only this target (repeatable). Default: every target in [tool.ftlock.targets].")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a lock is missing or out of date with its inputs (no network needed), naming what changed.")
@click.option("--refresh", is_flag=True, help="Refetch index pages. With --check: also re-solve and report pins a fresh solve would change (yanked or removed versions, new files).")
@click.option("-U", "--upgrade", is_flag=True, help="Ignore the existing pins: re-solve every target freely.")
@click.option("-P", "--upgrade-package", "upgrade_packages", multiple=True, metavar="NAME[==VER]", help="Move only this package (to the newest version that fits, or to VER) and what it forces; repeatable.")
@click.option("-r", "--requirement", "requirement_files", multiple=True, help="Use these requirement files instead of the configured ones.")
@click.option("-c", "--constraint", "constraint_files", multiple=True, help="Use these constraint files instead of the configured ones.")
@click.option("-o", "--output", default=None, help="Write to FILE instead of the target's output (needs a single target).")
@click.option("--format", "lock_format", type=click.Choice(["requirements", "pylock"]), default=None, help="Lock format for every target (default: as configured, else requirements).")
@click.option("--python", "python", default=None, help="Target CPython for every target (overrides the configuration).")
@click.option("--platform", "platform", default=None, help="Target platform for every target (overrides the configuration).")
@click.option("--gpu", default=None, metavar="NAME", help="Target GPU for every target (overrides the configuration).")
@click.option("--feature", "features", multiple=True, metavar="NAME", help="Declared usages, replacing tool.ftlock.features (repeatable).")
@click.option("-i", "--index-url", default=None, help="Index URL (overrides tool.ftlock.index-url).")
@click.option("--extra-index-url", multiple=True, help="Extra index URLs (override tool.ftlock.extra-index-urls).")
@click.option("--exclude-newer", callback=_parse_date, default=None, metavar="DATE", help="Ignore files uploaded after DATE (overrides tool.ftlock.exclude-newer).")
@click.option("--prerelease", type=click.Choice(["allow", "if-necessary", "explicit"]), default=None, help="Pre-release policy (overrides tool.ftlock.prerelease).")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (as for solve).")
@click.option("--no-build", is_flag=True, help="Never run a PEP 517 build to learn an sdist's metadata.")
@click.option("--isolated", is_flag=True, help=ISOLATED_HELP)
@click.option("--strict-rules", "strict_rules", is_flag=True, help="Fail when the configured exact pins break a knowledge rule (as tool.ftlock.strict-rules = true).")
@click.option("--only-binary", "only_binary", multiple=True, metavar="NAMES", help="As for solve; with --no-binary, replaces tool.ftlock.only-binary/no-binary.")
@click.option("--no-binary", "no_binary", multiple=True, metavar="NAMES", help="As for solve; with --only-binary, replaces tool.ftlock.only-binary/no-binary.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--offline", is_flag=True, help="Resolve from the cache alone.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors (and, with --check, stale locks).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
def lock_command(config_file: Path | None, targets: tuple[str, ...], check: bool, refresh: bool, upgrade: bool, upgrade_packages: tuple[str, ...], requirement_files: tuple[str, ...], constraint_files: tuple[str, ...], output: str | None, lock_format: str | None, python: str | None, platform: str | None, gpu: str | None, features: tuple[str, ...], index_url: str | None, extra_index_url: tuple[str, ...], exclude_newer, prerelease: str | None, allow_insecure_hosts: tuple[str, ...], no_build: bool, isolated: bool, strict_rules: bool, only_binary: tuple[str, ...], no_binary: tuple[str, ...], cache_dir: Path | None, no_cache: bool, offline: bool, quiet: bool, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    """Write the lock of every target configured in pyproject.toml ([tool.ftlock]).

    Re-locking keeps the current pins wherever they still fit the inputs. --check (for CI
    and pre-commit) writes nothing and exits 1 when a lock is stale.

    \b
    Example:
      ftlock lock                      # write/refresh every target's lock
      ftlock lock -P peft              # move peft (and what it forces) only
      ftlock lock --check              # pre-merge: are the locks up to date?
    """
    from ftlock import config as config_mod
    from ftlock import locking
    from ftlock.lockgen.atomic import write_atomic

    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        if check and (upgrade or upgrade_packages):
            raise UsageError("--check writes nothing; it cannot be combined with --upgrade/--upgrade-package")
        overrides = config_mod.Overrides(
            requirement_files=requirement_files,
            constraint_files=constraint_files,
            index_url=index_url,
            extra_index_urls=extra_index_url,
            exclude_newer=exclude_newer,
            prerelease=prerelease,  # type: ignore[arg-type]
            python=python,
            platform=platform,
            gpu=gpu,
            features=features or None,
            strict_rules=strict_rules,
            format=lock_format,  # type: ignore[arg-type]
            binary=_binary_options(
                click.get_current_context().meta.get("ftlock.argv", sys.argv[1:]), only_binary, no_binary
            ) if only_binary or no_binary else None,
        )
        project = config_mod.load(config_file, overrides)
        selected = project.select(targets)
        if output is not None:
            if len(selected) != 1:
                raise UsageError("-o/--output needs a single target (use --target NAME)")
            selected = (project.with_output(selected[0], Path(output)),)
        upgrades = tuple(locking.parse_upgrade(s) for s in upgrade_packages)
        options = locking.RunOptions(
            cache_dir=cache_dir, no_cache=no_cache, offline=offline, refresh=refresh,
            no_build=no_build, allow_insecure_hosts=allow_insecure_hosts, isolated=isolated,
        )
        if check:
            results = [locking.check_target(project, t, options, refresh=refresh) for t in selected]
        else:
            done = [
                locking.lock_target(project, t, options, upgrade, upgrades)
                for t in selected
            ]
    except FtlockError as exc:
        if verbose:
            raise
        from ftlock.resolver.indexes import redact_text

        click.echo(f"error: {redact_text(str(exc))}", err=True)
        sys.exit(exc.exit_code)

    if check:
        stale = [r for r in results if r.status != "ok"]
        for r in results:
            where = project.relative(r.target.output)
            if r.status == "ok" and not quiet:
                click.echo(f"ok     {r.target.name}: {where}")
            elif r.status != "ok":
                click.echo(f"stale  {r.target.name}: {where}")
                for reason in r.reasons:
                    click.echo(f"         - {reason}")
            for note in r.notes:
                click.echo(f"warning: {r.target.name}: {note}", err=True)
        if stale:
            names = " ".join(f"--target {r.target.name}" for r in stale)
            click.echo(
                f"{len(stale)} of {len(results)} lock(s) out of date; run `ftlock lock"
                + (f" {names}" if len(stale) < len(project.targets) else "")
                + "` and commit the result",
                err=True,
            )
            sys.exit(1)
        if not quiet:
            click.echo(f"{len(results)} lock(s) up to date", err=True)
        return

    # every target solved: now write them all (a failure above wrote nothing)
    from ftlock.lockfile import read_lock
    from ftlock.lockgen.diff import diff

    for item in done:
        try:
            write_atomic(item.target.output, item.text)
        except OSError as exc:
            click.echo(f"error: cannot write {item.target.output}: {exc.strerror}", err=True)
            sys.exit(1)
        for warning in item.warnings:
            click.echo(f"warning: {warning}", err=True)
        for warning in item.resolution.warnings:
            click.echo(f"warning: {item.target.name}: {warning}", err=True)
        for note in item.resolution.notes if not quiet else ():
            click.echo(f"note: {item.target.name}: {note}", err=True)
        if quiet:
            continue
        where = project.relative(item.target.output)
        count = len(item.resolution.packages)
        if item.previous is None:
            summary = "new lock"
        else:
            summary = diff(item.previous, read_lock(item.target.output)).summary()
        click.echo(f"{item.target.name}: {where}: {count} packages ({summary})", err=True)


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the locks differ (like `git diff --exit-code`).")
def diff_command(old: Path, new: Path, fmt: str, exit_code: bool) -> None:
    """Packages added, removed, upgraded and downgraded from lock OLD to lock NEW, with the
    reason NEW records (# via, knowledge rules). Either lock may be requirements.txt or pylock.toml."""
    from ftlock.lockfile import read_lock
    from ftlock.lockgen.diff import diff, render_diff

    try:
        result = diff(read_lock(old), read_lock(new))
    except FtlockError as exc:
        _fail(exc)
        return
    click.echo(result.to_json() if fmt == "json" else render_diff(result), nl=fmt == "json")
    sys.exit(1 if exit_code and not result.empty else 0)


@main.command("why")
@click.argument("name")
@click.option("--lock", "lock_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True, help="The lock to read (requirements.txt or pylock.toml).")
@click.option("--all", "every", is_flag=True, help="Every chain (up to 50), not only the shortest through each requested package.")
def why_command(name: str, lock_file: Path, every: bool) -> None:
    """Why NAME is in a lock: the chains from an input to it, from the lock's # via notes."""
    from ftlock.lockfile import read_lock
    from ftlock.lockgen.diff import why

    try:
        lock = read_lock(lock_file)
        chains = why(lock, name, every=every)
    except FtlockError as exc:
        _fail(exc)
        return
    except KeyError:
        click.echo(f"error: {name} is not in {lock_file}", err=True)
        sys.exit(1)
    entry = lock.packages[chains[0].packages[-1]] if chains else None
    if entry is not None:
        click.echo(f"{entry.shown} is in {lock_file.name} because of {len(chains)} chain(s):")
    for chain in chains:
        click.echo(f"  {chain.render(lock)}")
    for note in entry.notes if entry is not None else ():
        click.echo(f"  # {note}")


# -- running what was locked (issue 17): verify, kb prove ---------------------------------------


@main.command("verify")
@click.argument("lock_file", metavar="LOCK", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--python", "python", default=None, metavar="PATH", help="The interpreter to build the environment from (default: a local CPython matching the lock's target).")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR", help="Create the environment in DIR (new or empty) and keep it, with the smoke checks as scripts in DIR/ftlock-checks.")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True, help="auto: uv when it is installed, else pip.")
@click.option("--model", "model", default=None, metavar="NAME", help="Model family of the tiny smoke-check model (see `ftlock models`; default: the lock's --model, else Llama).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="ftlock's cache directory; the installer's wheel cache is its verify/ folder.")
@click.option("--dry-run", is_flag=True, help="Say what would be installed and downloaded, and stop.")
@click.option("--no-smoke", is_flag=True, help="Install, pip check and imports only: no smoke checks.")
@click.option("--timeout", type=_Seconds(1), default=180.0, show_default=True, help="Seconds one import may take (a smoke check gets five times as long).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (the table goes to stderr).")
@click.option("--record", is_flag=True, help="Write LOCK.verified.json beside the lock: the lock's sha256, the machine and every check's result.")
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def verify_command(lock_file: Path, python: str | None, keep: Path | None, installer: str, model: str | None, cache_dir: Path | None, dry_run: bool, no_smoke: bool, timeout: float, as_json: bool, record: bool, verbose: bool) -> None:
    """Install LOCK into a throwaway environment and run it: pip check, import every module,
    a tiny-model LoRA training step (and GPU checks on a GPU machine).

    Exit 0 only when every check passed (skips allowed), 1 when one failed, 2 when the lock
    cannot be verified on this machine (platform, Python, installer).

    \b
    Example:
      ftlock verify ft.txt --dry-run      # what it would download
      ftlock verify ft.txt --record       # writes ft.txt.verified.json
    """
    import json

    from ftlock.verify.report import console as make_console
    from ftlock.verify.report import render
    from ftlock.verify.runner import VerifyOptions, verify
    from ftlock.verify.ui import ConsoleUi

    err = make_console(stderr=True)
    out = err if as_json else make_console()
    options = VerifyOptions(
        python=python, keep=keep, installer=installer, cache_dir=cache_dir, model=model,
        dry_run=dry_run, import_timeout=timeout, smoke_timeout=timeout * 5, smoke=not no_smoke,
    )
    try:
        from ftlock.lockfile import read_lock

        ui = ConsoleUi(err, tuple(read_lock(lock_file).packages))
        report = verify(lock_file, options, ui)
    except FtlockError as exc:
        _fail(exc, verbose)
        return
    if dry_run:
        if as_json:
            click.echo(json.dumps(report.to_json(), indent=2))
        click.echo("dry run: nothing installed", err=True)
        return
    render(report.rows, out, title=f"ftlock verify {lock_file.name}")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    if record:
        try:
            where = report.record(lock_file)
        except OSError as exc:
            click.echo(f"error: cannot write the record: {exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"recorded: {where}", err=True)
    failed = report.failed
    summary = (
        f"{lock_file.name}: verified: {len(report.rows)} checks passed or skipped in {report.seconds:.0f}s"
        if report.passed
        else f"{lock_file.name}: FAILED: {len(failed)} of {len(report.rows)} checks (first: {failed[0].check}: {failed[0].detail})"
        if failed
        else f"{lock_file.name}: not verified"
    )
    click.echo(summary, err=True)
    sys.exit(0 if report.passed else 1)


def run() -> None:
    """Console-script entry point: ``main`` then an immediate exit.

    Once the lock is written, speculative prefetches still in flight (a page the solver
    never needed, a request waiting out its timeout) must not hold the process open: the
    thread pool would otherwise be joined at interpreter exit.  Output is flushed and the
    lock was written atomically, so nothing is lost.  Tests call ``main`` in-process.
    """
    import os

    code = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            click.echo(str(exc.code), err=True)
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
