"""``ftlock kb``: list, show, lint and prove the knowledge rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ftlock.errors import FtlockError, UsageError
from ftlock.cli.app import (
    Seconds,
    fail,
    main,
    parse_date,
    parse_index_url,
)


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
        fail(exc)
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
    fail(UsageError(f"no rule {rule_id!r}; see `ftlock kb list`"))


@kb.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def kb_lint(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: the built-in ones); exit 2 naming the file and rule.

    Beyond what loading checks, every package range with a version bound must name the
    releases either side of it that were verified (`verified`), or say why it cannot.
    """
    from ftlock.knowledge.lint import problems
    from ftlock.knowledge.loader import load_dir, load_file

    try:
        if paths:
            loaded = [r for p in paths for r in (load_file(p) if p.is_file() else load_dir(p))]
        else:
            loaded = load_dir()
    except FtlockError as exc:
        fail(exc)
    found = [f"{item.file}: rule {item.rule.id!r}: {problem}" for item in loaded for problem in problems(item.rule)]
    for line in found:
        click.echo(f"error: {line}", err=True)
    if found:
        sys.exit(2)
    click.echo(f"ok: {len(loaded)} rules valid")


@kb.command("prove")
@click.argument("rule_ids", nargs=-1, metavar="RULE...")
@click.option("--all", "every", is_flag=True, help="Every rule (built-in and --rules).")
@click.option("--rules", "rules", multiple=True, type=click.Path(path_type=Path), metavar="PATH", help="Also load the rules in this TOML file or directory.")
@click.option("--python", "python", default=None, metavar="PATH", help="Interpreter to build the environments from (default: the one running ftlock).")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True, help="auto: uv when it is installed, else pip.")
@click.option("-i", "--index-url", default=None, callback=parse_index_url, help="Index to solve and install the examples from (default: as for solve).")
@click.option("--extra-index-url", multiple=True, help="More indexes.")
@click.option("--allow-insecure-host", "allow_insecure_hosts", multiple=True, metavar="HOST", help="Allow plain http to HOST (as for solve).")
@click.option("--exclude-newer", callback=parse_date, default=None, metavar="DATE", help="Solve the examples as of DATE (the packages they do not pin).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Cache directory (index pages, and the installer's wheel cache under verify/).")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR", help="Keep each environment as DIR/RULE/bad and DIR/RULE/good.")
@click.option("--timeout", type=Seconds(1), default=600.0, show_default=True, help="Seconds one probe may run.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout (the table goes to stderr).")
@click.option("-v", "--verbose", is_flag=True, help="Full tracebacks.")
def kb_prove(rule_ids: tuple[str, ...], every: bool, rules: tuple[Path, ...], python: str | None, installer: str, index_url: str | None, extra_index_url: tuple[str, ...], allow_insecure_hosts: tuple[str, ...], exclude_newer, cache_dir: Path | None, keep: Path | None, timeout: float, as_json: bool, verbose: bool) -> None:
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
        fail(exc, verbose)
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
