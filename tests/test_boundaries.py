"""Boundaries the tools enforce (DESIGN.md): which package may import which framework, no
import cycles, no algorithm names compared outside the registry, small modules.

The checks read the source with ``ast``; each is shown failing on a planted violation."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "distrl"
GENERATED = ("service/v1/",)  # protoc output
# Framework -> where in distrl/ it may be imported (folders end with "/").
ALLOWED = {
    "ray": ("runtime/",),
    "grpc": ("service/",),
    "tensorflow": ("agents/", "models/", "tfsetup.py"),
    "keras": ("agents/", "models/", "tfsetup.py"),
    "mlflow": ("ops/mlflow_log.py",),  # an optional extra: imported only when a run asks
}
# The vocabulary at the bottom: no framework at all, and nothing of distrl but itself.
VOCABULARY = ("types.py",)
MAX_LINES = 500
MAX_LAUNCH_LINES = 200
# `algo == "x"`, `"x" != config.algo`, `algo in ("a2c", ...)`: a name comparison.
ALGO_COMPARISON = re.compile(
    r"""\balgo\b\s*(==|!=|\bin\b)|(==|!=)\s*\S*\balgo\b|["'](a2c|ddpg|pg)["']\s*(==|!=)"""
)


def modules(root):
    """``(relative path, module name, tree)`` of every hand-written module under ``root``."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(GENERATED):
            continue
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield rel, ".".join(parts), ast.parse(path.read_text(), filename=str(path))


def imports(tree, module):
    """Every module this one imports, at any depth except ``if TYPE_CHECKING:`` blocks."""
    found = []

    def visit(node):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".")[: -node.level] if node.level else []
                base = ".".join([*package, base]) if base else ".".join(package)
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)  # maybe submodules
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def violations(root):
    """Every broken boundary under the package folder ``root``, one line each."""
    problems = []
    graph = {}
    for rel, name, tree in modules(root):
        targets = imports(tree, name)
        graph[name] = set(targets) - {name}
        for target in targets:
            top = target.split(".")[0]
            if top in ALLOWED and not rel.startswith(ALLOWED[top]):
                problems.append(f"{rel} imports {target}: only {', '.join(ALLOWED[top])} may")
            if rel in VOCABULARY and top not in ("__future__", "dataclasses", "numpy", "typing"):
                problems.append(f"{rel} imports {target}: the vocabulary imports no framework")
        source = ast.unparse(tree)
        if not rel.startswith(("agents/", "config/")) and ALGO_COMPARISON.search(source):
            problems.append(f"{rel} compares algorithm names: ask the registry instead")
        lines = (root / rel).read_text().count("\n")
        limit = MAX_LAUNCH_LINES if rel == "launch.py" else MAX_LINES
        if lines > limit:
            problems.append(f"{rel} has {lines} lines (at most {limit})")
    graph = {name: targets & graph.keys() for name, targets in graph.items()}
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph):
    """The import cycles among ``graph``'s modules (each reported once, from its smallest)."""
    found, seen = [], set()

    def walk(node, path):
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycle = tuple(path)
                key = frozenset(cycle)
                if key not in seen and min(cycle) == path[0]:
                    seen.add(key)
                    found.append([*cycle, nxt])
            elif nxt not in path and nxt > path[0]:
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_distrl_keeps_its_boundaries():
    assert violations(PACKAGE) == []


def plant(tmp_path, files):
    root = tmp_path / "distrl"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return violations(root)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"ops/x.py": "import ray\n"}, "ops/x.py imports ray: only runtime/ may"),
        ({"runtime/x.py": "def f():\n    import grpc\n"}, "runtime/x.py imports grpc"),
        ({"trainer.py": "from keras import layers\n"}, "trainer.py imports keras"),
        ({"ops/metrics.py": "import mlflow\n"}, "ops/metrics.py imports mlflow"),
        ({"types.py": "import gymnasium\n"}, "types.py imports gymnasium: the vocabulary"),
        ({"service/a.py": "if config.algo == 'ddpg':\n    pass\n"}, "compares algorithm names"),
        ({"a.py": "import distrl.b\n", "b.py": "from distrl import a\n"}, "import cycle"),
        ({"launch.py": "x = 1\n" * 201}, "launch.py has 201 lines"),
    ],
)
def test_a_planted_violation_is_found(tmp_path, files, expected):
    found = plant(tmp_path, files)
    assert any(expected in line for line in found), found


def test_allowed_imports_are_not_reported(tmp_path):
    found = plant(tmp_path, {
        "runtime/x.py": "import ray\n",
        "agents/y.py": "import tensorflow as tf\nif algo == 'a2c':\n    pass\n",
        "types.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ray\n",
    })  # fmt: skip
    assert found == []
