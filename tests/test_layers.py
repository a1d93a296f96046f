"""The package's folders are its design: imports only go down the data path.

errors/_urls/_version/untrusted ← gpu ← knowledge ← index ← distribution ← resolve ← lock ←
project/audit/verify ← cli ← the public API.  A newcomer reads the folders to find where a fact
lives; an import that goes up (or a cycle) is where that stops being true, so this test walks
every module's imports with :mod:`ast` — imports inside functions too, since a lazy import is
still a dependency — and fails naming the offending edge.  Imports under ``if TYPE_CHECKING:``
are left out: they exist only for annotations and run never.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "ftlock"

#: Rank of each top-level part of the package; a module may import only from its own rank
#: or a lower one (and, inside its own folder, anything but a cycle).
LAYERS: dict[str, int] = {
    "errors": 0, "_urls": 0, "_version": 0, "_toml": 0, "_dates": 0, "_values": 0, "untrusted": 0,
    "gpu": 1,
    "knowledge": 2,
    "index": 3,
    "distribution": 4,
    "resolve": 5,
    "lock": 6,
    "project": 7, "audit": 7, "verify": 7,
    "cli": 8, "__main__": 9,
    "__init__": 10,  # the public API: imports from everything, nothing imports it
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skip.update(id(n) for n in ast.walk(inner))
    return skip


def _imports(path: Path) -> set[str]:
    """Every ftlock module ``path`` imports, resolved to module names (``from x import y``
    counts as importing ``x.y`` when that is a module, else ``x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.add(candidate if _exists(candidate) else module)
    return {m for m in found if m == "ftlock" or m.startswith("ftlock.")}


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:]) if "." in module else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_top_level_part_has_a_layer() -> None:
    parts = {_layer(m) for m in _graph()}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS: {sorted(parts - set(LAYERS))}"


def test_imports_only_go_down() -> None:
    upward = [
        f"{module} ({_layer(module)}) imports {dep} ({_layer(dep)})"
        for module, deps in _graph().items()
        for dep in deps
        if LAYERS[_layer(dep)] > LAYERS[_layer(module)]
        or (_layer(dep) == "__init__" and module != "ftlock")
    ]
    assert not upward, "imports that go up the layers:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    graph = {m: {d for d in deps if d != m} for m, deps in _graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_folder_is_a_regular_package() -> None:
    """setuptools' ``packages.find`` skips a folder without ``__init__.py``: the wheel would
    ship without it although every test from the checkout passes."""
    missing = [
        str(d.relative_to(PACKAGE)) for d in PACKAGE.rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").is_file()
    ]
    assert not missing, f"folders without __init__.py: {missing}"


def test_resolver_functions_fit_on_a_screen() -> None:
    """The resolver is where behaviour hides; a function over 60 lines (decorators and
    nested functions counted) does several things, and each deserves a name."""
    long = []
    for path in sorted((PACKAGE / "resolve").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > 60:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "split these: " + ", ".join(long)
