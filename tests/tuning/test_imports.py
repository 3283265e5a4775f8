"""nnzoo.tuning's modules import each other one way only, at module level; the CLI stays light."""

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

PACKAGE = "nnzoo.tuning"
SOURCE_DIR = Path(__file__).resolve().parents[2] / "nnzoo" / "tuning"
# PEP 562: the package's __getattr__ loads ``tune`` on first use (start-up speed), by design.
LAZY_LOADER = (PACKAGE, "__getattr__")
HEAVY = ("optuna", "keras", "tensorflow", "jax", "torch")


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


SOURCES = {_module_name(p): p for p in sorted(SOURCE_DIR.glob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The modules of nnzoo.tuning that an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = node.module or ""
        if node.level:  # relative, from within the (flat) package
            parts = PACKAGE.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + [base] * bool(base))
        # ``from nnzoo.tuning import _space`` loads the submodule, ``... import tune`` the package.
        names = {f"{base}.{a.name}" if f"{base}.{a.name}" in SOURCES else base for a in node.names}
    return {n for n in names if n in SOURCES}


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module loads: not those inside a function body."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(), str(path)) for name, path in SOURCES.items()}


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, tree in _trees().items():
        imported = set()
        for node in _module_level_imports(tree):
            imported |= _targets(node, name)
        graph[name] = imported - {name}
    return graph


def test_the_module_level_import_graph_is_acyclic():
    graph = _graph()
    # The parser sees the edges that make the layering (so this test cannot pass vacuously).
    assert {"nnzoo.tuning._settings"} <= graph["nnzoo.tuning._study"]
    assert {"nnzoo.tuning._study"} <= graph["nnzoo.tuning._workers"]
    assert {"nnzoo.tuning._settings"} <= graph["nnzoo.tuning._outputs"]
    assert {"nnzoo.tuning._workers", "nnzoo.tuning._outputs"} <= graph["nnzoo.tuning._tune"]
    assert graph["nnzoo.tuning._settings"] == set()  # the bottom layer
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle in nnzoo.tuning: {' -> '.join(err.args[1])}") from None
    assert set(order) == set(SOURCES)


def test_no_function_imports_another_tuning_module():
    found = []
    for name, tree in _trees().items():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (name, func.name) == LAZY_LOADER:
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    for target in sorted(_targets(node, name) - {name}):
                        found.append(f"{SOURCES[name].name}:{node.lineno} {func.name}: {target}")
    assert found == []


def test_the_cli_and_tune_result_load_without_a_framework():
    code = (
        "import sys, nnzoo.tuning, nnzoo.cli.tuning\n"
        "assert nnzoo.tuning.TuneResult.__name__ == 'TuneResult'\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "\n"
