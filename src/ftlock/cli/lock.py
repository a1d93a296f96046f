"""``ftlock lock``, ``ftlock diff`` and ``ftlock why``: the project workflow and reading
locks back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from ftlock.errors import FtlockError, UsageError
from ftlock.cli.app import (
    ISOLATED_HELP,
    binary_options,
    die,
    fail,
    main,
    parse_date,
)

if TYPE_CHECKING:  # pragma: no cover
    from ftlock.project.config import Format as LockFormat
    from ftlock.resolve.prereleases import Prerelease


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
@click.option("--exclude-newer", callback=parse_date, default=None, metavar="DATE", help="Ignore files uploaded after DATE (overrides tool.ftlock.exclude-newer).")
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
def lock_command(config_file: Path | None, targets: tuple[str, ...], check: bool, refresh: bool, upgrade: bool, upgrade_packages: tuple[str, ...], requirement_files: tuple[str, ...], constraint_files: tuple[str, ...], output: str | None, lock_format: str | None, python: str | None, platform: str | None, gpu: str | None, features: tuple[str, ...], index_url: str | None, extra_index_url: tuple[str, ...], exclude_newer, prerelease: str | None, allow_insecure_hosts: tuple[str, ...], no_build: bool, isolated: bool, strict_rules: bool, only_binary: tuple[str, ...], no_binary: tuple[str, ...], cache_dir: Path | None, no_cache: bool, offline: bool, quiet: bool, verbose: bool) -> None:
    """Write the lock of every target configured in pyproject.toml ([tool.ftlock]).

    Re-locking keeps the current pins wherever they still fit the inputs. --check (for CI
    and pre-commit) writes nothing and exits 1 when a lock is stale.

    \b
    Example:
      ftlock lock                      # write/refresh every target's lock
      ftlock lock -P peft              # move peft (and what it forces) only
      ftlock lock --check              # pre-merge: are the locks up to date?
    """
    from ftlock.project import config as config_mod
    from ftlock.project import locking
    from ftlock.lock.atomic import write_atomic

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
            prerelease=cast("Prerelease | None", prerelease),  # click.Choice: one of its values
            python=python,
            platform=platform,
            gpu=gpu,
            features=features or None,
            strict_rules=strict_rules,
            format=cast("LockFormat | None", lock_format),  # click.Choice: one of its values
            binary=binary_options(
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
        fail(exc, verbose)

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
    from ftlock.cli import wording
    from ftlock.lock.diff import diff

    for item in done:
        try:
            write_atomic(item.target.output, item.text)
        except OSError as exc:
            die(f"cannot write {item.target.output}: {exc.strerror}")
        for warning in item.warnings:
            click.echo(f"warning: {warning}", err=True)
        for warning in wording.warnings(item.resolution):
            click.echo(f"warning: {item.target.name}: {warning}", err=True)
        for note in wording.notes(item.resolution) if not quiet else ():
            click.echo(f"note: {item.target.name}: {note}", err=True)
        if quiet:
            continue
        where = project.relative(item.target.output)
        count = len(item.resolution.packages)
        if item.previous is None:
            summary = "new lock"
        else:
            summary = diff(item.previous, item.written).summary()
        click.echo(f"{item.target.name}: {where}: {count} packages ({summary})", err=True)


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the locks differ (like `git diff --exit-code`).")
def diff_command(old: Path, new: Path, fmt: str, exit_code: bool) -> None:
    """Packages added, removed, upgraded and downgraded from lock OLD to lock NEW, with the
    reason NEW records (# via, knowledge rules). Either lock may be requirements.txt or pylock.toml."""
    from ftlock.lock.lockfile import read_lock
    from ftlock.lock.diff import diff, render_diff

    try:
        result = diff(read_lock(old), read_lock(new))
    except FtlockError as exc:
        fail(exc)
        return
    click.echo(result.to_json() if fmt == "json" else render_diff(result), nl=fmt == "json")
    sys.exit(1 if exit_code and not result.empty else 0)


@main.command("why")
@click.argument("name")
@click.option("--lock", "lock_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True, help="The lock to read (requirements.txt or pylock.toml).")
@click.option("--all", "every", is_flag=True, help="Every chain (up to 50), not only the shortest through each requested package.")
def why_command(name: str, lock_file: Path, every: bool) -> None:
    """Why NAME is in a lock: the chains from an input to it, from the lock's # via notes."""
    from ftlock.lock.lockfile import read_lock
    from ftlock.lock.diff import why

    try:
        lock = read_lock(lock_file)
        chains = why(lock, name, every=every)
    except FtlockError as exc:
        fail(exc)
        return
    except KeyError:
        die(f"{name} is not in {lock_file}")
    entry = lock.packages[chains[0].packages[-1]] if chains else None
    if entry is not None:
        click.echo(f"{entry.shown} is in {lock_file.name} because of {len(chains)} chain(s):")
    for chain in chains:
        click.echo(f"  {chain.render(lock)}")
    for note in entry.notes if entry is not None else ():
        click.echo(f"  # {note}")


# -- running what was locked (issue 17): verify, kb prove ---------------------------------------
