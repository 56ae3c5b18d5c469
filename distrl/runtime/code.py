"""The user's own code on Ray workers: env modules, wrappers and model builders that are not
installed (a package or file next to the user's script) reach the workers on ``PYTHONPATH``.

The folder each such module was imported from in the driver is put on the workers' (and the
learner's) ``PYTHONPATH`` through the actors' ``runtime_env``; installed packages need nothing.
On a multi-node cluster the folder must exist on every node too: install the package there,
or ship it with ``ray job submit --runtime-env-json '{"py_modules": [...]}'`` (docs/custom-envs.md).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sysconfig
from pathlib import Path
from typing import Any

from distrl.config import Config

BUILDER = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")  # package.module:function


def user_modules(config: Config) -> list[str]:
    """The modules a run imports by name from the config: ``env_imports``, the module of a
    ``module:EnvId`` id, of each wrapper, and of every ``package.module:function`` builder in
    the model and algorithm sections (``model.name``, ``ddpg.actor``, ...)."""
    names = list(config.env_imports)
    if ":" in config.env:
        names.append(config.env.partition(":")[0])
    module = getattr(config.env_factory, "__module__", None)  # an env class or function
    if module and module != "__main__":
        names.append(module)
    for section in (config.model, *config.sections.values()):
        for value in dataclasses.asdict(section).values():
            if isinstance(value, str) and BUILDER.fullmatch(value):
                names.append(value.partition(":")[0])
    for wrapper in config.env_wrappers:
        name = wrapper.get("name", "") if isinstance(wrapper, dict) else str(wrapper)
        if ":" in name:
            names.append(name.partition(":")[0])
    return names


def local_roots(modules: list[str]) -> list[str]:
    """The folders the driver imported these modules from, where they are not installed."""
    installed = {
        str(Path(p).resolve())
        for key in ("purelib", "platlib", "stdlib", "platstdlib")
        if (p := sysconfig.get_paths().get(key))
    }
    roots: list[str] = []
    for name in modules:
        top = name.split(".")[0]
        try:
            module = importlib.import_module(top)
        except ImportError:
            continue  # reported as a ConfigError where the env is made
        origin = getattr(module, "__file__", None)
        if origin is None:
            continue
        path = Path(origin).resolve()
        root = path.parent.parent if path.name == "__init__.py" else path.parent
        if any(str(root).startswith(i) for i in installed) or top == "distrl":
            continue
        if str(root) not in roots:
            roots.append(str(root))
    return roots


def runtime_env(config: Config) -> dict[str, Any] | None:
    """The actors' ``runtime_env`` for the user's local code, or None when there is none."""
    roots = local_roots(user_modules(config))
    if not roots:
        return None
    existing = os.environ.get("PYTHONPATH", "")
    path = os.pathsep.join([*roots, *filter(None, existing.split(os.pathsep))])
    return {"env_vars": {"PYTHONPATH": path}}


__all__ = ["local_roots", "runtime_env", "user_modules"]
