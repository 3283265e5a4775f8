"""Imports point one way: no cycle, and module-level imports respect the layers below.

An AST walk over ``nnzoo/``: no module is imported, so the test is fast and sees the imports as
written. ``if TYPE_CHECKING:`` imports are not runtime edges and are skipped. Function-local
imports (kept for start-up speed: ``nnzoo --help`` must not import Keras) are allowed only on
the edges listed in ``LAZY_EDGES``, each with its reason.

The cycle check counts function-local (lazy) imports too: a lazy import defers when a module is
loaded, not that it depends on the other, so two modules that import each other, lazily or
not, are one knot a reader cannot read apart. A package and its own submodules get no special
case, and need none: only the imports written are edges, not the parent ``__init__`` that
Python runs before every submodule, so a package importing its own submodules (a face that
re-exports them, or ``nnzoo.tuning`` importing ``_tune`` lazily) closes no cycle by itself.
What does close one is a submodule importing back its own package's ``__init__`` while that
``__init__`` imports it: then the face holds something its machinery needs, which belongs in a
submodule (the face only re-exports), so it is flagged like any other cycle.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
from pathlib import Path

import pytest

import nnzoo

PACKAGE = Path(nnzoo.__file__).parent

#: Layers, lowest first. A module may import (at module level) only from its own layer or a
#: lower one. Patterns are matched in order; the first match wins.
LAYERS: list[tuple[str, ...]] = [
    ("nnzoo.errors", "nnzoo._atomic", "nnzoo._offline", "nnzoo._cache", "nnzoo._cli_options"),
    ("nnzoo.inference._runner",),  # a script: the standard library, NumPy and a runtime only
    ("nnzoo.config", "nnzoo.config.*"),
    ("nnzoo.cards",),
    ("nnzoo.hyperparameters", "nnzoo.memory"),
    ("nnzoo.layers", "nnzoo.layers.*", "nnzoo.models", "nnzoo.models.*"),
    ("nnzoo.data", "nnzoo.data.*"),
    ("nnzoo.pretrained", "nnzoo.pretrained.*"),
    ("nnzoo.registry",),
    ("nnzoo.run", "nnzoo.run.*"),
    # training and inference both stand on nnzoo.run and never import each other (a test below).
    ("nnzoo.training", "nnzoo.training.*", "nnzoo.inference", "nnzoo.inference.*"),
    ("nnzoo.benchmark",),
    ("nnzoo.tuning", "nnzoo.tuning.*"),
    ("nnzoo.cli", "nnzoo.cli.*"),
    ("nnzoo",),
]

#: Function-local imports allowed, as (importer pattern, imported pattern): reason.
LAZY_EDGES: dict[tuple[str, str], str] = {
    ("nnzoo.cli*", "nnzoo.*"): "each command imports the library it needs, so --help is fast",
    ("nnzoo.models.*", "nnzoo.layers*"): "builders import Keras (and nnzoo's layers) when called",
    ("nnzoo.models.*", "nnzoo.models._*"): "their shared helpers (_common, _images) import Keras",
    ("nnzoo.data.*", "nnzoo.data.*"): "sources import TensorFlow-backed helpers when loaded",
    ("nnzoo.run.*", "nnzoo.run.*"): "saving and losses import Keras; the rest of a run does not",
    ("nnzoo.run.bind", "nnzoo.pretrained"): "a preset is located only when a config names one",
    ("nnzoo.training.*", "nnzoo.training.*"): "steps that import Keras load when training",
    ("nnzoo.training.*", "nnzoo.run.*"): "saving and losses import Keras when training",
    ("nnzoo.training.*", "nnzoo.data.pipeline"): "the input pipeline imports TensorFlow",
    ("nnzoo.inference.*", "nnzoo.inference.*"): "a run's model (Keras) loads only when used",
    ("nnzoo.inference.*", "nnzoo.run.*"): "saving, losses and the data bind load when used",
    ("nnzoo.inference.*", "nnzoo.data*"): "inputs need the pipeline or tokenizer only when read",
    ("nnzoo.inference.*", "nnzoo.registry"): "export, generation read a card only when they run",
    ("nnzoo.tuning*", "nnzoo.tuning.*"): "Optuna is imported when a study runs, not on import",
    ("nnzoo.tuning.*", "nnzoo.training*"): "a trial imports the trainer (Keras) when it runs",
    ("nnzoo.tuning.*", "nnzoo.run.*"): "a trial binds its config's data when it runs",
    ("nnzoo.tuning.*", "nnzoo.registry"): "the baseline reads a card only when a study starts",
    ("nnzoo.registry", "nnzoo.pretrained"): "build_model(weights=) loads a preset when asked",
    ("nnzoo.pretrained.*", "nnzoo._cli_options"): "KerasHub is imported when a preset loads",
    ("nnzoo.pretrained.*", "nnzoo.data.tokenizers"): "a text preset brings its tokenizer",
    ("nnzoo.training.*", "nnzoo.pretrained"): "a run loads a preset only when it starts from one",
    ("nnzoo.benchmark", "nnzoo.*"): "a benchmark builds and compiles (Keras) when it runs",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parent = module.split(".") if is_package else module.split(".")[:-1]
        parent = parent[: len(parent) - (node.level - 1)]
        base = ".".join(parent + ([base] if base else []))
    # `from nnzoo.data import _sources` imports the submodule nnzoo.data._sources.
    return [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(module-level edges, function-local edges)`` between nnzoo modules."""
    top: dict[str, set[str]] = {}
    local: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        top.setdefault(module, set())
        local.setdefault(module, set())

        def visit(node: ast.AST, in_function: bool, module: str = module, path: Path = path):
            if isinstance(node, ast.If) and _is_type_checking(node):
                for child in node.orelse:
                    visit(child, in_function)
                return
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(node, module, path.name == "__init__.py"):
                    if name == "nnzoo" or name.startswith("nnzoo."):
                        (local if in_function else top)[module].add(name)
                return
            inner = in_function or isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            for child in ast.iter_child_nodes(node):
                visit(child, inner)

        visit(tree, False)
    return top, local


TOP, LOCAL = _imports()


def _layer(module: str) -> int:
    for i, patterns in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def test_every_module_has_a_layer():
    layers = {m: _layer(m) for m in TOP}
    assert len(layers) > 40  # the walk found the whole package
    assert layers["nnzoo.errors"] == 0
    # The command line, all of it, sits right below the package's lazy face and above tuning.
    cli = {
        m: layer for m, layer in layers.items() if m == "nnzoo.cli" or m.startswith("nnzoo.cli.")
    }
    assert {"nnzoo.cli", "nnzoo.cli.catalog", "nnzoo.cli.runs", "nnzoo.cli.tuning"} <= set(cli)
    assert set(cli.values()) == {len(LAYERS) - 2}
    assert not any(m.startswith("nnzoo.tuning.cli") for m in layers)  # no CLI code in tuning


def test_module_level_imports_point_down():
    upward = sorted(
        f"{a} -> {b}" for a, targets in TOP.items() for b in targets if _layer(b) > _layer(a)
    )
    assert upward == []


def test_imports_form_no_cycle():
    """No cycle over module-level and function-local imports together (the module docstring
    says why lazy edges count and why a package's own submodules need no exception)."""
    edges = {m: TOP[m] | LOCAL[m] for m in TOP}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module, [module])
    assert cycles == []


def test_function_local_imports_only_on_listed_edges():
    unlisted = sorted(
        f"{a} -> {b}"
        for a, targets in LOCAL.items()
        for b in targets
        if not any(
            fnmatch.fnmatchcase(a, src) and fnmatch.fnmatchcase(b, dst) for src, dst in LAZY_EDGES
        )
    )
    assert unlisted == []


def test_training_and_inference_never_import_each_other():
    """Both rooms stand on :mod:`nnzoo.run`: evaluating, predicting or exporting a run loads
    no trainer, and training reaches no inference code (module-level or lazy imports)."""
    crossing = sorted(
        f"{a} -> {b}"
        for edges in (TOP, LOCAL)
        for a, targets in edges.items()
        for b in targets
        for room, other in (("training", "inference"), ("inference", "training"))
        if a.startswith(f"nnzoo.{room}")
        and (b == f"nnzoo.{other}" or b.startswith(f"nnzoo.{other}."))
        or a.startswith("nnzoo.inference")
        and b.startswith("nnzoo.tuning")
    )
    assert crossing == []


def test_nobody_imports_another_packages_private_module():
    private = sorted(
        f"{a} -> {b}"
        for edges in (TOP, LOCAL)
        for a, targets in edges.items()
        for b in targets
        if any(part.startswith("_") and part != "__init__" for part in b.split(".")[1:])
        # A package's own modules (and its __init__) may use its private modules.
        and not (a == b.rsplit(".", 1)[0] or a.startswith(b.rsplit(".", 1)[0] + "."))
    )
    assert private == []


@pytest.mark.parametrize("name", nnzoo.__all__)
def test_every_public_name_resolves(name):
    """``nnzoo.__all__`` is the lazy API: each name imports and is what its module defines."""
    value = getattr(nnzoo, name)
    assert value is getattr(importlib.import_module(nnzoo._API[name]), name)
    assert callable(value)


def test_type_checkers_see_the_same_lazy_api():
    """The ``if TYPE_CHECKING:`` block of ``nnzoo/__init__.py`` names every lazy name, from
    the module that ``__getattr__`` loads it from (Optuna's pattern)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    seen = {
        alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and _is_type_checking(block)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == nnzoo._API
    assert sorted(nnzoo.__all__) == sorted(nnzoo._API)
