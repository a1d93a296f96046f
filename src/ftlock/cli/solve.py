"""``ftlock solve``: flags to a :class:`~ftlock.resolve.result.SolveRequest`, progress on
stderr, the lock to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ftlock.errors import FtlockError
from ftlock.cli.app import (
    INDEX_HELP,
    ISOLATED_HELP,
    NO_BINARY_HELP,
    ONLY_BINARY_HELP,
    PLATFORM_HELP,
    Seconds,
    binary_options,
    command_line,
    die,
    fail,
    main,
    parse_date,
    parse_index_url,
    parse_output,
    refuse_overwriting_inputs,
)


@main.command()
@click.argument("requirements", nargs=-1)
@click.option("-r", "--requirement", "requirement_files", multiple=True, type=click.Path(path_type=Path, readable=False), help="Read requirements from FILE (pip format; nested -r/-c allowed).")
@click.option("-c", "--constraint", "constraint_files", multiple=True, type=click.Path(path_type=Path, readable=False), help="Constrain versions with FILE; constraints never add packages.")
@click.option("-o", "--output", type=str, default=None, callback=parse_output, help="Write the lock to FILE (atomically), or '-' for stdout. Default: stdout.")
@click.option("--format", "lock_format", type=click.Choice(["requirements", "pylock"]), default="requirements", show_default=True, help="requirements: hash-pinned requirements.txt; pylock: PEP 751 pylock.toml (name the file pylock.toml or pylock.NAME.toml).")
@click.option("--python", "python", default=None, help="Target CPython: 3.11 (every 3.11.x) or 3.11.7. Default: the running interpreter.")
@click.option("--platform", "platform", default=None, help=PLATFORM_HELP)
@click.option("-i", "--index-url", default=None, callback=parse_index_url, help=INDEX_HELP)
@click.option("--extra-index-url", multiple=True, help="More indexes, asked in order after --index-url; each project still comes from the first index that has it.")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (or HOST:PORT); repeatable. Without it only https and loopback (localhost, 127.0.0.1, ::1) are used; pip's trusted-host is honoured too.")
@click.option("--prerelease", type=click.Choice(["allow", "if-necessary", "explicit"]), default=None, help="Pre-releases: 'if-necessary' (default, pip's rule) when a specifier names one or no final release fits; 'explicit' only when a specifier names one; 'allow' always.")
@click.option("--exclude-newer", callback=parse_date, default=None, metavar="DATE", help="Ignore files uploaded after DATE (YYYY-MM-DD or RFC 3339, UTC); files with no upload time are ignored too.")
@click.option("--no-build", is_flag=True, help="Never run a PEP 517 build to learn an sdist's metadata; fail naming the package instead.")
@click.option("--only-binary", "only_binary", multiple=True, metavar="NAMES", help=ONLY_BINARY_HELP)
@click.option("--no-binary", "no_binary", multiple=True, metavar="NAMES", help=NO_BINARY_HELP)
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory (default: the platform's user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--offline", is_flag=True, help="Resolve from the cache alone; fail naming what is missing.")
@click.option("--refresh", is_flag=True, help="Refetch every index page, however fresh the cached copy.")
@click.option("--page-ttl", type=Seconds(0), default=600.0, show_default=True, help="Seconds a cached index page is used without refetching.")
@click.option("--no-solve-cache", is_flag=True, help="Run the solver even when the same solve is cached and every index page it read is unchanged and fresh (the answer would be the same).")
@click.option("--isolated", is_flag=True, help=ISOLATED_HELP)
@click.option("--concurrency", type=click.IntRange(1, 128), default=16, show_default=True, help="Parallel HTTP requests.")
@click.option("--timeout", type=Seconds(0.1), default=30.0, show_default=True, help="Seconds before an HTTP request times out.")
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
def solve(requirements: tuple[str, ...], output: str | None, quiet: bool, verbose: bool, **options) -> None:
    """Solve REQUIREMENTS for the target and write a hash-pinned requirements.txt.

    \b
    Example:
      ftlock solve transformers peft trl --python 3.11 --platform linux_x86_64 -o ft.txt
      pip install --require-hashes --no-deps -r ft.txt
    """
    from ftlock.lock.atomic import write_atomic
    from ftlock.lock.requirements_txt import render
    from ftlock.resolve.solve import SolveRequest

    lock_format = options.pop("lock_format")
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    argv = click.get_current_context().meta.get("ftlock.argv", sys.argv[1:])
    only_binary, no_binary = options.pop("only_binary"), options.pop("no_binary")
    try:
        refuse_overwriting_inputs(
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
            binary=binary_options(argv, only_binary, no_binary),
            **options,
        )
        resolution = _with_progress(request, quiet)
        if lock_format == "pylock":
            from ftlock.lock import pylock

            text = pylock.render(resolution, command_line(argv))
            if output not in (None, "-") and not pylock.FILENAME.match(Path(output).name):
                click.echo(f"warning: PEP 751 names lock files pylock.toml or pylock.NAME.toml, not {Path(output).name}", err=True)
        else:
            text = render(resolution, command_line(argv))
    except FtlockError as exc:
        fail(exc, verbose)
    if output is None or output == "-":
        click.echo(text, nl=False)
    else:
        try:
            write_atomic(Path(output), text)
        except OSError as exc:
            if verbose:
                raise
            die(f"cannot write {output}: {exc.strerror or exc}")
    from ftlock.cli import wording

    for warning in wording.warnings(resolution):
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        for note in wording.notes(resolution):
            click.echo(f"note: {note}", err=True)
        for line in wording.summary(resolution):
            click.echo(line, err=True)
    if resolution.changes and not quiet:
        click.echo(f"Changes to the base environment ({len(resolution.changes)}):", err=True)
        for line in wording.changes(resolution):
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


def _with_progress(request, quiet: bool):
    from ftlock.resolve.solve import solve as run_solve

    if quiet:
        return run_solve(request)
    if not sys.stderr.isatty():
        from ftlock.cli.progress import LogProgress, is_log

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
