"""``ftlock check``: a lock, a freeze file or a live interpreter audited against the
knowledge rules and the packages' own metadata."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from ftlock.errors import FtlockError, UsageError
from ftlock.cli.app import (
    Seconds,
    fail,
    main,
)


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
@click.option("--timeout", type=Seconds(0.1), default=30.0, show_default=True, help="Seconds before an HTTP request times out.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True, help="Retries for transient HTTP failures.")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also apply the rules in this TOML file or directory.")
@click.option("--complete", is_flag=True, help="The set is a whole environment: a requirement on a package it lacks is an error (default for --python PATH).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def check(file: Path | None, python: str | None, platform: str | None, gpu: str | None, cuda_driver: str | None, cuda: str | None, features: tuple[str, ...], index_url: str | None, extra_index_url: tuple[str, ...], cache_dir: Path | None, offline: bool, allow_insecure_hosts: tuple[str, ...], timeout: float, retries: int, rules: tuple[Path, ...], complete: bool, fmt: str, verbose: bool) -> None:
    """Audit a pip freeze, a lockfile or a live environment: metadata (like pip check) and knowledge rules.

    Exit 1 when a problem is found, with one line per problem.
    """
    from ftlock.knowledge.engine import Knowledge
    from ftlock import audit as audit_mod
    from ftlock.resolve.solve import SolveRequest
    from ftlock.resolve.target import Target

    try:
        live = python is not None and ("/" in python or Path(python).exists())
        if not live and file is not None:
            # a lock ftlock wrote records its target: check against that, not the defaults
            from ftlock.lock import target as lock_target

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
            version, installed = audit_mod.read_live_environment(cast(str, python))  # live: given
            target = Target.from_options(version, platform)
        else:
            if file is None:
                raise UsageError("check needs a FILE (pip freeze output or lockfile) or --python PATH")
            installed = audit_mod.read_pins(file)
            target = Target.from_options(python, platform)
        from ftlock.gpu.cuda import DriverSupport

        if cuda_driver and cuda:
            raise UsageError("give --cuda-driver or --cuda, not both")
        driver = DriverSupport.from_driver(cuda_driver) if cuda_driver else DriverSupport.from_cuda(cuda) if cuda else None
        knowledge = Knowledge.for_target(rules, features, gpu, driver.native if driver else None)
        if live:  # a live interpreter's own metadata: no index needed
            report = audit_mod.audit(installed, target, knowledge, None, True, files_of=None, freeze=False)
        else:
            # no PEP 517 builds: an audit reads published metadata only (sdists without
            # static metadata are checked against the rules alone)
            request = SolveRequest(
                index_url=index_url, extra_index_urls=extra_index_url, cache_dir=cache_dir,
                offline=offline, no_build=True, allow_insecure_hosts=allow_insecure_hosts,
                timeout=timeout, retries=retries,
            )
            report = audit_mod.audit_with_index(installed, target, knowledge, request, complete)
    except FtlockError as exc:
        fail(exc, verbose)
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

