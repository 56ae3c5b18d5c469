"""Boundaries the tools enforce (DESIGN.md): which package may import which framework, no
import cycles (counting imports under ``if TYPE_CHECKING:`` and what a package's ``__init__``
runs), no algorithm folder importing another, no algorithm names compared outside the registry,
small modules.

The checks read the source with ``ast``; each is shown failing on a planted violation."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "distrl"
GENERATED = ("service/v1/",)  # protoc output
# Framework -> where in distrl/ it may be imported (folders end with "/").
ALLOWED = {
    "ray": ("runtime/", "integrations/"),
    "grpc": ("service/",),
    "tensorflow": ("agents/", "models/", "distributions/tensorflow_forms.py", "tfsetup.py"),
    "keras": ("agents/", "models/", "tfsetup.py"),
    "mlflow": ("ops/mlflow_log.py",),  # an optional extra: imported only when a run asks
}
# The vocabulary at the bottom: no framework at all, and nothing of distrl but itself.
VOCABULARY = ("types.py",)
MAX_LINES = 500
MAX_LAUNCH_LINES = 200
# The algorithm folders: each is self-contained (what two share lives outside them).
ALGORITHMS = tuple(
    p.name for p in (PACKAGE / "agents").iterdir() if p.is_dir() and (p / "__init__.py").exists()
)
# `algo == "x"`, `"x" != config.algo`, `algo in ("a2c", ...)`: a name comparison.
ALGO_COMPARISON = re.compile(
    r"""\balgo\b\s*(==|!=|\bin\b)|(==|!=)\s*\S*\balgo\b|["']("""
    + "|".join(ALGORITHMS)
    + r""")["']\s*(==|!=)"""
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
    """Every module this one imports, at any depth, ``if TYPE_CHECKING:`` blocks included (a
    cycle through them is still a cycle of meaning), with the packages whose ``__init__`` the
    import runs: ``distrl.config.fields`` also runs ``distrl.config``. The root package, a lazy
    facade that imports nothing of its own, is not counted, and neither are the packages the
    importing module lies in (their ``__init__`` is already running)."""
    found = []

    def visit(node):
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
    own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
    parents = {
        ".".join(name.split(".")[:i]) for name in found for i in range(2, name.count(".") + 1)
    }
    return found + sorted(parents - own)  # a package's own modules run no __init__ anew


def algorithm_of(rel):
    """``"a2c"`` for ``agents/a2c/learning.py``; None outside the algorithm folders."""
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "agents" else None


def algorithm_of_module(name, root):
    """The algorithm folder a module name lies in (``distrl.agents.a2c.losses``: a2c)."""
    parts = name.split(".")
    inside = len(parts) > 2 and parts[:2] == [root.name, "agents"]
    return parts[2] if inside and (root / "agents" / parts[2]).is_dir() else None


def violations(root):
    """Every broken boundary under the package folder ``root``, one line each."""
    problems = []
    graph = {}
    for rel, name, tree in modules(root):
        targets = imports(tree, name)
        graph[name] = set(targets) - {name}
        for target in targets:
            top = target.split(".")[0]
            mine, theirs = algorithm_of(rel), algorithm_of_module(target, root)
            if mine and theirs and mine != theirs:
                problems.append(f"{rel} imports {target}: algorithm folders import no other")
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
    graph = {name: targets & (graph.keys() - {root.name}) for name, targets in graph.items()}
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
        ({"ops/x.py": "import ray\n"}, "ops/x.py imports ray: only runtime/, integrations/ may"),
        ({"runtime/x.py": "def f():\n    import grpc\n"}, "runtime/x.py imports grpc"),
        ({"trainer.py": "from keras import layers\n"}, "trainer.py imports keras"),
        ({"ops/metrics.py": "import mlflow\n"}, "ops/metrics.py imports mlflow"),
        ({"types.py": "import gymnasium\n"}, "types.py imports gymnasium: the vocabulary"),
        ({"service/a.py": "if config.algo == 'ddpg':\n    pass\n"}, "compares algorithm names"),
        ({"a.py": "import distrl.b\n", "b.py": "from distrl import a\n"}, "import cycle"),
        (
            {
                "a.py": "import distrl.b\n",
                "b.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    import distrl.a\n",
            },
            "import cycle: distrl.a -> distrl.b -> distrl.a",
        ),
        (
            {
                "p/__init__.py": "from distrl.p.x import X\n",
                "p/x.py": "from distrl.q.y import Y\nX = 1\n",
                "q/__init__.py": "",
                "q/y.py": "from distrl.p.z import Z\nY = 1\n",  # runs p/__init__: a cycle
                "p/z.py": "Z = 1\n",
            },
            "import cycle: distrl.p -> distrl.p.x -> distrl.q.y -> distrl.p",
        ),
        (
            {
                "agents/a2c/losses.py": "A2CLoss = 1\n",
                "agents/ppo/learning.py": "from distrl.agents.a2c.losses import A2CLoss\n",
            },
            "agents/ppo/learning.py imports distrl.agents.a2c.losses: algorithm folders",
        ),
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
        "agents/ppo/x.py": "from distrl.agents.acting import stochastic_policy\n",
    })  # fmt: skip
    assert found == []
