"""Specification: the console examples in docs/ are runs, not prose.

Every ```console block in docs/ that runs ``ftlock`` is executed here, in document order,
against a local index shaped like the one the docs were written against: the documented
command lines exactly as written (a shell runs them, so ``<(…)``, ``&&`` and comments mean
what they mean to a reader), the prose steps between blocks done as the docs say, and each
command's exit code compared with the documented one — the number after ``$ echo $?``, else
0.  A block that shows what a command prints without running anything (no ``$`` line) is
output, not a command, and is left alone.

Package versions and counts differ from the docs (the index here is tiny), so output is
not compared, except where a scenario is the docs' own (``--check --refresh``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.dists import build_wheel

DOCS = Path(__file__).resolve().parent.parent / "docs"

#: the docs whose ftlock console blocks are run here; a new one must join them
RUN_HERE = ("teams.md",)


@dataclass
class Command:
    text: str  # after "$ ", as documented
    line: int  # in its file, for messages
    output: list[str] = field(default_factory=list)
    exit_code: int = 0  # as documented: the `echo $?` after it, else 0


@dataclass
class Block:
    file: str
    line: int
    commands: list[Command]


def console_blocks(path: Path) -> list[Block]:
    """The ```console blocks of a markdown file, with `echo $?` folded into the command
    before it as that command's documented exit code."""
    blocks: list[Block] = []
    current: list[Command] | None = None
    start = 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        stripped = raw.strip()
        if current is None:
            if stripped == "```console":
                current, start = [], number
            continue
        if stripped == "```":
            blocks.append(Block(path.name, start, current))
            current = None
        elif raw.startswith("$ "):
            current.append(Command(raw[2:], number))
        elif current:
            current[-1].output.append(raw)
    for block in blocks:
        kept: list[Command] = []
        for command in block.commands:
            if command.text.strip() == "echo $?":
                assert kept and command.output and re.fullmatch(r"\d+", command.output[0].strip()), (
                    f"{block.file}:{command.line}: `echo $?` needs a command before it and a number after it"
                )
                kept[-1].exit_code = int(command.output[0])
            else:
                kept.append(command)
        block.commands = kept
    return blocks


def runs_ftlock(block: Block) -> bool:
    return any("ftlock" in shlex.split(c.text, comments=True) for c in block.commands)


class Shell:
    """Runs documented command lines in ``cwd`` with bash, ``ftlock`` being this checkout's."""

    def __init__(self, cwd: Path, bin_dir: Path) -> None:
        self.cwd = cwd
        bin_dir.mkdir(exist_ok=True)
        shim = bin_dir / "ftlock"
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m ftlock "$@"\n')
        shim.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command.text], cwd=self.cwd, env=self.env,
            capture_output=True, text=True, timeout=120,
        )

    def block(self, block: Block) -> list[subprocess.CompletedProcess[str]]:
        """Each command of ``block``, its exit code checked against the documented one."""
        done = []
        for command in block.commands:
            result = self.run(command)
            assert result.returncode == command.exit_code, (
                f"docs/{block.file}:{command.line}: `{command.text}` exited {result.returncode}, "
                f"the docs say {command.exit_code}\n{result.stdout}{result.stderr}"
            )
            done.append(result)
        return done


@pytest.fixture
def doc_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """What a reader's machine has: a git identity, a cache of its own, no pip configuration
    (conftest); ``doc_env.index(url)`` makes ``url`` pip's index, as it is the reader's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(var, "Docs Test")
    for var in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(var, "docs@example.invalid")
    return _DocEnv(tmp_path, monkeypatch)


@dataclass
class _DocEnv:
    root: Path
    monkeypatch: pytest.MonkeyPatch

    def index(self, url: str) -> None:
        self.monkeypatch.setenv("PIP_INDEX_URL", url)


def _teams_blocks() -> list[Block]:
    return [b for b in console_blocks(DOCS / "teams.md") if runs_ftlock(b)]


#: the documented command lines, block by block: the scenario below does the prose steps
#: between them, so a changed command line must be looked at here too
TEAMS_COMMANDS = [
    ["ftlock lock", 'git add pyproject.toml requirements-a100.txt pylock.cpu.toml && git commit -m "Lock the training stack"'],
    ["ftlock lock --check"],
    ["ftlock lock"],
    [
        "ftlock lock --upgrade-package peft          # peft to the newest version that fits, and what it forces",
        "ftlock lock -P peft==0.12.0 -P trl          # several; ==VER picks the version",
        "ftlock lock --upgrade                       # forget the pins: a fresh solve of every target",
    ],
    [
        "ftlock diff <(git show HEAD:requirements-a100.txt) requirements-a100.txt",
        "ftlock why urllib3 --lock requirements-a100.txt",
    ],
    ["ftlock lock --check --refresh"],
]


def test_every_ftlock_console_block_in_docs_is_run_by_this_test():
    unrun = [
        f"docs/{path.name}:{block.line}"
        for path in sorted(DOCS.glob("*.md"))
        if path.name not in RUN_HERE
        for block in console_blocks(path)
        if runs_ftlock(block)
    ]

    assert unrun == [], "console blocks that run ftlock but no docs test runs: " + ", ".join(unrun)


def test_the_teams_walkthrough_runs_as_documented_command_by_command(doc_env, local_index, dists_dir):
    blocks = _teams_blocks()
    assert [[c.text for c in b.commands] for b in blocks] == TEAMS_COMMANDS
    assert [[c.exit_code for c in b.commands] for b in blocks] == [[0, 0], [1], [0], [0, 0, 0], [0, 0], [1]]
    index = local_index(pep658=True)
    for name, version, requires in [
        ("transformers", "4.52.4", ["requests", "huggingface-hub"]),
        ("peft", "0.12.0", ["transformers", "accelerate", "huggingface-hub"]),
        ("peft", "0.15.2", ["transformers", "accelerate", "huggingface-hub"]),
        ("trl", "0.18.1", ["transformers", "datasets"]),
        ("datasets", "3.6.0", ["requests", "huggingface-hub"]),
        ("huggingface-hub", "0.32.3", ["requests"]),
        ("accelerate", "1.7.0", []),
        ("requests", "2.32.3", ["urllib3"]),
        ("urllib3", "2.4.0", []),
        ("bitsandbytes", "0.46.0", []),
    ]:
        index.add(build_wheel(dists_dir, name, version, requires_dist=requires))
    doc_env.index(index.url)
    project = doc_env.root / "trainer"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    # 1. Describe the project: the documented pyproject.toml, verbatim
    toml = re.search(r"```toml\n(# pyproject\.toml\n.*?)```", (DOCS / "teams.md").read_text(), re.S)
    assert toml is not None
    (project / "pyproject.toml").write_text(toml.group(1))
    shell = Shell(project, doc_env.root / "bin")

    shell.block(blocks[0])  # 2. Lock, and commit
    assert (project / "requirements-a100.txt").is_file() and (project / "pylock.cpu.toml").is_file()
    # 3. "Add `bitsandbytes` to the dependencies"
    text = (project / "pyproject.toml").read_text()
    assert 'dependencies = ["transformers", "peft"]' in text
    (project / "pyproject.toml").write_text(
        text.replace('dependencies = ["transformers", "peft"]', 'dependencies = ["transformers", "peft", "bitsandbytes"]')
    )
    check, = shell.block(blocks[1])
    assert "added requirement: bitsandbytes (pyproject.toml)" in check.stdout
    relock, = shell.block(blocks[2])
    assert "(+ bitsandbytes 0.46.0)" in relock.stderr
    shell.block(blocks[3])  # 4. Upgrade on purpose
    diff, why = shell.block(blocks[4])
    assert "+ bitsandbytes 0.46.0" in diff.stdout
    assert why.stdout.startswith("urllib3==2.4.0 is in requirements-a100.txt because of ")


def test_the_check_refresh_example_runs_and_prints_as_documented(doc_env, local_index, dists_dir):
    block = _teams_blocks()[-1]
    index = local_index(pep658=True)
    index.add(build_wheel(dists_dir, "lib", "1.0"))
    yanked = build_wheel(dists_dir, "lib", "1.1")
    index.add(yanked)
    doc_env.index(index.url)
    project = doc_env.root / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.ftlock]\nrequirements = ["lib"]\npython = "3.11"\nplatform = "linux_x86_64"\n'
    )
    shell = Shell(project, doc_env.root / "bin")
    assert shell.run(Command("ftlock lock", 0)).returncode == 0
    index.add(yanked, yanked="corrupt wheel")

    result, = shell.block(block)

    documented = block.commands[0].output
    assert (result.stdout + result.stderr).splitlines() == documented


def test_a_changed_exit_code_in_the_docs_fails_the_run(tmp_path):
    # the check above compares against the documented number: `echo $?` saying 0 after a
    # command that exits 1 must fail, not pass
    doc = tmp_path / "doc.md"
    doc.write_text("```console\n$ sh -c 'exit 1'\n$ echo $?\n0\n```\n")
    block, = console_blocks(doc)

    with pytest.raises(AssertionError, match=r"exited 1, the docs say 0"):
        Shell(tmp_path, tmp_path / "bin").block(block)
