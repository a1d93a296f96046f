"""``ftlock gpus``, ``ftlock probe`` and ``ftlock models``: the catalogs and this machine."""

from __future__ import annotations


import click

from ftlock.errors import FtlockError
from ftlock.cli.app import (
    fail,
    main,
)


@main.command()
def gpus() -> None:
    """The GPU catalog: architecture, compute capability, memory, bf16/fp8."""
    from ftlock.gpu.gpus import catalog

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
    from ftlock.gpu.cuda import DriverSupport
    from ftlock.gpu.probe import probe as run_probe

    try:
        found = run_probe()
    except FtlockError as exc:
        fail(exc)
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


def _gpu_catalog():
    from ftlock.gpu.gpus import catalog

    return catalog()


@main.command()
def models() -> None:
    """Model presets for `solve --model`: the versions each family needs, and the stack."""
    from ftlock.gpu.models_catalog import catalog

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
