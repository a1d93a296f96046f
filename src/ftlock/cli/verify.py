"""``ftlock verify``: install a lock into a throwaway environment and run it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ftlock.errors import FtlockError
from ftlock.cli.app import (
    Seconds,
    die,
    fail,
    main,
)


@main.command("verify")
@click.argument("lock_file", metavar="LOCK", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--python", "python", default=None, metavar="PATH", help="The interpreter to build the environment from (default: a local CPython matching the lock's target).")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR", help="Create the environment in DIR (new or empty) and keep it, with the smoke checks as scripts in DIR/ftlock-checks.")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True, help="auto: uv when it is installed, else pip.")
@click.option("--model", "model", default=None, metavar="NAME", help="Model family of the tiny smoke-check model (see `ftlock models`; default: the lock's --model, else Llama).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="ftlock's cache directory; the installer's wheel cache is its verify/ folder.")
@click.option("--dry-run", is_flag=True, help="Say what would be installed and downloaded, and stop.")
@click.option("--no-smoke", is_flag=True, help="Install, pip check and imports only: no smoke checks.")
@click.option("--timeout", type=Seconds(1), default=180.0, show_default=True, help="Seconds one import may take (a smoke check gets five times as long).")
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
        from ftlock.lock.lockfile import read_lock

        ui = ConsoleUi(err, tuple(read_lock(lock_file).packages))
        report = verify(lock_file, options, ui)
    except FtlockError as exc:
        fail(exc, verbose)
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
            die(f"cannot write the record: {exc.strerror or exc}")
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
